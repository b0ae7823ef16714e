"""Voting codes and receipt codes: how they are made, typed and hashed. Codes are stored only as
an HMAC with the secret key, receipts only as SHA-256 (and as the key of the voter's copy of
the ballot, see sealing.py)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app

#: no look-alikes: without 0/O, 1/I/L
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
#: 16 characters, about 79 bits: the receipt also opens the voter's copy of the ballot
#: (sealing.py), so it must be far beyond guessing by anyone who holds the database
RECEIPT_LENGTH = 16
_LOOK_ALIKES = str.maketrans({"0": "O", "1": "I", "L": "I"})


def normalise_code(text: str) -> str:
    """What people type: lower case, spaces, dashes, an O for a 0 → the canonical code."""
    cleaned = (text or "").upper().replace("-", "").replace(" ", "")
    return cleaned.translate(_LOOK_ALIKES)


def group(code: str, size: int = 4) -> str:
    return "-".join(code[i : i + size] for i in range(0, len(code), size))


def code_hash(code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"voting-code:" + code.encode(), hashlib.sha256).hexdigest()


def derive_code(seed: str, index: int) -> str:
    digest = hmac.new(bytes.fromhex(seed), str(index).encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _i in range(CODE_LENGTH):
        number, rest = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[rest])
    return "".join(chars)


def receipt_hash(receipt: str) -> str:
    return hashlib.sha256(normalise_code(receipt).encode()).hexdigest()


def new_receipt() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(RECEIPT_LENGTH))
