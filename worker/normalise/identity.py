"""Record identity (DESIGN.md) and the content hash that tells "unchanged".

Identity, first that applies: the canonical URL; the feed entry id scoped by the
feed; a file's resolved path. When none applies (standard input, say), the
content hash is the identity, so identical content still maps to one record.
"""

from __future__ import annotations

import hashlib

from worker.errors import BadInput
from worker.model import Source

ID_LENGTH = 16


def identity_key(
    canonical_url: str | None,
    source: Source,
    path: str | None,
    *,
    content_hash: str | None = None,
) -> str:
    """The string a record's id is derived from; prefixed so kinds never collide."""
    if canonical_url:
        return f"url:{canonical_url}"
    if source.entry_id:
        # A polled feed's entries are scoped by the URL it was added with (`uri`),
        # which a redirect does not change; a feed file's by its own feed URL.
        if source.kind == "feed":
            scope = source.uri or source.feed_url or ""
        else:
            scope = source.feed_url or source.uri or ""
        return f"entry:{scope} {source.entry_id}"
    if path:
        return f"path:{path}"
    if content_hash:
        return f"content:{content_hash}"
    raise BadInput("cannot identify the input: no URL, entry id, path or content")


def record_id(identity: str) -> str:
    """A stable short id: the first 16 hex digits of sha256(identity)."""
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:ID_LENGTH]


def content_hash(title: str, subtitle: str | None, body: str) -> str:
    """`sha256:<hex>` over the normalised title, subtitle and body."""
    # A unit separator between fields, so ("ab", "c") and ("a", "bc") differ.
    payload = "\x1f".join((title, subtitle or "", body))
    return "sha256:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()
