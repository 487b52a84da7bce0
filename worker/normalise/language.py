"""Article language as ISO 639-1: the declared one when usable, else detected offline.

Detection uses CLD2 (pycld2: Chromium's compact language detector, its model
compiled into the extension, no network, about 2 MB per process where py3langid's
model took 75 MB) on the first ~600 characters: a prefix that long identifies the
language as well as the whole text, at a fraction of the cost. Short text
(< 40 letters), an answer CLD2 marks unreliable and low confidence give None
rather than a guess.
"""

from __future__ import annotations

import re

import pycld2

PREFIX_CHARS = 600
MIN_LETTERS = 40
MIN_CONFIDENCE = 0.6

_ISO_639_1_CODES = """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu
    cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi
    ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks
    ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl
    nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl
    sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve
    vi vo wa wo xh yi yo za zh zu
"""
ISO_639_1 = frozenset(_ISO_639_1_CODES.split())

# Three-letter (ISO 639-2/T and /B) codes and English names seen in the wild.
_ALIASES = {
    "eng": "en", "english": "en", "fra": "fr", "fre": "fr", "french": "fr",
    "deu": "de", "ger": "de", "german": "de", "spa": "es", "spanish": "es",
    "ita": "it", "italian": "it", "por": "pt", "portuguese": "pt", "rus": "ru",
    "russian": "ru", "ukr": "uk", "ukrainian": "uk", "zho": "zh", "chi": "zh",
    "chinese": "zh", "jpn": "ja", "japanese": "ja", "ara": "ar", "arabic": "ar",
    "nld": "nl", "dut": "nl", "dutch": "nl", "pol": "pl", "polish": "pl",
    "tur": "tr", "turkish": "tr", "swe": "sv", "swedish": "sv", "kor": "ko",
    "korean": "ko", "heb": "he", "hebrew": "he", "hin": "hi", "hindi": "hi",
    "ces": "cs", "cze": "cs", "ell": "el", "gre": "el", "greek": "el",
    "iw": "he", "in": "id", "ji": "yi",
}  # fmt: skip


def declared_language(declared: str | None) -> str | None:
    """ISO 639-1 for a declared tag ("en-US", "en_GB", "eng", "English"), or None."""
    if not declared:
        return None
    primary = re.split(r"[-_\s,;]", declared.strip().lower(), maxsplit=1)[0]
    code = _ALIASES.get(primary, primary)
    return code if code in ISO_639_1 else None


def detect_language(text: str, declared: str | None = None) -> str | None:
    """The declared language when it maps to ISO 639-1, else a confident detection."""
    code = declared_language(declared)
    if code is not None:
        return code
    sample = text[:PREFIX_CHARS]
    if not _has_letters(sample, MIN_LETTERS):
        return None
    try:
        reliable, _, details = pycld2.detect(sample, isPlainText=True)
    except (pycld2.error, UnicodeError):  # lone surrogates, invalid UTF-8
        return None
    _name, label, percent, _score = details[0]
    code = str(label).split("-")[0]  # "zh-Hant" is Chinese
    if not reliable or percent < MIN_CONFIDENCE * 100 or code not in ISO_639_1:
        return None  # also drops "un" (unknown) and three-letter codes
    return code


def _has_letters(text: str, wanted: int) -> bool:
    """At least `wanted` letters in `text` (stops counting once there)."""
    for ch in text:
        if ch.isalpha():
            wanted -= 1
            if wanted <= 0:
                return True
    return False
