"""Proposal descriptions: a small Markdown subset, and nothing that runs in the browser."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from flask import render_template_string
from markupsafe import Markup

from wijkbudget.text import ALLOWED_TAGS, plain_excerpt, render_markdown


class Elements(HTMLParser):
    """Every start tag with its attributes, as a browser would see them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    @property
    def tags(self) -> set[str]:
        return {tag for tag, _attrs in self.found}

    @property
    def hrefs(self) -> list[str]:
        return [attrs.get("href") or "" for tag, attrs in self.found if tag == "a"]


ATTACKS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](java\nscript:alert(1))",
    "[x]( javascript:alert(1) )",
    "<javascript:alert(1)>",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "![x](data:text/html;base64,xx)",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="https://ok.example" onclick="alert(1)">x</a>',
    "<iframe src=https://evil.example></iframe>",
    "<svg onload=alert(1)>",
    "<style>body{display:none}</style>",
    '[x](https://ok.example "title" onmouseover="alert(1)")',
    "**<img src=x onerror=alert(1)>**",
    "```html\n<script>alert(1)</script>\n```",
    "`<script>alert(1)</script>`",
    "> <script>alert(1)</script>",
    "- <img src=x onerror=alert(1)>",
]


@pytest.mark.parametrize("source", ATTACKS)
def test_attacks_come_out_inert(app: Any, source: str) -> None:
    html = str(render_markdown(source))
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<img" not in lowered
    assert "<iframe" not in lowered
    assert "<svg" not in lowered
    assert "<style" not in lowered
    elements = Elements(html)
    assert elements.tags <= ALLOWED_TAGS
    for tag, attrs in elements.found:
        allowed = {"href", "rel"} if tag == "a" else set()
        assert set(attrs) <= allowed, (tag, attrs)
        assert not any(name.startswith("on") for name in attrs)
    for href in elements.hrefs:
        assert href.split(":", 1)[0].strip().lower() in {"http", "https", "mailto"}, href


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
    ],
)
def test_raw_html_is_shown_as_text(app: Any, source: str) -> None:
    html = str(render_markdown(source))
    # escaped, so the browser shows the characters and builds no element from them
    assert html.startswith("<p>&lt;")
    assert Elements(html).found == [("p", {})]


def test_no_javascript_link_survives(app: Any) -> None:
    for source in ("[x](javascript:alert(1))", "[x](JAVASCRIPT:alert(1))"):
        html = str(render_markdown(source))
        assert Elements(html).hrefs == []
        assert "href" not in html


def test_data_url_image_is_not_an_image(app: Any) -> None:
    html = str(render_markdown("![x](data:text/html;base64,xx)"))
    assert "<img" not in html
    assert "src=" not in html
    assert "href" not in html


def test_normal_markdown_works(app: Any) -> None:
    source = (
        "Een **bankje** bij de *speeltuin*.\n"
        "Tweede regel.  \nHarde regelovergang.\n\n"
        "- hout\n- verf\n\n"
        "1. eerst\n2. dan\n\n"
        "> Een bewoner zei dit.\n\n"
        "`code` en\n\n"
        "```\nblok\n```\n\n"
        "Zie [de gemeente](https://www.gemeente.nl/plan) of "
        "[mail ons](mailto:wijk@example.nl)."
    )
    html = render_markdown(source)
    assert isinstance(html, Markup)
    assert "<strong>bankje</strong>" in html
    assert "<em>speeltuin</em>" in html
    assert "<br>" in html or "<br />" in html
    assert "<ul>\n<li>hout</li>\n<li>verf</li>\n</ul>" in html
    assert "<ol>\n<li>eerst</li>\n<li>dan</li>\n</ol>" in html
    assert "<blockquote>" in html
    assert "<code>code</code>" in html
    assert "<pre><code>blok\n</code></pre>" in html
    assert (
        Elements(str(html)).found.count(
            ("a", {"href": "https://www.gemeente.nl/plan", "rel": "nofollow noopener ugc"})
        )
        == 1
    )
    assert ("a", {"href": "mailto:wijk@example.nl", "rel": "nofollow noopener ugc"}) in Elements(
        str(html)
    ).found


def test_relative_link_stays_a_link(app: Any) -> None:
    assert Elements(str(render_markdown("[x](/voorstellen/1)"))).hrefs == ["/voorstellen/1"]


def test_autolink_gets_rel(app: Any) -> None:
    html = str(render_markdown("<https://example.nl>"))
    assert Elements(html).found == [
        ("p", {}),
        ("a", {"href": "https://example.nl", "rel": "nofollow noopener ugc"}),
    ]


def test_link_keeps_only_href_and_rel(app: Any) -> None:
    html = str(render_markdown('[x](https://example.nl "een titel")'))
    assert Elements(html).found[1] == (
        "a",
        {"href": "https://example.nl", "rel": "nofollow noopener ugc"},
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("# Kop", "<h3>Kop</h3>"),
        ("## Kop", "<h4>Kop</h4>"),
        ("### Kop", "<h4>Kop</h4>"),
        ("###### Kop", "<h4>Kop</h4>"),
        ("Kop\n===", "<h3>Kop</h3>"),
        ("Kop\n---", "<h4>Kop</h4>"),
    ],
)
def test_headings_are_demoted(app: Any, source: str, expected: str) -> None:
    html = str(render_markdown(source))
    assert html.strip() == expected
    assert not {"h1", "h2", "h5", "h6"} & Elements(html).tags


def test_headings_in_text_are_not_touched(app: Any) -> None:
    # demoting works on tokens, not on the HTML: a literal "<h1>" in the text stays text
    html = str(render_markdown("Schrijf <h1> niet zo."))
    assert html.strip() == "<p>Schrijf &lt;h1&gt; niet zo.</p>"


def test_empty_and_none(app: Any) -> None:
    assert render_markdown("") == Markup("")
    assert render_markdown(None) == Markup("")


def test_markdown_filter(app: Any) -> None:
    with app.test_request_context("/"):
        shown = render_template_string(
            "{{ text|markdown }}", text="**vet** <script>alert(1)</script>"
        )
    assert "<strong>vet</strong>" in shown
    assert "<script" not in shown


def test_plain_excerpt_strips_markup(app: Any) -> None:
    source = "# Kop\n\nEen *mooie* tekst & meer <b>\n\n- een\n- twee"
    assert plain_excerpt(source) == "Kop Een mooie tekst & meer <b> een twee"


def test_plain_excerpt_cuts_on_a_word_boundary(app: Any) -> None:
    source = "Dit is een heel lang voorstel over een nieuw bankje in het park."
    excerpt = plain_excerpt(source, length=20)
    assert excerpt == "Dit is een heel lang…"
    assert len(excerpt) <= 21
    assert plain_excerpt(source, length=200) == source


def test_plain_excerpt_word_longer_than_length(app: Any) -> None:
    assert plain_excerpt("a" * 50, length=10) == "a" * 10 + "…"


def test_plain_excerpt_is_escaped_by_jinja(app: Any) -> None:
    excerpt = plain_excerpt("<script>alert(1)</script> & meer")
    with app.test_request_context("/"):
        shown = render_template_string("{{ text }}", text=excerpt)
    assert shown == "&lt;script&gt;alert(1)&lt;/script&gt; &amp; meer"
