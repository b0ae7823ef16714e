"""The accounts blueprint: registering, signing in and out, the account page, the language
switch, and the admin's pages for accounts and roles, one module per concern; ``bp`` and the
session's account loader live in common.py."""

from __future__ import annotations

# each module adds its routes to ``bp`` when it is imported
from . import account, admin, registration, signin
from .common import bp

__all__ = ["account", "admin", "bp", "registration", "signin"]
