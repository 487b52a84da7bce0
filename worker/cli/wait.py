"""Waiting on the workers: each task's answer, all within one deadline.

`enqueue --wait`, `failed retry --wait` and `poll --wait` send a batch of tasks and
then report them in order; a task whose answer does not come in time (or whose
result backend fails) becomes a failed outcome, never a traceback.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from celery.result import AsyncResult

K = TypeVar("K")

# However late, a task is still asked once: it may have finished meanwhile.
MIN_WAIT = 0.1


@dataclass(frozen=True)
class Answer:
    """What waiting on one task gave.

    `value` is what the task returned; when it raised, `failed` is true and `value`
    is its exception; when no answer came, `answered` is false too and `value` is
    the result backend's exception (a timeout, a lost connection).
    """

    value: Any
    failed: bool = False
    answered: bool = True

    def no_answer(self) -> str:
        return f"no answer from the workers: {self.value}"


def answers(sent: Iterable[tuple[K, AsyncResult]], timeout: float) -> Iterator[tuple[K, Answer]]:
    """Each (key, answer) in the order sent, waiting at most `timeout` seconds from now."""
    deadline = time.monotonic() + timeout
    return ((key, _answer(result, deadline)) for key, result in sent)


def _answer(result: AsyncResult, deadline: float) -> Answer:
    timeout = max(MIN_WAIT, deadline - time.monotonic())
    try:
        value = result.get(timeout=timeout, propagate=False, interval=0.05)
    except Exception as exc:  # the result backend timed out or went away
        # Celery keeps tracking a result whose wait timed out until its task ends,
        # and lets go of it only at interpreter shutdown, printing a traceback.
        with contextlib.suppress(Exception):
            result.backend.remove_pending_result(result)
        return Answer(exc, failed=True, answered=False)
    return Answer(value, failed=result.failed())
