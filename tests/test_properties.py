"""Property tests: whatever goes in, records or a clear NewsworkerError come out.

Any bytes, near-valid feeds (RSS, Atom and RDF with random titles, entities,
CDATA, broken encodings and truncation) and JSON records and JSON Feeds with any
code point, through the readers and normalisation. Any other exception is a bug;
the deadline is a hang guard. Every record must also be storable: valid against
the model, encodable as UTF-8. For documents built well-formed, every entry must
come back with its title. The shared harness is tests/properties.py; articles
(text, Markdown, HTML) and any draft are tests/test_properties_articles.py.

tests/test_bad_input.py has the first property test of this kind (BadInput only).
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.documents import FEED_URL
from tests.properties import (
    DATES,
    MESSY_TEXT,
    PLAIN_TEXT,
    PROPERTY,
    document_outcome,
    feed_outcome,
    records,
)
from worker.normalise.text import clean_inline
from worker.readers import read_feed

pytestmark = pytest.mark.usefixtures("warm_up")


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
