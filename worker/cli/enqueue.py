"""Sending files to the workers, and (with --wait) collecting each outcome."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import redis
from celery.result import AsyncResult

from worker.cli.status import workers_answering
from worker.cli.wait import Answer, answers
from worker.errors import BadInput, NewsworkerError
from worker.inputs.files import STDIN, expand, read_input
from worker.model import IngestOutcome
from worker.settings import Settings
from worker.store.connection import connect
from worker.store.failures import FailureLog
from worker.store.keys import Keys
from worker.store.refusals import refusal, refusing


def enqueue_paths(
    settings: Settings,
    paths: Sequence[str],
    *,
    wait: bool,
    timeout: float,
    progress: Callable[[int, str], Any],
) -> list[IngestOutcome]:
    """Read each input here and send its bytes in an `ingest_file` message.

    Inputs that cannot be read are reported at once and not sent. With `wait`,
    block until every task finished (or `timeout` passed) and report the outcome
    of each record; without, report each input as queued with its task id.
    """
    from worker.tasks import file_payload, ingest_file

    if wait and not workers_answering(limit=1):
        # Not an error: the messages wait in the queue until a worker starts.
        print("newsworker: no worker answered; waiting for one to start", file=sys.stderr)
    refs = expand(paths)
    sent: list[tuple[str, AsyncResult]] = []
    early: list[IngestOutcome] = []
    refused: str | None = None  # once the broker refuses writes, the rest is not sent
    with progress(len(refs), "enqueue") as bar:
        for ref in refs:
            bar.update(1)
            if refused:
                early.append(IngestOutcome(ref.display, "failed", error=refused))
                continue
            try:
                item = read_input(ref, max_bytes=settings.max_file_bytes)
            except NewsworkerError as exc:
                early.append(IngestOutcome(ref.display, "failed", error=str(exc)))
                continue
            try:
                sent.append((ref.display, ingest_file.delay(file_payload(item))))
            except Exception as exc:  # the broker refused or failed: this input stays here
                # kombu may fail on a broker that refuses writes with an error of its
                # own, so the broker itself is asked too.
                reason = refusal(exc) or _refusing(settings.effective_broker_url(), settings)
                error = f"not sent: broker refuses writes ({reason})" if reason else None
                early.append(IngestOutcome(ref.display, "failed", error=error or _not_sent(exc)))
                refused = error
    if not wait:
        return early + [IngestOutcome(d, "queued", task_id=r.id) for d, r in sent]
    return early + _collect(sent, timeout, progress, lambda: _store_refusal(settings))


def _not_sent(exc: Exception) -> str:
    return f"not sent: {' '.join(str(exc).split()) or type(exc).__name__}"


def _refusing(url: str, settings: Settings) -> str | None:
    """Why the Redis at `url` refuses writes now; None when it accepts them, is
    unreachable, or is not Redis."""
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        return None
    try:
        return refusing(connect(url), Keys(settings.key_prefix).probe)
    except (NewsworkerError, redis.RedisError):
        return None


def _store_refusal(settings: Settings) -> str | None:
    """Why the store refuses writes now, or None when it accepts them (or is unreachable)."""
    return _refusing(settings.require_redis_url(), settings)


def _collect(
    sent: list[tuple[str, AsyncResult]],
    timeout: float,
    progress: Callable[[int, str], Any],
    store_refusal: Callable[[], str | None],
) -> list[IngestOutcome]:
    outcomes: list[IngestOutcome] = []
    waiting = answers(sent, timeout)
    refused: list[str | None] = []  # asked once, at the first input not answered in time
    with progress(len(sent), "stored") as bar:
        for display, answer in waiting:
            if not answer.answered and not refused:
                refused.append(store_refusal())
            outcomes.extend(_outcomes(display, answer, refused[0] if refused else None))
            bar.update(1)
    return outcomes


def _outcomes(display: str, answer: Answer, refused: str | None) -> list[IngestOutcome]:
    if not answer.answered:
        error = f"not stored yet: store refuses writes ({refused})" if refused else None
        return [IngestOutcome(display, "failed", error=error or answer.no_answer())]
    if answer.failed and (reason := refusal(answer.value)):
        # The task's work was done (stored, or a dead letter); only its result was refused.
        error = f"done, but its outcome was not recorded: store refuses writes ({reason})"
        return [IngestOutcome(display, "failed", error=error)]
    if answer.failed or not isinstance(answer.value, list):
        return [IngestOutcome(display, "failed", error=f"task failed: {answer.value}")]
    return [
        IngestOutcome(
            str(item.get("path") or display),
            item.get("outcome", "failed"),
            item.get("id"),
            item.get("error"),
        )
        for item in answer.value
    ]


def retry_failures(
    settings: Settings,
    failures: FailureLog,
    failure_id: str | None,
    *,
    wait: bool,
    progress: Callable[[int, str], Any],
    timeout: float = 600.0,
) -> list[IngestOutcome]:
    """Enqueue dead-lettered inputs again (one, or all when `failure_id` is None).

    Nothing is removed here: the task clears an input's dead letter when it stores it.
    """
    if failure_id is None:
        entries = failures.list(settings.failed_maxlen)
    else:
        found = failures.get(failure_id)
        if found is None:
            raise BadInput(f"no dead letter with id {failure_id}")
        entries = [found]
    stdin = [e for e in entries if e.input == STDIN]
    outcomes = [
        IngestOutcome(STDIN, "failed", error="standard input cannot be read again: enqueue it anew")
        for _ in stdin
    ]
    paths = [e.input for e in entries if e.input != STDIN]
    if paths:
        outcomes += enqueue_paths(settings, paths, wait=wait, timeout=timeout, progress=progress)
    return outcomes
