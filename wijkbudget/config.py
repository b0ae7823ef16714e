"""Configuration in layers: defaults → instance/config.py → WIJKBUDGET_* environment → overrides.

Every key of ``DEFAULTS`` can be set from the environment as ``WIJKBUDGET_<KEY>``; the value is
converted to the type of the default (``true``/``1``/``ja`` for booleans).
``WIJKBUDGET_DATABASE_URL`` sets the database. The secret key comes from
``WIJKBUDGET_SECRET_KEY`` or is generated once into ``instance/secret_key``; it is never a
constant in the code.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

ENV_PREFIX = "WIJKBUDGET_"

DEFAULTS: dict[str, Any] = {
    # database: a SQLite file in instance/ unless DATABASE_URL says otherwise
    "DATABASE_URL": "",
    # PostgreSQL read replica for the GET requests of visitors without a session (see replica.py)
    "DATABASE_REPLICA_URL": "",
    # PostgreSQL: a pooled connection that rested this many seconds is tested before use
    "DATABASE_PING_AFTER_SECONDS": 5,
    # cookies: secure by default; `make run` turns this off for plain http on 127.0.0.1
    "COOKIE_SECURE": True,
    "PROXY_FIX": False,
    "LOG_LEVEL": "INFO",
    # request limits: a huge body gets 413. MAX_CONTENT_LENGTH is for a form with a file (a
    # photo, a receipt); any other form may be at most FORM_MAX_BYTES in all, and each text
    # field of a form with a file at most MAX_FORM_MEMORY_SIZE (the longest text field is
    # 20,000 characters)
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "FORM_MAX_BYTES": 1024 * 1024,
    "MAX_FORM_MEMORY_SIZE": 256 * 1024,
    "MAX_FORM_PARTS": 1000,
    # languages
    "LANGUAGES": "nl,en",
    "BABEL_DEFAULT_LOCALE": "nl",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Amsterdam",
    # accounts
    "EMAIL_VERIFY_MAX_AGE": 48 * 3600,
    "PASSWORD_RESET_MAX_AGE": 2 * 3600,
    "PASSWORD_MIN_LENGTH": 10,
    # sessions (accounts/sessions.py): ended when unused this long, or this long after signing
    # in, whatever happens; "ingelogd blijven" keeps a resident's session up to the lifetime.
    # Accounts with a role (board, councillor, admin) have the STAFF_ limits and never stay
    # signed in after the browser closes.
    "SESSION_IDLE_MINUTES": 14 * 24 * 60,
    "SESSION_LIFETIME_HOURS": 30 * 24,
    "STAFF_SESSION_IDLE_MINUTES": 30,
    "STAFF_SESSION_LIFETIME_HOURS": 12,
    # proposals: an invitation to co-submit that is not accepted within this many days expires
    "INVITE_MAX_AGE_DAYS": 14,
    # rate limits (Flask-Limiter syntax); storage is memory:// or a redis:// URL
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_LOGIN": "10 per 15 minutes",
    "RATELIMIT_REGISTER": "5 per hour",  # accounts made per address (typos do not count)
    "RATELIMIT_REGISTER_TRIES": "30 per hour",  # every registration form sent, per address
    "RATELIMIT_RESEND": "3 per hour",  # confirmation mails asked, per address and per e-mail
    "RATELIMIT_RESET": "5 per hour",
    "RATELIMIT_SECOND_FACTOR": "5 per 15 minutes",  # wrong second-factor codes per account
    "RATELIMIT_CODES": "20 per 15 minutes",  # wrong voting codes per address (IPv6: per /64)
    # wrong voting codes from everyone together before the audit log says so (nobody waits)
    "RATELIMIT_CODES_GLOBAL": "300 per hour",
    "RATELIMIT_API": "300 per minute",  # the open data API, per IP address
    # mail: "file" writes .eml files to instance/mail/, "smtp" sends through MAIL_HOST
    "MAIL_BACKEND": "",
    "MAIL_HOST": "",
    "MAIL_PORT": 587,
    "MAIL_SECURITY": "starttls",  # starttls | ssl | none
    "MAIL_USERNAME": "",
    "MAIL_PASSWORD": "",
    "MAIL_FROM": "wijkbudget <noreply@wijkbudget.invalid>",
    "MAIL_DIR": "",
    # uploaded photos (instance/uploads when empty)
    "UPLOAD_DIR": "",
    "UPLOAD_MAX_BYTES": 5 * 1024 * 1024,
    # the public address (scheme and host, e.g. https://wijkbudget.example.nl): every link in a
    # mail, letter or export points here, and requests for any other host get a 400. Required
    # in production; `make run` sets http://127.0.0.1:5000. (BASE_URL: its old name.)
    "PUBLIC_URL": "",
    "BASE_URL": "",
    # more host names the site answers to besides PUBLIC_URL's (comma-separated), e.g. the name
    # a load balancer's health check uses
    "EXTRA_HOSTS": "",
    # PostgreSQL: a statement running longer is cancelled (0: no limit). The command line
    # (migrations, backup, tally) is not limited; see docs/operations.md.
    "DATABASE_STATEMENT_TIMEOUT_MS": 15000,
    # the key of the voters' fingerprints (voting/fingerprint.py: one vote per mailbox, also
    # after the account is deleted): a long random string, kept as long as the data. Required
    # in production; in development and tests derived from SECRET_KEY with a label of its own
    "FINGERPRINT_KEY": "",
    # pagination
    "PAGE_SIZE": 25,
    # public pages for visitors without a session come from a cache (see pagecache.py):
    # how long a page is kept (0: no cache), and where (a redis:// URL, or empty: each worker's
    # memory). Pages are never stale after a change; only the turnout may lag by this much.
    "PAGE_CACHE_SECONDS": 10,
    "PAGE_CACHE_URL": "",
    # maintenance (maintenance.py): the flag file every worker looks for before a write
    # (instance/maintenance.json when empty; on a shared mount when there are several servers);
    # `flask restore` waits GRACE seconds after setting it for requests already running, and
    # on PostgreSQL at most DRAIN seconds for the transactions that were open then
    "MAINTENANCE_FILE": "",
    "MAINTENANCE_GRACE_SECONDS": 3,
    "MAINTENANCE_DRAIN_SECONDS": 60,
    "MAINTENANCE_RETRY_AFTER_SECONDS": 120,
    # signed ledger checkpoints (spending/checkpoints.py): the hex Ed25519 seed that signs them
    # (where `flask ledger checkpoint` runs), and/or the hex public key that checks them (the
    # web app needs only this one). Production requires one of the two; in development and
    # tests, with neither, the key is derived from SECRET_KEY.
    "CHECKPOINT_KEY": "",
    "CHECKPOINT_PUBLIC_KEY": "",
    # the 360Giving grants file (spending/exports.py): the prefix of every grant and
    # organisation identifier, "360G-" and the publisher's own part (360Giving assigns one)
    "GRANTS_360_PREFIX": "360G-wijkbudget",
}

TRUE_WORDS = {"1", "true", "yes", "on", "ja"}
FALSE_WORDS = {"0", "false", "no", "off", "nee", ""}


def _coerce(key: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        word = raw.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(f"{ENV_PREFIX}{key}: expected true or false, got {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError as exc:
            raise ValueError(f"{ENV_PREFIX}{key}: expected a whole number, got {raw!r}") from exc
    return raw


def _secret_key(instance: Path) -> str:
    from_env = os.environ.get(f"{ENV_PREFIX}SECRET_KEY")
    if from_env:
        return from_env
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two workers starting at once cannot write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def load_config(app: Flask, overrides: dict[str, Any] | None = None) -> None:
    instance = Path(app.instance_path)
    app.config.update(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    for key, default in DEFAULTS.items():
        raw = os.environ.get(ENV_PREFIX + key)
        if raw is not None:
            app.config[key] = _coerce(key, raw, default)
    if overrides:
        app.config.update(overrides)

    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)

    url = app.config.get("SQLALCHEMY_DATABASE_URI") or app.config["DATABASE_URL"]
    if not url:
        instance.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{instance / 'wijkbudget.sqlite'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config["DATABASE_URL"] = url
    if app.config["DATABASE_REPLICA_URL"]:
        app.config["SQLALCHEMY_BINDS"] = {
            **app.config.get("SQLALCHEMY_BINDS", {}),
            "replica": app.config["DATABASE_REPLICA_URL"],
        }

    secure = bool(app.config["COOKIE_SECURE"])
    app.config.update(
        # __Host-: the browser takes the cookie only over https, for this host, for every path
        SESSION_COOKIE_NAME="__Host-session" if secure else "session",
        REMEMBER_COOKIE_NAME="__Host-remember" if secure else "remember_token",
        # the cookie is sent again only when the session changed (sessions.py: at most once a
        # minute for a signed-in person); it is refused once older than the longest lifetime
        SESSION_REFRESH_EACH_REQUEST=False,
        PERMANENT_SESSION_LIFETIME=timedelta(
            hours=max(
                int(app.config["SESSION_LIFETIME_HOURS"]),
                int(app.config["STAFF_SESSION_LIFETIME_HOURS"]),
            )
        ),
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    if not app.config["MAIL_BACKEND"]:
        app.config["MAIL_BACKEND"] = "smtp" if app.config["MAIL_HOST"] else "file"
    if not app.config["UPLOAD_DIR"]:
        app.config["UPLOAD_DIR"] = str(instance / "uploads")
    if not app.config["MAIL_DIR"]:
        app.config["MAIL_DIR"] = str(instance / "mail")
    _public_url(app)
    _checkpoint_key(app)
    _fingerprint_key(app)
    _statement_timeout(app)
    _grants_prefix(app)
    app.config["LANGUAGES"] = [
        code.strip() for code in str(app.config["LANGUAGES"]).split(",") if code.strip()
    ]


class ConfigError(RuntimeError):
    """A setting production needs is missing or malformed: the app does not start."""


def _grants_prefix(app: Flask) -> None:
    """``GRANTS_360_PREFIX`` must be 360Giving's: "360G-" and a part of one's own."""
    prefix = str(app.config["GRANTS_360_PREFIX"]).strip().rstrip("-")
    if not prefix.startswith("360G-") or len(prefix) <= len("360G-") or " " in prefix:
        raise ConfigError(
            f"{ENV_PREFIX}GRANTS_360_PREFIX must be 360G- followed by the publisher's own part "
            "(for example 360G-wijkbudget-utrecht), without spaces"
        )
    app.config["GRANTS_360_PREFIX"] = prefix


def _public_url(app: Flask) -> None:
    """``PUBLIC_URL`` → ``TRUSTED_HOSTS``. Required unless debugging, testing or on the command
    line (``flask …`` sets FLASK_RUN_FROM_CLI; a command that needs a link then says so)."""
    url = str(app.config["PUBLIC_URL"] or app.config["BASE_URL"] or "").strip().rstrip("/")
    app.config["PUBLIC_URL"] = url
    if not url:
        if not (app.debug or app.testing or os.environ.get("FLASK_RUN_FROM_CLI")):
            raise ConfigError(
                f"{ENV_PREFIX}PUBLIC_URL is not set: the public address of the site (for example "
                "https://wijkbudget.example.nl) is needed for the links in mail, and only "
                "requests for its host are answered"
            )
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
        raise ConfigError(
            f"{ENV_PREFIX}PUBLIC_URL: expected a scheme and host such as "
            f"https://wijkbudget.example.nl, got {url!r}"
        )
    extra = [host.strip() for host in str(app.config["EXTRA_HOSTS"]).split(",") if host.strip()]
    app.config["TRUSTED_HOSTS"] = [parts.hostname, *extra]


def _checkpoint_key(app: Flask) -> None:
    """The ledger checkpoints' key: required like PUBLIC_URL (not when debugging, testing or on
    the command line, where a missing key is derived from SECRET_KEY; see checkpoints.py)."""
    for key in ("CHECKPOINT_KEY", "CHECKPOINT_PUBLIC_KEY"):
        raw = str(app.config[key] or "").strip()
        app.config[key] = raw
        if raw and (len(raw) != 64 or any(c not in "0123456789abcdefABCDEF" for c in raw)):
            raise ConfigError(f"{ENV_PREFIX}{key}: expected 64 hexadecimal digits")
    if app.config["CHECKPOINT_KEY"] or app.config["CHECKPOINT_PUBLIC_KEY"]:
        return
    if not (app.debug or app.testing or os.environ.get("FLASK_RUN_FROM_CLI")):
        raise ConfigError(
            f"{ENV_PREFIX}CHECKPOINT_PUBLIC_KEY (or {ENV_PREFIX}CHECKPOINT_KEY) is not set: the "
            "key that checks the signed checkpoints of the ledger. Make one with "
            "'flask --app wsgi ledger new-key'."
        )


def _fingerprint_key(app: Flask) -> None:
    """``FINGERPRINT_KEY`` is required where ``PUBLIC_URL`` is (not when debugging, testing or
    on the command line): a key derived from SECRET_KEY would change with it, and every voter
    fingerprint made before would be forgotten."""
    key = str(app.config["FINGERPRINT_KEY"] or "").strip()
    app.config["FINGERPRINT_KEY"] = key
    if key and len(key) < 32:
        raise ConfigError(
            f"{ENV_PREFIX}FINGERPRINT_KEY is too short: use at least 32 random characters, for "
            "example the output of: python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    if key or app.debug or app.testing or os.environ.get("FLASK_RUN_FROM_CLI"):
        return
    raise ConfigError(
        f"{ENV_PREFIX}FINGERPRINT_KEY is not set: the key of the voters' fingerprints (one vote "
        "per mailbox, also after an account is deleted). Set it once to a long random string, "
        "for example the output of: python -c 'import secrets; print(secrets.token_hex(32))', "
        "and keep it as long as the data"
    )


def _statement_timeout(app: Flask) -> None:
    """PostgreSQL's ``statement_timeout`` for the web app's connections, as a connect option.

    Not on the command line: ``flask db upgrade``, backup and restore may rightly take longer
    than a page may. The web app's close and count of a round is many short statements."""
    timeout = int(app.config["DATABASE_STATEMENT_TIMEOUT_MS"])
    url = str(app.config["SQLALCHEMY_DATABASE_URI"])
    if timeout <= 0 or not url.startswith("postgresql") or os.environ.get("FLASK_RUN_FROM_CLI"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    given = connect_args.get("options", "")
    connect_args["options"] = f"{given} -c statement_timeout={timeout}".strip()
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
