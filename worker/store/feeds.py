"""The feed registry in Redis: one hash per feed, a set of ids, a sorted set of due times.

    feeds             set      every feed id
    feed:{id}         hash     FeedState, one field per attribute (JSON-encoded values)
    feeds:due         zset     id -> epoch of the next poll (the dispatcher claims from it)
    feeds:url         hash     current URL -> id (adding a known URL returns that feed)
    feed:{id}:history list     the last HISTORY poll attempts, newest first (JSON each)

A feed's id is fixed when it is added (derived from its first URL), so a permanent
redirect changes its `url`, never its id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

import redis

from worker.errors import BadInput
from worker.model import FeedState, Origin
from worker.normalise.urls import canonical_url
from worker.store.keys import Keys

# Atomically claim up to ARGV[2] feeds due at ARGV[1] by pushing their due time to
# ARGV[3] (a lease): a second dispatcher running at the same moment sees none of them.
_CLAIM_SCRIPT = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[3], id) end
return ids
"""

# Write a feed's hash. KEYS: feed:{id}, feeds, feeds:url, feeds:due. ARGV: must_exist
# ("1": drop the write if the feed was removed meanwhile), id, url, due epoch or "",
# then field/value pairs. The URL index follows a changed URL in the same step.
_SAVE_SCRIPT = """
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local old = redis.call('HGET', KEYS[1], 'url')
if old then
  local old_url = cjson.decode(old)
  if old_url ~= ARGV[3] and redis.call('HGET', KEYS[3], old_url) == ARGV[2] then
    redis.call('HDEL', KEYS[3], old_url)
  end
end
local pairs = {}
for i = 5, #ARGV do pairs[#pairs + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(pairs))
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[2])
if ARGV[4] ~= '' then redis.call('ZADD', KEYS[4], ARGV[4], ARGV[2]) end
return 1
"""


HISTORY = 20  # poll attempts kept per feed


def feed_id_for(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]


def validate_feed_url(url: str) -> str:
    """The canonical form of a feed URL, or BadInput for anything but http(s)."""
    canonical = canonical_url(url.strip())
    if canonical is None:
        raise BadInput(f"not an http(s) URL: {url!r}")
    return canonical


