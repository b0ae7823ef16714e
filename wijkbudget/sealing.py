"""Sealed ballots: what a ballot looks like in the database until the vote is closed.

Each round has a key pair (X25519, PyNaCl). The public key seals every ballot at the cast (a
libsodium sealed box: only the private key opens it, and two sealings of the same choice differ).
The private key is stored only encrypted with a key derived from the app's secret key, which
lives in the app's configuration and never in the database or its backups. At the close the
ballots are opened, written in a random order into the ``ballot`` table in one transaction, the
sealed rows deleted and the round's private key wiped: from then on the database holds no key
that opens a sealed ballot (an older backup does, which opens only with the app's secret key:
see README "What ballot secrecy means here").

A receipt opens its own copy of the ballot: the choices are also sealed with a key derived from
the receipt code (80 bits, known only to the voter), so the voter can see what they chose
without anything in the database linking the receipt to the counted ballot.

The plain form of a ballot is padded to a multiple of ``PAD`` bytes above the longest plain
form the round allows (every proposal on the ballot, with the most points one may have), so
every sealed ballot of a round has one length, whatever was chosen.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import lru_cache

from flask import current_app
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.secret import SecretBox

PAD = 256


class SealError(Exception):
    """A sealed ballot or key that does not open (another secret key, a damaged row)."""


def _derive(material: bytes, purpose: bytes) -> bytes:
    return hashlib.blake2b(material, digest_size=SecretBox.KEY_SIZE, person=purpose).digest()


def _secret() -> bytes:
    secret = current_app.config["SECRET_KEY"]
    return secret.encode() if isinstance(secret, str) else bytes(secret)


def _master() -> SecretBox:
    return SecretBox(_derive(_secret(), b"wb-round-key"))


def new_round_keys() -> tuple[str, bytes]:
    """A new key pair for a round: the public key (hex) and the private key sealed with the
    app's secret key."""
    private = PrivateKey.generate()
    return private.public_key.encode().hex(), _master().encrypt(bytes(private))


def encode(selection: dict[int, int], room: int = 0) -> bytes:
    """The plain form: ``id:points`` pairs in proposal order, padded with spaces to the next
    multiple of ``PAD`` above ``room`` (the longest plain form the round allows, see
    ``voting.queries.ballot_room``), so every ballot of a round has one length."""
    text = ";".join(f"{pid}:{points}" for pid, points in sorted(selection.items())).encode()
    size = (max(len(text), room) // PAD + 1) * PAD
    return text + b" " * (size - len(text))


def decode(data: bytes) -> dict[int, int]:
    text = data.decode().strip()
    if not text:
        return {}
    pairs = (pair.split(":") for pair in text.split(";"))
    return {int(pid): int(points) for pid, points in pairs}


@lru_cache(maxsize=256)
def _public_of(sealed_private_key: bytes, secret: bytes) -> str:
    private = PrivateKey(SecretBox(_derive(secret, b"wb-round-key")).decrypt(sealed_private_key))
    return str(private.public_key.encode().hex())


def round_public_key(public_key: str | None, sealed_private_key: bytes | None) -> str:
    """The round's public key to seal with, after checking that it belongs to the round's
    private key: someone who can write the database but lacks the secret key could otherwise
    put a key of their own on the round and read every ballot cast after it. Once per round and
    process (the private key is opened to derive its public key). :class:`SealError` when it
    does not belong, or a key is missing or does not open (another secret key)."""
    if not public_key or not sealed_private_key:
        raise SealError("the round has no key pair (closed, or not made)")
    try:
        derived = _public_of(bytes(sealed_private_key), _secret())
    except (CryptoError, ValueError, TypeError) as error:
        raise SealError("the round's private key does not open with this secret key") from error
    if not hmac.compare_digest(derived, public_key):
        raise SealError("the round's public key is not its private key's: changed in the database")
    return public_key


def seal(public_key: str, selection: dict[int, int], room: int = 0) -> bytes:
    return SealedBox(PublicKey(bytes.fromhex(public_key))).encrypt(encode(selection, room))


def opener(sealed_private_key: bytes) -> Callable[[bytes], dict[int, int]]:
    """What opens the sealed ballots of one round (the close). :class:`SealError` when the
    private key does not open: the secret key changed since the round began."""
    try:
        private = PrivateKey(_master().decrypt(sealed_private_key))
    except CryptoError as error:
        raise SealError("the round's key does not open with this secret key") from error
    box = SealedBox(private)

    def open_one(data: bytes) -> dict[int, int]:
        try:
            return decode(box.decrypt(data))
        except (CryptoError, ValueError) as error:
            raise SealError("a sealed ballot does not open") from error

    return open_one


def _receipt_box(receipt: str) -> SecretBox:
    return SecretBox(_derive(receipt.encode(), b"wb-receipt"))


def seal_for_receipt(receipt: str, selection: dict[int, int], room: int = 0) -> bytes:
    """The voter's own copy, which only the (normalised) receipt code opens."""
    return _receipt_box(receipt).encrypt(encode(selection, room))


def open_with_receipt(receipt: str, data: bytes) -> dict[int, int] | None:
    try:
        return decode(_receipt_box(receipt).decrypt(data))
    except (CryptoError, ValueError):
        return None
