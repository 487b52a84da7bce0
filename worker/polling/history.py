"""One line of a feed's fetch history: what an attempt did (pure).

Kept per feed in Redis, the last 20 (worker/store/feeds.py), written in the
round trip that saves the feed's state, and shown by `feeds show`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from worker.inputs.fetch import FetchResult
from worker.model import PollOutcome
from worker.normalise.dates import format_utc


def attempt_record(fetched: object, outcome: PollOutcome, now: datetime) -> dict[str, Any]:
    """The history line of one attempt: when, HTTP status, outcome, duration and bytes
    of the fetch (null when none answered), the entries it changed, its error."""
    result = fetched if isinstance(fetched, FetchResult) else None
    return {
        "at": format_utc(now),
        "http_status": outcome.http_status,
        "outcome": outcome.outcome,
        "duration_ms": round(result.elapsed_ms, 1) if result else None,
        "bytes": result.bytes_read if result else None,
        "new": outcome.new,
        "updated": outcome.updated,
        "held_back": outcome.held_back,
        "error": outcome.error,
    }
