"""The article store in Redis: atomic, idempotent upserts, indexes and the event stream.

Layout (prefix `nw:` by default; only `article:{id}` and `events` are public):

    article:{id}          string   the record as JSON (what `articles get --json` prints)
    idx:time              zset     id -> published_at (or ingested_at) epoch, for newest-first
    idx:modified          zset     id -> modified_at epoch, for retention
    idx:source:{kind}:{s} zset     id -> same score as idx:time, per source
    idx:url               hash     canonical url -> id
    idx:hash              hash     content_hash -> id
    events                stream   {type, id, version, url} per create/update, trimmed

Key names come from worker/store/keys.py. An upsert reads the current records
(one round trip), takes the decision of worker/store/changes.py for each, and
writes each change with a Lua script that first checks the record is still the one
it read (compare-and-set on its SHA-1). Each write is one atomic script: a record
never exists without its indexes and event.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import cast

import redis

from worker.errors import StorageError, StoreRefusesWrites
from worker.model import Article, Source
from worker.normalise.urls import canonical_url
from worker.polling.revisions import RevisionPolicy
from worker.store.changes import EntryDecision, decide_entry
from worker.store.keys import Keys
from worker.store.refusals import refusal

_WRITE_SCRIPT = """
local cur = redis.call('GET', KEYS[1])
local sig = ''
if cur then sig = redis.sha1hex(cur) end
if sig ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
if KEYS[8] ~= KEYS[7] then redis.call('ZREM', KEYS[8], ARGV[3]) end
redis.call('ZADD', KEYS[7], ARGV[4], ARGV[3])
if ARGV[7] ~= '' and ARGV[7] ~= ARGV[6] and redis.call('HGET', KEYS[4], ARGV[7]) == ARGV[3] then
  redis.call('HDEL', KEYS[4], ARGV[7])
end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[4], ARGV[6], ARGV[3]) end
if ARGV[9] ~= '' and ARGV[9] ~= ARGV[8] and redis.call('HGET', KEYS[5], ARGV[9]) == ARGV[3] then
  redis.call('HDEL', KEYS[5], ARGV[9])
end
redis.call('HSET', KEYS[5], ARGV[8], ARGV[3])
redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[12], '*',
           'type', ARGV[10], 'id', ARGV[3], 'version', ARGV[11], 'url', ARGV[6])
return 1
"""

# Conflicts only happen when writers race on one id; back off a little and re-read.
_MAX_ROUNDS = 50

# Remove one record with its index entries, if it is still the one read (SHA-1 in
# ARGV[2], '' for a value that is not a record) and still not modified since the
# cutoff (ARGV[3], epoch). KEYS: article, idx:time, idx:modified, idx:url, idx:hash,
# its source index (or idx:modified again when unknown). ARGV: id, sha1, cutoff,
# url, content_hash. Returns 1 when removed.
_PURGE_SCRIPT = """
local raw = redis.call('GET', KEYS[1])
if raw and ARGV[2] ~= '' and redis.sha1hex(raw) ~= ARGV[2] then return 0 end
local score = redis.call('ZSCORE', KEYS[3], ARGV[1])
if score and tonumber(score) > tonumber(ARGV[3]) then return 0 end
if ARGV[4] ~= '' and redis.call('HGET', KEYS[4], ARGV[4]) == ARGV[1] then
  redis.call('HDEL', KEYS[4], ARGV[4])
end
if ARGV[5] ~= '' and redis.call('HGET', KEYS[5], ARGV[5]) == ARGV[1] then
  redis.call('HDEL', KEYS[5], ARGV[5])
