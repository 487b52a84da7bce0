"""Format readers: bytes of one document to Drafts. `read_document` picks the reader.

Choice: by file extension; by sniffing the content when the extension is missing
or unknown (XML feed root, HTML, JSON, `---` front matter, else plain text). A
plain-text file that opens with YAML front matter is read as Markdown.
Every failure is a `BadInput` (or `ParseError`) with a reason; a document that
yields nothing (a feed file without entries, an empty JSON list) is one too, since
a file was given to be stored. A polled feed (`read_feed`) may be empty.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import PurePath

from worker.errors import BadInput, ParseError
from worker.model import Draft, Source
from worker.readers import feedfile, html, jsonfeed, jsonrecords, markdown, plaintext
from worker.readers.common import encodable
from worker.readers.decode import charset_from_content_type, decode_bytes

_EXTENSIONS = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
    ".rdf": "feed",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
}
_FEED_ROOT_RE = re.compile(r"<(?:[\w-]+:)?(?:rss|feed|RDF)[\s>/]")
_HTML_RE = re.compile(r"<!doctype\s+html|<html[\s>]", re.IGNORECASE)
_XML_PROLOGUE_RE = re.compile(r"\A(?:\s|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*", re.S)


def read_document(
    data: bytes, *, name: str, path: str | None = None, content_type: str | None = None
) -> list[Draft]:
    """Drafts for one document: one for an article, one per entry for a feed.

    `name` names the input in messages; `path` is the resolved absolute path of a
    file (its identity when it has no URL); `content_type` may carry a charset.
    """
    text = decode_bytes(data, charset_from_content_type(content_type))
    kind = _kind_from_name(name) or _kind_from_name(path) or sniff(text)
    if kind == "feed" and text.lstrip().startswith(("{", "[")):
        kind = "json"  # a JSON Feed saved as .xml: no XML document starts so
    if kind == "feed":
        drafts = feedfile.read(data, name=name, path=path, content_type=content_type)
    elif kind in ("json", "ndjson"):
        drafts = _read_json(text, name=name, path=path, ndjson=kind == "ndjson")
    else:
        drafts = _TEXT_READERS[kind](text, name=name, path=path)
    if not drafts:
        what = "feed has no entries" if kind == "feed" else "no records in it"
        raise BadInput(f"{name}: {what}")
    return [encodable(d) for d in drafts]


@dataclass(frozen=True)
class PolledFeed:
    """The entries of one fetched feed document, with what it says of itself."""

    drafts: list[Draft]
    ttl: float | None = None  # seconds (RSS <ttl>)
    warning: str | None = None  # malformed, but entries were recovered


def read_feed(
    data: bytes,
    *,
    url: str,
    headers: Mapping[str, str] | None = None,
    scope: str | None = None,
) -> PolledFeed:
    """The entries of a polled feed (RSS, Atom, RDF or JSON Feed).

    `headers` are the response headers (Content-Type's charset counts). Entries
    get `source.kind` "feed", `source.feed_url` the URL fetched and `source.uri`
    the feed's `scope` (the URL it was added with; `url` when not given), which
    scopes their entry ids and survives permanent redirects.
    Entry ids that are blank or repeated within the document are dropped, so
    those entries fall back to their link, then to a hash of their content.
    """
    content_type = {k.lower(): v for k, v in (headers or {}).items()}.get("content-type")
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{") or "json" in (content_type or "").lower():
        text = decode_bytes(data, charset_from_content_type(content_type))
        values = jsonrecords.load(text, name=url, ndjson=False)
        if len(values) != 1 or not jsonfeed.is_json_feed(values[0][1]):
            raise ParseError(f"{url}: JSON that is not a JSON Feed")
        drafts = jsonfeed.read(values[0][1], name=url, path=None)
        meta = feedfile.FeedMeta()
    else:
        drafts, meta = feedfile.read_with_meta(data, name=url, path=None, headers=headers)
    drafts = [encodable(d) for d in drafts]
    counts = Counter(d.source.entry_id for d in drafts)
    scoped = [
        replace(
            d,
            source=Source(
                kind="feed",
                name=d.source.name,
                uri=scope or url,
                feed_url=url,
                entry_id=d.source.entry_id if counts[d.source.entry_id] == 1 else None,
            ),
        )
        for d in drafts
    ]
    return PolledFeed(scoped, ttl=meta.ttl, warning=meta.warning)


def sniff(text: str) -> str:
    """The reader for a document by its content: feed, html, json, markdown or text."""
    head = text.lstrip("\ufeff \t\n")[:4096]
    if head.startswith("<"):
        prologue = _XML_PROLOGUE_RE.match(head)
        if _FEED_ROOT_RE.match(head[prologue.end() if prologue else 0 :]):
            return "feed"
        if _HTML_RE.search(head):
            return "html"
    if head.startswith(("{", "[")) and _parses_as_json(text):
        return "json"
    if markdown.has_front_matter(text):
        return "markdown"
    return "text"


def _parses_as_json(text: str) -> bool:
    """The whole text, or its first line (NDJSON), is JSON: "[Update] ..." is not."""
    first_line = text.lstrip().split("\n", 1)[0]
    for candidate in (text, first_line):
        try:
            json.loads(candidate)
        except (ValueError, RecursionError):
            continue
        return True
    return False


def _kind_from_name(name: str | None) -> str | None:
    if not name:
        return None
    return _EXTENSIONS.get(PurePath(name).suffix.lower())


def _read_text(text: str, *, name: str, path: str | None) -> list[Draft]:
    if markdown.has_front_matter(text):
        return markdown.read(text, name=name, path=path)
    return plaintext.read(text, name=name, path=path)


def _read_json(text: str, *, name: str, path: str | None, ndjson: bool) -> list[Draft]:
    values = jsonrecords.load(text, name=name, ndjson=ndjson)
    if len(values) == 1 and jsonfeed.is_json_feed(values[0][1]):
        drafts = jsonfeed.read(values[0][1], name=name, path=path)
        if not drafts:
            raise BadInput(f"{name}: feed has no entries")
        return drafts
    return jsonrecords.read(values, name=name, path=path)


_TEXT_READERS: dict[str, Callable[..., list[Draft]]] = {
    "text": _read_text,
    "markdown": markdown.read,
    "html": html.read,
}

__all__ = ["PolledFeed", "read_document", "read_feed", "sniff"]
