"""The committed JSON Schema is the one the model generates, and stored records validate."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from tests.documents import SEED, TESTS
from tests.support import Cli
from worker.model import article_json_schema

SCHEMA_FILE = Path(__file__).parent.parent / "docs" / "article.schema.json"


def test_committed_schema_is_current() -> None:
    committed = json.loads(SCHEMA_FILE.read_text())
    assert committed == article_json_schema(), (
        "regenerate: python -m worker.schema > docs/article.schema.json"
    )


def test_stored_records_validate(cli: Cli, tmp_path: Path) -> None:
    markdown = tmp_path / "note.md"
    markdown.write_text(
        "---\ntitle: Schema check\ntags: [a, b]\ndate: 2024-05-06\n---\n\nBody text here.\n"
    )
    code, lines = cli.json_lines("ingest", str(SEED), str(markdown), "--json")
    assert code == 0
    schema = json.loads(SCHEMA_FILE.read_text())
    for line in lines:
        record = json.loads(cli.run("articles", "get", line["id"], "--json").stdout)
        jsonschema.validate(record, schema)
        for key, value in record.items():
            assert value != "", f"{key} is an empty string"


def test_derived_titles_are_marked_and_older_records_still_validate(cli: Cli) -> None:
    """`title_derived` is in the stored record; a record stored before the field
    existed (without it) still validates: the field is optional within schema 1."""
    feed = TESTS / "cases" / "feed_untitled_microblog.rss"
    code, lines = cli.json_lines("ingest", str(feed), "--json")
    assert code == 0
    schema = json.loads(SCHEMA_FILE.read_text())
    records = [
        json.loads(cli.run("articles", "get", line["id"], "--json").stdout) for line in lines
    ]
    assert [r["title_derived"] for r in records] == [True, True, False]
    for record in records:
        jsonschema.validate(record, schema)
        older = {k: v for k, v in record.items() if k != "title_derived"}
        jsonschema.validate(older, schema)
