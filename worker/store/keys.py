"""Every Redis key newsworker writes or reads, built from one prefix (docs/redis.md).

Nothing else formats a key name: the stores take a `Keys`, and the Lua scripts
are handed the keys they touch (KEYS[...]) instead of rebuilding names inside.
Only `article(id)` and `events` are public (DESIGN.md, "Keys a consumer may rely
on"); the rest are the worker's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from worker.model import Source


@dataclass(frozen=True)
class Keys:
    prefix: str = "nw:"

    # -- articles (worker/store/articles.py) --------------------------------------
    def article(self, article_id: str) -> str:
        """The record as JSON: public."""
        return f"{self.prefix}article:{article_id}"

    @property
    def events(self) -> str:
        """The stream of created/updated events: public."""
        return f"{self.prefix}events"

    @property
    def by_time(self) -> str:
        """id -> published_at (else ingested_at) epoch: `articles list`, newest first."""
        return f"{self.prefix}idx:time"

    @property
    def by_modified(self) -> str:
        """id -> modified_at epoch: retention."""
        return f"{self.prefix}idx:modified"

    @property
    def by_url(self) -> str:
        """canonical URL -> id: `articles get URL`."""
        return f"{self.prefix}idx:url"

    @property
    def by_hash(self) -> str:
        """content_hash -> id: `articles get sha256:...`."""
        return f"{self.prefix}idx:hash"

    def by_source(self, source: Source) -> str:
        """id -> same score as `by_time`, for one source: `articles list --feed`."""
        return self.source_index(source.kind, source_label(source))

    def source_index(self, kind: str, label: str) -> str:
        return f"{self.prefix}idx:source:{kind}:{label}"

    def feed_index(self, scope: str) -> str:
        """The source index of a polled feed, named by the URL it was added with."""
        return self.source_index("feed", scope)

    # -- feeds (worker/store/feeds.py) ---------------------------------------------
    @property
    def feed_ids(self) -> str:
        return f"{self.prefix}feeds"

    def feed(self, feed_id: str) -> str:
        return f"{self.prefix}feed:{feed_id}"

    def feed_history(self, feed_id: str) -> str:
        """The feed's last poll attempts, newest first (a list of JSON objects)."""
        return f"{self.prefix}feed:{feed_id}:history"

    @property
    def feeds_due(self) -> str:
        return f"{self.prefix}feeds:due"

    @property
    def feeds_by_url(self) -> str:
        return f"{self.prefix}feeds:url"

    def host_slots(self, host: str) -> str:
        return f"{self.prefix}host:{host.lower()}"

    # -- dead letters and delivery (worker/store/failures.py, worker/runtime.py) ---
    @property
    def failed(self) -> str:
        return f"{self.prefix}failed"

    @property
    def failed_by_time(self) -> str:
        return f"{self.prefix}failed:time"

    def deliveries(self, task_id: str, retries: int) -> str:
        return f"{self.prefix}deliveries:{task_id}:{retries}"

    @property
    def probe(self) -> str:
        """A tiny key written to ask whether the store accepts writes (store/refusals.py)."""
        return f"{self.prefix}probe"

    def queue(self, name: str) -> str:
        """The broker's list for a queue: kombu puts its global key prefix in front."""
        return f"{self.prefix}{name}"


def source_label(source: Source) -> str:
    """What names a record's source index.

    A polled feed: the URL it was added with (`uri`), which a permanent redirect
    does not change. A file: its feed URL, else the source name, else "-".
    """
    if source.kind == "feed":
        return source.uri or source.feed_url or source.name or "-"
    return source.feed_url or source.name or "-"
