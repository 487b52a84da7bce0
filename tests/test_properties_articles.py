"""Property tests of articles: whatever goes in, a record or a clear NewsworkerError.

Near-valid text and Markdown articles (random headers, bylines, front matter,
newlines, encodings and truncation) and HTML pages through the readers, and
normalisation of any draft, which must also be deterministic. The shared harness
is tests/properties.py; any bytes, feeds and JSON are tests/test_properties.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.documents import NOW
from tests.properties import DATES, MESSY_TEXT, PLAIN_TEXT, PROPERTY, check, document_outcome
from worker.errors import BadInput
from worker.model import Draft, RawAuthor, Source
from worker.normalise.article import normalise

pytestmark = pytest.mark.usefixtures("warm_up")


# --- near-valid articles ----------------------------------------------------------------

SPECIAL_LINES = [
    "By Jane Doe", "BY JANE DOE AND JOHN ROE", "Author: A, B & C", "@handle", "Date: 2024-05-01",
    "Date: yesterday", "URL: https://news.example/x?utm_source=a#frag", "URL: http://[::1",
    "Tags: a, b;; c", "Source: Wire", "# Heading", "> quote", "- item", "```", "---", "...",
    "| a | b |", "<div>", "</p>", "Key: value",
]  # fmt: skip
LINES = st.one_of(PLAIN_TEXT, MESSY_TEXT, st.sampled_from(SPECIAL_LINES))
FRONT_MATTER = st.lists(
    st.sampled_from(
        ["title: T", "title: [a, b]", "title: {x: 1}", "title:", "title: 'quoted: colon'",
         "date: 2024-13-45", "date: !!timestamp 2024-01-01", "tags: a, b", "tags: [x, *y]",
         "a: &y [1, 2]", "b: *y", "authors: [{name: A, bio: B @b}, C]", "author: {name: }",
         "url: 12", "language: xx", "lang: en-GB", "!!python/object:os.system x", "%YAML 9.9",
         "title: \"\\ud800 x\"", "key: \"\\x00\"", "? complex key", "- list item", ": :", "\t"]
    ),
    max_size=6,
)  # fmt: skip


@st.composite
def article_document(draw: st.DrawFn) -> tuple[bytes, str]:
    blocks = draw(st.lists(st.lists(LINES, min_size=1, max_size=3), min_size=1, max_size=6))
    text = "\n\n".join("\n".join(block) for block in blocks)
    name = draw(st.sampled_from(["a.txt", "a.md", "noext"]))
    if draw(st.booleans()):
        text = "---\n" + "\n".join(draw(FRONT_MATTER)) + "\n---\n" + text
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    data = text.replace("\n", newline).encode(encoding, "replace")
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return data, name


@PROPERTY
@given(document=article_document())
def test_near_valid_articles(document: tuple[bytes, str]) -> None:
    document_outcome(*document)


HTML_TAGS = ["<div>", "</div>", "<p>", "<br>", "<script>", "<b>", "<table><tr><td>", "<!--",
             "<![CDATA["]  # fmt: skip


@st.composite
def html_document(draw: st.DrawFn) -> bytes:
    title = draw(MESSY_TEXT)
    paras = draw(st.lists(st.one_of(PLAIN_TEXT, MESSY_TEXT), max_size=5))
    tags = draw(st.lists(st.sampled_from(HTML_TAGS), max_size=8))
    meta = draw(st.sampled_from(["", "<meta property='article:published_time' content='x'>",
                                 "<meta name='author' content='By A and B'>",
                                 "<link rel='canonical' href='http://[bad'>"]))  # fmt: skip
    body = "".join(f"<p>{p}</p>{t}" for p, t in zip(paras, tags + [""] * len(paras), strict=False))
    page = f"<html><head><title>{title}</title>{meta}</head><body>{body}</body></html>"
    return page.encode("utf-8")[: draw(st.integers(0, 10_000))]


@settings(PROPERTY, max_examples=60)
@given(page=html_document())
def test_near_valid_html(page: bytes) -> None:
    document_outcome(page, "page.html")


# --- normalisation ----------------------------------------------------------------------

SOME_TEXT = st.one_of(st.none(), PLAIN_TEXT, MESSY_TEXT, st.text(max_size=60))
URLS = st.one_of(
    st.none(),
    st.sampled_from(["https://News.Example/a?utm_source=x&b=1#f", "http://[::1", "http://",
                     "ftp://x/y", "javascript:alert(1)", "//news.example/x", "https://ex ample/",
                     "https://news.example/" + "a" * 3000, "HTTPS://NEWS.EXAMPLE:99999/"]),
    st.text(max_size=40),
)  # fmt: skip
AUTHORS = st.lists(
    st.builds(
        RawAuthor,
        name=st.text(max_size=30),
        bio=st.one_of(st.none(), st.text(max_size=60)),
        handles=st.lists(st.text(max_size=10), max_size=3).map(tuple),
    ),
    max_size=3,
).map(tuple)
DRAFTS = st.builds(
    Draft,
    title=SOME_TEXT,
    body=st.one_of(st.text(max_size=400), MESSY_TEXT),
    source=st.builds(
        Source,
        kind=st.sampled_from(["feed", "file"]),
        name=SOME_TEXT,
        uri=URLS,
        feed_url=URLS,
        entry_id=SOME_TEXT,
    ),
    subtitle=SOME_TEXT,
    summary=SOME_TEXT,
    authors=AUTHORS,
    byline=SOME_TEXT,
    published=st.one_of(st.none(), DATES),
    updated=st.one_of(st.none(), DATES),
    language=st.one_of(st.none(), st.sampled_from(["en", "EN-gb", "zz", "english", ""])),
    tags=st.lists(st.text(max_size=15), max_size=4).map(tuple),
    url=URLS,
    path=st.one_of(st.none(), st.just("/srv/a.txt"), st.text(max_size=20)),
    record_id=st.one_of(st.none(), st.text(max_size=20), st.just("abc-123")),
)


@PROPERTY
@given(draft=DRAFTS)
def test_normalise_any_draft(draft: Draft) -> None:
    try:
        article = normalise(draft, now=NOW)
    except BadInput as exc:
        assert str(exc)
        return
    check(article)
    again = normalise(draft, now=NOW)
    assert again == article, "normalise is deterministic"
