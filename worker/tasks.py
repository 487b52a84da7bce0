"""Celery tasks: thin glue that calls the pipeline in order and logs each step.

Every task is idempotent (the store decides created / updated / unchanged), so a
redelivered message is harmless.
"""

from __future__ import annotations

import base64
import binascii
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from celery import Task

from worker.celery_app import app
from worker.errors import StorageError
from worker.failures import FailureLog
from worker.ingest import IngestOutcome, InputFile, ingest_input
from worker.log import get_logger, step
from worker.redis_client import connect
from worker.settings import get_settings
from worker.store import ArticleStore

log = get_logger("newsworker.tasks")

_clients: dict[int, tuple[ArticleStore, FailureLog]] = {}


def _store() -> tuple[ArticleStore, FailureLog]:
    # One connection pool per process: prefork children must not share the parent's sockets.
    pid = os.getpid()
    if pid not in _clients:
        settings = get_settings()
        client = connect(settings.require_redis_url())
        _clients.clear()
        _clients[pid] = (
            ArticleStore(client, prefix=settings.key_prefix, stream_maxlen=settings.stream_maxlen),
            FailureLog(client, prefix=settings.key_prefix, maxlen=settings.failed_maxlen),
        )
    return _clients[pid]


def file_payload(item: InputFile) -> dict[str, Any]:
    """The message body for `ingest_file`: the bytes travel with it (base64)."""
    return {
        "display": item.display,
        "path": item.path,
        "data": base64.b64encode(item.data).decode("ascii"),
    }


class IngestTask(Task):  # type: ignore[misc]
    """Records inputs that fail for good (retries exhausted) as dead letters."""

    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        payload = args[0] if args else kwargs.get("payload", {})
        _, failures = _store()
        failures.record(
            input=str(payload.get("path") or payload.get("display") or "?"),
            reason=str(exc),
            error_type=type(exc).__name__,
            now=datetime.now(UTC),
            attempts=self.request.retries + 1,
            task_id=task_id,
        )


@app.task(
    bind=True,
    base=IngestTask,
    name="newsworker.ingest_file",
    autoretry_for=(StorageError, ConnectionError, TimeoutError),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=6,
)
def ingest_file(self: Task, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Parse and store one file sent by `newsworker enqueue`; one outcome per record."""
    display = str(payload.get("display") or payload.get("path") or "?")
    with structlog.contextvars.bound_contextvars(task_id=self.request.id, input=display):
        now = datetime.now(UTC)
        store, failures = _store()
        try:
            with step(log, "read", bytes_b64=len(payload.get("data", ""))) as info:
                data = base64.b64decode(payload.get("data", ""), validate=True)
                info["bytes"] = len(data)
        except (binascii.Error, ValueError) as exc:
            outcomes = [IngestOutcome(display, "failed", error=f"corrupt message: {exc}")]
        else:
            item = InputFile(display, data, payload.get("path"))
            outcomes = ingest_input(item, store, now=now, log=log)
        for outcome in outcomes:
            if outcome.outcome == "failed":
                failures.record(
                    input=str(payload.get("path") or display),
                    reason=outcome.error or "failed",
                    error_type="BadInput",
                    now=now,
                    task_id=self.request.id,
                )
        return [o.to_dict() for o in outcomes]


@app.task(name="newsworker.purge_expired")
def purge_expired() -> int:
    """Retention: remove records ingested more than NEWSWORKER_RETENTION_DAYS ago."""
    days = get_settings().retention_days
    if days == 0:
        return 0
    store, _ = _store()
    with step(log, "purge", retention_days=days) as info:
        info["removed"] = store.purge_ingested_before(datetime.now(UTC) - timedelta(days=days))
    return int(info["removed"])
