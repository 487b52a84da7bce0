"""Table test: every tests/cases/<name>.<ext> must read and normalise to <name>.expected.json.

The expected file holds a subset of the record's fields (compared exactly; for
`source`, only the keys given) plus checks on long text:
`body_startswith`, `body_endswith`, `body_excludes` (list), `body_paragraphs`
(count) and `author_names`. A list in the expected file means one record per
entry, in order. Adding a case is adding two files; byte-level variants (CRLF,
BOM, legacy encodings) are written by tests/make_cases.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import NOW, ingest
from worker.model import Article
from worker.normalise.article import normalise
from worker.readers import read_document

CASES = Path(__file__).parent / "cases"
EXPECTED_SUFFIX = ".expected.json"


def _inputs() -> list[Path]:
    return sorted(
        p for p in CASES.iterdir() if p.is_file() and not p.name.endswith(EXPECTED_SUFFIX)
    )


def _expected_path(case: Path) -> Path:
    stem = case.name.rsplit(".", 1)[0] if "." in case.name else case.name
    return CASES / f"{stem}{EXPECTED_SUFFIX}"


def _read(case: Path) -> list[Article]:
    # A fixed, fake absolute path keeps ids and file:// URIs the same on every machine.
    return ingest(case.read_bytes(), case.name, folder="/srv/cases")


@pytest.mark.parametrize("case", _inputs(), ids=lambda p: p.name)
def test_case(case: Path) -> None:
    expected_file = _expected_path(case)
    assert expected_file.exists(), f"{case.name} has no {expected_file.name}"
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    expected_records = expected if isinstance(expected, list) else [expected]
    articles = _read(case)
    assert len(articles) == len(expected_records)
    for article, want in zip(articles, expected_records, strict=True):
        _check(article, want)


def _check(article: Article, want: dict[str, Any]) -> None:
    record = article.model_dump(mode="json")
    body = record["body"]
    for key, value in want.items():
        if key == "body_startswith":
            assert body.startswith(value), body[:200]
        elif key == "body_endswith":
            assert body.endswith(value), body[-200:]
        elif key == "body_excludes":
            for fragment in value:
                assert fragment not in body, f"{fragment!r} in body"
        elif key == "body_paragraphs":
            assert len(body.split("\n\n")) == value, body
        elif key == "author_names":
            assert [a["name"] for a in record["authors"]] == value
        elif key == "source":
            assert {k: record["source"][k] for k in value} == value
        else:
            assert record[key] == value, key
    _check_invariants(record)


def _check_invariants(record: dict[str, Any]) -> None:
    """What DESIGN.md promises of every record, whatever the input."""
    assert record["ingested_at"] == record["modified_at"] == "2024-05-01T12:00:00Z"
    assert "\n\n\n" not in record["body"] and "\r" not in record["body"]
    for key, value in record.items():
        assert value != "", f"{key} is an empty string, not null"
    for author in record["authors"]:
        assert author["bio"] != ""
        assert all(h.startswith("@") for h in author["handles"])


@pytest.mark.parametrize("case", _inputs(), ids=lambda p: p.name)
def test_export_reimports_to_the_same_record(case: Path) -> None:
    """`articles get --json` output, ingested again, is the same record under the same id.

    A record with a URL gets its id from the URL both times, so the re-import
    updates it rather than storing the URL twice (DESIGN.md identity).
    """
    for article in _read(case):
        exported = article.to_json().encode("utf-8")
        drafts = read_document(exported, name="export.json", path="/srv/exports/export.json")
        again = normalise(drafts[0], now=NOW)
        assert again.content() == article.content()
