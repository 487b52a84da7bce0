"""Table test: every tests/feeds/<name>.<ext>, read as a polled feed, must give
<name>.expected.json.

The feed is read as if fetched from https://feeds.example/<name>, with the
Content-Type the tests' HTTP server sends (tests/documents.py, `read_feed_file`).
The expected file holds what the document says of itself (`ttl` in seconds, the
`warning` of a malformed document whose entries were recovered) and `entries`:
one record per entry, in order, checked like tests/cases/ (`check_record`: the
fields given, compared exactly). Adding a feed is adding two files;
`python -m tests.make_cases` drafts the second, to be read and corrected by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.documents import FEEDS, NOW, check_record, read_expected, read_feed_file, table_inputs
from tests.make_cases import LEGACY
from worker.normalise.article import normalise
from worker.readers import read_feed


@pytest.mark.parametrize("feed", table_inputs(FEEDS), ids=lambda p: p.name)
def test_feed_file(feed: Path) -> None:
    expected = read_expected(feed)
    polled, articles = read_feed_file(feed)
    assert (polled.ttl, polled.warning) == (expected["ttl"], expected["warning"])
    assert [a.title for a in articles] == [e["title"] for e in expected["entries"]]
    for article, want in zip(articles, expected["entries"], strict=True):
        check_record(article, want)


def test_header_names_are_matched_in_any_case() -> None:
    """`Content-Type` as a server spells it counts like `content-type` (its charset too)."""
    body = (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>"
        "<item><title>Caf\u00e9 cr\u00e8me</title><link>https://a.example/1</link></item>"
        "</channel></rss>"
    ).encode("latin-1")
    for name in ("content-type", "Content-Type", "CONTENT-TYPE"):
        polled = read_feed(
            body, url="https://feeds.example/x", headers={name: "text/xml; charset=ISO-8859-1"}
        )
        assert polled.warning is None, name
        assert [d.title for d in polled.drafts] == ["Caf\u00e9 cr\u00e8me"], name


# --- legacy encodings over HTTP (issue 12) ------------------------------------------------

CASES = Path(__file__).parent / "cases"


def _legacy(lang: str, codec: str) -> tuple[bytes, dict[str, str]]:
    """The source's text in `codec` with no encoding declared, and its expected record."""
    source = (CASES / f"legacy_{lang}.rss").read_text(encoding="utf-8")
    data = source.replace(" encoding='utf-8'", "", 1).encode(codec)
    return data, json.loads((CASES / f"legacy_{lang}.expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("lang", "codec"), [(lang, codec) for lang, codec, _ in LEGACY], ids=lambda v: str(v)
)
@pytest.mark.parametrize(
    "content_type",
    ["application/rss+xml; charset={codec}", "text/xml; charset=ISO-8859-1", "text/xml",
     "application/rss+xml; charset=utf-8", None],
    ids=["right-charset", "western-charset", "no-charset-text-xml", "utf8-charset", "no-headers"],
)  # fmt: skip
def test_legacy_encoding_polled(lang: str, codec: str, content_type: str | None) -> None:
    """A polled feed in a legacy encoding reads right whatever the Content-Type says of it:
    the right charset, a Western or UTF-8 one that the bytes contradict, or none."""
    data, want = _legacy(lang, codec)
    headers = {"Content-Type": content_type.format(codec=codec)} if content_type else None
    polled = read_feed(data, url="https://feeds.example/legacy", headers=headers)
    [article] = [normalise(draft, now=NOW) for draft in polled.drafts]
    assert (article.title, article.body) == (want["title"], want["body"])
    if content_type and "utf-8" in content_type:  # the detector names the codec
        assert (polled.warning or "").startswith("document declared as utf-8, but parsed as ")
