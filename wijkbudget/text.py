"""User text: a small Markdown subset, rendered with markdown-it-py and sanitised by nh3, so no
raw HTML, script, event handler or javascript: link survives."""

from __future__ import annotations

import html
from functools import lru_cache

import nh3
from flask import Flask
from markdown_it import MarkdownIt
from markdown_it.token import Token
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
# "*" replaces nh3's generic attributes (lang, title on every tag): only href on a survives
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"*": set(), "a": {"href"}}
URL_SCHEMES = {"http", "https", "mailto"}

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")


def _demote_headings(tokens: list[Token]) -> None:
    """# becomes h3 and deeper becomes h4: the page has its own h1 and h2."""
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = "h3" if token.tag == "h1" else "h4"


def render_markdown(source: str | None) -> Markup:
    return Markup(_rendered(source or ""))  # noqa: S704 (sanitised by nh3 in _rendered)


# Rendering is a pure function of the text, and the same texts are shown on every view of a
# thread or a list: each worker keeps the most recent ones (a few MB at most)
@lru_cache(maxsize=8192)
def _rendered(source: str) -> str:
    tokens = _md.parse(source)
    _demote_headings(tokens)
    rendered = _md.renderer.render(tokens, _md.options, {})
    return nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener ugc",
    )


def plain_excerpt(source: str | None, length: int = 200) -> str:
    """The text without any markup, cut on a word boundary. Plain text, not HTML: let Jinja
    escape it as usual (entities such as &amp; are decoded here, so nothing gets escaped twice)."""
    return _excerpt(source or "", length)


@lru_cache(maxsize=8192)
def _excerpt(source: str, length: int) -> str:
    text = html.unescape(nh3.clean(_rendered(source), tags=set()))
    text = " ".join(text.split())
    if len(text) <= length:
        return text
    cut = text[: length + 1].rsplit(" ", 1)[0] if " " in text[:length] else text[:length]
    return cut.rstrip(" ,;:.") + "…"


def init_app(app: Flask) -> None:
    app.jinja_env.filters["markdown"] = render_markdown
