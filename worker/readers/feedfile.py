"""RSS, Atom and RDF feed documents: one Draft per entry.

feedparser does the parsing (of UTF-8: `xmlcharset` decides the encoding, as for
every input, and transcodes). Per entry: the body is the fullest of the content
values and the description, as plain text; the summary is the other one when they
differ (`common.body_and_summary`). The description is the entry's own: feedparser
fills a missing `summary` with the raw content markup, which is not one. An entry
without a title gets one derived by normalise (`Draft.derive_title`). Each Draft
carries its position and guid in `extra["label"]` ("entry 3 (guid ...)") for
messages about it.
A malformed ("bozo") document keeps the entries feedparser recovered, and its
error becomes the warning; one with no entries is a feed with no entries when
feedparser still found a feed root and read it to its end, else it fails with
feedparser's reason. Before feedparser sees a document,
`xmlguard` refuses entity declarations, deep nesting and element sprawl, and
`xmlrepair` mends character references to no character.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.parsers.expat import errors as expat_errors
from xml.sax import SAXParseException

import feedparser

from worker.errors import ParseError, is_time_limit
from worker.model import Draft, RawAuthor
from worker.normalise.bylines import without_addresses
from worker.normalise.dates import to_rfc3339_utc
from worker.normalise.text import clean_body, html_to_text, to_plain
from worker.readers import xmlcharset, xmlguard, xmlrepair
from worker.readers.common import body_and_summary, entry_label, entry_path, file_source

# What feedparser leaves of an address whose top-level domain it cut short.
_CUT_TLD_RE = re.compile(r"\.[A-Za-z]{4}$")
_CUT_TAIL_RE = re.compile(r"\s*[<(\[][a-z0-9-]+[>)\]]$")
_CUT_HEAD_RE = re.compile(r"^[a-z0-9-]+\s*\((?=[^()]*$)")
_URL_SCHEME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")
# feedparser's dicts answer `.get` through their key aliases, a Python call each;
# no key read here has an alias, so the plain dict's answer is the same, in C.
_get = dict.get


@dataclass(frozen=True)
class FeedMeta:
    """What the document says besides its entries."""

    ttl: float | None = None  # RSS <ttl>, in seconds
    warning: str | None = None  # why the document is malformed, when it was read anyway


def read_with_meta(
    data: bytes,
    *,
    name: str,
    path: str | None,
    headers: Mapping[str, str] | None = None,
) -> tuple[list[Draft], FeedMeta]:
    """`read`, plus the document's ttl and any recovered-from error.

    `headers` are the HTTP response headers: feedparser takes the charset from
    Content-Type and the base URI from Content-Location.
    """
    parsed, charset_warning = _parse(data, name, headers)
    entries = list(parsed.get("entries") or [])
    error = parsed.get("bozo_exception") if parsed.get("bozo") else None
    reason = None if error is None else _expat_reason(error)
    warning = "; ".join(w for w in (charset_warning, reason) if w) or None
    if not entries:
        # A feed root read past an error is a feed with no entries, the error a
        # warning as when entries were recovered; a document cut short may have
        # lost its entries with its end.
        if reason is not None and (not parsed.get("version") or _cut_short(error)):
            raise ParseError(f"{name}: not a readable feed: {reason}")
        if not parsed.get("version"):
            raise ParseError(f"{name}: not a feed (no RSS, Atom or RDF root element)")
        return [], FeedMeta(warning=warning)
    feed = parsed.get("feed") or {}
    about = _Feed(_str(_get(feed, "title")), _feed_url(feed), _str(_get(feed, "language")))
    drafts = [
        _entry(entry, about, index, path=path) for index, entry in enumerate(entries, start=1)
    ]
    return drafts, FeedMeta(ttl=_ttl(feed), warning=warning)


def _ttl(feed: Any) -> float | None:
    try:
        minutes = float(str(feed.get("ttl")).strip())
    except ValueError:
        return None
    return minutes * 60 if 0 < minutes < 1e6 else None


def _parse(data: bytes, name: str, headers: Mapping[str, str] | None) -> tuple[Any, str | None]:
    """feedparser's result, and what the bytes said against their declared charset."""
    wanted = ("content-type", "content-location", "content-language")
    picked = {k.lower(): v for k, v in (headers or {}).items() if k.lower() in wanted} or None
    xmlguard.check_markup(data, name=name)
    utf8 = xmlcharset.to_utf8(data, picked, name=name)
    data = xmlrepair.mend(utf8.data)
    try:
        # A stream, never a str: feedparser fetches URLs and opens file names.
        parsed = feedparser.parse(
            io.BytesIO(data),
            response_headers=utf8.headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
        return parsed, utf8.warning
    # feedparser runs several parsers (expat, its loose sgmllib fallback, date
    # handlers), each with its own exception types: any escape means unreadable.
    except Exception as exc:
        if is_time_limit(exc):
            raise
        raise ParseError(f"{name}: not a readable feed: {exc}") from exc


# What expat says when the document ends before its root element does.
_CUT_SHORT = frozenset(
    {
        expat_errors.XML_ERROR_NO_ELEMENTS,
        expat_errors.XML_ERROR_UNCLOSED_TOKEN,
        expat_errors.XML_ERROR_UNCLOSED_CDATA_SECTION,
        expat_errors.XML_ERROR_PARTIAL_CHAR,
    }
)


def _cut_short(exc: object) -> bool:
    return isinstance(exc, SAXParseException) and exc.getMessage() in _CUT_SHORT


def _expat_reason(exc: object) -> str:
    """expat says "<unknown>:3:17: mismatched tag"; say "line 3, column 17: ..."."""
    match = re.match(r"<unknown>:(\d+):(\d+): (.*)", str(exc))
    if match is None:
        return str(exc) or type(exc).__name__
    return f"line {match.group(1)}, column {match.group(2)}: {match.group(3)}"


@dataclass(frozen=True)
class _Feed:
    """What every entry takes from the feed element, read once per document."""

    name: str | None
    feed_url: str | None
    language: str | None


def _entry(entry: Any, feed: _Feed, index: int, *, path: str | None) -> Draft:
    title = _detail_text(_get(entry, "title_detail"), _get(entry, "title"))
    raw_contents = _get(entry, "content") or []
    description = _description(entry, [_get(c, "value") for c in raw_contents])
    contents = [_detail_text(c, _get(c, "value")) for c in raw_contents]
    body, summary = body_and_summary(description, contents)
    guid = _str(_get(entry, "id"))
    link = _link(entry)
    names = _author_names(entry)
    source = file_source(path, name=feed.name, feed_url=feed.feed_url, entry_id=guid)
    return Draft(
        title=title or None,
        body=body,
        summary=summary,
        source=source,
        # One author string may hold several names ("A and B"): the byline splits it.
        authors=tuple(RawAuthor(name=n) for n in names) if len(names) > 1 else (),
        byline=names[0] if len(names) == 1 else None,
        published=_date(entry, "published"),
        updated=_date(entry, "updated"),
        language=_language(entry, feed.language),
        tags=tuple(_tags(entry)),
        url=link,
        path=entry_path(path, guid or link, title, body),
        derive_title=True,
        extra={"label": entry_label(index, guid)},
    )


def _description(entry: Any, raw_contents: list[Any]) -> str:
    """The entry's own summary/description as plain text; "" when it has none."""
    # dict.get: feedparser answers a missing summary with the content's raw markup.
    detail = dict.get(entry, "summary_detail")
    if detail:
        return _detail_text(detail, None)
    raw = dict.get(entry, "summary")
    if not isinstance(raw, str) or raw in raw_contents:
        return ""
    return to_plain(raw)


def _detail_text(detail: Any, fallback: Any) -> str:
    value = _get(detail, "value") if detail else fallback
    if not isinstance(value, str):
        return ""
    kind = str(_get(detail, "type") or "") if detail else ""
    return html_to_text(value) if "html" in kind else clean_body(value)


def _str(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _feed_url(feed: Any) -> str | None:
    for link in _get(feed, "links") or []:
        if _get(link, "rel") == "self" and _get(link, "href"):
            return str(link["href"]).strip()
    return _str(_get(feed, "link"))


def _link(entry: Any) -> str | None:
    """The entry's link. A relative one counts only from a link element: feedparser
    also takes a guid (a permalink unless it says otherwise) as the link of an
    entry without one, and most guids are ids ("4512"), not relative URLs."""
    link = _str(_get(entry, "link"))
    if link is None or _URL_SCHEME_RE.match(link):
        return link
    hrefs = [_str(_get(item, "href")) for item in _get(entry, "links") or []]
    return link if link in hrefs else None


def _author_names(entry: Any) -> list[str]:
    """Author names without e-mail addresses: feedparser writes an Atom author with
    an <email> as "Name (address)"; RSS has "address (Name)" and "Name <address>"."""
    # Read `author` ourselves when there is one name: feedparser's e-mail splitting
    # mangles "news@site.example (Jane Doe)" for top-level domains over 4 letters.
    authors = [a for a in dict.get(entry, "authors") or [] if hasattr(a, "get")]
    if len(authors) > 1:
        names = [_uncut(_str(a.get("name")), _str(a.get("email"))) for a in authors]
    else:
        names = [_str(dict.get(entry, "author"))]
    return [n for n in (without_addresses(n) for n in names if n) if n]


def _uncut(name: str | None, email: str | None) -> str | None:
    """`name` without what feedparser left of an address in it. It takes an address's
    top-level domain to be four letters at most and leaves the rest of it in the name:
    "Jane Doe <jane@news.example>" gives "Jane Doe <ple>", "desk@news.example (Jane
    Doe)" gives "ple (Jane Doe"."""
    if name is None or email is None or _CUT_TLD_RE.search(email) is None:
        return name
    return _CUT_HEAD_RE.sub("", _CUT_TAIL_RE.sub("", name)).strip() or None


def _date(entry: Any, key: str) -> str | None:
    # dict.get: feedparser maps a missing "updated" to "published", which would
    # invent an update time.
    parsed = dict.get(entry, f"{key}_parsed")
    if parsed is not None:
        return to_rfc3339_utc(parsed)
    return _str(dict.get(entry, key))


def _language(entry: Any, feed_language: str | None) -> str | None:
    for detail in [*(_get(entry, "content") or []), _get(entry, "summary_detail")]:
        if detail and _str(_get(detail, "language")):
            return _str(_get(detail, "language"))
    return feed_language


def _tags(entry: Any) -> list[str]:
    out = []
    for tag in _get(entry, "tags") or []:
        value = _str(_get(tag, "label")) or _str(_get(tag, "term"))
        if value:
            out.append(value)
    return out