class FeedRegistry:
    def __init__(self, client: redis.Redis, *, prefix: str = "nw:"):
        self.client = client
        self.keys = keys = Keys(prefix)
        self.ids_key = keys.feed_ids
        self.due_key = keys.feeds_due
        self.url_key = keys.feeds_by_url
        self._claim = client.register_script(_CLAIM_SCRIPT)
        self._save = client.register_script(_SAVE_SCRIPT)

    def key(self, feed_id: str) -> str:
        return self.keys.feed(feed_id)

    # -- reading ---------------------------------------------------------------
    def get(self, feed_id: str) -> FeedState | None:
        raw = cast(dict[str, str], self.client.hgetall(self.key(feed_id)))
        return _decode(raw) if raw else None

    def get_many(self, feed_ids: Iterable[str]) -> dict[str, FeedState]:
        """The states of these feeds (the missing ones left out), in one round trip."""
        ids = list(feed_ids)
        pipe = self.client.pipeline(transaction=False)
        for feed_id in ids:
            pipe.hgetall(self.key(feed_id))
        return {i: _decode(raw) for i, raw in zip(ids, pipe.execute(), strict=True) if raw}

    def urls(self, feed_ids: Iterable[str]) -> dict[str, str]:
        """Each feed's current URL (the missing ones left out), in one round trip."""
        ids = list(feed_ids)
        pipe = self.client.pipeline(transaction=False)
        for feed_id in ids:
            pipe.hget(self.key(feed_id), "url")
        found = zip(ids, pipe.execute(), strict=True)
        return {i: json.loads(raw) for i, raw in found if raw}

    def find(self, ref: str) -> FeedState | None:
        """A feed by id, or by URL (as given or canonical)."""
        found = self.get(ref)
        if found is not None:
            return found
        canonical = canonical_url(ref)
        for url in filter(None, (ref, canonical)):
            feed_id = self.client.hget(self.url_key, url)
            if isinstance(feed_id, str):
                return self.get(feed_id)
        return None

    def all(self) -> list[FeedState]:
        ids = sorted(cast(set[str], self.client.smembers(self.ids_key)))
        pipe = self.client.pipeline(transaction=False)
        for feed_id in ids:
            pipe.hgetall(self.key(feed_id))
        return [_decode(raw) for raw in pipe.execute() if raw]

    def statuses(self) -> list[str]:
        """Every feed's status, one pipelined HGET each (no whole states to decode)."""
        ids = cast(set[str], self.client.smembers(self.ids_key))
        pipe = self.client.pipeline(transaction=False)
        for feed_id in ids:
            pipe.hget(self.key(feed_id), "status")
        return [json.loads(raw) for raw in pipe.execute() if raw]

    # -- writing ---------------------------------------------------------------
    def add(
        self,
        url: str,
        *,
        now: datetime,
        name: str | None = None,
        interval: float | None = None,
        origin: Origin = "cli",
        **extra: Any,
    ) -> tuple[FeedState, bool]:
        """Register a feed, due at once. A URL already registered returns that feed.

        "Registered" includes the URL a feed was first added under: after a
        permanent redirect moved it, adding the old URL again finds the same feed.
        """
        canonical = validate_feed_url(url)
        existing = self.get(feed_id_for(canonical)) or self.find(canonical)
        if existing is not None:
            return existing, False
        state = FeedState(
            id=feed_id_for(canonical),
            url=canonical,
            added_url=canonical,
            name=name,
            interval=interval,
            origin=origin,
            added_at=now,
            next_poll_at=now,
            **extra,
        )
        self.save(state, due=now, must_exist=False)
        return state, True

    def save(
        self,
        state: FeedState,
        *,
        due: datetime | None = None,
        fields: Iterable[str] | None = None,
        must_exist: bool = True,
        pipe: redis.client.Pipeline | None = None,
    ) -> bool:
        """Write the state (or only `fields` of it); with `due`, (re)schedule it.

        One atomic script. With `must_exist` (every write but the first) a feed
        removed meanwhile stays removed: the write is dropped and False returned.
        With `pipe`, the write is queued there (and True returned).
        """
        encoded = _encode(state)
        if fields is not None:
            encoded = {k: encoded[k] for k in {*fields, "url"}}
        pairs = [item for pair in encoded.items() for item in pair]
        keys = [self.key(state.id), self.ids_key, self.url_key, self.due_key]
        args = [
            "1" if must_exist else "0",
            state.id,
            state.url,
            "" if due is None else repr(due.timestamp()),
            *pairs,
        ]
        if pipe is not None:
            # EVALSHA itself: redis-py asks SCRIPT EXISTS before every pipeline that
            # holds a Script, a round trip per save. NoScriptError: `load_scripts`.
            pipe.evalsha(self._save.sha, len(keys), *keys, *args)
            return True
        return bool(self._save(keys=keys, args=args))

    def history(self, feed_id: str) -> list[dict[str, Any]]:
        """The feed's last poll attempts, newest first."""
        raw = cast(list[str], self.client.lrange(self.keys.feed_history(feed_id), 0, -1))
        return [json.loads(item) for item in raw]

    def note_attempt(self, feed_id: str, attempt: dict[str, Any], *, pipe: Any) -> None:
        """Queue one attempt into the feed's history, keeping the last `HISTORY`."""
        key = self.keys.feed_history(feed_id)
        pipe.lpush(key, json.dumps(attempt, ensure_ascii=False))
        pipe.ltrim(key, 0, HISTORY - 1)

    def load_scripts(self) -> None:
        """Load the save script into Redis (after a restart or SCRIPT FLUSH lost it)."""
        self.client.script_load(_SAVE_SCRIPT)

    def remove(self, feed_id: str) -> bool:
        state = self.get(feed_id)
        if state is None:
            return False
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(self.key(feed_id), self.keys.feed_history(feed_id))
        pipe.srem(self.ids_key, feed_id)
        pipe.zrem(self.due_key, feed_id)
        pipe.hdel(self.url_key, state.url)
        pipe.execute()
        return True

    def unschedule(self, feed_id: str, *, pipe: redis.client.Pipeline | None = None) -> None:
        (pipe or self.client).zrem(self.due_key, feed_id)

    def schedule(
        self, feed_id: str, when: datetime, *, pipe: redis.client.Pipeline | None = None
    ) -> None:
        """Move a scheduled feed's next poll; a feed no longer scheduled stays so."""
        (pipe or self.client).zadd(self.due_key, {feed_id: when.timestamp()}, xx=True)

    def claim_due(self, now: datetime, *, limit: int, lease_seconds: float) -> list[str]:
        """Ids of feeds due now, each pushed `lease_seconds` ahead so no one else takes it."""
        args = [now.timestamp(), limit, now.timestamp() + lease_seconds]
        return [str(i) for i in self._claim(keys=[self.due_key], args=args)]

    def sync(self, entries: Iterable[dict[str, Any]], *, now: datetime) -> dict[str, int]:
        """Make the feeds that came from the feeds file match `entries` (idempotent).

        Adds new ones, updates the settings of changed ones (a setting left out
        of the file goes back to its default), removes file feeds no longer
        listed. A feed added on the command line and also listed takes the
        file's settings but stays a command-line feed: only `feeds remove` drops it.
        """
        counts = {"added": 0, "changed": 0, "removed": 0}
        wanted: set[str] = set()
        for entry in entries:
            fields = _FILE_DEFAULTS | {k: v for k, v in entry.items() if k in _FILE_FIELDS}
            state, created = self.add(entry["url"], now=now, origin="file", **fields)
            wanted.add(state.id)
            if created:
                counts["added"] += 1
                continue
            if any(getattr(state, k) != v for k, v in fields.items()):
                self.save(state.model_copy(update=fields), fields=fields)
                counts["changed"] += 1
        for state in self.all():
            if state.origin == "file" and state.id not in wanted:
                self.remove(state.id)
                counts["removed"] += 1
        return counts


_FILE_FIELDS = ("name", "interval", "min_interval", "max_interval", "tags", "full_text")
_FILE_DEFAULTS: dict[str, Any] = {
    name: FeedState.model_fields[name].get_default(call_default_factory=True)
    for name in _FILE_FIELDS
}


def _encode(state: FeedState) -> dict[str, str]:
    return {k: json.dumps(v, ensure_ascii=False) for k, v in state.model_dump(mode="json").items()}


def _decode(raw: dict[str, str]) -> FeedState:
    return FeedState.model_validate({k: json.loads(v) for k, v in raw.items()})
