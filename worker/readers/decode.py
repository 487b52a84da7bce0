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
- Otherwise charset detection (cp1251, Shift-JIS, ...), taking the detector's
  first candidate that is a web encoding (WHATWG Encoding: no DOS code pages,
  which it picks for garbage), then Windows-1252, then latin-1 (whose C1 control
  characters mark random bytes as binary below).

A declared Western charset (latin-1, windows-1252, ASCII: every byte decodes in
them) is believed only when its reading is Latin-script text: KOI8-R or Hebrew
labelled ISO-8859-1 goes to detection instead of becoming mojibake.

Binary is judged by proportion, as file-type sniffers do: NUL bytes are more
than one in a thousand (random bytes have one in 256), or control characters
more than one in twenty. Fewer stray NULs are dropped. UTF-16 and UTF-32 without
a byte-order mark are recognised by where their zero bytes fall.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

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
# A declared Western charset is believed when this share of words reads as Latin.
_MIN_DECLARED_LATIN = 0.3
_MAX_UNDECODABLE_SHARE = 0.25
# Below random data's share of NULs (1 in 256), far above a few stray ones in a page.
_MAX_NUL_SHARE = 0.001
# Where the zero bytes of BOM-less UTF-16 fall: in one byte of each pair (ASCII
# letters, spaces, digits, markup), a quarter as many at most in the other.
_UTF16_MIN_ZEROS = 0.1
_UTF16_ZERO_RATIO = 4
# Codecs charset detection may answer (WHATWG Encoding's, by Python name): the
# detector reads broken UTF-8 as DOS code pages (cp1125, cp850...) no feed uses.
_WEB_ENCODINGS = frozenset(
    codecs.lookup(name).name.replace("-", "_")
    for name in (
        "utf-8", "cp866", "koi8-r", "koi8-u", "mac-roman", "mac-cyrillic", "cp874", "tis-620",
        "gbk", "gb2312", "gb18030", "big5", "big5hkscs", "cp950", "euc-jp", "euc-jis-2004",
        "euc-jisx0213", "iso2022-jp", "shift-jis", "cp932", "shift-jis-2004",
        "shift-jisx0213", "euc-kr", "cp949",
        *(f"iso8859-{n}" for n in (2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16)),
        *(f"cp{n}" for n in range(1250, 1259)),
    )
)  # fmt: skip
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "tis_620": "cp874",
}
_ALLOWED_CONTROLS = {"\t", "\n", "\r", "\f", "\v", "\x1b"}
# More than this share of control characters and the "text" is binary.
_MAX_CONTROL_RATIO = 0.05


