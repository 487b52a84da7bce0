"""The revision rule: when a changed feed entry becomes a new version (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.documents import POLL_NOW as NOW
from worker.model import Article, Source
from worker.polling.revisions import RevisionPolicy, declared_revision, defer_change

POLICY = RevisionPolicy()


def article(
    *,
    kind: str = "feed",
    version: int = 1,
    modified: datetime = NOW,
    updated_at: str | None = None,
    body: str = "Body.",
) -> Article:
    stamp = modified.strftime("%Y-%m-%dT%H:%M:%SZ")
    return Article(
        id="a1",
        title="Title",
        body=body,
        source=Source(kind=kind, feed_url="https://x.example/rss"),  # type: ignore[arg-type]
        word_count=1,
        content_hash="sha256:" + "0" * 64,
        version=version,
        ingested_at=stamp,
        modified_at=stamp,
        updated_at=updated_at,
    )


def test_gap_doubles_with_each_version_and_is_capped() -> None:
    assert [POLICY.gap(v) for v in (1, 2, 3)] == [
        timedelta(minutes=5),
        timedelta(minutes=10),
        timedelta(minutes=20),
    ]
    assert POLICY.gap(40) == timedelta(days=7)


@pytest.mark.parametrize(
    ("age", "version", "deferred"),
    [
        (timedelta(minutes=1), 1, True),
        (timedelta(minutes=5), 1, False),
        (timedelta(minutes=30), 3, False),
        (timedelta(minutes=30), 4, True),
        (timedelta(days=6), 20, True),
        (timedelta(days=7), 20, False),
    ],
)
def test_undeclared_change_waits_for_the_gap(age: timedelta, version: int, deferred: bool) -> None:
    old = article(version=version, modified=NOW - age)
    assert defer_change(old, article(body="New."), NOW, POLICY) is deferred


def test_newer_updated_at_is_applied_at_once() -> None:
    old = article(modified=NOW, updated_at="2026-03-10T11:00:00Z")
    new = article(body="Corrected.", updated_at="2026-03-10T11:59:00Z")
    assert declared_revision(old, new)
    assert not defer_change(old, new, NOW, POLICY)
    # The same or an older date declares nothing.
    same = article(body="Churn.", updated_at="2026-03-10T11:00:00Z")
    assert not declared_revision(old, same)
    assert defer_change(old, same, NOW, POLICY)
    assert not declared_revision(old, article(updated_at=None))


def test_files_are_never_held_back() -> None:
    old = article(kind="file", modified=NOW)
    assert not defer_change(old, article(kind="file", body="Edited."), NOW, POLICY)
