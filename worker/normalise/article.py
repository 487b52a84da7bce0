"""Draft to Article: clean every field, derive identity, hash and counts.

Pure: `now` comes in as an argument. The store later keeps or bumps `version`
and `ingested_at`; here a record is always version 1, ingested and modified now.

The id follows DESIGN.md's identity: a record with a URL gets the id of its
canonical URL, even when it carries an id of its own (a re-imported export), so a
URL is never stored twice; a carried id counts only for a record without a URL.
A BadInput names the feed entry it is about when the reader labelled the draft
(`extra["label"]`, "entry 3 (guid ...)").
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError

from worker.errors import BadInput
from worker.model import Article, Author, Draft, RawAuthor, Source, utc_instant
from worker.normalise.bylines import extract_handles, split_byline
from worker.normalise.dates import to_utc
from worker.normalise.identity import content_hash, identity_key, record_id
from worker.normalise.language import detect_language
from worker.normalise.text import clean_body, clean_inline, unique, word_count
from worker.normalise.titles import derive_title
from worker.normalise.urls import canonical_url


def normalise(draft: Draft, *, now: datetime) -> Article:
    """The record for `draft`, or BadInput when it cannot be one (no title...).

    A feed entry without a title (`draft.derive_title`) gets one derived from its
    text or link, and `title_derived` true.
    """
    try:
        return _normalise(draft, now=now)
    except BadInput as exc:
        label = draft.extra.get("label")
        if not label:
            raise
        raise BadInput(f"{label}: {exc}") from exc


def _normalise(draft: Draft, *, now: datetime) -> Article:
    title = clean_inline(draft.title)
    body = clean_body(draft.body)
    subtitle = clean_inline(draft.subtitle)
    summary = clean_body(draft.summary) or None
    if summary is not None and summary in (body, subtitle):
        summary = None
    url = canonical_url(draft.url)
    derived = draft.title_derived
    if title is None and draft.derive_title:
        title = derive_title(body, summary, url)
        derived = True
    if title is None:
        raise BadInput("no title and no body" if not body else "no title")
    source = _source(draft.source)
    digest = content_hash(title, subtitle, body)
    stamp = utc_instant(now)
    try:
        return Article(
            id=_record_id(draft, url, source, digest),
            url=url,
            title=title,
            title_derived=derived,
            subtitle=subtitle,
            summary=summary,
            body=body,
            authors=_authors(draft),
            published_at=to_utc(draft.published),
            updated_at=to_utc(draft.updated),
            language=detect_language(body or f"{title}\n{summary or ''}", draft.language),
            tags=_tags(draft.tags),
            source=source,
            word_count=word_count(body),
            content_hash=digest,
            version=1,
            ingested_at=stamp,
            modified_at=stamp,
        )
    except ValidationError as exc:  # a reader let through something the schema refuses
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BadInput(f"invalid record: {where}: {first['msg']}") from exc


def _record_id(draft: Draft, url: str | None, source: Source, digest: str) -> str:
    carried = (draft.record_id or "").strip()
    if carried and url is None:
        return carried  # the Article model checks it against the safe id pattern
    return record_id(identity_key(url, source, draft.path, content_hash=digest))


def _source(source: Source) -> Source:
    return Source(
        kind=source.kind,
        name=clean_inline(source.name),
        uri=(source.uri or "").strip() or None,
        feed_url=(source.feed_url or "").strip() or None,
        entry_id=(source.entry_id or "").strip() or None,
    )


def _authors(draft: Draft) -> list[Author]:
    """Explicit authors first, then byline names; one entry per name (case-insensitive)."""
    raw = list(draft.authors) + [RawAuthor(name=n) for n in split_byline(draft.byline)]
    merged: dict[str, Author] = {}
    for item in raw:
        name = clean_inline(item.name)
        if name is None:
            continue
        bio = clean_inline(item.bio)
        handles = _merge(list(item.handles), extract_handles(bio))
        key = name.casefold()
        if key in merged:  # the same person twice: keep the richer details
            first = merged[key]
            bio = first.bio or bio
            handles = _merge(first.handles, handles)
            name = first.name
        merged[key] = Author(name=name, bio=bio, handles=handles)
    return list(merged.values())


def _merge(first: list[str], second: list[str]) -> list[str]:
    handles = (h.strip() for h in first + second)
    return unique(h if h.startswith("@") else "@" + h for h in handles if h not in ("", "@"))


def _tags(tags: tuple[str, ...]) -> list[str]:
    return unique(t for t in map(clean_inline, tags) if t)