end
redis.call('ZREM', KEYS[6], ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
"""


class ArticleStore:
    """Reads and writes article records under one key prefix."""

    def __init__(self, client: redis.Redis, *, prefix: str = "nw:", stream_maxlen: int = 100_000):
        self.client = client
        self.keys = Keys(prefix)
        self.stream_maxlen = stream_maxlen
        self._write = client.register_script(_WRITE_SCRIPT)
        self._purge = client.register_script(_PURGE_SCRIPT)

    # -- writes ---------------------------------------------------------------
    def upsert_many(
        self,
        articles: Sequence[Article],
        *,
        now: datetime,
        revisions: RevisionPolicy | None = None,
    ) -> list[EntryDecision]:
        """Store each article; the decisions come back in input order.

        The same id twice in one batch is applied in order (the later one sees the
        earlier). Safe to repeat: a second call with the same input is all 'unchanged'.
        With `revisions` (the poll path), undeclared changes to feed entries are
        held back by that policy (see worker/polling/revisions.py).
        """
        results: dict[int, EntryDecision] = {}
        pending = list(enumerate(articles))
        conflict_rounds = 0
        while pending and conflict_rounds < _MAX_ROUNDS:
            batch, pending = _unique_by_id(pending)
            conflicts = self._upsert_round(batch, now, revisions, results)
            if conflicts:
                conflict_rounds += 1
                time.sleep(random.uniform(0, 0.002 * conflict_rounds))
            pending = conflicts + pending
        if pending:
            raise StorageError(f"could not store {len(pending)} record(s): concurrent writers")
        return [results[i] for i in range(len(articles))]

    def _upsert_round(
        self,
        batch: list[tuple[int, Article]],
        now: datetime,
        revisions: RevisionPolicy | None,
        results: dict[int, EntryDecision],
    ) -> list[tuple[int, Article]]:
        try:
            current = cast(
                list[str | None], self.client.mget([self.keys.article(a.id) for _, a in batch])
            )
            writes: list[tuple[int, EntryDecision]] = []
            pipe = self.client.pipeline(transaction=False)
            for (index, article), raw in zip(batch, current, strict=True):
                old = _parse_or_none(raw)
                decided = decide_entry(
                    article, old, now=now, key_taken=raw is not None, revisions=revisions
                )
                if not decided.writes:
                    results[index] = decided
                    continue
                self._queue_write(pipe, decided, old, raw)
                writes.append((index, decided))
            answers = pipe.execute() if writes else []
        except redis.RedisError as exc:
            raise _storage_error("write", exc) from exc
        conflicts = []
        for (index, decided), ok in zip(writes, answers, strict=True):
            if ok:
                results[index] = decided
            else:
                conflicts.append((index, _original(batch, index)))
        return conflicts

    def _queue_write(
        self,
        pipe: redis.client.Pipeline,
        new: EntryDecision,
        old: Article | None,
        raw: str | None,
    ) -> None:
        article, keys = new.article, self.keys
        expected = _sha1(raw) if raw is not None else ""
        index_keys = [keys.by_time, keys.by_modified, keys.by_url, keys.by_hash, keys.events]
        sources = [keys.by_source(article.source), keys.by_source((old or article).source)]
        args: list[str | int | float] = [
            expected,
            article.to_json(),
            article.id,
            (article.published_at or article.ingested_at).timestamp(),
            article.modified_at.timestamp(),
            article.url or "",
            (old.url or "") if old else "",
            article.content_hash,
            old.content_hash if old else "",
            new.outcome,
            article.version,
            self.stream_maxlen,
        ]
        self._write(keys=[keys.article(article.id), *index_keys, *sources], args=args, client=pipe)

    def purge_modified_before(self, cutoff: datetime, *, batch: int = 500) -> int:
        """Delete records last modified before `cutoff`, with their index entries (retention).

        A record still being updated is kept however old its first ingest.
        """
        removed = 0
        while True:
            try:
                count, seen = self._purge_batch(cutoff.timestamp(), batch)
            except redis.RedisError as exc:
                raise _storage_error("purge", exc) from exc
            removed += count
            if seen < batch:
                return removed

    def _purge_batch(self, cutoff: float, batch: int) -> tuple[int, int]:
        """(removed, candidates seen) for one batch of the oldest candidates."""
        keys = self.keys
        ids = cast(list[str], self.client.zrangebyscore(keys.by_modified, "-inf", cutoff, 0, batch))
        if not ids:
            return 0, 0
        raws = cast(list[str | None], self.client.mget([keys.article(i) for i in ids]))
        pipe = self.client.pipeline(transaction=False)
        for article_id, raw in zip(ids, raws, strict=True):
            url, digest, source = _index_entries(raw)
            self._purge(
                keys=[keys.article(article_id), keys.by_time, keys.by_modified, keys.by_url,
                      keys.by_hash, keys.by_source(source) if source else keys.by_modified],
                args=[article_id, _sha1(raw) if raw is not None else "", cutoff, url, digest],
                client=pipe,
            )  # fmt: skip
        return sum(int(n) for n in pipe.execute()), len(ids)

    # -- reads ----------------------------------------------------------------
    def get_json(self, article_id: str) -> str | None:
        """The stored JSON of one record, byte for byte, or None."""
        value = self.client.get(self.keys.article(article_id))
        return value if isinstance(value, str) else None

    def list_json(self, *, limit: int = 20, source_key: str | None = None) -> list[str]:
        """Records newest first (by published_at, else ingested_at)."""
        index = source_key or self.keys.by_time
        ids = cast(list[str], self.client.zrevrange(index, 0, max(0, limit - 1)))
        if not ids:
            return []
        values = cast(list[str | None], self.client.mget([self.keys.article(i) for i in ids]))
        return [v for v in values if v is not None]

    def count(self) -> int:
        return int(self.client.zcard(self.keys.by_time))

    def resolve(self, ref: str) -> str | None:
        """The id of a record named by its id, its canonical URL or its content hash."""
        if self.client.exists(self.keys.article(ref)):
            return ref
        if ref.startswith("sha256:"):
            found = self.client.hget(self.keys.by_hash, ref)
        else:
            found = self.client.hget(self.keys.by_url, canonical_url(ref) or ref)
        return found if isinstance(found, str) else None


def _storage_error(what: str, exc: redis.RedisError) -> StorageError:
    reason = refusal(exc)
    return StoreRefusesWrites(reason) if reason else StorageError(f"Redis {what} failed: {exc}")


def _unique_by_id(
    items: Iterable[tuple[int, Article]],
) -> tuple[list[tuple[int, Article]], list[tuple[int, Article]]]:
    seen: set[str] = set()
    now_batch: list[tuple[int, Article]] = []
    later: list[tuple[int, Article]] = []
    for item in items:
        (later if item[1].id in seen else now_batch).append(item)
        seen.add(item[1].id)
    return now_batch, later


def _original(batch: list[tuple[int, Article]], index: int) -> Article:
    return next(a for i, a in batch if i == index)


def _sha1(value: str) -> str:
    return hashlib.sha1(value.encode("utf-8")).hexdigest()


def _index_entries(raw: str | None) -> tuple[str, str, Source | None]:
    """(url, content hash, source) of a stored value, as far as it can be read.

    A value that is JSON but not a valid record (written by a newer schema, say)
    still names the index entries it has.
    """
    try:
        doc = json.loads(raw) if raw is not None else None
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        return "", "", None
    url, digest = doc.get("url"), doc.get("content_hash")
    try:
        source: Source | None = Source.model_validate(doc.get("source"))
    except ValueError:
        source = None
    return (
        (url if isinstance(url, str) else ""),
        (digest if isinstance(digest, str) else ""),
        source,
    )


def _parse_or_none(raw: str | None) -> Article | None:
    if raw is None:
        return None
    try:
        return Article.model_validate_json(raw)
    except ValueError:
        return None
