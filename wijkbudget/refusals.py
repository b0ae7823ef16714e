"""The domain's refusal: :class:`DomainError`, the lowest piece every layer may raise.

It lives apart from the error pages (errors.py) so that the extensions (a page number beyond the
last is a refusal) and the models can raise it without loading the pages, the database handle or
maintenance: errors.py imports those, and this module imports nothing of wijkbudget.
"""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain said no. ``message`` is already in the person's language."""

    status = 422

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
