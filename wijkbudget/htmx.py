"""htmx helpers: a page includes its fragment; an htmx request (not a boosted one) gets only the
fragment. Responses that differ by HX-Request say so in ``Vary``."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, render_template, request


def is_htmx() -> bool:
    return (
        request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"
    )


def render_page_or_fragment(template: str, fragment: str, status: int = 200, **context: Any) -> Any:
    return render_template(fragment if is_htmx() else template, **context), status


def init_app(app: Flask) -> None:
    @app.after_request
    def vary_on_htmx(response: Response) -> Response:
        if response.mimetype == "text/html":
            response.vary.add("HX-Request")
        return response
