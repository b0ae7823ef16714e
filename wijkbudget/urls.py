"""Absolute URLs from configuration: links in mail, printed letters and exports point to
``PUBLIC_URL`` (``WIJKBUDGET_PUBLIC_URL``), never to the host a request named.

A request's ``Host`` (or ``X-Forwarded-Host`` behind the proxy) is chosen by whoever sends it: a
reset link built from it (``url_for(..., _external=True)``) mails a genuine token to a foreign
site. Here the path comes from ``url_for`` and the scheme and host from the configuration; the
request plays no part. Requests for any other host are refused with 400 (``TRUSTED_HOSTS``, set
in config.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, url_for


class PublicUrlMissing(RuntimeError):
    """No ``PUBLIC_URL`` is configured, so no link can be built for outside the site."""


def public_url() -> str:
    """The configured public address without a trailing slash, e.g. ``https://wijk.example.nl``.

    Without one (allowed only while developing, testing or on the command line), the address of
    the current request is used when debugging or testing; otherwise no link is built.
    """
    base = str(current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    if base:
        return base
    if has_request_context() and (current_app.debug or current_app.testing):
        return url_for("neighbourhoods.index", _external=True).rstrip("/")
    raise PublicUrlMissing("WIJKBUDGET_PUBLIC_URL is not set: no link can be built for a mail")


def public_host() -> str:
    """The host (with port) of the public address, for printed text such as "staan op …"."""
    return urlsplit(public_url()).netloc


def external_url(endpoint: str, **values: Any) -> str:
    """``url_for(endpoint, **values)`` as an absolute URL on the public address.

    The path is built without a host (``_external=False``): a site served under a prefix gets it
    from ``SCRIPT_NAME`` (or ``APPLICATION_ROOT`` outside a request), as every other link does.
    """
    values.pop("_external", None)
    path = url_for(endpoint, _external=False, **values)
    return public_url() + path


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(external_url=external_url, public_host=public_host)
