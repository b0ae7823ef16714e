"""Security headers on every response: a Content-Security-Policy without 'unsafe-inline' (no
inline script or style anywhere; htmx is told not to add its indicator styles), no framing,
nosniff, a strict referrer policy, and HSTS when cookies are secure (served over https).

``Cache-Control: no-store`` on every response that may hold personal data: whatever answers a
request that carries a cookie or credentials (a login, a voter's code, a draft ballot, the board)
or that starts a session. Only what a visitor without any cookie gets (what the page cache
serves, see pagecache.py) keeps its caching; a response that set its own ``Cache-Control``
(static files, the open data API, photos) keeps it."""

from __future__ import annotations

from flask import Flask, Response, request, session
from werkzeug.exceptions import SecurityError

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


def init_app(app: Flask) -> None:
    hsts = bool(app.config["COOKIE_SECURE"])

    @app.errorhandler(SecurityError)
    def untrusted_host(error: SecurityError) -> tuple[str, int, dict[str, str]]:
        """A request for a host that is not PUBLIC_URL's (TRUSTED_HOSTS, see config.py): a plain
        400, before anything (a page, a link, a mail) is built from the host it named."""
        body = "400 Bad Request: deze site heeft een andere naam / this site has another name"
        return body, 400, {"Content-Type": "text/plain; charset=utf-8"}

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)  # receipts and photos set a stricter one
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if hsts:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if personal(response):
            headers.setdefault("Cache-Control", "no-store")
        return response


def personal(response: Response) -> bool:
    """May this response hold something of one person? Yes when the request carried a cookie or
    credentials, or when the response starts or changes a session (the session cookie is added
    after this runs, so ``session.modified`` tells)."""
    return bool(
        request.cookies
        or "Authorization" in request.headers
        or "Set-Cookie" in response.headers
        or session.modified
    )
