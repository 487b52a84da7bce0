"""Text clean-up shared by readers and normalise: NFC, whitespace, entities, HTML.

Paragraph convention everywhere: paragraphs are separated by exactly one blank
line, and a paragraph never holds a newline.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable

import html_text
from lxml import etree

from worker.normalise.htmltext import layout_text

# Zero-width characters carry nothing a reader sees; a BOM may hide mid-text
# when files were concatenated. Control characters other than newline and tab
# count as whitespace: a space here, so that `str.split()` (whose whitespace is
# exactly the regex `\s`) collapses each run with its neighbours into one space.
# split-and-join does that without a substitution per space, as a regex would.
_CONTROLS = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))]
_INVISIBLE_AND_CONTROLS = str.maketrans(
    {**dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff"), **dict.fromkeys(_CONTROLS, " ")}
)
# Python joins escaped surrogate pairs ("\\ud83d\\ude00" in JSON), so any left are
# lone ones, which no UTF-8 encoder accepts.
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_BLANK_LINE_RE = re.compile(r"\n[ \t\u00a0]*\n\s*")
# What html-text's cleaner removes (scripts, styles, comments, embedded content...):
# markup without any of it is converted without the cleaning pass, same text.
_NEEDS_CLEANING_RE = re.compile(
    r"<(?:script|style|link|meta|object|embed|applet|i?frame|noscript|svg|math|template)\b"
    r"|<!|<\?",
    re.IGNORECASE,
)
# `<!` opens markup only as a comment, a CDATA section or conditional comment
# (`<![`), or a document's leading doctype; anywhere else (`<!'`, a `<!DOCTYPE`
# quoted in a sentence) it is text, which an HTML parser would drop as a bogus comment.
_STRAY_BANG_RE = re.compile(r"<!(?!--|\[)")
_LEADING_DOCTYPE_RE = re.compile(r"\s*(?:<\?[^>]*>\s*)?(?:<!--.*?-->\s*)*<!doctype\b", re.I | re.S)
_WORD_RE = re.compile(r"\w+(?:['’.\-]\w+)*")
# The same words in ASCII text, where `\w` is [A-Za-z0-9_] either way: the ASCII
# form skips the Unicode table lookup per character (a quarter of the time).
_ASCII_WORD_RE = re.compile(r"\w+(?:['.\-]\w+)*", re.ASCII)
# Sentence punctuation at the end of a line, before closing quotes or brackets.
SENTENCE_END_RE = re.compile(r"[.!?:;…][\"'”’»)\]]*$")


def nfc(value: str) -> str:
    """Unicode NFC, so that equal-looking text compares (and hashes) equal."""
    return unicodedata.normalize("NFC", value)


def without_surrogates(value: str) -> str:
    """`value` with each lone surrogate (from a JSON or YAML escape) as U+FFFD."""
    return _SURROGATE_RE.sub("\ufffd", value)


def has_surrogates(value: str) -> bool:
    return _SURROGATE_RE.search(value) is not None


def collapse_whitespace(value: str) -> str:
    """Every whitespace run (newlines, tabs, no-break spaces) becomes one space."""
    if not value.isprintable():  # printable: no control, invisible or whitespace but " "
        value = value.translate(_INVISIBLE_AND_CONTROLS)
    return " ".join(value.split())


def unescape(value: str) -> str:
    """Decode HTML character references (`&amp;`, `&#8217;`), also in plain text."""
    return html.unescape(value) if "&" in value else value


def clean_inline(value: str | None) -> str | None:
    """A one-line field: entities decoded, NFC, whitespace collapsed; None when empty."""
    if value is None:
        return None
    cleaned = collapse_whitespace(nfc(unescape(value)))
    return cleaned or None


def paragraphs(text: str) -> list[str]:
    """Split on blank lines; each paragraph gets its whitespace collapsed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for block in _BLANK_LINE_RE.split(text):
        para = collapse_whitespace(block)
        if para:
            out.append(para)
    return out


def join_paragraphs(paras: list[str]) -> str:
    return "\n\n".join(p for p in paras if p)


def clean_body(text: str | None) -> str:
    """A multi-paragraph field: entities, NFC, whitespace, one blank line between."""
    if not text:
        return ""
    return join_paragraphs(paragraphs(nfc(unescape(text))))


def html_to_text(markup: str | None) -> str:
    """Plain text of an HTML fragment or page, paragraphs kept.

    html-text guesses the layout (a blank line around <p>, <h1>..., a newline for
    <br>, <div>, <li>); every line it produces is a paragraph of ours, so list
    items and line breaks are not run together. Markup its cleaner would leave
    alone is walked by `layout_text`, html-text's walk made cheaper.
    """
    if not markup or not markup.strip():
        return ""
    if "<!" in markup:
        markup = _stray_bangs_escaped(markup)
    try:
        tree = html_text.parse_html(markup)
        if _NEEDS_CLEANING_RE.search(markup):
            # An iframe's content is the fallback for browsers without frames, which
            # html-text's cleaner keeps (and the parser leaves its markup as text).
            etree.strip_elements(tree, "iframe", with_tail=False)
            extracted = html_text.extract_text(tree, guess_layout=True)
        else:  # nothing for html-text's cleaner to remove: skip its pass over the tree
            extracted = layout_text(tree)
    except (etree.LxmlError, ValueError):
        return ""
    return lines_to_paragraphs(extracted)


def _stray_bangs_escaped(markup: str) -> str:
    """`markup` with each `<!` that opens no markup written as `&lt;!`."""
    lead = _LEADING_DOCTYPE_RE.match(markup)
    start = lead.end() if lead else 0
    return markup[:start] + _STRAY_BANG_RE.sub("&lt;!", markup[start:])


def lines_to_paragraphs(text: str) -> str:
    """Each line a paragraph, its whitespace collapsed; blank lines dropped.

    The same as `collapse_whitespace` on every line.
    """
    flat = text.translate(_INVISIBLE_AND_CONTROLS)
    return join_paragraphs([" ".join(line.split()) for line in flat.split("\n")])


def looks_like_html(value: str) -> bool:
    """Whether a feed or JSON field holds markup rather than plain text."""
    return bool(re.search(r"<(p|br|div|a|b|i|em|strong|span|img|ul|ol|li|h[1-6])\b", value, re.I))


def to_plain(value: str | None) -> str:
    """A field that may hold HTML or plain text, as plain text with paragraphs."""
    if not value:
        return ""
    return html_to_text(value) if looks_like_html(value) else clean_body(value)


def unique(values: Iterable[str]) -> list[str]:
    """`values` in order without repeats that differ only in case; the first spelling wins."""
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        key = value.casefold()
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


def word_count(text: str) -> int:
    """Words as runs of letters/digits, keeping "don't", "co-operation", "3.5" whole."""
    return len((_ASCII_WORD_RE if text.isascii() else _WORD_RE).findall(text))
