"""Flask extensions, created once and bound to an app in create_app()."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from flask import current_app, request
from flask_babel import Babel
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import DateTime, Enum, MetaData, Table, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

from .refusals import DomainError
from .replica import RoutingSession

# Stable constraint names, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always handed back timezone-aware.

    SQLite has no time zones; PostgreSQL's ``timestamptz`` does. Storing naive UTC in both and
    attaching UTC on the way out gives the same behaviour on both back ends.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})

if TYPE_CHECKING:

    class Model(Base):
        """What ``db.Model`` is, for the type checker (Flask-SQLAlchemy makes it at run time)."""

        __abstract__ = True

else:
    #: the base of every model: ``db.Model`` (Base with Flask-SQLAlchemy's table names)
    Model = db.Model


def table_of(model: type[Model]) -> Table:
    """A model's table, for Core statements (``insert(table_of(Ballot))``): ``__table__`` is
    typed as any FROM clause."""
    return cast(Table, model.__table__)


migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)


#: the highest ``?page=`` a list answers (the API's limit too): beyond it the offset would
#: not fit the database's integer (a 500), so it is a bad parameter (400)
MAX_PAGE = 1_000_000


class NoSuchPage(DomainError):
    """``?page=`` beyond ``MAX_PAGE``: a bad parameter, shown with its message."""

    status = 400


def page_number() -> int | None:
    """``?page=`` as Flask-SQLAlchemy reads it (not a number: None, the first page), refused
    (``NoSuchPage``, 400) when it is beyond ``MAX_PAGE``."""
    try:
        page = int(request.args.get("page", ""))
    except ValueError:
        return None
    if page > MAX_PAGE:
        raise NoSuchPage(_("Er is geen pagina met dat nummer. Begin bij de eerste pagina."))
    return page


def paginate(query: Any, per_page: int | None = None) -> Any:
    """One page of ``query`` (``?page=``), PAGE_SIZE rows (or ``per_page``); a page past the end
    is empty, not 404; a page number beyond ``MAX_PAGE`` is a 400."""
    return db.paginate(
        query,
        page=page_number(),
        per_page=per_page or current_app.config["PAGE_SIZE"],
        max_per_page=100,
        error_out=False,
        count=True,
    )


def enum_column(enum_type: Any) -> Any:
    """A string enum stored by value as VARCHAR (no native enum: migrations stay simple on both
    back ends; adding a member needs no ALTER TYPE)."""
    return Enum(
        enum_type, native_enum=False, length=30, values_callable=lambda e: [m.value for m in e]
    )
