"""Feed bytes to UTF-8 before feedparser reads them: the encoding is decided here.

feedparser picks the encoding from the HTTP charset and the XML declaration
(RFC 3023) and, when that fails and no charset detector is installed, takes
windows-1252: undeclared or mis-declared EUC-JP, Shift_JIS, KOI8-R... become
mojibake. So a feed is decoded like every other input (decode.py: byte-order
mark; the HTTP charset, else the XML declaration, when the bytes agree with it;
UTF-8; detection), and feedparser gets UTF-8 with a declaration and a
Content-Type charset that say so.

A document already in UTF-8 that claims nothing else (no other byte-order mark,
charset or declared encoding, no NUL byte) goes to feedparser as it is: the
usual feed costs one strict decode here.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from worker.errors import BadInput, ParseError
from worker.readers.decode import charset_from_content_type, codec_name, decode

_UTF8 = "utf_8"
# Every byte decodes in these: a document declared so and read as cp1252 agrees.
_WESTERN = frozenset({"latin_1", "iso8859_1", "ascii", "cp1252"})
_OTHER_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_XML_ENCODING_RE = re.compile(
    rb"""\A(?:\xef\xbb\xbf)?\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([^"']*)"""
)
_DECLARATION_RE = re.compile(r"""\A\s*<\?xml\b([^>]*?)\s*\?>""")
_ENCODING_ATTR_RE = re.compile(r"""\bencoding\s*=\s*(["'])[^"']*\1""")
_CHARSET_PARAM_RE = re.compile(r";\s*charset\s*=[^;]*", re.IGNORECASE)


@dataclass(frozen=True)
class FeedBytes:
    """What feedparser gets: the document and the response headers it reads."""

    data: bytes
    headers: dict[str, str] | None
    warning: str | None = None  # the declared charset was wrong


def to_utf8(data: bytes, headers: dict[str, str] | None, *, name: str) -> FeedBytes:
    """`data` as UTF-8 declared as such, or unchanged when it is that already.

    `headers` have lower-case names. `warning` says which declared charset the
    bytes contradicted ("document declared as utf-8, but parsed as
    windows-1252"), as feedparser says it. Raises `ParseError` for bytes that
    are no text (decode.py's rules: binary, undecodable).
    """
    http_charset = charset_from_content_type((headers or {}).get("content-type"))
    match = _XML_ENCODING_RE.match(data)
    xml_encoding = match.group(1).decode("ascii", "replace") if match else None
    declared = http_charset if codec_name(http_charset) else xml_encoding
    if _plain_utf8(data, http_charset, xml_encoding):
        return FeedBytes(data, headers)
    try:
        decoded = decode(data, http_charset)
    except BadInput as exc:
        raise ParseError(f"{name}: not a readable feed: {exc}") from exc
    return FeedBytes(
        _declare_utf8(decoded.text).encode("utf-8"),
        _utf8_headers(headers),
        _override(declared, decoded.encoding, data),
    )


def _plain_utf8(data: bytes, http_charset: str | None, xml_encoding: str | None) -> bool:
    for claim in (http_charset, xml_encoding):
        if claim is not None and codec_name(claim) != _UTF8:
            return False
    if data.startswith(_OTHER_BOMS) or b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _declare_utf8(text: str) -> str:
    """The text with an XML declaration of UTF-8 (rewritten, completed or added)."""
    match = _DECLARATION_RE.match(text)
    if match is None:
        return "<?xml version='1.0' encoding='utf-8'?>\n" + text
    attrs = match.group(1)
    if _ENCODING_ATTR_RE.search(attrs):
        attrs = _ENCODING_ATTR_RE.sub("encoding='utf-8'", attrs, count=1)
    else:
        attrs += " encoding='utf-8'"
    return f"<?xml{attrs}?>" + text[match.end() :]


def _utf8_headers(headers: dict[str, str] | None) -> dict[str, str] | None:
    if not headers or "content-type" not in headers:
        return headers
    content_type = _CHARSET_PARAM_RE.sub("", headers["content-type"]).strip()
    return {**headers, "content-type": f"{content_type}; charset=utf-8"}


def _override(declared: str | None, used: str, data: bytes) -> str | None:
    """feedparser's warning when the bytes were not in the declared charset."""
    if declared is None:
        return None
    wanted, got = codec_name(declared), codec_name(used) or used
    if wanted is not None and (
        data.isascii() or wanted == got or (wanted in _WESTERN and got in _WESTERN)
    ):
        return None
    return f"document declared as {declared.lower()}, but parsed as {_label(got)}"


def _label(codec: str) -> str:
    """The charset's usual label: "windows-1252" for cp1252, "euc-jp" for euc_jp."""
    if re.fullmatch(r"cp125\d", codec):
        return f"windows-{codec[2:]}"
    return codec.replace("_", "-").replace("iso8859", "iso-8859")


__all__ = ["FeedBytes", "to_utf8"]
