"""Celery tasks: thin glue from a message to the pipeline (worker/runtime.py does the rest).

- `ingest_file`: one file sent by `newsworker enqueue`; its bytes travel in the message.
- `dispatch_due`: ticked by beat; claims the feeds that are due and sends them in
  batches grouped by host (`poll_feeds`), so a second scheduler running by mistake
  never polls a feed twice.
- `poll_feeds`: one batch of polls, fetched at once (worker/polling/batch.py); on
  the poll queue, served by the poll workers' threads.
- `poll_feed`: one poll of one feed (kept for messages sent by older versions).
- `purge_expired`: retention.

Every task is idempotent (the store decides created / updated / unchanged), so a
redelivered message is harmless. They share one retry policy and one task edge
(`runtime.RETRY`, `runtime.at_task_edge`). Long waits (feed backoff, Retry-After)
live in the feed schedule in Redis, never in broker countdowns.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
import structlog
from celery import Task
from celery.signals import beat_init, worker_ready

from worker.celery_app import RequeueingTask, app
from worker.errors import NewsworkerError, StorageError
from worker.gate import REFUSALS
from worker.ingest import ingest_input
from worker.log import get_logger, step
from worker.model import IngestOutcome, InputFile, PollOutcome
from worker.polling.batch import poll_batch
from worker.polling.dispatch import batches_by_host
from worker.polling.feeds_file import parse_feeds_yaml
from worker.runtime import RETRY, at_task_edge, fetch_engine, poller, services
from worker.settings import Settings, get_settings
from worker.store.refusals import refusal

log = get_logger("newsworker.tasks")


def file_payload(item: InputFile) -> dict[str, Any]:
    """The message body for `ingest_file`: the bytes travel with it (base64)."""
    return {
        "display": item.display,
        "path": item.path,
        "data": base64.b64encode(item.data).decode("ascii"),
    }


def _input_name(payload: dict[str, Any]) -> str:
    return str(payload.get("path") or payload.get("display") or "?")


class IngestTask(RequeueingTask):
    """Records inputs that fail for good (retries exhausted) as dead letters."""

    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        if refusal(exc) is not None:  # the store refuses this very dead letter too
            return
        payload = args[0] if args else kwargs.get("payload", {})
        services().failures.record(
            input=_input_name(payload),
            reason=str(exc),
            error_type=type(exc).__name__,
            now=datetime.now(UTC),
            attempts=self.request.retries + 1,
            task_id=task_id,
        )


@app.task(bind=True, base=IngestTask, name="newsworker.ingest_file", **RETRY)
def ingest_file(self: Task, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Parse and store one file sent by `newsworker enqueue`; one outcome per record."""
    display = str(payload.get("display") or payload.get("path") or "?")
    with structlog.contextvars.bound_contextvars(task_id=self.request.id, input=display):
        now = datetime.now(UTC)

        def work() -> list[dict[str, Any]]:
            outcomes = _ingest_payload(payload, display, now)
            return _settle(self, payload, outcomes, "BadInput", now)

        def give_up(reason: str, error_type: str) -> list[dict[str, Any]]:
            outcomes = [IngestOutcome(display, "failed", error=reason)]
            return _settle(self, payload, outcomes, error_type, now)

        return at_task_edge(self, work, give_up)


def _settle(
    task: Task, payload: dict[str, Any], outcomes: list[IngestOutcome], error_type: str,
    now: datetime,
) -> list[dict[str, Any]]:  # fmt: skip
    """Dead letters for the failed outcomes; an input stored at last loses its old one."""
    failures = [o for o in outcomes if o.outcome == "failed"]
    for outcome in failures:
        services().failures.record(
            input=_input_name(payload),
            reason=outcome.error or "failed",
            error_type=error_type,
            now=now,
            task_id=task.request.id,
        )
    if not failures:
        services().failures.resolve(_input_name(payload))
    return [o.to_dict() for o in outcomes]


def _ingest_payload(payload: dict[str, Any], display: str, now: datetime) -> list[IngestOutcome]:
    try:
        with step(log, "read", bytes_b64=len(payload.get("data", ""))) as info:
            data = base64.b64decode(payload.get("data", ""), validate=True)
            info["bytes"] = len(data)
    except (binascii.Error, ValueError) as exc:
        return [IngestOutcome(display, "failed", error=f"corrupt message: {exc}")]
    item = InputFile(display, data, payload.get("path"))
    return ingest_input(item, services().store, now=now, log=log)


