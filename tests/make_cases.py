"""Regenerate the byte-level variants in tests/cases/; draft the missing expected files
of tests/feeds/. From the repository's folder:
    .venv/bin/python -m tests.make_cases

CRLF, BOM, legacy encodings and line layouts are easy to lose when a file is edited by hand,
so they are written from the UTF-8 sources here. A variant's expected file is a copy of its
source's: the same record whatever the bytes.

Legacy encodings (issue 12): each `legacy_<lang>.rss` (UTF-8, declared so) is written in one
or two of its language's legacy encodings as `legacy_<lang>_<codec>.rss`, its XML
declaration saying nothing of the encoding, the right one, or a wrong one (`LEGACY`).
A feed's draft is what the code reads now, so it is no check until someone has read it:
every title, date, author, id and URL against the feed. An existing file is never touched.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.documents import FEEDS, expected_path, read_feed_file, table_inputs

CASES = Path(__file__).parent / "cases"
# Left out of a feed's draft: constants, a digest no one can check by eye, and the
# store's fields (check_record compares ingested_at and modified_at with NOW anyway).
NOT_DRAFTED = {"schema_version", "content_hash", "version", "ingested_at", "modified_at"}

# Latin-1 cannot hold curly quotes, so this case has its own text.
LATIN1_TEXT = "\n\n".join(
    [
        "Café Owner in Köln Wins Fight Over Terrace",
        "Judges ruled that the terrace may stay open until 22:00 in summer",
        "A café owner in Köln has won a two-year legal fight with the city over the opening"
        " hours of her terrace, the administrative court said on Friday.",
        'Neighbours had complained about noise, but the judges found that the terrace was "no'
        ' louder than the street itself" and that the city had applied the rules too strictly.',
        "The owner, Renée Düsseldorfer, said she would celebrate with a glass of crémant.",
        "Author: José Núñez",
        "José Núñez reports from the Rhineland.\n",
    ]
)


# (source language, codec the variant is written in, encoding its XML declaration names:
# None for none). Undeclared, mis-declared (as UTF-8 or a Western charset) and declared.
LEGACY = [
    ("ja", "euc_jp", None),
    ("ja", "shift_jis", "utf-8"),
    ("ru", "koi8_r", "iso-8859-1"),
    ("ru", "cp1251", "windows-1251"),
    ("th", "tis_620", None),
    ("he", "cp1255", "iso-8859-1"),
    ("zh", "gbk", None),
    ("zh", "gb2312", "gb2312"),
    ("zh_tw", "big5", "utf-8"),
    ("ko", "euc_kr", None),
    ("ar", "cp1256", "utf-8"),
    ("el", "iso8859_7", "windows-1252"),
]
# Text in UTF-16 and UTF-32 without a byte-order mark: (source, codec).
WIDE = [
    ("seed.txt", "utf-16-be"),
    ("seed.txt", "utf-32-le"),
    ("text_ru.txt", "utf-16-be"),
    ("text_ru.txt", "utf-32-le"),
    ("text_ja.txt", "utf-16-le"),
    ("text_ja.txt", "utf-32-be"),
]
# A page with a few stray NUL bytes (well under one in a thousand): after these words.
NUL_AFTER = [b"Two-Year Pause", b"on Monday", b"twenty years"]


def main() -> None:
    seed = (CASES / "seed.txt").read_text(encoding="utf-8")
    expected = CASES / "seed.expected.json"
    variants = {
        "seed_crlf.txt": seed.replace("\n", "\r\n").encode("utf-8"),
        "seed_bom.txt": b"\xef\xbb\xbf" + seed.encode("utf-8"),
        "seed_cp1252.txt": seed.replace("\n", "\r\n").encode("cp1252"),
        "seed_utf16.txt": seed.encode("utf-16"),
        # Single newlines between paragraphs, no blank line anywhere.
        "seed_single_newlines.txt": seed.replace("\n\n", "\n").encode("utf-8"),
    }
    for name, data in variants.items():
        (CASES / name).write_bytes(data)
        shutil.copyfile(expected, CASES / name.replace(".txt", ".expected.json"))
    (CASES / "latin1.txt").write_bytes(LATIN1_TEXT.encode("latin-1"))
    for lang, codec, declared in LEGACY:
        source = (CASES / f"legacy_{lang}.rss").read_text(encoding="utf-8")
        encoding = f" encoding='{declared}'" if declared else ""
        text = source.replace(" encoding='utf-8'", encoding, 1)
        _variant(f"legacy_{lang}.rss", f"legacy_{lang}_{codec}.rss", text.encode(codec))
    for name, codec in WIDE:
        text = (CASES / name).read_text(encoding="utf-8")
        stem = name.removesuffix(".txt")
        codec_tag = codec.replace("-", "")
        _variant(name, f"{stem}_{codec_tag}_nobom.txt", text.encode(codec))
    page = (CASES / "html_long.html").read_bytes()
    for words in NUL_AFTER:
        page = page.replace(words, words + b"\x00", 1)
    _variant("html_long.html", "html_long_nul.html", page)
    for feed in table_inputs(FEEDS):
        if not expected_path(feed).exists():
            draft_feed_expectation(feed)


def _variant(source: str, name: str, data: bytes) -> None:
    """Write case `name` and a copy of `source`'s expected file beside it."""
    (CASES / name).write_bytes(data)
    shutil.copyfile(expected_path(CASES / source), expected_path(CASES / name))


def draft_feed_expectation(feed: Path) -> None:
    polled, articles = read_feed_file(feed)
    entries = [a.model_dump(mode="json", exclude=NOT_DRAFTED) for a in articles]
    # A field a line, each value on its line, as the files of tests/cases/ are written.
    blocks = [",\n".join(f"      {_json(k)}: {_json(v)}" for k, v in e.items()) for e in entries]
    head = f'{{\n  "ttl": {_json(polled.ttl)},\n  "warning": {_json(polled.warning)},\n'
    text = head + '  "entries": [\n    {\n' + "\n    },\n    {\n".join(blocks) + "\n    }\n  ]\n}\n"
    expected_path(feed).write_text(text, encoding="utf-8")
    print(f"drafted {expected_path(feed).relative_to(Path.cwd())}: read it before committing")


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


if __name__ == "__main__":
    main()
