"""``flask ledger checkpoint``, ``flask ledger new-key`` and the checkpoint half of
``flask ledger verify`` (see checkpoints.py)."""

from __future__ import annotations

import json
from typing import Any

import click
from flask import current_app
from flask_babel import lazy_gettext as _l
from nacl.signing import SigningKey
from sqlalchemy import select

from ..accounts.models import Role, RoleAssignment, User
from ..extensions import db
from ..mail import send_template
from ..neighbourhoods.models import Neighbourhood
from . import checkpoints
from .models import LedgerCheckpoint


def _councillors() -> list[Any]:
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.id.in_(
                    select(RoleAssignment.user_id).where(RoleAssignment.role == Role.COUNCILLOR)
                ),
                User.email.is_not(None),
                User.deleted_at.is_(None),
            )
            .order_by(User.id)
        )
    )


def _mail_councillors(new: list[LedgerCheckpoint]) -> int:
    """Mail every councillor the new checkpoints and the whole file: their copy is the anchor
    kept outside the database."""
    document = json.dumps(
        checkpoints.export_document(checkpoints.stored()), indent=1, ensure_ascii=False
    )
    people = _councillors()
    for person in people:
        send_template(
            person,
            "spending/mail/checkpoints.txt",
            _l("Controlepunten van het grootboek"),
            user=person,
            new=new,
            document=document,
            key_id=checkpoints.key_id(checkpoints.verify_key()),
        )
    return len(people)


@click.command("checkpoint")
@click.option("--mail", is_flag=True, help="Mail the checkpoints to every councillor (raadslid).")
def checkpoint(mail: bool) -> None:
    """Sign the head of every wijk's ledger chain and store it (a daily cron job). A chain that
    is broken, or no longer extends its stored checkpoints, is not signed: exit 1, naming it."""
    if checkpoints.key_is_derived():
        click.echo(
            "Let op: geen WIJKBUDGET_CHECKPOINT_KEY; de sleutel is afgeleid van SECRET_KEY "
            "(alleen voor ontwikkelen en testen).",
            err=True,
        )
    try:
        signed = checkpoints.sign_all()
    except checkpoints.CheckpointKeyError as exc:
        db.session.rollback()
        click.echo(str(exc), err=True)
        raise SystemExit(2) from exc
    db.session.commit()
    failed = False
    for item in signed:
        if item.problem:
            failed = True
            click.echo(f"NIET ondertekend {item.wijk.slug}: {item.problem}")
        elif item.checkpoint is None:
            click.echo(f"ongewijzigd {item.wijk.slug}")
        else:
            c = item.checkpoint
            click.echo(f"ondertekend {c.wijk_slug} {c.length} {c.head_hash}")
    if mail:
        new = [item.checkpoint for item in signed if item.checkpoint is not None]
        base = current_app.config["PUBLIC_URL"] or "http://127.0.0.1:5000"
        with current_app.test_request_context(base_url=base):  # as send-digests: links, locale
            count = _mail_councillors(new)
        click.echo(f"gemaild aan {count} raadsleden")
    if failed:
        raise SystemExit(1)


@click.command("new-key")
def new_key() -> None:
    """Print a new signing key (WIJKBUDGET_CHECKPOINT_KEY, secret) and its public key
    (WIJKBUDGET_CHECKPOINT_PUBLIC_KEY, for the web app)."""
    key = SigningKey.generate()
    click.echo(f"WIJKBUDGET_CHECKPOINT_KEY={bytes(key).hex()}")
    click.echo(f"WIJKBUDGET_CHECKPOINT_PUBLIC_KEY={bytes(key.verify_key).hex()}")


def check_checkpoints(wijk_ids: list[int], file: Any) -> None:
    """Every chain of ``wijk_ids`` extends the checkpoints in ``file`` (when given) and the
    stored ones; otherwise print `checkpoint <wijk>: <why>` per failing wijk and exit 1."""
    anchors: list[checkpoints.Anchor] = []
    if file is not None:
        try:
            anchors = checkpoints.read_document(json.loads(file.read()))
        except (ValueError, RecursionError) as exc:  # (RecursionError: nested too deep)
            click.echo(f"Dit is geen bestand met controlepunten: {exc}", err=True)
            raise SystemExit(2) from exc
    wijken = {
        w.id: w
        for w in db.session.scalars(select(Neighbourhood).where(Neighbourhood.id.in_(wijk_ids)))
    }
    failed = []
    if file is not None:
        known = set(db.session.scalars(select(Neighbourhood.id)))
        for anchor in anchors:  # a checkpoint of a wijk that is gone: its whole chain is gone
            if anchor.wijk_id not in known:
                failed.append(f"checkpoint {anchor.wijk}: deze wijk bestaat niet meer")
    for wijk_id in wijk_ids:
        wijk = wijken[wijk_id]
        mine = [a for a in anchors if a.wijk_id == wijk_id]
        state = checkpoints.ledger_state(wijk, [*checkpoints.stored(wijk_id), *mine])
        if not state.ok:
            failed.append(f"checkpoint {wijk.slug}: {state.problem}")
    if failed:
        for line in dict.fromkeys(failed):
            click.echo(line)
        raise SystemExit(1)
