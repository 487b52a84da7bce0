"""Regenerate the byte-level variants in tests/cases/ (run from anywhere).

CRLF, BOM, legacy encodings and line layouts are easy to lose when a file is edited by hand,
so they are written from the UTF-8 sources here:
    .venv/bin/python tests/make_cases.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

CASES = Path(__file__).parent / "cases"

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


if __name__ == "__main__":
    main()
