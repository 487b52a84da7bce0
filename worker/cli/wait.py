"""Waiting on the workers: each task's answer, all within one deadline.

`enqueue --wait`, `failed retry --wait` and `poll --wait` send a batch of tasks and
then report them in order; a task whose answer does not come in time (or whose
result backend fails) becomes a failed outcome, never a traceback.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from celery.exceptions import TimeoutError as ResultTimeout
from celery.result import AsyncResult

K = TypeVar("K")

POLL = 0.05  # seconds between two looks at a task's state


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
    """Each (key, answer) in the order sent, waiting at most `timeout` seconds from now.

    Past the deadline each remaining task is still asked once (it may have finished
    meanwhile), without waiting; once the result backend has failed, it is not asked
    again: the whole wait ends within the timeout.
    """
    deadline = time.monotonic() + timeout
    broken: Answer | None = None
    for key, result in sent:
        answer = broken or _answer(result, deadline)
        if not answer.answered and not isinstance(answer.value, ResultTimeout):
            broken = answer
        yield key, answer


def _answer(result: AsyncResult, deadline: float) -> Answer:
    try:
        # The state, read with one GET at a time: the backend's own blocking wait
        # (a pub/sub round) takes about a second per task whatever its timeout.
        while not result.ready():
            if time.monotonic() >= deadline:
                return Answer(
                    ResultTimeout("The operation timed out."), failed=True, answered=False
                )
            time.sleep(POLL)
        return Answer(result.result, failed=result.failed())
    except Exception as exc:  # the result backend went away
        return Answer(exc, failed=True, answered=False)
