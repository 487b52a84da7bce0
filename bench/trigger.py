"""Sends the real `newsworker.dispatch_due` task through Celery when the driver says so.

Run as `python -m bench.trigger` with the bench's NEWSWORKER_* settings in the
environment. It imports the worker's tasks and warms its broker connection with one
dispatch (sent while no feed is registered, so it claims nothing) before saying
`ready`; then each line `dispatch K` on stdin sends K dispatches and answers `sent`.
Living in its own process keeps the driver free of the worker's process-wide
settings, and the import and connection cost out of the timed phases.
"""

from __future__ import annotations

import sys


def main() -> None:
    from worker.tasks import dispatch_due

    dispatch_due.delay().get(timeout=60)
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] != ["dispatch"]:
            continue
        for _ in range(int(words[1])):
            dispatch_due.delay()
        print("sent", flush=True)


if __name__ == "__main__":
    main()
