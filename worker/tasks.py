"""Celery tasks: thin glue that calls the pipeline in order and logs each step.

Every task is idempotent (the store decides created / updated / unchanged), so a
redelivered message is harmless. Transient failures (Redis unreachable or busy)
are retried with exponential backoff and jitter; bad input is not retried and
becomes a dead letter.
"""

from __future__ import annotations

import base64
import binascii
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from celery import Task
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from worker.celery_app import app
from worker.errors import StorageError
from worker.ingest import IngestOutcome, InputFile, ingest_input
from worker.log import get_logger, step
from worker.settings import get_settings
from worker.store.services import Services, open_services

log = get_logger("newsworker.tasks")

TRANSIENT = (StorageError, RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)
# A message delivered this many times without finishing killed its worker each
# time (or hung past the time limit): it is set aside instead of looping forever.
MAX_DELIVERIES = 5

_services: dict[int, Services] = {}


def services() -> Services:
    """This process's services. Prefork children must not share the parent's sockets."""
    pid = os.getpid()
    if pid not in _services:
        _services.clear()
        _services[pid] = open_services(get_settings())
    return _services[pid]


def file_payload(item: InputFile) -> dict[str, Any]:
    """The message body for `ingest_file`: the bytes travel with it (base64)."""
    return {
        "display": item.display,
        "path": item.path,
        "data": base64.b64encode(item.data).decode("ascii"),
    }


def _input_name(payload: dict[str, Any]) -> str:
    return str(payload.get("path") or payload.get("display") or "?")


class IngestTask(Task):  # type: ignore[misc]
    """Records inputs that fail for good (retries exhausted) as dead letters."""

    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        payload = args[0] if args else kwargs.get("payload", {})
        services().failures.record(
            input=_input_name(payload),
            reason=str(exc),
            error_type=type(exc).__name__,
            now=datetime.now(UTC),
            attempts=self.request.retries + 1,
            task_id=task_id,
        )


def too_many_deliveries(task: Task) -> int | None:
    """Count this delivery; the count when it is past the limit, else None."""
    settings = get_settings()
    key = f"{settings.key_prefix}deliveries:{task.request.id}:{task.request.retries}"
    # Redeliveries come one visibility timeout apart: the count is needed only that long
    # for each of them, not for a day per task.
    keep = MAX_DELIVERIES * (settings.visibility_timeout + settings.task_time_limit + 60)
    pipe = services().client.pipeline(transaction=True)
    pipe.incr(key)
    pipe.expire(key, keep)
    count = int(pipe.execute()[0])
    return count if count > MAX_DELIVERIES else None


@app.task(
    bind=True,
    base=IngestTask,
    name="newsworker.ingest_file",
    autoretry_for=TRANSIENT,
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
        svc = services()
        deliveries = too_many_deliveries(self)
        if deliveries is not None:
            reason = f"given up after {deliveries} deliveries: the worker died or hung on it"
            outcomes = [IngestOutcome(display, "failed", error=reason)]
        else:
            outcomes = _ingest_payload(payload, display, svc, now)
        failures = [o for o in outcomes if o.outcome == "failed"]
        for outcome in failures:
            svc.failures.record(
                input=_input_name(payload),
                reason=outcome.error or "failed",
                error_type="BadInput",
                now=now,
                task_id=self.request.id,
            )
        if not failures:
            svc.failures.resolve(_input_name(payload))
        return [o.to_dict() for o in outcomes]


def _ingest_payload(
    payload: dict[str, Any], display: str, svc: Services, now: datetime
) -> list[IngestOutcome]:
    try:
        with step(log, "read", bytes_b64=len(payload.get("data", ""))) as info:
            data = base64.b64decode(payload.get("data", ""), validate=True)
            info["bytes"] = len(data)
    except (binascii.Error, ValueError) as exc:
        return [IngestOutcome(display, "failed", error=f"corrupt message: {exc}")]
    item = InputFile(display, data, payload.get("path"))
    return ingest_input(item, svc.store, now=now, log=log)


@app.task(name="newsworker.purge_expired", autoretry_for=TRANSIENT, max_retries=3)
def purge_expired() -> int:
    """Retention: remove records not modified for NEWSWORKER_RETENTION_DAYS."""
    days = get_settings().retention_days
    if days == 0:
        return 0
    with step(log, "purge", retention_days=days) as info:
        cutoff = datetime.now(UTC) - timedelta(days=days)
        info["removed"] = services().store.purge_modified_before(cutoff)
    return int(info["removed"])
