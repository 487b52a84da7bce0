"""Table test: every tests/cases/<name>.<ext> must read and normalise to <name>.expected.json.

The expected file holds a subset of the record's fields (compared exactly; for
`source`, only the keys given) plus checks on long text:
`body_startswith`, `body_endswith`, `body_excludes` (list), `body_paragraphs`
(count) and `author_names` (tests/documents.py, `check_record`). A list in the
expected file means one record per entry, in order. Adding a case is adding two
files; byte-level variants (CRLF, BOM, legacy encodings) are written by
tests/make_cases.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.documents import NOW, TESTS, check_record, ingest, read_expected, table_inputs
from worker.model import Article
from worker.normalise.article import normalise
from worker.readers import read_document

CASES = TESTS / "cases"


def _read(case: Path) -> list[Article]:
    # A fixed, fake absolute path keeps ids and file:// URIs the same on every machine.
    return ingest(case.read_bytes(), case.name, folder="/srv/cases")


@pytest.mark.parametrize("case", table_inputs(CASES), ids=lambda p: p.name)
def test_case(case: Path) -> None:
    expected = read_expected(case)
    expected_records = expected if isinstance(expected, list) else [expected]
    articles = _read(case)
    assert len(articles) == len(expected_records)
    for article, want in zip(articles, expected_records, strict=True):
        check_record(article, want)


@pytest.mark.parametrize("case", table_inputs(CASES), ids=lambda p: p.name)
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
