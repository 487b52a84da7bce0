"""Property tests: whatever goes in, records or a clear NewsworkerError come out.

Any bytes, and near-valid documents (RSS, Atom and RDF with random titles,
entities, CDATA, broken encodings and truncation; text and Markdown articles with
random headers, bylines and front matter), through the readers and
normalisation. Any other exception is a bug; the deadline is a hang guard. Every
record must also be storable: valid against the model, encodable as UTF-8.
For documents built well-formed, every entry must come back with its title.

tests/test_bad_input.py has the first property test of this kind (BadInput only).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.documents import FEED_URL, NOW
from worker.errors import BadInput, NewsworkerError
from worker.model import Article, Draft, RawAuthor, Source
from worker.normalise.article import normalise
from worker.normalise.text import clean_inline, word_count
from worker.readers import read_document, read_feed

# A hang guard, not a benchmark: an example takes milliseconds.
PROPERTY = settings(
    max_examples=150,
    deadline=timedelta(seconds=3),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module", autouse=True)
def warm_up() -> Iterator[None]:
    # Lazy loads (the language model, trafilatura's setup) must not count against
    # the first example's deadline.
    records(read_document(b"<html><body><p>Warm up text.</p></body></html>", name="w.html"))
    records(read_document(b"Warm up\n\nSome words in English for the model.\n", name="w.txt"))
    yield


def check(article: Article) -> None:
    """What every stored record must be."""
    assert article.title and article.title == article.title.strip()
    assert "\n\n\n" not in article.body
    assert article.word_count == word_count(article.body)
    stored = article.to_json()
    stored.encode("utf-8")
    assert Article.model_validate(json.loads(stored)) == article


def records(drafts: list[Draft]) -> list[Article]:
    out = []
    for draft in drafts:
        try:
            article = normalise(draft, now=NOW)
        except BadInput:
            continue
        check(article)
        out.append(article)
    return out


def outcome(read: Callable[[], list[Draft]]) -> list[Article] | NewsworkerError:
    """Records, or the clear error; the kind of outcome shows in Hypothesis' statistics."""
    try:
        articles = records(read())
    except NewsworkerError as exc:
        assert str(exc), "an error must say what was wrong"
        event(type(exc).__name__)
        return exc
    event("records" if articles else "no records")
    return articles


def document_outcome(data: bytes, name: str) -> list[Article] | NewsworkerError:
    return outcome(lambda: read_document(data, name=name, path=f"/srv/prop/{name}"))


def feed_outcome(data: bytes, headers: dict[str, str] | None = None) -> object:
    return outcome(lambda: read_feed(data, url=FEED_URL, headers=headers).drafts)


# --- any bytes --------------------------------------------------------------------------

NAMES = st.sampled_from(
    ["a.txt", "a.md", "a.html", "a.xhtml", "a.xml", "a.rss", "a.atom", "a.rdf", "a.json",
     "a.ndjson", "noext", "a.bin"]
)  # fmt: skip
FRAGMENTS = st.sampled_from(
    ["<rss version='2.0'>", "<channel>", "<item>", "</item>", "<title>", "</title>",
     "<feed xmlns='http://www.w3.org/2005/Atom'>", "<entry>", "<![CDATA[", "]]>", "<!--",
     "<?xml version='1.0' encoding='utf-16'?>", "<!DOCTYPE rss [", "<!ENTITY a 'b'>", "]>",
     "&amp;", "&nbsp;", "&#xD800;", "&#0;", "&undefined;", "{", "}", '"title": ', "---",
     "title: x", "Author: A and B", "By X", "Date: 2022-02-30", "\n\n", "\r", "\ufeff",
     "\x00", "\x0b", "é", "😀", "<html>", "<p>", "# H", '"\\ud800"', "\\udc00"]
)  # fmt: skip
ANY_BYTES = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=600).map(lambda t: t.encode("utf-8")),
    st.lists(st.one_of(FRAGMENTS, st.text(max_size=12)), max_size=60).map(
        lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
    ),
)
CONTENT_TYPES = st.sampled_from(
    [None, "application/rss+xml", "text/xml; charset=iso-8859-1", "text/html; charset=utf-8",
     "application/json", "application/feed+json; charset=bogus", "text/xml; charset=utf-16"]
)  # fmt: skip


