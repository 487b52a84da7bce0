"""The article store in Redis: atomic, idempotent upserts, indexes and the event stream.

Layout (prefix `nw:` by default; only `article:{id}` and `events` are public):

    article:{id}          string   the record as JSON (what `articles get --json` prints)
    idx:time              zset     id -> published_at (or ingested_at) epoch, for newest-first
    idx:modified          zset     id -> modified_at epoch, for retention
    idx:source:{kind}:{s} zset     id -> same score as idx:time, per source
    idx:url               hash     canonical url -> id
    idx:hash              hash     content_hash -> id
    events                stream   {type, id, version, url} per create/update, trimmed

An upsert reads the current records (one round trip), decides created / updated /
unchanged in Python, and writes each change with a Lua script that first checks
the record is still the one it read (compare-and-set on its SHA-1). Each write is
one atomic script: a record never exists without its indexes and event.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import redis

from worker.errors import StorageError
from worker.model import Article, Outcome
from worker.normalise.dates import to_rfc3339_utc
from worker.polling.revisions import RevisionPolicy, defer_change

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

# Remove records last modified before ARGV[1] (epoch), at most ARGV[2] of them, with
# every index entry; returns how many went. KEYS: idx:time, idx:modified,
# idx:url, idx:hash; ARGV[3] is the key prefix.
_PURGE_SCRIPT = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do
  local key = ARGV[3] .. 'article:' .. id
  local raw = redis.call('GET', key)
  if raw then
    local ok, doc = pcall(cjson.decode, raw)
    if ok then
      if type(doc.url) == 'string' and redis.call('HGET', KEYS[3], doc.url) == id then
        redis.call('HDEL', KEYS[3], doc.url)
      end
      if redis.call('HGET', KEYS[4], doc.content_hash) == id then
        redis.call('HDEL', KEYS[4], doc.content_hash)
      end
      local src = doc.source
      local label = '-'
      if src.kind == 'feed' and type(src.uri) == 'string' then label = src.uri
      elseif type(src.feed_url) == 'string' then label = src.feed_url
      elseif type(src.name) == 'string' then label = src.name end
      redis.call('ZREM', ARGV[3] .. 'idx:source:' .. src.kind .. ':' .. label, id)
    end
    redis.call('DEL', key)
  end
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
return #ids
"""


@dataclass(frozen=True)
class StoreResult:
    outcome: Outcome
    article: Article
    # An "unchanged" whose content did change, held back by the revision policy.
    deferred: bool = False


