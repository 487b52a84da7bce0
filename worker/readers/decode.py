"""Bytes to text: byte-order marks, declared charsets, UTF-8, detection, fallbacks.

Also the first line of defence against inputs that are not text at all
(images, archives, PDFs, random bytes): those raise `BadInput` here, before any
parser sees them. Line ends come out as LF only.

When the bytes are not valid UTF-8 and nothing declares their charset, the rule
for damaged text, in order:
- UTF-8 with a few broken sequences (valid multi-byte characters outnumber the
  invalid bytes at least two to one) is UTF-8, each invalid byte read as U+FFFD.
- Windows-1252 when its reading is Latin-script text (the usual legacy file).
- ASCII text with stray bytes (no run of more than two non-ASCII bytes, as in
  b"Hello \x81\x8d world" or b"\xc3\x28") is Windows-1252, the bytes it leaves
  undefined read as U+FFFD. Letters of another script come in longer runs (every
  Cyrillic letter is a non-ASCII byte in cp1251), so those still reach detection;
  stray bytes no longer become Cyrillic or CJK garbage.
- When more than a quarter of the non-ASCII bytes are invalid both in UTF-8 and
  in Windows-1252 (its five undefined bytes; real text in another legacy code
  page has few of them), the input is `BadInput("undecodable: ...")` rather than
  whatever a detector makes of it.
- Otherwise charset detection (cp1251, Shift-JIS, ...), then Windows-1252, then
  latin-1 (whose C1 control characters mark random bytes as binary below).
"""

from __future__ import annotations

import codecs
import re
import unicodedata

import charset_normalizer

from worker.errors import BadInput

# Longest first: the UTF-32-LE mark starts with the UTF-16-LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "PDF"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"PK\x03\x04", "ZIP"),
    (b"PK\x05\x06", "ZIP"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh9", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\x7fELF", "ELF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE (old MS Office)"),
    (b"Rar!\x1a\x07", "RAR"),
    (b"OggS", "Ogg"),
    (b"ID3", "MP3"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"wOFF", "WOFF"),
    (b"SQLite format 3\x00", "SQLite"),
)

# Encodings every byte sequence decodes in: a declaration of one of these proves
# nothing, and browsers read them as windows-1252 anyway (WHATWG Encoding).
_WESTERN_ALIASES = {"latin_1", "iso8859_1", "ascii", "cp1252"}

_DECLARED_RE = re.compile(
    rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']"""
    rb"""|<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._:-]+)""",
    re.IGNORECASE,
)

