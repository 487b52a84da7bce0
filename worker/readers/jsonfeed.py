"""JSON Feed documents (https://jsonfeed.org/version/1.1, and 1.0): one Draft per item.

Body and summary: the fuller of the content (the longer of content_text and
content_html, as plain text) and the item's summary is the body, the other the
summary when they differ (`common.body_and_summary`). An item without a title
gets one derived by normalise (`Draft.derive_title`). Authors: `authors` (1.1)
or `author` (1.0) of the item, the feed's only when the item gives none: an item
whose authors have no names (only a URL, say) has no named author, and is not
given the feed's. Identity as for other feed entries: the item URL, else its id
scoped by the feed URL.
"""

from __future__ import annotations

from typing import Any

from worker.errors import ParseError
from worker.model import Draft, RawAuthor
from worker.normalise.text import clean_body, html_to_text, to_plain
from worker.readers.common import (
    as_list,
    as_text,
    body_and_summary,
    entry_label,
    entry_path,
    file_source,
    raw_authors,
)

VERSION_PREFIX = "https://jsonfeed.org/version/"


def is_json_feed(value: Any) -> bool:
    version = value.get("version") if isinstance(value, dict) else None
    return isinstance(version, str) and version.startswith(VERSION_PREFIX)


def read(feed: dict[str, Any], *, name: str, path: str | None) -> list[Draft]:
    """Drafts for the items of a parsed JSON Feed document."""
    items = feed.get("items")
    if not isinstance(items, list):
        raise ParseError(f"{name}: JSON Feed without an items list")
    feed_authors = _authors(feed)
    return [
        _item(item, feed, feed_authors, index, name=name, path=path)
        for index, item in enumerate(items, start=1)
        if isinstance(item, dict)
    ]


def _item(
    item: dict[str, Any],
    feed: dict[str, Any],
    feed_authors: list[RawAuthor],
    index: int,
    *,
    name: str,
    path: str | None,
) -> Draft:
    text = clean_body(as_text(item.get("content_text")))
    markup = html_to_text(as_text(item.get("content_html")))
    # content_text and content_html are one content in two forms: the fuller stands for it.
    content = max(text, markup, key=len)
    body, summary = body_and_summary(to_plain(as_text(item.get("summary"))), [content])
    entry_id = as_text(item.get("id"))
    source = file_source(
        path,
        name=as_text(feed.get("title")),
        feed_url=as_text(feed.get("feed_url")) or as_text(feed.get("home_page_url")),
        entry_id=entry_id,
    )
    return Draft(
        title=as_text(item.get("title")),
        body=body,
        summary=summary,
        source=source,
        authors=tuple(_authors(item) if _has_authors(item) else feed_authors),
        published=as_text(item.get("date_published")),
        updated=as_text(item.get("date_modified")),
        language=as_text(item.get("language")) or as_text(feed.get("language")),
        tags=tuple(as_list(item.get("tags"), split=None)),
        url=as_text(item.get("url")) or as_text(item.get("external_url")),
        path=entry_path(path, entry_id or as_text(item.get("url")), str(item.get("title")), body),
        derive_title=True,
        extra={"label": entry_label(index, entry_id, key="id")},
    )


def _authors(holder: dict[str, Any]) -> list[RawAuthor]:
    return raw_authors(_author_value(holder))


def _has_authors(item: dict[str, Any]) -> bool:
    """Whether the item gives authors of its own, named or not ([] and {} give none)."""
    value = _author_value(item)
    entries = value if isinstance(value, list) else [value]
    return any(
        any(as_text(v) for v in a.values()) if isinstance(a, dict) else as_text(a) for a in entries
    )


def _author_value(holder: dict[str, Any]) -> Any:
    value = holder.get("authors")
    return value if isinstance(value, list) else holder.get("author")