class ArticleStore:
    """Reads and writes article records under one key prefix."""

    def __init__(self, client: redis.Redis, *, prefix: str = "nw:", stream_maxlen: int = 100_000):
        self.client = client
        self.prefix = prefix
        self.stream_maxlen = stream_maxlen
        self._write = client.register_script(_WRITE_SCRIPT)
        self._purge = client.register_script(_PURGE_SCRIPT)

    # -- keys -----------------------------------------------------------------
    def article_key(self, article_id: str) -> str:
        return f"{self.prefix}article:{article_id}"

    @property
    def events_key(self) -> str:
        return f"{self.prefix}events"

    def source_key(self, article: Article) -> str:
        src = article.source
        if src.kind == "feed":  # named by the URL the feed was added with (see identity)
            label = src.uri or src.feed_url or src.name or "-"
        else:
            label = src.feed_url or src.name or "-"
        return f"{self.prefix}idx:source:{src.kind}:{label}"

    def feed_index_key(self, feed: str) -> str:
        """The per-source index of a feed, named by the URL it was added with."""
        return f"{self.prefix}idx:source:feed:{feed}"

    def _key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    # -- writes ---------------------------------------------------------------
    def upsert_many(
        self,
        articles: Sequence[Article],
        *,
        now: datetime,
        revisions: RevisionPolicy | None = None,
    ) -> list[StoreResult]:
        """Store each article; outcomes come back in input order.

        The same id twice in one batch is applied in order (the later one sees the
        earlier). Safe to repeat: a second call with the same input is all 'unchanged'.
        With `revisions` (the poll path), undeclared changes to feed entries are
        held back by that policy (see worker/polling/revisions.py).
        """
        results: dict[int, StoreResult] = {}
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
        results: dict[int, StoreResult],
    ) -> list[tuple[int, Article]]:
        try:
            current = cast(
                list[str | None], self.client.mget([self.article_key(a.id) for _, a in batch])
            )
            writes: list[tuple[int, StoreResult]] = []
            pipe = self.client.pipeline(transaction=False)
            for (index, article), raw in zip(batch, current, strict=True):
                old = _parse_or_none(raw)
                decided = _decide(article, raw, old, now, revisions)
                if decided.outcome == "unchanged":
                    results[index] = decided
                    continue
                self._queue_write(pipe, decided, old, raw)
                writes.append((index, decided))
            answers = pipe.execute() if writes else []
        except redis.RedisError as exc:
            raise StorageError(f"Redis write failed: {exc}") from exc
        conflicts = []
        for (index, decided), ok in zip(writes, answers, strict=True):
            if ok:
                results[index] = decided
            else:
                conflicts.append((index, _original(batch, index)))
        return conflicts

    def _queue_write(
        self, pipe: redis.client.Pipeline, new: StoreResult, old: Article | None, raw: str | None
    ) -> None:
        article = new.article
        expected = _sha1(raw) if raw is not None else ""
        keys = [
            self.article_key(article.id),
            self._key("idx:time"),
            self._key("idx:modified"),
            self._key("idx:url"),
            self._key("idx:hash"),
            self.events_key,
            self.source_key(article),
            self.source_key(old) if old else self.source_key(article),
        ]
        args: list[str | int | float] = [
            expected,
            article.to_json(),
            article.id,
            _epoch(article.published_at or article.ingested_at),
            _epoch(article.modified_at),
            article.url or "",
            (old.url or "") if old else "",
            article.content_hash,
            old.content_hash if old else "",
            new.outcome,
            article.version,
            self.stream_maxlen,
        ]
        self._write(keys=keys, args=args, client=pipe)

    def purge_modified_before(self, cutoff: datetime, *, batch: int = 500) -> int:
        """Delete records last modified before `cutoff`, with their index entries (retention).

        A record still being updated is kept however old its first ingest.
        """
        keys = [self._key(k) for k in ("idx:time", "idx:modified", "idx:url", "idx:hash")]
        removed = 0
        while True:
            try:
                count = int(self._purge(keys=keys, args=[cutoff.timestamp(), batch, self.prefix]))
            except redis.RedisError as exc:
                raise StorageError(f"Redis purge failed: {exc}") from exc
            removed += count
            if count < batch:
                return removed

    # -- reads ----------------------------------------------------------------
    def get_json(self, article_id: str) -> str | None:
        """The stored JSON of one record, byte for byte, or None."""
        value = self.client.get(self.article_key(article_id))
        return value if isinstance(value, str) else None

    def list_json(self, *, limit: int = 20, source_key: str | None = None) -> list[str]:
        """Records newest first (by published_at, else ingested_at)."""
        index = source_key or self._key("idx:time")
        ids = cast(list[str], self.client.zrevrange(index, 0, max(0, limit - 1)))
        if not ids:
            return []
        values = cast(list[str | None], self.client.mget([self.article_key(i) for i in ids]))
        return [v for v in values if v is not None]

    def count(self) -> int:
        return int(self.client.zcard(self._key("idx:time")))

    def id_for_url(self, url: str) -> str | None:
        value = self.client.hget(self._key("idx:url"), url)
        return value if isinstance(value, str) else None


def _decide(
    article: Article,
    raw: str | None,
    old: Article | None,
    now: datetime,
    revisions: RevisionPolicy | None,
) -> StoreResult:
    """Created, updated or unchanged: `raw` is what the key holds, `old` it parsed."""
    stamp = to_rfc3339_utc(now)
    assert stamp is not None
    if old is None:
        fresh = article.model_copy(
            update={"version": 1, "ingested_at": stamp, "modified_at": stamp}
        )
        # A stored value that is not a valid record (written by hand, or by a newer
        # schema) is replaced rather than failing every write for this id forever.
        return StoreResult("created" if raw is None else "updated", fresh)
    if old.content() == article.content():
        return StoreResult("unchanged", old)
    if revisions is not None and defer_change(old, article, now, revisions):
        return StoreResult("unchanged", old, deferred=True)
    changed = article.model_copy(
        update={"version": old.version + 1, "ingested_at": old.ingested_at, "modified_at": stamp}
    )
    return StoreResult("updated", changed)


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


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _parse_or_none(raw: str | None) -> Article | None:
    if raw is None:
        return None
    try:
        return Article.model_validate_json(raw)
    except ValueError:
        return None