@PROPERTY
@given(data=ANY_BYTES, name=NAMES)
def test_any_bytes_as_a_document(data: bytes, name: str) -> None:
    document_outcome(data, name)


@PROPERTY
@given(data=ANY_BYTES, content_type=CONTENT_TYPES)
def test_any_bytes_as_a_polled_feed(data: bytes, content_type: str | None) -> None:
    feed_outcome(data, {"Content-Type": content_type} if content_type else None)


# --- near-valid feeds -------------------------------------------------------------------

# Titles that survive every feed format unchanged once cleaned: no markup
# characters (feedparser guesses HTML from them) and no control characters.
PLAIN_TEXT = st.text(
    st.characters(
        exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp"),
        exclude_characters="<>&\u200b\u200c\u200d\u2060\ufeff",
    ),
    min_size=1,
    max_size=40,
).filter(lambda t: clean_inline(t) is not None)
ENTITIES = st.sampled_from(
    ["&amp;", "&lt;", "&gt;", "&quot;", "&#233;", "&#x1F600;", "&nbsp;", "&eacute;",
     "&undefined;", "&#xD800;", "&#0;", "&#x110000;", "&", "<", "]]>"]
)  # fmt: skip
MESSY_TEXT = st.lists(st.one_of(PLAIN_TEXT, ENTITIES), min_size=1, max_size=6).map("".join)
DATES = st.one_of(
    st.just("Wed, 01 May 2024 12:00:00 GMT"),
    st.just("2024-05-01T12:00:00Z"),
    st.just("30 Feb 2024"),
    st.just("9999-99-99"),
    st.text(max_size=15),
)


def double_encoded(text: str) -> bool:
    """Whether feedparser takes `text` for UTF-8 mis-read as latin-1, and "repairs" it
    ("Â¡" becomes "¡"): a deliberate heuristic of feedparser's, not ours to test."""
    try:
        return text.encode("latin-1").decode("utf-8") != text
    except UnicodeError:
        return False


@st.composite
def text_field(draw: st.DrawFn, well_formed: bool) -> tuple[str, str | None]:
    """(markup, expected clean title or None when the test cannot know it)."""
    if well_formed:
        title = draw(PLAIN_TEXT.filter(lambda t: not double_encoded(t)))
        if draw(st.booleans()) and "]]>" not in title:
            return f"<![CDATA[{title}]]>", clean_inline(title)
        return escape(title), clean_inline(title)
    return draw(MESSY_TEXT), None


@st.composite
def feed_document(draw: st.DrawFn, well_formed: bool = False) -> tuple[bytes, list[str | None]]:
    """A feed and the titles of its entries (None where unknowable)."""
    flavour = draw(st.sampled_from(["rss", "atom", "rdf"]))
    count = draw(st.integers(0, 4))
    fields = [draw(text_field(well_formed)) for _ in range(count)]
    dates = st.just("Wed, 01 May 2024 12:00:00 GMT") if well_formed else DATES
    entries = [
        _entry(flavour, index, title, draw(dates), draw) for index, (title, _) in enumerate(fields)
    ]
    text = _wrap(flavour, "\n".join(entries), draw(text_field(well_formed))[0])
    encoding = "utf-8"
    if not well_formed:
        text = draw(_prolog()) + text
        encoding = draw(st.sampled_from(["utf-8", "utf-16", "latin-1", "cp1252"]))
    data = text.encode(encoding, "xmlcharrefreplace" if "1" in encoding else "surrogatepass")
    if not well_formed and draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return data, [expected for _, expected in fields]


def _entry(flavour: str, index: int, title: str, date: str, draw: st.DrawFn) -> str:
    link = f"https://news.example/{flavour}/{index}"
    body = draw(st.sampled_from(["Plain body.", "<![CDATA[<p>Para <b>bold</b></p>]]>",
                                 "&lt;p&gt;Escaped&lt;/p&gt;", ""]))  # fmt: skip
    date = escape(date)
    if flavour == "atom":
        return (
            f"<entry><title>{title}</title><id>urn:e:{index}</id><link href='{link}'/>"
            f"<updated>{date}</updated><summary type='html'>{body}</summary></entry>"
        )
    about = f" rdf:about='{link}'" if flavour == "rdf" else ""
    return (
        f"<item{about}><title>{title}</title><link>{link}</link><guid>g-{index}</guid>"
        f"<pubDate>{date}</pubDate><description>{body}</description></item>"
    )


