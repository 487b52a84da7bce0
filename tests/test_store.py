"""The Redis store against a real server: outcomes, indexes, events, atomicity."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import redis

from worker.model import Article, Source
from worker.normalise.dates import format_utc
from worker.store.articles import ArticleStore

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def make_article(
    article_id: str = "a1", body: str = "Body text.", url: str | None = "https://example.com/a"
) -> Article:
    return Article(
        id=article_id,
        url=url,
        title="A title",
        body=body,
        source=Source(kind="file", name="Example"),
        word_count=len(body.split()),
        content_hash="sha256:" + "0" * 63 + str(len(body) % 10),
        published_at="2026-01-01T00:00:00Z",
        ingested_at="2026-01-02T03:04:05Z",
        modified_at="2026-01-02T03:04:05Z",
    )


def test_create_then_unchanged_then_updated(rclient: redis.Redis, prefix: str) -> None:
    store = ArticleStore(rclient, prefix=prefix)
    first = store.upsert_many([make_article()], now=NOW)
    assert [r.outcome for r in first] == ["created"]
    assert first[0].article.version == 1

    again = store.upsert_many([make_article()], now=NOW + timedelta(hours=1))
    assert [r.outcome for r in again] == ["unchanged"]
    assert again[0].article.version == 1

    changed = store.upsert_many(
        [make_article(body="New body text here.")], now=NOW + timedelta(hours=2)
    )
    assert [r.outcome for r in changed] == ["updated"]
    stored = Article.model_validate_json(store.get_json("a1") or "")
    assert stored.version == 2
    assert stored.body == "New body text here."
    assert format_utc(stored.ingested_at) == "2026-01-02T03:04:05Z"  # first ingest is kept
    assert format_utc(stored.modified_at) == "2026-01-02T05:04:05Z"
    assert store.count() == 1


def test_indexes_and_events(rclient: redis.Redis, prefix: str) -> None:
    store = ArticleStore(rclient, prefix=prefix, stream_maxlen=1000)
    store.upsert_many([make_article()], now=NOW)
    store.upsert_many([make_article(body="Changed.", url="https://example.com/b")], now=NOW)

    assert rclient.zscore(f"{prefix}idx:time", "a1") == datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert rclient.zscore(f"{prefix}idx:modified", "a1") is not None
    assert rclient.zscore(f"{prefix}idx:source:file:Example", "a1") is not None
    assert rclient.hget(f"{prefix}idx:url", "https://example.com/b") == "a1"
    assert rclient.hget(f"{prefix}idx:url", "https://example.com/a") is None  # stale url dropped
    events = rclient.xrange(f"{prefix}events")
    assert [e[1] for e in events] == [
        {"type": "created", "id": "a1", "version": "1", "url": "https://example.com/a"},
        {"type": "updated", "id": "a1", "version": "2", "url": "https://example.com/b"},
    ]


def test_get_returns_exact_json_and_list_is_newest_first(rclient: redis.Redis, prefix: str) -> None:
    store = ArticleStore(rclient, prefix=prefix)
    old = make_article("old")
    new = make_article("new").model_copy(update={"published_at": datetime(2026, 1, 5, tzinfo=UTC)})
    results = store.upsert_many([old, new], now=NOW)
    assert store.get_json("new") == results[1].article.to_json()
    assert rclient.get(f"{prefix}article:new") == store.get_json("new")
    listed = [Article.model_validate_json(raw).id for raw in store.list_json(limit=10)]
    assert listed == ["new", "old"]
    assert store.get_json("missing") is None


def test_same_id_twice_in_one_batch_is_applied_in_order(rclient: redis.Redis, prefix: str) -> None:
    store = ArticleStore(rclient, prefix=prefix)
    results = store.upsert_many([make_article(), make_article(body="Second version.")], now=NOW)
    assert [r.outcome for r in results] == ["created", "updated"]
    assert results[1].article.version == 2


def test_stream_is_trimmed(rclient: redis.Redis, prefix: str) -> None:
    store = ArticleStore(rclient, prefix=prefix, stream_maxlen=10)
    store.upsert_many([make_article(f"id{i}") for i in range(500)], now=NOW)
    # MAXLEN ~ trims whole macro nodes: the stream stays near the bound, far below 500.
    assert rclient.xlen(f"{prefix}events") < 250


def test_concurrent_writers_never_make_a_second_record(redis_server, prefix: str) -> None:
    """Eight threads race to store versions of one article: one record, versions add up."""
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        store = ArticleStore(redis_server.client(), prefix=prefix)
        barrier.wait()
        try:
            for k in range(5):
                result = store.upsert_many([make_article(body=f"Writer {n} pass {k}.")], now=NOW)
                outcomes.append(result[0].outcome)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    client = redis_server.client()
    stored = Article.model_validate_json(client.get(f"{prefix}article:a1"))
    assert outcomes.count("created") == 1
    assert stored.version == 1 + outcomes.count("updated")
    assert client.xlen(f"{prefix}events") == len(outcomes) - outcomes.count("unchanged")
    assert client.zcard(f"{prefix}idx:time") == 1


def test_retention_removes_old_records_with_their_indexes(
    rclient: redis.Redis, prefix: str
) -> None:
    store = ArticleStore(rclient, prefix=prefix)
    store.upsert_many(
        [make_article("old", url="https://example.com/old")], now=NOW - timedelta(days=100)
    )
    store.upsert_many([make_article("new", url="https://example.com/new", body="Other.")], now=NOW)
    assert store.purge_modified_before(NOW - timedelta(days=90), batch=1) == 1
    assert store.get_json("old") is None
    assert store.get_json("new") is not None
    assert rclient.zrange(f"{prefix}idx:time", 0, -1) == ["new"]
    assert rclient.zrange(f"{prefix}idx:modified", 0, -1) == ["new"]
    assert rclient.zrange(f"{prefix}idx:source:file:Example", 0, -1) == ["new"]
    assert rclient.hgetall(f"{prefix}idx:url") == {"https://example.com/new": "new"}
    assert list(rclient.hgetall(f"{prefix}idx:hash").values()) == ["new"]


def test_same_article_from_another_source_is_unchanged(rclient: redis.Redis, prefix: str) -> None:
    store = ArticleStore(rclient, prefix=prefix)
    store.upsert_many([make_article()], now=NOW)
    elsewhere = make_article().model_copy(
        update={"source": Source(kind="feed", feed_url="https://b.example/rss")}
    )
    assert store.upsert_many([elsewhere], now=NOW)[0].outcome == "unchanged"
    assert Article.model_validate_json(store.get_json("a1") or "").source.kind == "file"


def test_corrupt_stored_value_is_replaced_not_fatal(rclient: redis.Redis, prefix: str) -> None:
    store = ArticleStore(rclient, prefix=prefix)
    rclient.set(f"{prefix}article:a1", "{not json")
    result = store.upsert_many([make_article()], now=NOW)[0]
    assert result.outcome == "updated"
    assert Article.model_validate_json(store.get_json("a1") or "").title == "A title"


def test_retention_keeps_a_record_still_being_updated(rclient: redis.Redis, prefix: str) -> None:
    store = ArticleStore(rclient, prefix=prefix)
    store.upsert_many([make_article()], now=NOW - timedelta(days=200))
    store.upsert_many([make_article(body="Revised recently.")], now=NOW - timedelta(days=1))
    assert store.purge_modified_before(NOW - timedelta(days=90)) == 0
    assert store.get_json("a1") is not None


def test_retention_clears_the_indexes_of_a_record_it_cannot_validate(
    rclient: redis.Redis, prefix: str
) -> None:
    """A record a newer schema wrote (an extra field) still names its index entries."""
    store = ArticleStore(rclient, prefix=prefix)
    store.upsert_many(
        [make_article("future", url="https://example.com/f")], now=NOW - timedelta(days=100)
    )
    key = f"{prefix}article:future"
    rclient.set(key, json.dumps(json.loads(rclient.get(key)) | {"added_later": 1}))
    assert store.purge_modified_before(NOW - timedelta(days=90)) == 1
    assert rclient.get(key) is None
    assert rclient.hgetall(f"{prefix}idx:url") == {}
    assert rclient.hgetall(f"{prefix}idx:hash") == {}
    assert rclient.zrange(f"{prefix}idx:source:file:Example", 0, -1) == []
    assert rclient.zrange(f"{prefix}idx:time", 0, -1) == []


def test_retention_removes_a_value_that_is_not_json(rclient: redis.Redis, prefix: str) -> None:
    store = ArticleStore(rclient, prefix=prefix)
    store.upsert_many([make_article("junk")], now=NOW - timedelta(days=100))
    rclient.set(f"{prefix}article:junk", "not json")
    assert store.purge_modified_before(NOW - timedelta(days=90)) == 1
    assert rclient.get(f"{prefix}article:junk") is None
    assert rclient.zrange(f"{prefix}idx:modified", 0, -1) == []
