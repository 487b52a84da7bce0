"""Mending feed bytes that feedparser would otherwise fail whole.

Pure bytes to bytes, applied after `xmlguard` accepted the document:

- Character references to what is no character (`&#xD800;`, `&#x110000;`,
  `&#0;`) become U+FFFD; a surrogate pair written as two references
  (`&#xD83D;&#xDE00;`, as JavaScript serialises an emoji) becomes the one
  character it stands for. feedparser's loose parser otherwise raises on the
  first of them and every entry of the document is lost.
- An XML declaration that claims UTF-16 or UTF-32 while it is itself readable
  as ASCII is a lie (a real UTF-16 declaration has a NUL beside each letter): the
  claim is dropped, so feedparser detects the encoding instead of decoding the
  whole document as UTF-16 garbage.
"""

from __future__ import annotations

import re

# A numeric character reference, and the one right after it (a surrogate pair).
_CHAR_REFS_RE = re.compile(
    rb"&#(?:[xX]([0-9A-Fa-f]+)|([0-9]+));(?:&#(?:[xX]([0-9A-Fa-f]+)|([0-9]+));)?"
)
_MAX_CODE_DIGITS = 8
_WIDE_DECLARATION_RE = re.compile(
    rb"""\A((?:\xef\xbb\xbf)?\s*<\?xml\b[^>]*?)\s+encoding\s*=\s*["']"""
    rb"""(?:utf-?16|utf-?32|ucs-?2|ucs-?4|unicode)[^"'>]*["']""",
    re.IGNORECASE,
)


def mend(data: bytes) -> bytes:
    """`data` with impossible character references and a lying UTF-16/32 claim fixed."""
    return _char_refs(_WIDE_DECLARATION_RE.sub(rb"\1", data, count=1))


def _char_refs(data: bytes) -> bytes:
    if b"&#" not in data:
        return data
    return _CHAR_REFS_RE.sub(_repaired, data)


def _repaired(match: re.Match[bytes]) -> bytes:
    first = _code_point(match.group(1), match.group(2))
    if match.group(3) is None and match.group(4) is None:
        return _char_ref(first, match.group(0))
    second = _code_point(match.group(3), match.group(4))
    if 0xD800 <= first < 0xDC00 and 0xDC00 <= second < 0xE000:
        return b"&#x%X;" % (0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
    split = match.group(0).index(b";") + 1
    return _char_ref(first, match.group(0)[:split]) + _char_ref(second, match.group(0)[split:])


def _code_point(hex_digits: bytes | None, digits: bytes | None) -> int:
    value = hex_digits if hex_digits is not None else digits
    if value is None or len(value.lstrip(b"0")) > _MAX_CODE_DIGITS:
        return -1
    return int(value, 16 if hex_digits is not None else 10)


def _char_ref(code: int, original: bytes) -> bytes:
    valid = 0 < code <= 0x10FFFF and not 0xD800 <= code < 0xE000
    return original if valid else b"&#xFFFD;"


__all__ = ["mend"]
