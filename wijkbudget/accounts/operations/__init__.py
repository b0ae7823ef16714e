"""The accounts' use cases, one module per concern: account.py (register, verify, sign in, the
password, the profile, deleting the account), second_factor.py, roles.py (and ``create-admin``).
Each is one transaction (``@use_case``); see those modules.

Callers use ``operations.<name>``: the names are gathered here.
"""

from __future__ import annotations

from .account import (
    RESET_SALT,
    VERIFY_SALT,
    AccountError,
    WorkPostcodeError,
    authenticate,
    change_password,
    clear_second_factor,
    delete_account,
    end_sessions,
    find_user_by_email,
    make_reset_token,
    make_verify_token,
    normalise_email,
    password_fingerprint,
    register,
    request_password_reset,
    resend_confirmation,
    reset_password,
    send_mail,
    send_verification,
    set_language,
    update_profile,
    user_for_reset_token,
    user_for_verify_token,
    verify_email,
)
from .roles import (
    count_users,
    grant_role,
    has_role,
    make_admin,
    revoke_role,
)
from .second_factor import (
    WRONG_CODE,
    disable_second_factor,
    enable_second_factor,
    renew_recovery_codes,
    reset_second_factor,
    use_second_factor,
    warn_of_second_factor_attempts,
)

__all__ = [
    "AccountError",
    "RESET_SALT",
    "VERIFY_SALT",
    "WRONG_CODE",
    "WorkPostcodeError",
    "authenticate",
    "change_password",
    "clear_second_factor",
    "count_users",
    "delete_account",
    "disable_second_factor",
    "enable_second_factor",
    "end_sessions",
    "find_user_by_email",
    "grant_role",
    "has_role",
    "make_admin",
    "make_reset_token",
    "make_verify_token",
    "normalise_email",
    "password_fingerprint",
    "register",
    "renew_recovery_codes",
    "request_password_reset",
    "resend_confirmation",
    "reset_password",
    "reset_second_factor",
    "revoke_role",
    "send_mail",
    "send_verification",
    "set_language",
    "update_profile",
    "use_second_factor",
    "user_for_reset_token",
    "user_for_verify_token",
    "verify_email",
    "warn_of_second_factor_attempts",
]
