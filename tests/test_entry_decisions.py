"""The entry decision (worker/store/changes.py): created, updated, held back, unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from worker.model import Article, Source
from worker.polling.revisions import RevisionPolicy
from worker.store.changes import decide_entry

NOW = datetime(2026, 3, 10, 12, 0, 30, 123456, tzinfo=UTC)
BEFORE = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
HASH = "sha256:" + "0" * 64
POLICY = RevisionPolicy(first_gap=timedelta(minutes=5))


def article(
    body: str = "Body.",
    *,
    kind: str = "feed",
    version: int = 1,
    modified: datetime = BEFORE,
    updated_at: datetime | None = None,
) -> Article:
    return Article(
        id="a1", title="Title", body=body, word_count=1, content_hash=HASH,
        source=Source(kind=kind, uri="https://f.example/rss"),  # type: ignore[arg-type]
        version=version, ingested_at=BEFORE, modified_at=modified, updated_at=updated_at,
    )  # fmt: skip


def test_nothing_stored_is_created_at_now_in_whole_seconds() -> None:
    decision = decide_entry(article(), None, now=NOW)
    assert (decision.change, decision.outcome, decision.writes) == ("created", "created", True)
    stored = decision.article
    assert stored.version == 1
    assert stored.ingested_at == stored.modified_at == NOW.replace(microsecond=0)


def test_an_invalid_stored_value_is_replaced_as_an_update() -> None:
    decision = decide_entry(article(), None, now=NOW, key_taken=True)
    assert (decision.change, decision.article.version) == ("updated", 1)


def test_same_content_is_unchanged_and_keeps_the_stored_record() -> None:
    old = article(version=3)
    decision = decide_entry(article(), old, now=NOW, revisions=POLICY)
    assert (decision.change, decision.writes) == ("unchanged", False)
    assert decision.article is old


def test_changed_content_is_a_new_version_keeping_the_first_ingest() -> None:
    old = article(version=2, modified=NOW - timedelta(days=1))
    decision = decide_entry(article("New body."), old, now=NOW)
    stored = decision.article
    assert (decision.change, stored.version, stored.body) == ("updated", 3, "New body.")
    assert stored.ingested_at == BEFORE and stored.modified_at == NOW.replace(microsecond=0)


@pytest.mark.parametrize(
    ("kind", "modified", "updated_at", "change"),
    [
        ("feed", NOW - timedelta(minutes=1), None, "held_back"),  # too soon, undeclared
        ("feed", NOW - timedelta(minutes=10), None, "updated"),  # old enough
        ("feed", NOW - timedelta(minutes=1), NOW, "updated"),  # declared by updated_at
        ("file", NOW - timedelta(minutes=1), None, "updated"),  # files are never held
    ],
)
def test_revision_policy_holds_back_undeclared_churn(
    kind: str, modified: datetime, updated_at: datetime | None, change: str
) -> None:
    old = article(kind=kind, modified=modified)
    new = article("Churned.", kind=kind, updated_at=updated_at)
    decision = decide_entry(new, old, now=NOW, revisions=POLICY)
    assert decision.change == change
    if change == "held_back":
        assert decision.outcome == "unchanged" and decision.article is old
        assert not decision.writes


def test_without_a_policy_nothing_is_held_back() -> None:
    old = article(modified=NOW - timedelta(seconds=1))
    assert decide_entry(article("Churned."), old, now=NOW).change == "updated"
