"""Regenerate the byte-level variants in tests/cases/; draft the missing expected files
of tests/feeds/. From the repository's folder:
    .venv/bin/python -m tests.make_cases

CRLF, BOM, legacy encodings and line layouts are easy to lose when a file is edited by hand,
so they are written from the UTF-8 sources here.
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
    for feed in table_inputs(FEEDS):
        if not expected_path(feed).exists():
            draft_feed_expectation(feed)


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
