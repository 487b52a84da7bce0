"""Bylines into author names, and social handles out of author bios.

Splitting: a leading "By" goes; names are separated by ";", "&", "and" (any case)
and commas. A piece after a comma is dropped only when it is on the explicit list
of roles and agencies below ("Jane Doe, Staff Writer", "John Roe, Reuters");
anything else is kept as a name, so "Reuters Staff" stays "Reuters Staff". A name
suffix after a comma stays with its name, period included ("King, Jr.").
A byline written all in capitals ("BY JANE DOE AND JOHN SMITH") is typography,
not spelling: its names of two or more words are title-cased ("Jane Doe"); a
one-word name ("AP") and Roman numerals keep their capitals.

`read_byline` decides whether a whole line is a byline ("By NAME", also in
Markdown emphasis, optionally followed by " | DATE"): only when every name reads
as a name (capitalised words) and not as a time ("By Tuesday Evening").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from worker.normalise.dates import dateline
from worker.normalise.text import SENTENCE_END_RE, unique

_BY_RE = re.compile(r"^\s*(?:written\s+)?by\b[\s:]*", re.IGNORECASE)
_GROUP_SPLIT_RE = re.compile(r"\s*(?:;|&|\s+and\s+)\s*", re.IGNORECASE)
_BYLINE_LINE_RE = re.compile(r"^by\s+(\S.*?)$", re.IGNORECASE)
# Markdown emphasis around a whole line: "*By Jane Doe*", "__By Jane Doe__".
_EMPHASIS_RE = re.compile(r"^([*_]{1,3})(\S.*?\S|\S)\1$")
_PART_SPLIT_RE = re.compile(r"\s+[|•·]\s+")
_MAX_BYLINE = 150
_MAX_NAME_WORDS = 6
_NAME_PARTICLES = frozenset({"de", "van", "von", "der", "den", "la", "le", "al", "bin", "da", "di"})
_MONTHS = frozenset(
    {
        *("january", "february", "march", "april", "may", "june", "july", "august"),
        *("september", "october", "november", "december", "jan", "feb", "mar", "apr"),
        *("jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"),
    }
)
# A "name" holding one of these is a time: "By Tuesday Evening", "By Noon Today".
_TIME_WORDS = frozenset(
    {
        *("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        *("morning", "afternoon", "evening", "night", "tonight", "today", "tomorrow"),
        *("yesterday", "noon", "midnight", "dawn", "dusk", "weekend", "week", "day"),
        *("month", "year", "now", "then"),
    }
)
_ROMAN_RE = re.compile(r"^(?:i{1,3}|iv|vi{0,3}|ix|x)\.?$", re.IGNORECASE)
_ROLES = frozenset(
    {
        "staff",
        "staff writer",
        "staff reporter",
        "reporter",
        "senior reporter",
        "correspondent",
        "senior correspondent",
        "foreign correspondent",
        "special correspondent",
        "chief correspondent",
        "editor",
        "senior editor",
        "news editor",
        "managing editor",
        "editor-in-chief",
        "contributing editor",
        "contributor",
        "contributing writer",
        "columnist",
        "opinion columnist",
        "analyst",
        "writer",
        "freelance writer",
        "reuters",
        "ap",
        "the associated press",
        "associated press",
        "afp",
        "agence france-presse",
        "bloomberg",
        "bloomberg news",
        "dpa",
        "upi",
        "cnn",
        "bbc news",
    }
)
# Name suffixes that follow a comma but belong to the name before it.
_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "phd", "ph.d.", "md", "m.d."})
# Twitter-style handle: not part of an e-mail address or a domain name.
_HANDLE_RE = re.compile(r"(?<![\w@.])@([A-Za-z0-9_]{1,30})(?![\w@]|\.\w)")


@dataclass(frozen=True)
class Byline:
    """A line found to be a byline: the names part, and a date that shared the line."""

    text: str
    names: list[str]
    date: str | None = None


def split_byline(byline: str | None) -> list[str]:
    """Author names in a byline, in order, without duplicates."""
    if not byline:
        return []
    text = _BY_RE.sub("", byline.strip())
    shouting = text.upper() == text and any(c.isalpha() for c in text)
    names = [n for group in _GROUP_SPLIT_RE.split(text) for n in _split_group(group)]
    return unique(_title_case(n) if shouting else n for n in names)


def read_byline(line: str) -> Byline | None:
    """`line` as a byline ("By NAME", "*By NAME*", "By NAME | DATE"), or None for prose."""
    line = line.strip()
    emphasis = _EMPHASIS_RE.match(line)
    if emphasis is not None:
        line = emphasis.group(2).strip()
    if len(line) > _MAX_BYLINE:
        return None
    first, *rest = _PART_SPLIT_RE.split(line)
    match = _BYLINE_LINE_RE.match(first)
    if match is None or SENTENCE_END_RE.search(match.group(1).rstrip(".")) is not None:
        return None
    names = split_byline(match.group(1))
    if not names or not all(looks_like_name(n) for n in names):
        return None
    return Byline(first, names, next((d for d in map(dateline, rest) if d), None))


def looks_like_name(name: str) -> bool:
    """Capitalised words (particles such as "de", "van" aside) that do not read as a time."""
    words = name.replace(",", " ").split()
    if not 1 <= len(words) <= _MAX_NAME_WORDS:
        return False
    if not all(w[0].isupper() or w.lower() in _NAME_PARTICLES for w in words):
        return False
    lowered = [w.lower().strip(".") for w in words]
    if any(w in _TIME_WORDS for w in lowered):
        return False
    return not all(w in _MONTHS for w in lowered)  # "By March", but "By April Ryan"


def _split_group(group: str) -> list[str]:
    """One name, possibly followed by roles or more names after commas."""
    pieces = [_tidy(p) for p in group.split(",")]
    names: list[str] = []
    for index, piece in enumerate(pieces):
        if not piece:
            continue
        lowered = piece.casefold()
        if names and lowered in _SUFFIXES:
            names[-1] = f"{names[-1]}, {piece}"
        elif index > 0 and lowered in _ROLES:
            continue
        else:
            names.append(_BY_RE.sub("", piece))
    return [n for n in names if re.search(r"[^\W\d_]", n)]


def _tidy(piece: str) -> str:
    """Whitespace and stray punctuation off a piece; the period of "Jr." or "J." stays."""
    piece = re.sub(r"\s+", " ", piece).strip(" \t-–—:").lstrip(".")
    while piece.endswith(".") and not _is_abbreviation(piece.rsplit(" ", 1)[-1]):
        piece = piece[:-1].rstrip(" \t-–—:")
    return piece


def _is_abbreviation(word: str) -> bool:
    """ "Jr.", "Sr.", an initial "J.", or a dotted one such as "Ph.D."."""
    lowered = word.casefold()
    return lowered in _SUFFIXES or len(lowered) == 2 or "." in lowered[:-1]


def _title_case(name: str) -> str:
    words = name.split(" ")
    if len(words) < 2:
        return name
    return " ".join(w if _ROMAN_RE.match(w) else w.title() for w in words)


def extract_handles(text: str | None) -> list[str]:
    """`@name` handles in a bio, in order, without duplicates; e-mails are not handles."""
    if not text:
        return []
    return unique("@" + match.group(1) for match in _HANDLE_RE.finditer(text))
