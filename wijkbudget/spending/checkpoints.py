"""Signed checkpoints of the ledger: an anchor held outside the database.

A hash chain shows a changed old entry, but not a chain that was cut at the tail, emptied, or
recomputed from scratch by whoever holds the database: such a chain is consistent in itself.
A checkpoint says, signed with Ed25519, "the chain of wijk W had N entries and entry N had hash
H". A chain *extends* a checkpoint when its entry N still has hash H and the chain verifies up
to it; otherwise someone rewrote history. The checkpoints are stored (append-only), shown on
the public ledger page and in the API, and mailed to the councillors, whose copy is the anchor
the database holder cannot reach.

The key: ``CHECKPOINT_KEY`` is the hex Ed25519 seed that signs (only the machine that runs
``flask ledger checkpoint`` needs it); ``CHECKPOINT_PUBLIC_KEY`` the hex public key that
verifies (derived from the seed when only that is set). Production requires one of them (see
config.py). In development and tests, with neither, the seed is derived from ``SECRET_KEY``:
anyone with the secret key can then sign, which is fine for a demo and nothing more.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey
from sqlalchemy import select

from ..extensions import db, utcnow
from ..neighbourhoods.models import Neighbourhood
from . import operations
from .models import LedgerCheckpoint, LedgerEntry

FILE_TYPE = "wijkbudget-ledger-checkpoints/1"


class CheckpointKeyError(RuntimeError):
    """No signing key configured (production), or a malformed one."""


# --- the key ----------------------------------------------------------------------------------


def _hex(name: str, length: int) -> bytes | None:
    raw = str(current_app.config.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = bytes.fromhex(raw)
    except ValueError:
        value = b""
    if len(value) != length:
        raise CheckpointKeyError(f"WIJKBUDGET_{name}: expected {length * 2} hexadecimal digits")
    return value


def key_is_derived() -> bool:
    """Whether the key comes from SECRET_KEY (development and tests only)."""
    return not (
        current_app.config.get("CHECKPOINT_KEY") or current_app.config.get("CHECKPOINT_PUBLIC_KEY")
    )


def signing_key() -> SigningKey:
    seed = _hex("CHECKPOINT_KEY", 32)
    if seed is None:
        if current_app.config.get("CHECKPOINT_PUBLIC_KEY"):
            raise CheckpointKeyError(
                "WIJKBUDGET_CHECKPOINT_KEY is not set here: only the public key is. Sign the "
                "checkpoints where the signing key is kept."
            )
        seed = hmac.new(
            str(current_app.config["SECRET_KEY"]).encode(),
            b"wijkbudget ledger checkpoint key",
            hashlib.sha256,
        ).digest()
    return SigningKey(seed)


def verify_key() -> VerifyKey:
    public = _hex("CHECKPOINT_PUBLIC_KEY", 32)
    return VerifyKey(public) if public is not None else signing_key().verify_key


def key_id(key: VerifyKey) -> str:
    """The first 16 hex digits of the SHA-256 of the public key: which key signed."""
    return hashlib.sha256(bytes(key)).hexdigest()[:16]


def public_key_hex() -> str:
    return bytes(verify_key()).hex()


# --- signing ----------------------------------------------------------------------------------


def latest(wijk_id: int) -> LedgerCheckpoint | None:
    return db.session.scalar(
        select(LedgerCheckpoint)
        .where(LedgerCheckpoint.neighbourhood_id == wijk_id)
        .order_by(LedgerCheckpoint.length.desc(), LedgerCheckpoint.id.desc())
        .limit(1)
    )


def stored(wijk_id: int | None = None) -> list[LedgerCheckpoint]:
    query = select(LedgerCheckpoint).order_by(
        LedgerCheckpoint.neighbourhood_id, LedgerCheckpoint.length, LedgerCheckpoint.id
    )
    if wijk_id is not None:
        query = query.where(LedgerCheckpoint.neighbourhood_id == wijk_id)
    return list(db.session.scalars(query))


@dataclass
class Signed:
    wijk: Neighbourhood
    checkpoint: LedgerCheckpoint | None  # None: nothing new (empty chain, or head already signed)
    problem: str = ""  # the chain is broken or does not extend a checkpoint: not signed


def sign_all(now: datetime | None = None) -> list[Signed]:
    """Sign the head of every wijk's chain and store it, in one transaction. A wijk whose chain
    does not verify, or does not extend its stored checkpoints, is not signed (that would bless
    a rewritten history): its problem is returned instead. An empty chain, or a head that is
    already the latest checkpoint, gets no new checkpoint. The caller commits."""
    key = signing_key()
    now = now or utcnow()
    done = []
    for wijk in db.session.scalars(select(Neighbourhood).order_by(Neighbourhood.id)):
        state = ledger_state(wijk, stored(wijk.id))
        if not state.ok:
            done.append(Signed(wijk, None, state.problem))
            continue
        last = state.latest
        if state.length == 0 or (last is not None and last.length == state.length):
            done.append(Signed(wijk, None))
            continue
        checkpoint = LedgerCheckpoint(
            neighbourhood_id=wijk.id,
            wijk_slug=wijk.slug,
            length=state.length,
            head_hash=state.head,
            signed_at=now,
            key_id=key_id(key.verify_key),
        )
        checkpoint.signature = key.sign(checkpoint.canonical().encode()).signature.hex()
        db.session.add(checkpoint)
        done.append(Signed(wijk, checkpoint))
    db.session.flush()
    return done


# --- checking ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """A checkpoint as read from the database or from a councillor's file."""

    wijk_id: int
    wijk: str
    length: int
    head: str
    signed_at: str
    key_id: str
    signature: str

    @classmethod
    def of(cls, checkpoint: LedgerCheckpoint) -> Anchor:
        statement = checkpoint.statement()
        return cls(
            wijk_id=checkpoint.neighbourhood_id,
            wijk=checkpoint.wijk_slug,
            length=checkpoint.length,
            head=checkpoint.head_hash,
            signed_at=str(statement["signed_at"]),
            key_id=checkpoint.key_id,
            signature=checkpoint.signature,
        )

    def canonical(self) -> str:
        return json.dumps(
            {
                "type": "wijkbudget-ledger-checkpoint/1",
                "wijk_id": self.wijk_id,
                "wijk": self.wijk,
                "length": self.length,
                "head": self.head,
                "signed_at": self.signed_at,
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    def signature_holds(self, key: VerifyKey) -> bool:
        try:
            key.verify(self.canonical().encode(), bytes.fromhex(self.signature))
        except (BadSignatureError, ValueError):
            return False
        return True


def checkpoint_dict(checkpoint: LedgerCheckpoint) -> dict[str, Any]:
    """A checkpoint as in the API and the councillors' file: the signed statement, the key id
    and the signature (hex), and the text that was signed."""
    return {
        **{k: v for k, v in checkpoint.statement().items() if k != "type"},
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
        "signed_text": checkpoint.canonical(),
    }


def export_document(checkpoints: list[LedgerCheckpoint]) -> dict[str, Any]:
    """The file a councillor keeps: every checkpoint and the public key that verifies them."""
    key = verify_key()
    return {
        "type": FILE_TYPE,
        "public_key": bytes(key).hex(),
        "key_id": key_id(key),
        "algorithm": "Ed25519",
        "checkpoints": [checkpoint_dict(c) for c in checkpoints],
    }


def read_document(data: Any) -> list[Anchor]:
    """The anchors of a councillors' file (or a bare list of checkpoints). ValueError when it is
    not such a file."""
    items = data.get("checkpoints") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError("no list of checkpoints")
    anchors = []
    for item in items:
        try:
            anchors.append(
                Anchor(
                    wijk_id=int(item["wijk_id"]),
                    wijk=str(item["wijk"]),
                    length=int(item["length"]),
                    head=str(item["head"]),
                    signed_at=str(item["signed_at"]),
                    key_id=str(item["key_id"]),
                    signature=str(item["signature"]),
                )
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:  # (1e400: inf)
            raise ValueError(f"checkpoint {len(anchors) + 1}: {exc}") from exc
    return anchors


@dataclass
class LedgerState:
    """What the public page says about a wijk's chain."""

    length: int
    head: str | None
    ok: bool = True
    problem: str = ""  # plain Dutch, for the page and the command line
    latest: LedgerCheckpoint | None = None
    failed: list[Anchor] = field(default_factory=list)


def _entry_hash_at(wijk_id: int, seq: int) -> str | None:
    return db.session.scalar(
        select(LedgerEntry.hash).where(
            LedgerEntry.neighbourhood_id == wijk_id, LedgerEntry.seq == seq
        )
    )


def anchor_problem(anchor: Anchor, chain: operations.Verification, key: VerifyKey) -> str | None:
    """Why the chain (verified up to ``chain.count``) does not extend ``anchor``, or None."""
    if anchor.key_id != key_id(key) or not anchor.signature_holds(key):
        return str(
            _(
                "Het controlepunt van boeking %(n)d (%(date)s) is niet ondertekend met de sleutel "
                "van deze site.",
                n=anchor.length,
                date=anchor.signed_at[:10],
            )
        )
    if chain.count < anchor.length:
        return str(
            _(
                "Het grootboek heeft %(count)d boekingen, maar het controlepunt van %(date)s telde "
                "er al %(n)d: er zijn boekingen verdwenen.",
                count=chain.count,
                n=anchor.length,
                date=anchor.signed_at[:10],
            )
        )
    if _entry_hash_at(anchor.wijk_id, anchor.length) != anchor.head:
        return str(
            _(
                "Boeking %(n)d heeft niet meer de hash van het controlepunt van %(date)s: de "
                "geschiedenis van het grootboek is herschreven.",
                n=anchor.length,
                date=anchor.signed_at[:10],
            )
        )
    return None


def ledger_state(wijk: Neighbourhood, anchors: Sequence[LedgerCheckpoint | Anchor]) -> LedgerState:
    """Recompute the wijk's chain and check it extends every given checkpoint."""
    chain = operations.verify_chain(wijk.id)
    checkpoints = [a if isinstance(a, Anchor) else Anchor.of(a) for a in anchors]
    state = LedgerState(
        length=chain.count, head=chain.head if chain.count else None, latest=latest(wijk.id)
    )
    if not chain.ok:
        state.ok = False
        state.problem = _(
            "De keten van het grootboek klopt niet vanaf boeking %(n)d: een boeking is veranderd.",
            n=chain.count + 1,
        )
        return state
    key = verify_key()
    for anchor in checkpoints:
        problem = anchor_problem(anchor, chain, key)
        if problem:
            state.failed.append(anchor)
            if state.ok:
                state.ok, state.problem = False, problem
    return state
