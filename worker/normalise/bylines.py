"""Bylines into author names, and social handles out of author bios.

Splitting: a leading "By" goes, and so do e-mail addresses ("Jane Doe
<jane@example.com>", "jane@example.com (Jane Doe)": the name stays); names are
separated by ";", "&", "and" (any case) and commas. A piece after a comma is
dropped only when it is on the explicit list of roles and agencies below
("Jane Doe, Staff Writer", "John Roe, Reuters"); anything else is kept as a name,
so "Reuters Staff" stays "Reuters Staff". A name suffix after a comma stays with
its name, period included ("King, Jr."), and so does a company's legal form
("Reuters, Inc.", "Acme Media, LLC"): one author. A firm ending in "& Co." (or
"and Sons", "& Partners", ...) is one author, with the one-word names before it
("Smith, Jones & Co."); "Jane Doe, John Smith" stays two people.
A byline written all in capitals ("BY JANE DOE AND JOHN SMITH") is typography,
not spelling: its names of two or more words are title-cased ("Jane Doe"); a
one-word name ("AP"), Roman numerals, a legal form ("LLC") and a domain name
("WIEN.ORF.AT") keep their capitals.

`read_byline` decides whether a whole line is a byline ("By NAME", also in
Markdown emphasis, optionally followed by " | DATE"): only when every name reads
as a name (capitalised words, or a domain name such as "wien.ORF.at", which is
kept as written) and not as a time ("By Tuesday Evening").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from worker.normalise.dates import dateline
from worker.normalise.text import SENTENCE_END_RE, unique

_BY_RE = re.compile(r"^\s*(?:written\s+)?by\b[\s:]*", re.IGNORECASE)
# Captured: a firm's "& Co." is put back together with the separator it had.
_GROUP_SPLIT_RE = re.compile(r"(\s*(?:;|&|\s+and\s+)\s*)", re.IGNORECASE)
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
# A company's legal form after a comma ("Reuters, Inc."), compared without dots
# and spaces; the value is its spelling in a byline written all in capitals.
_LEGAL_FORMS = {
    **{"inc": "Inc", "incorporated": "Incorporated", "corp": "Corp", "ltd": "Ltd"},
    **{"limited": "Limited", "co": "Co", "company": "Company", "llc": "LLC", "llp": "LLP"},
    **{"plc": "PLC", "gmbh": "GmbH", "ag": "AG", "sa": "SA", "spa": "SpA", "nv": "NV"},
    **{"bv": "BV", "ptyltd": "Pty Ltd", "sarl": "SARL", "srl": "SRL"},
}
# What follows "&" or "and" at the end of a firm's name ("Smith & Co.").
_FIRM_ENDS = frozenset({"co", "company", "sons", "son", "partners", "associates"})
# A domain name written as an author ("wien.ORF.at"): labels of two characters or
# more, so an initial ("J.Smith") is not one.
_DOMAIN_RE = re.compile(r"(?:[^\W_][\w-]*[^\W_]\.)+[^\W\d_]{2,}")
# An e-mail address, with the "mailto:" some feeds put before it.
_ADDRESS = r"(?:mailto:)?[\w.+'-]+@[\w-]+(?:\.[\w-]+)+"
_ADDRESS_RE = re.compile(_ADDRESS, re.IGNORECASE)
_ADDRESS_THEN_NAME_RE = re.compile(rf"{_ADDRESS}\s*\(([^()]*)\)", re.IGNORECASE)
_BRACKETED_ADDRESS_RE = re.compile(rf"\s*[(<\[]\s*{_ADDRESS}\s*[)>\]]", re.IGNORECASE)
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
    text = _BY_RE.sub("", without_addresses(byline.strip()))
    shouting = text.upper() == text and any(c.isalpha() for c in text)
    names = [n for group, firm in _groups(text) for n in _split_group(group, firm=firm)]
    return unique(_title_case(n) if shouting else n for n in names)


def without_addresses(text: str) -> str:
    """`text` without its e-mail addresses: "jane@example.com (Jane Doe)", "Jane Doe
    <jane@example.com>" and "Jane Doe (jane@example.com)" all give "Jane Doe"; an
    address alone gives "". A record's author has a name, never an address.
    """
    if "@" not in text:
        return text
    text = _ADDRESS_THEN_NAME_RE.sub(r"\1", text)
    text = _ADDRESS_RE.sub("", _BRACKETED_ADDRESS_RE.sub("", text))
    text = re.sub(r"\s+", " ", text).strip(" ,;:|/-–—")
    if text.startswith("(") and text.endswith(")") and "(" not in text[1:-1]:
        text = text[1:-1].strip()  # "<jane@example.com> (Jane Doe)"
    return text


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
    if _DOMAIN_RE.fullmatch(name):
        return True
    words = name.replace(",", " ").split()
    if not 1 <= len(words) <= _MAX_NAME_WORDS:
        return False
    if not all(w[0].isupper() or w.lower() in _NAME_PARTICLES or w == "&" for w in words):
        return False
    lowered = [w.lower().strip(".") for w in words]
    if any(w in _TIME_WORDS for w in lowered):
        return False
    return not all(w in _MONTHS for w in lowered)  # "By March", but "By April Ryan"


def _groups(text: str) -> list[tuple[str, bool]]:
    """`text` split at ";", "&" and "and", each group with whether it is a firm's
    whole name ("Smith, Jones & Co."), which commas do not split."""
    parts = _GROUP_SPLIT_RE.split(text)
    groups: list[tuple[str, bool]] = [(parts[0], False)]
    for separator, group in zip(parts[1::2], parts[2::2], strict=True):
        if ";" in separator or _key(group) not in _FIRM_ENDS or groups[-1][1]:
            groups.append((group, False))
            continue
        before, _ = groups.pop()
        pieces = before.split(",")
        # "Smith, Jones & Co." names partners; "Jane Doe, Smith & Co." a person and a firm.
        partners = len(pieces) > 1 and all(len(p.split()) == 1 for p in pieces)
        head, partner = ("", before) if partners else (",".join(pieces[:-1]), pieces[-1])
        if head.strip():
            groups.append((head, False))
        groups.append((f"{partner}{separator}{group}", True))
    return groups


def _split_group(group: str, *, firm: bool = False) -> list[str]:
    """One name, possibly followed by roles or more names after commas."""
    if firm:
        return [_tidy(group)]
    pieces = [_tidy(p) for p in group.split(",")]
    names: list[str] = []
    dropped = False  # the piece before was a role or an agency
    for index, piece in enumerate(pieces):
        if not piece:
            continue
        lowered = piece.casefold()
        if _key(piece) in _LEGAL_FORMS and index > 0:
            if names and not dropped:  # "Reuters, Inc.", not "Jane Doe, Reuters, Inc."
                names[-1] = f"{names[-1]}, {piece}"
        elif names and lowered in _SUFFIXES:
            names[-1] = f"{names[-1]}, {piece}"
        elif index > 0 and lowered in _ROLES:
            dropped = True
            continue
        else:
            names.append(_BY_RE.sub("", piece))
        dropped = False
    return [n for n in names if re.search(r"[^\W\d_]", n)]


def _key(piece: str) -> str:
    """A piece as the lists of legal forms and firm ends spell it: "Pty. Ltd." is "ptyltd"."""
    return re.sub(r"[\s.]", "", piece).casefold()


def _tidy(piece: str) -> str:
    """Whitespace and stray punctuation off a piece; the period of "Jr." or "J." stays."""
    piece = re.sub(r"\s+", " ", piece).strip(" \t-–—:").lstrip(".")
    while piece.endswith(".") and not _is_abbreviation(piece.rsplit(" ", 1)[-1]):
        piece = piece[:-1].rstrip(" \t-–—:")
    return piece


def _is_abbreviation(word: str) -> bool:
    """ "Jr.", "Sr.", an initial "J.", a dotted one such as "Ph.D.", a legal form ("Inc.")."""
    lowered = word.casefold()
    return (
        lowered in _SUFFIXES
        or len(lowered) == 2
        or "." in lowered[:-1]
        or lowered in ("inc.", "co.", "corp.", "ltd.")
    )


def _title_case(name: str) -> str:
    words = name.split(" ")
    if len(words) < 2:
        return name
    # A legal form follows a comma or "&" ("ACME MEDIA, LLC", "SMITH & CO."); elsewhere
    # "SA" or "CO" may be part of a person's name.
    after = [False] + [w.endswith(",") or w == "&" for w in words[:-1]]
    return " ".join(_title_case_word(w, legal) for w, legal in zip(words, after, strict=True))


def _title_case_word(word: str, legal: bool) -> str:
    core = word.rstrip(",.")
    if _ROMAN_RE.match(word) or _DOMAIN_RE.fullmatch(core):
        return word
    form = _LEGAL_FORMS.get(core.casefold()) if legal else None
    return form + word[len(core) :] if form is not None else word.title()


def extract_handles(text: str | None) -> list[str]:
    """`@name` handles in a bio, in order, without duplicates; e-mails are not handles."""
    if not text:
        return []
    return unique("@" + match.group(1) for match in _HANDLE_RE.finditer(text))
