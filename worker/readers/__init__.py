"""Format readers: bytes of one document to Drafts.

Two entry points: `read_document` for a file (the reader is picked by
worker/readers/detect.py) and `read_feed` for a polled feed. A plain-text file
that opens with YAML front matter is read as Markdown.
Every failure is a `BadInput` (or `ParseError`) with a reason; a document that
yields nothing (a feed file without entries, an empty JSON list) is one too, since
a file was given to be stored. A polled feed (`read_feed`) may be empty.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from worker.errors import BadInput, ParseError
from worker.model import Draft, Source
from worker.normalise.urls import absolute_url
from worker.readers import feedfile, html, jsonfeed, jsonrecords, markdown, plaintext
from worker.readers.common import encodable
from worker.readers.decode import charset_from_content_type, decode_bytes
from worker.readers.detect import kind_of, sniff


def read_document(
    data: bytes, *, name: str, path: str | None = None, content_type: str | None = None
) -> list[Draft]:
    """Drafts for one document: one for an article, one per entry for a feed.

    `name` names the input in messages; `path` is the resolved absolute path of a
    file (its identity when it has no URL); `content_type` may carry a charset.
    """
    text = decode_bytes(data, charset_from_content_type(content_type))
    kind = kind_of(text, name=name, path=path)
    warning = None
    if kind == "feed":
        headers = {"content-type": content_type} if content_type else None
        document = read_feed_document(data, name=name, path=path, headers=headers)
        drafts, warning = document.drafts, document.warning
    elif kind in ("json", "ndjson"):
        drafts = _read_json(text, name=name, path=path, ndjson=kind == "ndjson")
    else:
        drafts = _TEXT_READERS[kind](text, name=name, path=path)
    if not drafts:
        what = "feed has no entries" if kind == "feed" else "no records in it"
        raise BadInput(f"{name}: {what}" + (f" (malformed feed: {warning})" if warning else ""))
    return [encodable(d) for d in drafts]


@dataclass(frozen=True)
class PolledFeed:
    """The entries of one fetched feed document, with what it says of itself."""

    drafts: list[Draft]
    ttl: float | None = None  # seconds (RSS <ttl>)
    warning: str | None = None  # malformed, but read: the entries (if any) were recovered


def read_feed(
    data: bytes,
    *,
    url: str,
    headers: Mapping[str, str] | None = None,
    scope: str | None = None,
    base: str | None = None,
) -> PolledFeed:
    """The entries of a polled feed (RSS, Atom, RDF or JSON Feed).

    `headers` are the response headers (Content-Type's charset counts). Entries
    get `source.kind` "feed", `source.feed_url` the URL fetched and `source.uri`
    the feed's `scope` (the URL it was added with; `url` when not given), which
    scopes their entry ids and survives permanent redirects.
    `base` is where the document was found, after redirects (`url` when not
    given): a relative entry link still relative after the document's own
    `xml:base` is resolved against it.
    Entry ids that are blank or repeated within the document are dropped, so
    those entries fall back to their link, then to a hash of their content.
    """
    document = read_feed_document(data, name=url, path=None, headers=headers)
    drafts = [encodable(d) for d in document.drafts]
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
            url=absolute_url(d.url, base or url),
        )
        for d in drafts
    ]
    return PolledFeed(scoped, ttl=document.ttl, warning=document.warning)


def read_feed_document(
    data: bytes, *, name: str, path: str | None, headers: Mapping[str, str] | None = None
) -> PolledFeed:
    """Every feed document, from a file or a fetch: RSS, Atom, RDF or JSON Feed.

    The entries keep the source their reader gave them (`read_feed` scopes them
    to the polled feed). JSON that is not a JSON Feed is a ParseError.
    """
    content_type = {k.lower(): v for k, v in (headers or {}).items()}.get("content-type")
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{") or "json" in (content_type or "").lower():
        text = decode_bytes(data, charset_from_content_type(content_type))
        values = jsonrecords.load(text, name=name, ndjson=False)
        if len(values) != 1 or not jsonfeed.is_json_feed(values[0][1]):
            raise ParseError(f"{name}: JSON that is not a JSON Feed")
        return PolledFeed(jsonfeed.read(values[0][1], name=name, path=path))
    drafts, meta = feedfile.read_with_meta(data, name=name, path=path, headers=headers)
    return PolledFeed(drafts, ttl=meta.ttl, warning=meta.warning)


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

__all__ = ["PolledFeed", "read_document", "read_feed", "read_feed_document", "sniff"]
