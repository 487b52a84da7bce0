"""JSON exports of Article records (re-import): one object, a list, or NDJSON.

Each record carries its `id` (Draft.record_id): a record without a URL keeps it,
so a re-import updates the same record; one with a URL gets the id of its URL
(normalise), as it did when first stored. Field names are the record's own
(DESIGN.md); unknown fields are ignored.
A record without an id or URL in a multi-record file gets its content as
identity, since the file path is shared by all of them.
"""

from __future__ import annotations

import json
from typing import Any

from worker.errors import BadInput, ParseError
from worker.model import Draft, Source, SourceKind
from worker.readers.common import as_list, as_text, file_source, raw_authors


def load(text: str, *, name: str, ndjson: bool) -> list[tuple[int, Any]]:
    """JSON values with the line each starts on: the whole document, or one per line."""
    if not ndjson:
        try:
            return [(1, json.loads(text))]
        except json.JSONDecodeError as exc:
            # "Extra data" after a first complete value: one record per line.
            if not (exc.msg == "Extra data" and "\n" in text.strip()):
                raise ParseError(f"{name}: {_reason(exc)}") from exc
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"{name}: invalid JSON: {_short(exc)}") from exc
    values = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            values.append((lineno, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise ParseError(f"{name}: line {lineno}: {_reason(exc)}") from exc
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"{name}: line {lineno}: invalid JSON: {_short(exc)}") from exc
    return values


def read(values: list[tuple[int, Any]], *, name: str, path: str | None) -> list[Draft]:
    """Drafts for exported records (the output of `load`)."""
    items: list[tuple[str, Any]] = []
    for lineno, value in values:
        if isinstance(value, list):
            items += [(f"record {i} (line {lineno})", v) for i, v in enumerate(value, 1)]
        else:
            items.append((f"line {lineno}", value))
    single = len(items) == 1
    return [
        _draft(
            item,
            where=f"{name}: {where}",
            path=path if single else None,
            extra={} if single else {"label": where},
        )
        for where, item in items
    ]


def _draft(record: Any, *, where: str, path: str | None, extra: dict[str, Any]) -> Draft:
    if not isinstance(record, dict):
        raise BadInput(f"{where}: not a record (a JSON object expected)")
    title = as_text(record.get("title"))
    if title is None:
        raise BadInput(f"{where}: record has no title")
    body = record.get("body")
    return Draft(
        title=title,
        subtitle=as_text(record.get("subtitle")),
        summary=as_text(record.get("summary")),
        body=body if isinstance(body, str) else "",
        source=_source(record.get("source"), path),
        authors=tuple(raw_authors(record.get("authors"))),
        published=as_text(record.get("published_at")),
        updated=as_text(record.get("updated_at")),
        language=as_text(record.get("language")),
        tags=tuple(as_list(record.get("tags"), split=None)),
        url=as_text(record.get("url")),
        path=path,
        record_id=as_text(record.get("id")),
        title_derived=record.get("title_derived") is True,
        extra=extra,
    )


def _source(value: Any, path: str | None) -> Source:
    if not isinstance(value, dict):
        return file_source(path)
    kind: SourceKind = "feed" if value.get("kind") == "feed" else "file"
    return Source(
        kind=kind,
        name=as_text(value.get("name")),
        uri=as_text(value.get("uri")),
        feed_url=as_text(value.get("feed_url")),
        entry_id=as_text(value.get("entry_id")),
    )


def _reason(exc: json.JSONDecodeError) -> str:
    return f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"


def _short(exc: BaseException) -> str:
    return "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
