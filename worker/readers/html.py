"""HTML article pages: trafilatura for the main text, page metadata for the rest.

Metadata precedence: explicit tags first (`article:published_time`, canonical link,
`<html lang>`, `article:tag`), then what trafilatura found. Dates are candidates
in that order, the first that reads as a date wins (`dates.page_date`: a bare
year and a Unix timestamp count too), so a tag that holds no date does not hide
trafilatura's; trafilatura never guesses one from the text (extensive search
off). Without main text, the text of the whole page is the body.

Paragraphs: trafilatura's text has one paragraph per line, except on short pages
where its fallback extractor returns the whole article as one line. Then the
body is re-read, paragraphs kept, from the smallest page element holding that
text. At the top of the body, a line repeating the title, a byline of the found
authors and a dateline ("Posted on March 5, 2024") are dropped.
"""

from __future__ import annotations

import re
from typing import Any

import lxml.html
import trafilatura
from lxml import etree

from worker.errors import BadInput, ParseError, is_time_limit
from worker.model import Draft
from worker.normalise.bylines import read_byline, split_byline
from worker.normalise.dates import dateline, page_date
from worker.normalise.text import clean_inline, html_to_text, join_paragraphs
from worker.readers.common import file_source

_DATE_PARAMS = {"extensive_search": False, "original_date": True}
_PUBLISHED = ("article:published_time", "og:published_time", "datePublished", "date", "dc.date")
_WS_RE = re.compile(r"\s+")
_NAME_SEPARATORS_RE = re.compile(r"[\s.,;_+&]+")
# How far down a byline or dateline may sit above the article text.
_LEAD_LINES = 3
_MODIFIED = ("article:modified_time", "og:updated_time", "dateModified", "last-modified")


def read(text: str, *, name: str, path: str | None) -> list[Draft]:
    """One Draft from an HTML page (already decoded)."""
    tree = _parse(text, name)
    meta = _meta(tree)
    extracted = _extract(text)
    title = _get(extracted, "title") or meta.get("og:title") or _node_text(tree, "//title")
    byline = meta.get("author") or _page_spelling(_get(extracted, "author"), tree)
    body = _body(extracted, tree, title, split_byline(byline)) or html_to_text(text)
    if not body and not title:
        raise BadInput(f"{name}: no text in the HTML page")
    tags = meta.get_all("article:tag") + meta.get_all("keywords", split=True)
    tags += list(_get(extracted, "categories") or []) + list(_get(extracted, "tags") or [])
    return [
        Draft(
            title=title,
            body=body,
            summary=meta.get("og:description") or meta.get("description"),
            source=file_source(path, name=meta.get("og:site_name") or _get(extracted, "sitename")),
            byline=byline,
            published=_first_date([*meta.all_of(_PUBLISHED), _get(extracted, "date")]),
            updated=_first_date(meta.all_of(_MODIFIED)),
            language=tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang"),
            tags=tuple(tags),
            url=_canonical_link(tree) or meta.get("og:url") or _get(extracted, "url"),
            path=path,
        )
    ]