_WORD_RE = re.compile(r"[^\W\d_]+")
_NON_ASCII_RUN_RE = re.compile(rb"[\x80-\xff]+")
# Bytes Windows-1252 leaves undefined (and never valid alone in UTF-8).
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
_MAX_STRAY_RUN = 2
_MAX_UNDECODABLE_SHARE = 0.25
_ALLOWED_CONTROLS = {"\t", "\n", "\r", "\f", "\v", "\x1b"}
# More than this share of control characters and the "text" is binary.
_MAX_CONTROL_RATIO = 0.05


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode `data` to text with LF line ends, or raise `BadInput`.

    Order: byte-order mark; `declared` (an HTTP charset) or else a charset the
    document declares itself (XML declaration, HTML meta), when it decodes
    cleanly; strict UTF-8; cp1252 when the result reads as Latin-script text;
    charset detection; cp1252; latin-1 (which never fails).
    """
    if not data.strip():
        raise BadInput("empty: no text in it")
    _reject_magic(data)
    text = _decode(data, declared)
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    _reject_controls(text)
    if not text.strip():
        raise BadInput("empty: no text in it")
    return text


def charset_from_content_type(content_type: str | None) -> str | None:
    """The `charset=` parameter of a Content-Type header, if any."""
    if not content_type:
        return None
    match = re.search(r"charset\s*=\s*[\"']?([^\s;\"']+)", content_type, re.IGNORECASE)
    return match.group(1) if match else None


def _decode(data: bytes, declared: str | None) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = _try(data[len(bom) :], encoding)
            if text is None:
                raise BadInput(f"undecodable: starts with a {encoding} byte-order mark but is not")
            return text
    utf16 = _sniff_utf16(data)
    if utf16 is not None:
        return utf16
    if b"\x00" in data:
        raise BadInput("input looks binary: it contains NUL bytes")
    for candidate in (declared, _sniff_declared(data)):
        text = _try_declared(data, candidate)
        if text is not None:
            return text
    text = _try(data, "utf-8")
    if text is not None:
        return text
    return _detect(data)


def _reject_magic(data: bytes) -> None:
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            raise BadInput(f"input looks binary: it starts like a {kind} file")
    if data[:4] == b"RIFF" and data[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        raise BadInput("input looks binary: it starts like a RIFF media file")


def _reject_controls(text: str) -> None:
    sample = text[:100_000]
    controls = sum(
        1
        for ch in sample
        if ch not in _ALLOWED_CONTROLS and unicodedata.category(ch) in ("Cc", "Cs", "Co")
    )
    if controls and controls / len(sample) > _MAX_CONTROL_RATIO:
        raise BadInput(
            f"input looks binary: {controls} control characters in {len(sample)} characters"
        )


def _try(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _sniff_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: ASCII-heavy text has a NUL in every other byte."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    for zeros, encoding in ((odd, "utf-16-le"), (even, "utf-16-be")):
        if zeros.count(0) / len(zeros) > 0.6 and len(data) % 2 == 0:
            return _try(data, encoding)
    return None


def _sniff_declared(data: bytes) -> str | None:
    match = _DECLARED_RE.search(data[:4096])
    if match is None:
        return None
    value = match.group(1) or match.group(2)
    return value.decode("ascii", "replace") if value else None


def _try_declared(data: bytes, declared: str | None) -> str | None:
    if not declared:
        return None
    try:
        name = codecs.lookup(declared.strip()).name.replace("-", "_")
    except LookupError:
        return None
    if name.startswith(("utf_16", "utf_32")):
        return None  # without a BOM these were sniffed already; a declaration alone lies often
    if name in _WESTERN_ALIASES:
        # Everything decodes as latin-1, so let UTF-8 have its say first.
        return _try(data, "utf-8") or _try(data, "cp1252")
    return _try(data, name)


def _detect(data: bytes) -> str:
    mostly_utf8 = _mostly_utf8(data)
    if mostly_utf8 is not None:
        return mostly_utf8
    # charset-normalizer confuses Western code pages (cp1252 read as cp1250, cp1257,
    # even big5 for short text), so cp1252 wins whenever its result reads as
    # Latin-script words; the detector decides for other scripts (cp1251, ...).
    western = _try(data, "cp1252")
    if western is not None and _reads_as_latin(western):
        return western
    runs = _NON_ASCII_RUN_RE.findall(data)
    if max(map(len, runs), default=0) <= _MAX_STRAY_RUN:
        return data.decode("cp1252", "replace")
    high = sum(map(len, runs))
    undefined = sum(1 for run in runs for byte in run if byte in _CP1252_UNDEFINED)
    if undefined > _MAX_UNDECODABLE_SHARE * high:
        raise BadInput(
            f"undecodable: {undefined} of {high} non-ASCII bytes are neither UTF-8"
            " nor Windows-1252, and no charset is declared"
        )
    match = charset_normalizer.from_bytes(data).best()
    if match is not None:
        return str(match)
    if western is not None:
        return western
    return data.decode("latin-1")


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a few broken sequences, as UTF-8 with U+FFFD for each bad byte."""
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd") - data.count("\ufffd".encode())
    good = sum(1 for ch in text if ord(ch) > 0x7F and ch != "\ufffd")
    return text if good and good >= 2 * bad else None


def _reads_as_latin(text: str) -> bool:
    """Most words with non-ASCII letters also hold ASCII letters ("voilà", "Köln")."""
    words = [w for w in _WORD_RE.findall(text) if not w.isascii()]
    if not words:
        return True
    mixed = sum(1 for w in words if any(c.isascii() for c in w))
    return mixed / len(words) >= 0.7