@dataclass(frozen=True)
class Decoded:
    """Text, and the codec that read it (Python's name: "utf-8", "cp1252", "euc_jp")."""

    text: str
    encoding: str


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode `data` to text with LF line ends, or raise `BadInput`.

    Order: byte-order mark; UTF-16/32 by its zero bytes; `declared` (an HTTP
    charset) or else a charset the document declares itself (XML declaration,
    HTML meta), when it decodes cleanly (a Western one: and reads as Latin
    script); strict UTF-8; cp1252 when the result reads as Latin-script text;
    charset detection; cp1252; latin-1 (which never fails).
    """
    return decode(data, declared).text


def decode(data: bytes, declared: str | None = None) -> Decoded:
    """`decode_bytes`, saying which codec read the text."""
    if not data.strip():
        raise BadInput("empty: no text in it")
    _reject_magic(data)
    text, encoding = _decode(data, declared)
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    _reject_controls(text)
    if not text.strip():
        raise BadInput("empty: no text in it")
    return Decoded(text, encoding)


def codec_name(label: str | None) -> str | None:
    """Python's name of the codec a label names, with "_" ("EUC-JP", "euc-jp": "euc_jp").

    None for a label Python does not know.

    A label of a charset that browsers read as its superset names the superset
    (WHATWG Encoding: GB2312 is read as GBK, Shift_JIS as Windows-31J...).
    """
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip()).name.replace("-", "_")
    except LookupError:
        return None
    return _SUPERSETS.get(name, name)


def charset_from_content_type(content_type: str | None) -> str | None:
    """The `charset=` parameter of a Content-Type header, if any."""
    if not content_type:
        return None
    match = re.search(r"charset\s*=\s*[\"']?([^\s;\"']+)", content_type, re.IGNORECASE)
    return match.group(1) if match else None


def _decode(data: bytes, declared: str | None) -> tuple[str, str]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = _try(data[len(bom) :], encoding)
            if text is None:
                raise BadInput(f"undecodable: starts with a {encoding} byte-order mark but is not")
            return text, encoding
    nuls = data.count(0)
    nul_heavy = nuls > _MAX_NUL_SHARE * len(data)
    wide = _sniff_wide(data, nul_heavy=nul_heavy) if nuls else None
    if wide is not None:
        return wide
    if nul_heavy:
        raise BadInput(f"input looks binary: it contains NUL bytes ({nuls} in {len(data)} bytes)")
    if nuls:
        data = data.replace(b"\x00", b"")  # stray ones, as browsers drop them from text
    for candidate in (declared, _sniff_declared(data)):
        found = _try_declared(data, candidate)
        if found is not None:
            return found
    text = _try(data, "utf-8")
    if text is not None:
        return text, "utf-8"
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


def _sniff_wide(data: bytes, *, nul_heavy: bool) -> tuple[str, str] | None:
    """UTF-32 or UTF-16 without a BOM, by where the zero bytes fall (in a sample).

    UTF-32: the top byte of every four is zero, and the next one too below
    U+10000. UTF-16: ASCII characters (spaces, digits, markup) have a zero high
    byte; other characters next to never a zero low byte. Text in a script
    without spaces (Chinese, Japanese, Thai) has few ASCII characters, so when
    the input is refused as binary otherwise (`nul_heavy`), zeros in the high
    bytes only will do: the text must still decode strictly.
    """
    sample = data[:4096]
    if len(sample) < 4:
        return None
    if len(data) % 4 == 0:
        # (top byte: always zero; next: zero below U+10000), per byte order.
        for top, next_, encoding in ((3, 2, "utf-32-le"), (0, 1, "utf-32-be")):
            tops, nexts = sample[top::4], sample[next_::4]
            if tops.count(0) == len(tops) and nexts.count(0) > 0.9 * len(nexts):
                text = _try(data, encoding)
                if text is not None:
                    return text, encoding
    if len(data) % 2 == 0:
        even, odd = sample[0::2], sample[1::2]
        for high, low, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
            zeros, other = high.count(0), low.count(0)
            # Characters at U+xx00 (开 U+5F00, 관 U+AC00) put a few zeros in the low bytes.
            lopsided = other * _UTF16_ZERO_RATIO <= zeros
            if zeros > 0.6 * len(high) or (
                lopsided and (zeros >= _UTF16_MIN_ZEROS * len(high) or (nul_heavy and zeros >= 2))
            ):
                text = _try(data, encoding)
                if text is not None:
                    return text, encoding
    return None


def _sniff_declared(data: bytes) -> str | None:
    match = _DECLARED_RE.search(data[:4096])
    if match is None:
        return None
    value = match.group(1) or match.group(2)
    return value.decode("ascii", "replace") if value else None


def _try_declared(data: bytes, declared: str | None) -> tuple[str, str] | None:
    name = codec_name(declared)
    if name is None:
        return None
    if name.startswith(("utf_16", "utf_32")):
        return None  # without a BOM these were sniffed already; a declaration alone lies often
    if name in _WESTERN_ALIASES:
        # Everything decodes as latin-1, so let UTF-8 have its say first; and a
        # reading in no Latin script is another code page mislabelled.
        text = _try(data, "utf-8")
        if text is not None:
            return text, "utf-8"
        text = _try(data, "cp1252")
        if text is None or not _reads_as_latin(text, _MIN_DECLARED_LATIN):
            return None
        return text, "cp1252"
    text = _try(data, name)
    return None if text is None else (text, name)


def _detect(data: bytes) -> tuple[str, str]:
    mostly_utf8 = _mostly_utf8(data)
    if mostly_utf8 is not None:
        return mostly_utf8, "utf-8"
    # charset-normalizer confuses Western code pages (cp1252 read as cp1250, cp1257,
    # even big5 for short text), so cp1252 wins whenever its result reads as
    # Latin-script words; the detector decides for other scripts (cp1251, ...).
    western = _try(data, "cp1252")
    if western is not None and _reads_as_latin(western):
        return western, "cp1252"
    runs = _NON_ASCII_RUN_RE.findall(data)
    if max(map(len, runs), default=0) <= _MAX_STRAY_RUN:
        return data.decode("cp1252", "replace"), "cp1252"
    high = sum(map(len, runs))
    undefined = sum(1 for run in runs for byte in run if byte in _CP1252_UNDEFINED)
    if undefined > _MAX_UNDECODABLE_SHARE * high:
        raise BadInput(
            f"undecodable: {undefined} of {high} non-ASCII bytes are neither UTF-8"
            " nor Windows-1252, and no charset is declared"
        )
    for match in charset_normalizer.from_bytes(data):
        if codec_name(match.encoding) in _WEB_ENCODINGS:
            return str(match), match.encoding
    if western is not None:
        return western, "cp1252"
    return data.decode("latin-1"), "latin-1"


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a few broken sequences, as UTF-8 with U+FFFD for each bad byte."""
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd") - data.count("\ufffd".encode())
    good = sum(1 for ch in text if ord(ch) > 0x7F and ch != "\ufffd")
    return text if good and good >= 2 * bad else None


def _reads_as_latin(text: str, least: float = 0.7) -> bool:
    """Most words with non-ASCII letters also hold ASCII letters ("voilà", "Köln").

    `least`: the share of such words wanted. Another script read as cp1252 has
    next to none ("Ãîðîä" for "Город"); French can have a third without ("à", "été").
    """
    words = [w for w in _WORD_RE.findall(text) if not w.isascii()]
    if not words:
        return True
    mixed = sum(1 for w in words if any(c.isascii() for c in w))
    return mixed / len(words) >= least
