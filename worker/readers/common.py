"""Small helpers the format readers share: file sources and loose value coercion."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Any

from worker.record import Source


def file_uri(path: str | None) -> str | None:
    """`file://` URI of an absolute path; None for a relative or missing one."""
    if not path:
        return None
    pure = PurePosixPath(path)
    return pure.as_uri() if pure.is_absolute() else None


def file_source(
    path: str | None,
    *,
    name: str | None = None,
    feed_url: str | None = None,
    entry_id: str | None = None,
) -> Source:
    """The `source` of anything read from a file (kind "file")."""
    return Source(kind="file", name=name, uri=file_uri(path), feed_url=feed_url, entry_id=entry_id)


def as_text(value: Any) -> str | None:
    """A scalar from YAML/JSON as a string; None for null, lists, mappings, empty."""
    if value is None or isinstance(value, (list, dict, tuple)):
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def as_list(value: Any, *, split: str | None = ",") -> list[str]:
    """A list of strings from a list, or a delimited string ("a, b; c")."""
    if value is None:
        return []
    if isinstance(value, str):
        parts: Iterable[Any] = value.replace(";", ",").split(",") if split else [value]
    elif isinstance(value, (list, tuple)):
        parts = value
    else:
        parts = [value]
    return [t for t in (as_text(p) for p in parts) if t]


def is_http_url(value: str | None) -> bool:
    return bool(value) and str(value).lower().startswith(("http://", "https://"))


def entry_path(path: str | None, identity: str | None, title: str, body: str) -> str | None:
    """Identity for a feed entry with neither link nor id: the file plus its content.

    Every entry of a feed file shares the file's path, so the path alone would
    merge them into one record.
    """
    if path is None or identity:
        return path
    digest = hashlib.sha256(f"{title}\x1f{body}".encode()).hexdigest()[:16]
    return f"{path}#entry-{digest}"
