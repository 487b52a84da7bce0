"""The stored JSON of a record is what it always was: `json.dumps` of the record's
JSON-mode dump, UTF-8 kept, compact separators, whatever characters the fields hold."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from worker.model import Article, Author, Source

# Escapes are where two JSON writers differ: control characters, quotes, backslashes,
# line and paragraph separators, non-BMP characters.
TRICKY = "\x00\x01\x08\x1f\x7f\x80\x9f\u2028\u2029\"\\/<>&'\ufeff\U0001f600é\t\n\r\b\f a"
TEXT = st.text(st.characters(exclude_categories=("Cs",))) | st.text(st.sampled_from(TRICKY))
INSTANT = st.datetimes(timezones=st.just(UTC))


@given(TEXT, TEXT, TEXT, st.lists(TEXT, max_size=3), st.none() | TEXT, st.none() | INSTANT)
def test_to_json_is_json_dumps_of_the_dump(
    title: str, body: str, name: str, tags: list[str], summary: str | None, when: datetime | None
) -> None:
    article = Article(
        id="a1",
        title=title or "t",
        body=body,
        summary=summary,
        tags=tags,
        authors=[Author(name=name or "n", bio=summary, handles=tags)],
        source=Source(kind="feed", name=name, entry_id=summary),
        word_count=len(body),
        content_hash="sha256:" + "0" * 64,
        published_at=when,
        ingested_at=datetime(2026, 1, 5, 10, tzinfo=UTC),
        modified_at=datetime(2026, 1, 5, 10, tzinfo=UTC),
    )
    dumped = article.model_dump(mode="json")
    assert article.to_json() == json.dumps(dumped, ensure_ascii=False, separators=(",", ":"))
