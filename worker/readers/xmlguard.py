"""Refusing hostile XML before feedparser sees it: entity tricks and markup bombs.

feedparser strips most entity declarations itself and expat limits expansion,
but both are heuristics deep inside other code; here the rules are ours and the
message says what was wrong:

- Entity declarations: only single-character ones (`<!ENTITY nbsp "&#160;">`,
  which old feeds use for HTML names) are allowed. Nested, long, external
  (SYSTEM/PUBLIC) and parameter entities are refused: they are how billion
  laughs, quadratic blow-up and external-entity (XXE) attacks start, and no feed
  needs them.
- Nesting deeper than `MAX_DEPTH` elements and more than `MAX_ELEMENTS` elements
  in all are refused: feedparser's cost is per element (tens of seconds for a few
  million), whatever the byte cap.

The scan is a tolerant tokenizer, not a parser, so it also bounds the broken
documents feedparser reads with its loose parser: CDATA, comments and processing
instructions are skipped; a closing tag closes every element opened inside the
element it names (as HTML parsers recover), stray closing tags and HTML void
elements (`<br>`) count for nothing. Every pattern is linear in the input.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter

from worker.errors import ParseError

MAX_DEPTH = 1000
MAX_ELEMENTS = 500_000

# CDATA, comments and PIs run to their first terminator (or the end), written
# unrolled ("no `]`, or a `]` that does not start `]]>`") rather than as a lazy
# `.*?`, which tries the terminator at every character: five times the cost over
# a feed whose entries are CDATA.
_TOKEN_RE = re.compile(
    r"<!\[CDATA\[[^\]]*(?:\](?!\]>)[^\]]*)*(?:\]\]>|\Z)"
    r"|<!--[^-]*(?:-(?!->)[^-]*)*(?:-->|\Z)"
    r"|<\?[^?]*(?:\?(?!>)[^?]*)*(?:\?>|\Z)"
    r"|<!ENTITY\b(?P<entity>[^<>]*)>?"
    r"|</(?P<close>[^\s<>/]+)[^<>]*>?"
    r"|<(?P<open>[A-Za-z_:][^\s<>/]*)(?P<attrs>[^<>]*)>?",
    re.S,
)
# One character, or one character reference, in matching quotes: nothing to expand.
_SAFE_ENTITY_RE = re.compile(
    r"""\s+[\w.:-]+\s+(?P<q>["'])(?:&\#[0-9]{1,7};|&\#x[0-9A-Fa-f]{1,6};|[^&%<>"'])(?P=q)\s*\Z"""
)
_ENTITY_NAME_RE = re.compile(r"\s*(%\s*)?([^\s\"'%]*)")
# HTML elements without an end tag: raw HTML in a broken feed must not count as nesting.
_VOID = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "meta", "param",
    "source", "track", "wbr",
})  # fmt: skip
_UTF16_32_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def check_markup(data: bytes, *, name: str) -> None:
    """Raise ParseError when `data` declares unsafe entities or nests or sprawls too far."""
    elements = 0
    stack: list[str] = []
    open_names: Counter[str] = Counter()
    for match in _TOKEN_RE.finditer(scan_text(data)):
        # The last group that took part names the token; None for skipped ones.
        kind = match.lastgroup
        if kind == "entity":
            _check_entity(match.group("entity"), name)
        elif kind == "attrs":  # an opening tag (its attributes always match, maybe empty)
            elements += 1
            if elements > MAX_ELEMENTS:
                raise ParseError(f"{name}: refused: more than {MAX_ELEMENTS} elements")
            tag = match.group("open").lower()
            if not match.group("attrs").endswith("/") and tag not in _VOID:
                stack.append(tag)
                open_names[tag] += 1
                if len(stack) > MAX_DEPTH:
                    raise ParseError(f"{name}: refused: elements nested more than {MAX_DEPTH} deep")
        elif kind == "close":
            _close(stack, open_names, match.group("close").lower())


def scan_text(data: bytes) -> str:
    """The document as text for scanning: markup characters are ASCII in every
    encoding feeds use except UTF-16/32, so latin-1 (which never fails) will do."""
    for bom, encoding in _UTF16_32_BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, "replace")
    head = data[:4]
    if len(head) == 4 and head.count(0) >= 2:  # "<\0?\0" or "\0<\0?": UTF-16 without a BOM
        encoding = "utf-16-le" if head[0] else "utf-16-be"
        if head.count(0) == 3:
            encoding = "utf-32-le" if head[0] else "utf-32-be"
        return data.decode(encoding, "replace")
    return data.decode("latin-1")


def _close(stack: list[str], open_names: Counter[str], tag: str) -> None:
    """Close `tag` and everything opened inside it; a tag that is not open closes nothing."""
    if not open_names[tag]:
        return
    while stack:
        popped = stack.pop()
        open_names[popped] -= 1
        if popped == tag:
            return


def _check_entity(declaration: str, name: str) -> None:
    if _SAFE_ENTITY_RE.match(declaration):
        return
    found = _ENTITY_NAME_RE.match(declaration)
    parameter, entity = (found.group(1), found.group(2)) if found else (None, "")
    if parameter:
        why = "a parameter entity"
    elif re.search(r"\s(?:SYSTEM|PUBLIC)\s", f" {declaration} "):
        why = "an external entity"
    else:
        why = "its value is more than one character"
    raise ParseError(
        f"{name}: refused: the document declares entity {entity!r}, {why}; only"
        " single-character entity declarations are allowed (no expansion, no external entities)"
    )


__all__ = ["MAX_DEPTH", "MAX_ELEMENTS", "check_markup", "scan_text"]