class _Meta:
    """`<meta>` values by lower-cased name/property; all values kept, in order."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for key, value in pairs:
            self._values.setdefault(key, []).append(value)

    def get(self, key: str) -> str | None:
        values = self._values.get(key.lower())
        return values[0] if values else None

    def get_all(self, key: str, *, split: bool = False) -> list[str]:
        values = self._values.get(key.lower(), [])
        return [p.strip() for v in values for p in (v.split(",") if split else [v]) if p.strip()]

    def all_of(self, keys: tuple[str, ...]) -> list[str]:
        """Every value of these keys, in the order of the keys."""
        return [v for k in keys for v in self.get_all(k)]


def _first_date(candidates: list[Any]) -> str | None:
    """The first candidate that reads as a date, in RFC 3339 UTC."""
    dates = (page_date(c) for c in candidates if isinstance(c, str))
    return next((d for d in dates if d), None)


def _parse(text: str, name: str) -> Any:
    # Bytes plus an explicit parser encoding: lxml refuses str input that carries
    # an XML encoding declaration.
    parser = lxml.html.HTMLParser(encoding="utf-8")
    try:
        tree = lxml.html.document_fromstring(text.encode("utf-8", "replace"), parser=parser)
    except (etree.LxmlError, ValueError) as exc:
        raise ParseError(f"{name}: unreadable HTML: {exc}") from exc
    # libxml2 stops at 256 levels of nesting and keeps what it had: the rest of
    # the page would be lost without a word.
    limit = next((e for e in parser.error_log if e.type_name == "ERR_RESOURCE_LIMIT"), None)
    if limit is not None:
        what = "elements nested more than 256 deep" if "depth" in limit.message else limit.message
        raise ParseError(f"{name}: refused: over an HTML parser limit: {what}")
    return tree


def _meta(tree: Any) -> _Meta:
    pairs = []
    for node in tree.iter("meta"):
        key = node.get("property") or node.get("name") or node.get("itemprop")
        value = clean_inline(node.get("content"))
        if key and value:
            pairs.append((key.strip().lower(), value))
    return _Meta(pairs)


def _canonical_link(tree: Any) -> str | None:
    for node in tree.iter("link"):
        if (node.get("rel") or "").strip().lower() == "canonical" and node.get("href"):
            return str(node.get("href")).strip()
    return None


def _node_text(tree: Any, xpath: str) -> str | None:
    nodes = tree.xpath(xpath)
    return clean_inline(nodes[0].text_content()) if nodes else None


def _extract(text: str) -> Any:
    try:
        return trafilatura.bare_extraction(
            text,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            date_extraction_params=_DATE_PARAMS,
        )
    # trafilatura chains lxml, htmldate, courlan and justext, each with its own
    # exception types; a failure of any of them means "no main text", and the
    # whole-page fallback still applies.
    except Exception as exc:
        if is_time_limit(exc):
            raise
        return None


def _page_spelling(author: str | None, tree: Any) -> str | None:
    """The page's own spelling of the author trafilatura found.

    trafilatura title-cases what it reads as a name and joins names with "; ":
    "By wien.ORF.at" comes back as "Wien Orf At", "By Acme Media, LLC" as "Acme
    Media; LLC". The page's text has it as written, for the byline rules
    (worker/normalise/bylines.py) to read.
    """
    if not author:
        return author
    words = [w for w in _NAME_SEPARATORS_RE.split(author) if w]
    if not words:
        return author
    pattern = r"[\s.,;_+&]+".join(re.escape(w) for w in words)
    found = re.search(rf"(?<!\w){pattern}(?!\w)", tree.text_content(), re.IGNORECASE)
    return found.group(0) if found else author


def _get(extracted: Any, attr: str) -> Any:
    value = getattr(extracted, attr, None) if extracted is not None else None
    return value if value else None


def _body(extracted: Any, tree: Any, title: str | None, authors: list[str]) -> str:
    """trafilatura's text as paragraphs, without a repeated headline or byline."""
    text = _get(extracted, "text")
    if not isinstance(text, str):
        return ""
    if "\n" in text.strip():
        paras = [p for p in (clean_inline(line) for line in text.split("\n")) if p]
    else:
        paras = _paragraphs_around(tree, text)
    return join_paragraphs(_drop_lead(paras, title, authors))


def _paragraphs_around(tree: Any, text: str) -> list[str]:
    """The paragraphs of the smallest element whose text is `text` (whitespace aside)."""
    target = _WS_RE.sub("", text)
    best: Any = None
    best_size = 0
    for node in tree.iter():
        if not isinstance(node.tag, str) or node.tag in ("script", "style"):
            continue
        content = _WS_RE.sub("", node.text_content())
        if target in content and (best is None or len(content) <= best_size):
            best, best_size = node, len(content)
    if best is None:
        return [p for p in [clean_inline(text)] if p]
    return html_to_text(lxml.html.tostring(best, encoding="unicode")).split("\n\n")


def _drop_lead(paras: list[str], title: str | None, authors: list[str]) -> list[str]:
    """Drop, from the top, the title again, a byline of the found authors, a dateline."""
    if paras and title and paras[0] == clean_inline(title):
        paras = paras[1:]
    wanted = {a.casefold() for a in authors}
    lead = paras[:_LEAD_LINES]
    for para in paras[:_LEAD_LINES]:
        byline = read_byline(para)
        names = {n.casefold() for n in byline.names} if byline is not None else set()
        if (names and names <= wanted) or dateline(para) is not None:
            lead.remove(para)
    return lead + paras[_LEAD_LINES:]
