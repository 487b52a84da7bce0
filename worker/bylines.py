"""Bylines into author names, and social handles out of author bios.

Splitting: a leading "By" goes; names are separated by ";", " and ", "&" and
commas. A piece after a comma is dropped only when it is on the explicit list of
roles and agencies below ("Jane Doe, Staff Writer", "John Roe, Reuters");
anything else is kept as a name, so "Reuters Staff" stays "Reuters Staff".
"""

from __future__ import annotations

import re

_BY_RE = re.compile(r"^\s*(?:written\s+)?by\b[\s:]*", re.IGNORECASE)
_GROUP_SPLIT_RE = re.compile(r"\s*(?:;|&|\s+and\s+)\s*")
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


def split_byline(byline: str | None) -> list[str]:
    """Author names in a byline, in order, without duplicates."""
    if not byline:
        return []
    text = _BY_RE.sub("", byline.strip())
    names: list[str] = []
    for group in _GROUP_SPLIT_RE.split(text):
        for name in _split_group(group):
            if name.casefold() not in {n.casefold() for n in names}:
                names.append(name)
    return names


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
    return re.sub(r"\s+", " ", piece).strip(" \t.-–—:")


def extract_handles(text: str | None) -> list[str]:
    """`@name` handles in a bio, in order, without duplicates; e-mails are not handles."""
    if not text:
        return []
    out: list[str] = []
    for match in _HANDLE_RE.finditer(text):
        handle = "@" + match.group(1)
        if handle.casefold() not in {h.casefold() for h in out}:
            out.append(handle)
    return out