def _wrap(flavour: str, entries: str, feed_title: str) -> str:
    if flavour == "atom":
        return (
            f"<feed xmlns='http://www.w3.org/2005/Atom'><title>{feed_title}</title>{entries}</feed>"
        )
    if flavour == "rdf":
        return (
            "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'"
            " xmlns='http://purl.org/rss/1.0/'><channel rdf:about='x'>"
            f"<title>{feed_title}</title></channel>{entries}</rdf:RDF>"
        )
    return f"<rss version='2.0'><channel><title>{feed_title}</title>{entries}</channel></rss>"


@st.composite
def _prolog(draw: st.DrawFn) -> str:
    declaration = draw(
        st.sampled_from(
            ["", "<?xml version='1.0'?>\n", "<?xml version='1.0' encoding='utf-8'?>\n",
             "<?xml version='1.0' encoding='iso-8859-1'?>\n",
             "<?xml version='1.0' encoding='utf-16'?>\n",
             "<?xml version='1.0' encoding='x-bogus'?>\n", "\n  <?xml version='1.0'?>"]
        )
    )  # fmt: skip
    doctype = draw(
        st.sampled_from(
            ["", "<!DOCTYPE rss>\n", '<!DOCTYPE rss [\n<!ENTITY nbsp "&#160;">\n]>\n',
             '<!DOCTYPE rss [\n<!ENTITY a "&b;&b;">\n<!ENTITY b "bb">\n]>\n',
             '<!DOCTYPE rss [\n<!ENTITY x SYSTEM "file:///etc/hostname">\n]>\n']
        )
    )  # fmt: skip
    return draw(st.sampled_from(["", "\ufeff"])) + declaration + doctype


@PROPERTY
@given(document=feed_document())
def test_near_valid_feeds(document: tuple[bytes, list[str | None]]) -> None:
    data, _ = document
    feed_outcome(data)
    document_outcome(data, "feed.xml")


@PROPERTY
@given(document=feed_document(well_formed=True))
def test_well_formed_feeds_keep_every_entry(document: tuple[bytes, list[str | None]]) -> None:
    data, expected = document
    drafts = read_feed(data, url=FEED_URL).drafts
    assert [clean_inline(d.title) for d in drafts] == expected
    assert [a.title for a in records(drafts)] == expected


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


# --- JSON records and JSON Feed ---------------------------------------------------------

# Every code point, lone surrogates too: JSON escapes them ("\\ud800") and Python
# loads them into strings no UTF-8 encoder takes.
# (A list, not st.text: text() would merge the alphabets and all but lose the 2048
# surrogates among 1.1 million code points.)
ANY_CHARS = st.lists(
    st.one_of(st.characters(exclude_categories=()), st.characters(categories=["Cs"])),
    max_size=30,
).map("".join)
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), ANY_CHARS),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["name", "bio"]), inner)
    ),
    max_leaves=8,
)
RECORD_KEYS = st.sampled_from(
    ["id", "title", "subtitle", "summary", "body", "url", "authors", "tags", "language",
     "published_at", "updated_at", "source", "content_text", "content_html", "author"]
)  # fmt: skip
JSON_RECORD = st.dictionaries(RECORD_KEYS, JSON_VALUES, max_size=8)


@PROPERTY
@given(record=JSON_RECORD, title=st.one_of(PLAIN_TEXT, ANY_CHARS), as_feed=st.booleans())
def test_json_records_and_feeds(record: dict[str, object], title: str, as_feed: bool) -> None:
    if as_feed:
        feed = {"version": "https://jsonfeed.org/version/1.1", "title": title, "items": [record]}
        data = json.dumps(feed).encode()
        feed_outcome(data, {"Content-Type": "application/feed+json"})
        document_outcome(data, "feed.json")
    else:
        document_outcome(json.dumps({"title": title, **record}).encode(), "record.json")


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
