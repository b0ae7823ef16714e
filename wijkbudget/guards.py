"""The decorators that guard views: who must be signed in, and in which role, for each route.

Each marks the view with the role it needs (``view.required_role``), which the role-matrix test
reads to walk every protected route. The questions themselves ("is this user on the board of this
wijk?") are answered in ``permissions.py``; a wijk-scoped guard loads the wijk through
``loaders.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

from .extensions import login_manager
from .loaders import wijk_or_404
from .permissions import can_read_audit, is_active, is_admin, is_board, is_councillor

F = TypeVar("F", bound=Callable[..., Any])


def _mark(view: Callable[..., Any], role: str, wijk_scoped: bool) -> None:
    view.required_role = role  # type: ignore[attr-defined]
    view.wijk_scoped = wijk_scoped  # type: ignore[attr-defined]


def _guard(role: str, check: Callable[..., bool], *, wijk_scoped: bool = False) -> Callable[[F], F]:
    """A decorator: sign-in required (else the login page), then ``check`` (else 403).

    A wijk-scoped guard loads the wijk named by the route's ``slug`` (404 if there is none), checks
    the user against that wijk and hands the view ``wijk`` instead of ``slug``.
    """

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not is_active(current_user):
                return login_manager.unauthorized()
            if wijk_scoped:
                kwargs["wijk"] = wijk_or_404(kwargs.pop("slug"))
                allowed = check(current_user, kwargs["wijk"])
            else:
                allowed = check(current_user)
            if not allowed:
                abort(403)
            return view(*args, **kwargs)

        _mark(wrapped, role, wijk_scoped)
        return wrapped  # type: ignore[return-value]

    return decorator


#: any signed-in, active account
login_required = _guard("user", is_active)
#: a board member of the wijk named by the route's ``slug``; the view receives ``wijk``
board_required = _guard("board", is_board, wijk_scoped=True)
#: an admin
admin_required = _guard("admin", is_admin)
#: the board of the wijk named by ``slug`` or a councillor for it (reads, e.g. "what if")
oversight_required = _guard(
    "oversight",
    lambda user, wijk: is_board(user, wijk) or is_councillor(user, wijk),
    wijk_scoped=True,
)
#: admins and councillors (what they see is narrowed by ``audit_scope``)
audit_reader_required = _guard("audit", can_read_audit)


def public(view: F) -> F:
    """Open to everyone, signed in or not (marked so the role matrix knows it was meant)."""
    _mark(view, "public", False)
    return view