@app.task(name="newsworker.dispatch_due", **RETRY)
def dispatch_due() -> int:
    """Claim the feeds that are due and enqueue them in batches grouped by host."""
    settings = get_settings()
    with step(log, "dispatch") as info:
        now = datetime.now(UTC)
        feeds = services().feeds
        try:
            ids = feeds.claim_due(
                now, limit=settings.dispatch_batch, lease_seconds=settings.visibility_timeout + 60
            )
            batches = batches_by_host(feeds.urls(ids), settings.poll_batch)
        except redis.RedisError as exc:
            if (reason := refusal(exc)) is None:
                raise
            REFUSALS.refused(reason)  # no claims: the due feeds wait in the schedule
            info.update(feeds=0, outcome="skipped", reason=reason)
            return 0
        REFUSALS.accepted()
        # One connection for all the batches; nobody waits on these results.
        with app.producer_or_acquire() as producer:
            for batch in batches:
                poll_feeds.apply_async(
                    (batch,),
                    {"claimed_at": now.timestamp()},
                    producer=producer,
                    ignore_result=True,
                )
        info.update(feeds=len(ids), batches=len(batches), ids=ids[:20], idle=not ids)
    return len(ids)


@app.task(bind=True, name="newsworker.poll_feeds", **RETRY)
def poll_feeds(
    self: Task, feed_ids: list[str], claimed_at: float | None = None
) -> list[dict[str, Any]]:
    """Poll a batch of feeds at once; one outcome per feed, in order.

    `claimed_at` (epoch) comes from the dispatcher: a feed polled since then is a
    duplicate claim and is skipped. Without it the batch is an on-demand poll
    (`newsworker poll`), whose changed entries are applied at once.
    """
    claimed = datetime.fromtimestamp(claimed_at, UTC) if claimed_at is not None else None
    limit = float(self.app.conf.task_soft_time_limit or 60)
    with structlog.contextvars.bound_contextvars(task_id=self.request.id):

        def work() -> list[PollOutcome]:
            return poll_batch(
                poller(), fetch_engine(), feed_ids, claimed_at=claimed, time_limit=limit,
                on_demand=claimed is None,
            )  # fmt: skip

        def give_up(reason: str, _error_type: str) -> list[PollOutcome]:
            # The feeds an earlier delivery polled keep what that poll found.
            states, settled = poller().load(feed_ids, claimed_at=claimed)
            now = datetime.now(UTC)
            given_up = {s.id: poller().give_up(s.id, reason, now=now) for s in states}
            outcomes = {o.feed: o for o in settled} | given_up
            return [outcomes[feed_id] for feed_id in feed_ids]

        return [outcome.to_dict() for outcome in at_task_edge(self, work, give_up)]


@app.task(bind=True, name="newsworker.poll_feed", **RETRY)
def poll_feed(self: Task, feed_id: str, claimed_at: float | None = None) -> dict[str, Any]:
    """Poll one feed now; the outcome of that one attempt.

    `claimed_at` (epoch) comes from the dispatcher: a feed polled since then is a
    duplicate claim and is skipped.
    """
    claimed = datetime.fromtimestamp(claimed_at, UTC) if claimed_at is not None else None
    with structlog.contextvars.bound_contextvars(task_id=self.request.id, feed=feed_id):

        def give_up(reason: str, _error_type: str) -> PollOutcome:
            return poller().give_up(feed_id, reason, now=datetime.now(UTC))

        outcome = at_task_edge(
            self,
            lambda: poller().poll(
                feed_id, now=datetime.now(UTC), claimed_at=claimed, on_demand=claimed is None
            ),
            give_up,
        )
        return outcome.to_dict()


@app.task(name="newsworker.purge_expired", **RETRY)
def purge_expired() -> int:
    """Retention: remove records not modified for NEWSWORKER_RETENTION_DAYS."""
    days = get_settings().retention_days
    if days == 0:
        return 0
    with step(log, "purge", retention_days=days) as info:
        cutoff = datetime.now(UTC) - timedelta(days=days)
        try:
            info["removed"] = services().store.purge_modified_before(cutoff)
        except StorageError as exc:
            if (reason := refusal(exc)) is None:
                raise
            REFUSALS.refused(reason)  # the next hourly run tries again
            info.update(removed=0, outcome="skipped", reason=reason)
    return int(info["removed"])


def sync_feeds_file(settings: Settings) -> dict[str, int] | None:
    """Bring the registry in line with the feeds file; a bad file is logged, not fatal."""
    path = settings.feeds_file
    if not path.exists():
        return None
    with step(log, "feeds_sync", file=str(path)) as info:
        try:
            entries = parse_feeds_yaml(path.read_text(encoding="utf-8"), name=str(path))
        except (NewsworkerError, OSError) as exc:
            info.update(outcome="failed", error=str(exc))
            return None
        counts = services().feeds.sync(entries, now=datetime.now(UTC))
        info.update(counts)
    return counts


@worker_ready.connect
def _sync_on_worker_start(sender: Any = None, **_: Any) -> None:
    # Once per `newsworker worker`: by its file worker, not by each poll worker too.
    if not str(getattr(sender, "hostname", "")).startswith("polls"):
        sync_feeds_file(get_settings())


@beat_init.connect
def _sync_on_beat_start(**_: Any) -> None:
    sync_feeds_file(get_settings())
