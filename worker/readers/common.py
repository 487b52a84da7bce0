"""Small helpers the format readers share: file sources, loose value coercion, authors."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Any

from worker.model import Draft, RawAuthor, Source
from worker.normalise.bylines import split_byline, without_addresses
from worker.normalise.text import has_surrogates, without_surrogates


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


def raw_authors(value: Any, *, split: bool = False) -> list[RawAuthor]:
    """Authors given as a string, a list, or mappings with name, bio (or description)
    and handles (or twitter). With `split`, one string may name several ("A and B").
    E-mail addresses are not names: "Jane Doe <jane@example.com>" is "Jane Doe".
    """
    out: list[RawAuthor] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict):
            name = without_addresses(as_text(item.get("name")) or "")
            if name:
                handles = as_list(item.get("handles")) + as_list(item.get("twitter"))
                bio = as_text(item.get("bio") or item.get("description"))
                out.append(RawAuthor(name=name, bio=bio, handles=tuple(handles)))
        elif (text := as_text(item)) is not None:
            names = split_byline(text) if split else [without_addresses(text)]
            out += [RawAuthor(name=n) for n in names if n]
    return out


def is_http_url(value: str | None) -> bool:
    return bool(value) and str(value).lower().startswith(("http://", "https://"))


def body_and_summary(description: str, contents: list[str]) -> tuple[str, str | None]:
    """A feed entry's `body` and `summary` from its description and content texts.

    The fullest text is the body (the description on a tie); the description is the
    summary when it is not the body, else the fullest content that differs from it,
    so the shorter of a description and a content is kept whichever it is.
    """
    body = max([description, *contents], key=len)
    if description and description != body:
        return body, description
    others = [c for c in contents if c and c != body]
    return body, max(others, key=len) if others else None


def entry_path(path: str | None, identity: str | None, title: str, body: str) -> str | None:
    """Identity for a feed entry with neither link nor id: the file plus its content.

    Every entry of a feed file shares the file's path, so the path alone would
    merge them into one record.
    """
    if path is None or identity:
        return path
    digest = hashlib.sha256(without_surrogates(f"{title}\x1f{body}").encode()).hexdigest()[:16]
    return f"{path}#entry-{digest}"


def entry_label(position: int, entry_id: str | None, *, key: str = "guid") -> str:
    """How messages name one entry of a feed: "entry 3 (guid abc)"."""
    if not entry_id:
        return f"entry {position}"
    shown = entry_id if len(entry_id) <= 80 else entry_id[:77] + "..."
    return f"entry {position} ({key} {shown})"


def encodable(draft: Draft) -> Draft:
    """`draft` with every string UTF-8 can encode: a lone surrogate (a JSON `\\ud800`,
    a YAML escape) becomes U+FFFD, so that it cannot fail the store or the CLI later."""
    if not _has_surrogates(draft):  # the usual case: looking is cheaper than rebuilding
        return draft
    changes: dict[str, Any] = {
        f.name: _encodable(getattr(draft, f.name))
        for f in dataclasses.fields(draft)
        if f.name not in ("authors", "source")
    }
    changes["authors"] = tuple(
        RawAuthor(_encodable(a.name), _encodable(a.bio), _encodable(a.handles))
        for a in draft.authors
    )
    changes["source"] = Source(**_encodable(draft.source.model_dump()))
    return Draft(**changes)


def _has_surrogates(value: Any) -> bool:
    """Whether any string `encodable` would rewrite holds a lone surrogate."""
    if isinstance(value, str):
        return has_surrogates(value)
    if isinstance(value, tuple):
        return any(map(_has_surrogates, value))
    if isinstance(value, dict):
        return any(map(_has_surrogates, value.values()))
    if isinstance(value, (Draft, RawAuthor, Source)):
        return any(map(_has_surrogates, vars(value).values()))
    return False


def _encodable(value: Any) -> Any:
    if isinstance(value, str):
        return without_surrogates(value)
    if isinstance(value, tuple):
        return tuple(_encodable(v) for v in value)
    if isinstance(value, dict):
        return {k: _encodable(v) for k, v in value.items()}
    return value
