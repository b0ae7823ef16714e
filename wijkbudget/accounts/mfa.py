"""The second factor: time-based one-time codes (TOTP, RFC 6238, with pyotp) and recovery codes.

Required for accounts with a role (board, councillor, admin), optional for residents. This
module holds the pieces without a transaction: the secret's encryption, the QR code, checking a
code, making and hashing recovery codes. The use cases (``operations``) decide and write.

What a database reader sees: the TOTP secret only encrypted (AES-GCM with a key derived from
the app's ``SECRET_KEY``, bound to the account's id, so a secret copied to another row does not
open), and the recovery codes only as keyed hashes (HMAC-SHA256 with a key derived from the
same secret key), so a dump of the database gives neither the codes nor a way to compute them.
Changing ``SECRET_KEY`` therefore also ends every enrolment: those accounts enrol again at their
next sign-in (docs/security.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from markupsafe import Markup

#: seconds per code (the RFC's and every authenticator app's default)
INTERVAL = 30
DIGITS = 6
#: codes of one step before and after now are accepted too (a phone clock a little off)
WINDOW = 1
RECOVERY_CODES = 10
#: recovery codes use the letters of the voting codes: no 0/O, 1/I/L to mix up
RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
RECOVERY_LENGTH = 10  # 31**10: about 2**49.5 per code
#: the longest input looked at (a code with spaces, or a recovery code with dashes)
MAX_INPUT = 32


def _key(purpose: bytes) -> bytes:
    secret_key = current_app.config["SECRET_KEY"]
    material = secret_key.encode() if isinstance(secret_key, str) else bytes(secret_key)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(material)


# --- the secret -------------------------------------------------------------------------------


def new_secret() -> str:
    """A fresh secret: 32 base32 letters, 160 bits (the RFC's recommended size)."""
    return pyotp.random_base32(32)


def seal(secret: str, user_id: int, purpose: str = "account") -> str:
    """The secret encrypted for storage (in the database, or in the session cookie while the
    person enrols)."""
    nonce = secrets.token_bytes(12)
    box = AESGCM(_key(b"wijkbudget totp secret"))
    sealed = box.encrypt(nonce, secret.encode(), f"{purpose}:{user_id}".encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(sealed: str | None, user_id: int, purpose: str = "account") -> str | None:
    """The secret, or None when it is missing or does not open (another key, another account)."""
    if not sealed:
        return None
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        box = AESGCM(_key(b"wijkbudget totp secret"))
        return box.decrypt(raw[:12], raw[12:], f"{purpose}:{user_id}".encode()).decode()
    except (ValueError, InvalidTag):
        return None


def provisioning_uri(secret: str, email: str) -> str:
    issuer = current_app.config.get("SITE_NAME") or "wijkbudget"
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
        name=email, issuer_name=issuer
    )


def qr_svg(uri: str, title: str) -> Markup:
    """The QR code as inline SVG (no image request, no JavaScript), with a title for screen
    readers; the page shows the secret as text too, for typing it in."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=5, border=2, dark="#000", light="#fff", title=title, svgclass="qr"
    )
    return Markup(svg)  # noqa: S704 (segno's own SVG; the title is escaped by segno)


def grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# --- checking a code --------------------------------------------------------------------------


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // INTERVAL)


def clean_code(text: str) -> str:
    """What the person typed, without spaces and dashes, upper case. Only ASCII letters and
    digits count: a superscript or Arabic-Indic digit is not a code digit."""
    text = (text or "")[:MAX_INPUT]
    return "".join(c for c in text if c not in " -\t").upper()


def is_totp_shape(code: str) -> bool:
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def matching_step(
    secret: str, code: str, after: int | None, now: float | None = None
) -> int | None:
    """The time step whose code this is, if it is one of now's window and later than ``after``
    (the step last used: a code works once); None otherwise."""
    if not is_totp_shape(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    step = current_step(now)
    found = None
    for candidate in range(step - WINDOW, step + WINDOW + 1):
        # compare every candidate (no early exit), in constant time
        if hmac.compare_digest(totp.generate_otp(candidate), code) and found is None:
            found = candidate
    if found is None or (after is not None and found <= after):
        return None
    return found


# --- recovery codes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RecoveryCodes:
    shown: list[str]  # for the person, once
    hashes: list[str]  # for the database


def new_recovery_codes() -> RecoveryCodes:
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODES)
    ]
    return RecoveryCodes(
        shown=[f"{c[:4]}-{c[4:8]}-{c[8:]}" for c in codes],
        hashes=[recovery_hash(c) for c in codes],
    )


def is_recovery_shape(code: str) -> bool:
    return len(code) == RECOVERY_LENGTH and all(c in RECOVERY_ALPHABET for c in code)


def recovery_hash(code: str) -> str:
    """A keyed hash: without the app's secret key a dump of the table cannot be searched."""
    return hmac.new(_key(b"wijkbudget recovery code"), code.encode(), hashlib.sha256).hexdigest()
