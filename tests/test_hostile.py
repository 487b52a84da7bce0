"""Ill-formed input: the corpus of tests/hostile/ and text no encoder takes; each gets
records or a clear error, in bounded time.

The other kinds of hostile input have modules of their own: XML attacks
(tests/test_hostile_xml.py), documents over the size caps (test_hostile_sizes.py),
files that are not what they claim and paths out of the input root
(test_hostile_files.py); the HTTP side is test_fetch_limits.py's and
test_addresses.py's. Nothing here talks to Redis or the network. Times are
asserted as generous hang guards for a shared, noisy machine, never as benchmarks.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.documents import FEED_URL, NOW, ingest, rss
from worker.errors import BadInput, NewsworkerError, ParseError
from worker.normalise.article import normalise
from worker.readers import feedfile, read_document, read_feed

HOSTILE = Path(__file__).parent / "hostile"


# --- text no encoder takes ---------------------------------------------------------------

LONE_SURROGATES = [
    pytest.param(rb'{"title": "A \ud800 B", "body": "x \udfff", "tags": ["\udc00"]}', "r.json",
                 id="json-record"),
    pytest.param(rb'{"version": "https://jsonfeed.org/version/1.1", "title": "F \ud800",'
                 rb' "items": [{"id": "1\udc00", "content_text": "\ud83d", "title": "T \ud83d"}]}',
                 "f.json", id="json-feed"),
    pytest.param(b'---\ntitle: "A \\ud800"\nauthor: {name: "N\\udc01", bio: "B"}\n---\nBody.\n',
                 "a.md", id="yaml-escapes"),
    pytest.param(rss("A &#xD800; B &#xD83D;&#xDE00;"), "f.rss", id="char-refs"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "name"), LONE_SURROGATES)
def test_lone_surrogates_become_replacement_characters(data: bytes, name: str) -> None:
    [article] = ingest(data, name)
    assert "\ufffd" in article.to_json()
    article.to_json().encode("utf-8")
    if name.endswith(".json") and b"jsonfeed" in data:
        [draft] = read_feed(data, url=FEED_URL).drafts
        normalise(draft, now=NOW).to_json().encode("utf-8")


# --- the corpus of ill-formed feeds ------------------------------------------------------

# What read_document makes of each file: the titles of its records (an entry that
# cannot be a record shows as "!" + the reason), or the error class and a fragment.
CORPUS: dict[str, list[str] | tuple[type[Exception], str]] = {
    "atom_then_rss_roots.xml": ["Atom first", "RSS second"],
    "bom_utf16_declared_utf8.rss": ["UTF-16 with a UTF-8 declaration: ünïcode"],
    "bom_utf8_declared_latin1.rss": ["BOM says UTF-8: crème"],
    "channel_without_items.rss": (BadInput, "feed has no entries"),
    "char_entity_doctype.rss": ["Declared entities — allowed"],
    "control_characters.rss": ["Bell and escape and vtab title", "Form feed"],
    "declared_bogus_encoding.rss": ["Unknown charset name"],
    "declared_utf16_is_utf8.rss": ["Claims UTF-16, is UTF-8: naïve"],
    "declared_utf8_is_latin1.rss": ["Déjà vu in Zürich"],
    "duplicate_and_unquoted_attributes.atom": ["Unquoted attributes"],
    "external_dtd_loopback.rss": ["External DTD never fetched"],
    "forbidden_char_refs.rss": ["Refs \ufffd \ufffd \ufffd \ufffd end",
                                "Emoji as a surrogate pair 😀"],
    "garbage_after_root.rss": ["Story before garbage"],
    "html_fragment_as_feed.rss": (ParseError, "not a feed (no RSS, Atom or RDF root element)"),
    "html_served_as_feed.xml": (ParseError, "not a feed (no RSS, Atom or RDF root element)"),
    "invalid_utf8_sequences.rss": ["Broken Ã( í € øˆ€€€ bytes"],
    # Untitled entries get a derived title: the first sentence, else the link.
    "items_without_titles.rss": ["No title here.", "https://news.example/nt"],
    "json_feed_as_xml.xml": ["JSON item"],
    "mismatched_tags.rss": ["https://news.example/a", "Second story"],
    "nul_byte.rss": (BadInput, "contains NUL bytes"),
    "only_xml_declaration.xml": (ParseError, "no element found"),
    "raw_html_in_description.rss": ["Raw HTML body"],
    "rdf_with_atom_entry.rdf": ["RDF item", "Atom in RDF"],
    "rss_and_atom_mixed.xml": ["RSS item", "Atom entry inside RSS"],
    "truncated_in_prolog.rss": (ParseError, "unclosed token"),
    "truncated_mid_item.rss": ["Complete story", "Cut story"],
    "truncated_mid_tag.atom": ["Only entry", "!entry 2: no title and no body"],
    "two_rss_documents.rss": ["First document", "Second document"],
    "unclosed_tags.atom": ["Unclosed entry"],
    "undeclared_cp1252.rss": ["“Smart quotes” — and a dash"],
    "undeclared_entities.rss": ["Café & crème brûlée", "Undefined &foo; entity"],
    "undeclared_namespace_prefix.rss": ["Prefix without xmlns"],
    "unterminated_cdata.rss": ["Before CDATA", "CDATA never ends"],
    "unterminated_comment.atom": ["Before the comment"],
    "utf16_no_bom.atom": ["UTF-16 without BOM"],
    "xhtml_content_broken.atom": ["XHTML content"],
    "xml_declaration_not_first.rss": ["Declaration after a comment"],
}  # fmt: skip


def titles(drafts: list[Any]) -> list[str]:
    out = []
    for draft in drafts:
        try:
            out.append(normalise(draft, now=NOW).title)
        except BadInput as exc:
            out.append(f"!{exc}")
    return out


def test_corpus_table_lists_every_file() -> None:
    assert sorted(p.name for p in HOSTILE.iterdir()) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_hostile_corpus(name: str) -> None:
    data = (HOSTILE / name).read_bytes()
    expected = CORPUS[name]

    started = time.perf_counter()
    if isinstance(expected, tuple):
        error, fragment = expected
        with pytest.raises(error) as caught:
            titles(read_document(data, name=name, path=f"/srv/hostile/{name}"))
        assert fragment in str(caught.value)
    else:
        assert titles(read_document(data, name=name, path=f"/srv/hostile/{name}")) == expected
    assert time.perf_counter() - started < 1.0, "hang guard"

    started = time.perf_counter()
    try:
        for draft in read_feed(data, url=FEED_URL).drafts:
            normalise(draft, now=NOW).to_json().encode("utf-8")
    except NewsworkerError as exc:
        assert str(exc)
    assert time.perf_counter() - started < 1.0, "hang guard"


def test_feedparser_failures_become_parse_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    monkeypatch.setattr(feedfile.feedparser, "parse", explode)
    with pytest.raises(ParseError, match="not a readable feed"):
        read_feed(rss("T"), url=FEED_URL)
