"""One person, one vote beyond the account: a keyed fingerprint of the mailbox that voted.

A participation names its account, and an account can be deleted (its e-mail address is then
erased) and made again. So a vote by an account also writes, in the cast's transaction, a
``voter_fingerprint`` row: HMAC-SHA256 of the *normalised* e-mail address with a key from the
configuration (``FINGERPRINT_KEY``), unique per round. A second account for the same mailbox
computes the same fingerprint, and its cast is refused (409), whatever the channel (online, or
a paper sheet naming the account) and however concurrent (the primary key decides).

Normalisation (``normalise_email``), decided in issue 19:

- Unicode NFKC, lower case, spaces around it stripped;
- ``googlemail.com`` is ``gmail.com`` (the same mailboxes), and so are Proton's domains
  (``proton.me``, ``protonmail.com``, ``.ch``, ``pm.me``) and Apple's (``icloud.com``,
  ``me.com``, ``mac.com``) among themselves;
- a ``+tag`` in the local part is dropped for *every* provider: Gmail, Outlook, iCloud, Proton
  and Fastmail deliver ``naam+iets@`` to ``naam@``, and a provider where ``a+b`` is another
  person is vanishingly rare; the cost of being wrong is one vote refused with a clear
  message, the cost of not doing it is a second vote for anyone who knows the trick;
- dots in the local part are dropped only for gmail.com (Gmail ignores them; elsewhere
  ``jan.de.vries`` and ``jandevries`` may be two people);
- the domain's ``xn--`` labels are decoded (IDNA: ``bücher.nl`` and ``xn--bcher-kva.nl`` are one
  domain); Fastmail's subdomain addressing (``iets@naam.fastmail.com`` is ``naam@fastmail.com``);
  Yahoo's disposable addresses (``basis-iets@yahoo.com`` → ``basis-@yahoo.com``: a Yahoo name
  has no ``-``, and the base belongs to one account, which need not be the mailbox ``basis@``).

Without the key the fingerprint says nothing about the address (it is no plain hash that a list
of addresses could be run through); with the key, someone can test whether a given address
voted in a round, but never what it voted. The key must stay the same for as long as a round
it was used in is in voting: with another key, earlier votes are no longer recognised.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import unicodedata

from flask import current_app
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..rounds.models import Phase, Round
from .models import Participation, VoterFingerprint

#: the label that makes a development key from SECRET_KEY (never the same as SECRET_KEY itself)
DERIVED_KEY_LABEL = b"wijkbudget voter fingerprint key (derived for development and tests) v1"

GMAIL = "gmail.com"
GMAIL_ALIASES = frozenset({"gmail.com", "googlemail.com"})
#: domains of one provider whose names are one namespace: ``naam@`` on each is one account's
#: (Proton reserves a name on all its domains for its account; Apple's older @me.com and @mac.com
#: addresses are the same mailbox as @icloud.com, and nobody else can have them)
DOMAIN_ALIASES = {
    "protonmail.com": "proton.me",
    "protonmail.ch": "proton.me",
    "pm.me": "proton.me",
    "me.com": "icloud.com",
    "mac.com": "icloud.com",
}
#: Fastmail's own domains, where ``iets@naam.fastmail.com`` is delivered to ``naam@fastmail.com``
#: (subdomain addressing; a custom domain at Fastmail can do it too, unseen from here)
FASTMAIL = frozenset({"fastmail.com", "fastmail.fm"})
#: Yahoo's domains, where ``basis-iets@`` is a disposable address of the one who owns the base
#: name ``basis`` (a Yahoo name has no ``-``); kept as ``basis-@``, never merged with ``basis@``
YAHOO = frozenset(
    {"yahoo.com", "yahoo.nl", "yahoo.be", "yahoo.de", "yahoo.fr", "yahoo.co.uk", "ymail.com",
     "rocketmail.com"}
)  # fmt: skip


def _unicode_domain(domain: str) -> str:
    """The domain with its ``xn--`` labels (IDNA's ASCII form) decoded: ``xn--bcher-kva.nl`` and
    ``bücher.nl`` are one domain. A label that does not decode stays as it is."""
    labels = []
    for label in domain.split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError, ValueError):  # else not IDNA: as typed
                label = label[4:].encode("ascii").decode("punycode").lower()
        labels.append(label)
    return unicodedata.normalize("NFKC", ".".join(labels))


def normalise_email(address: str) -> str:
    """The mailbox an address delivers to, as far as we can tell (see the module's rules):
    "Jan.Jansen+wijk@GoogleMail.com " → "janjansen@gmail.com"."""
    text = unicodedata.normalize("NFKC", address or "").strip().lower()
    text = unicodedata.normalize("NFKC", text)  # (lower case can undo NFKC for a few letters)
    local, at, domain = text.rpartition("@")
    if not at or not local:
        return text
    domain = _unicode_domain(domain.strip().rstrip("."))
    if domain in GMAIL_ALIASES:
        domain = GMAIL
    domain = DOMAIN_ALIASES.get(domain, domain)
    name, dot, parent = domain.partition(".")
    if dot and name and parent in FASTMAIL:  # iets@naam.fastmail.com is naam@fastmail.com
        local, domain = name, parent
    untagged = local.split("+", 1)[0]
    local = untagged or local  # "+iets@" alone is no tag on a name
    if domain == GMAIL:
        local = local.replace(".", "") or local
    if domain in YAHOO and "-" in local.strip("-"):  # basis-iets@ is basis's disposable address
        local = local.split("-", 1)[0] + "-"
    return f"{local}@{domain}"


def fingerprint_key() -> bytes:
    """``FINGERPRINT_KEY`` from the configuration (required in production: config.py), or in
    development and tests a key derived from SECRET_KEY with a label of its own."""
    configured = str(current_app.config.get("FINGERPRINT_KEY") or "")
    if configured:
        return configured.encode()
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, DERIVED_KEY_LABEL, hashlib.sha256).digest()


def fingerprint(address: str) -> str:
    """The fingerprint of the mailbox of ``address`` (64 hex digits)."""
    message = b"voter:" + normalise_email(address).encode()
    return hmac.new(fingerprint_key(), message, hashlib.sha256).hexdigest()


def carry_to_new_address(user_id: int, new_email: str) -> int:
    """An account that voted changes its e-mail address: the new address's fingerprint is added
    for every round it voted in that is still in voting, so changing the address, deleting the
    account and registering with the new address cannot vote again. A fingerprint already there
    (that mailbox voted with another account) stays as it is. Returns how many were added.

    wijkbudget has no e-mail change yet; the use case that adds one calls this in its own
    transaction (tests/test_one_person_one_vote.py holds the rule). Locks nothing: the primary
    key decides, and a fingerprint written meanwhile is kept (a savepoint)."""
    new = fingerprint(new_email)
    voted = db.session.execute(
        select(Participation.round_id, Participation.id)
        .join(Round, Round.id == Participation.round_id)
        .where(Participation.user_id == user_id, Round.phase == Phase.VOTING)
        .order_by(Participation.round_id)
    ).all()
    added = 0
    for round_id, participation_id in voted:
        there = db.session.scalar(
            select(VoterFingerprint.participation_id).where(
                VoterFingerprint.round_id == round_id, VoterFingerprint.fingerprint == new
            )
        )
        if there is not None:
            continue
        try:
            with db.session.begin_nested():
                db.session.execute(
                    insert(VoterFingerprint).values(
                        round_id=round_id, fingerprint=new, participation_id=participation_id
                    )
                )
        except IntegrityError:
            continue
        added += 1
    return added
