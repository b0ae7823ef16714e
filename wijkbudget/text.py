"""User text: a small Markdown subset, rendered with markdown-it-py and sanitised by nh3, so no
raw HTML, script, event handler or javascript: link survives."""

from __future__ import annotations

import nh3
from flask import Flask
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {
    "p",
    "br",
    "em",
    "strong",
    "ul",
    "ol",
    "li",
    "a",
    "blockquote",
    "code",
    "pre",
    "h3",
    "h4",
}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = {"http", "https", "mailto"}

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")


def _demote_headings(tokens: list) -> None:  # type: ignore[type-arg]
    """# becomes h3 and deeper becomes h4: the page has its own h1 and h2."""
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = int(token.tag[1])
            token.tag = "h3" if level == 1 else "h4"


def render_markdown(source: str | None) -> Markup:
    tokens = _md.parse(source or "")
    _demote_headings(tokens)
    html = _md.renderer.render(tokens, _md.options, {})
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener ugc",
    )
    return Markup(clean)  # noqa: S704 (sanitised by nh3 just above)


def plain_excerpt(source: str | None, length: int = 200) -> str:
    text = nh3.clean(str(render_markdown(source)), tags=set()).strip()
    text = " ".join(text.split())
    if len(text) <= length:
        return text
    cut = text[:length].rsplit(" ", 1)[0]
    return cut + "…"


def init_app(app: Flask) -> None:
    app.jinja_env.filters["markdown"] = render_markdown
