"""The same farm through `reader` (lemon24/reader): cold, warm with 304s, warm without validators.

reader keeps each feed's ETag and Last-Modified itself and sends them back; the
farm's counters (conditional requests, 304s) show that it did. `scheduled=False`
makes every update_feeds call update every feed, as the warm cycles need (reader
would otherwise wait for each feed's next update time). Each update is bounded by
reader's own HTTP timeouts (its `session_timeout`).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from bench.farm import FarmProcess


def _update(rd: Any, farm: FarmProcess, workers: int) -> tuple[float, dict[str, int | str]]:
    farm.reset()
    started = time.perf_counter()
    rd.update_feeds(workers=workers, scheduled=False)
    return time.perf_counter() - started, farm.stats()


def run_reader(
    farm: FarmProcess, home: Path, *, workers: int, repeat: int, cold_repeat: int
) -> dict[str, Any]:
    import reader

    cold: list[dict[str, Any]] = []
    warm: dict[str, list[dict[str, Any]]] = {"validators": [], "plain": []}
    rd = None
    try:
        farm.mode("validators")
        for r in range(cold_repeat):
            if rd is not None:
                rd.close()
            rd = reader.make_reader(str(home / f"reader-{r}.sqlite"))
            for i in range(farm.feeds):
                rd.add_feed(farm.url(i))
            seconds, stats = _update(rd, farm, workers)
            total = rd.get_entry_counts().total
            cold.append({"entries": total, "seconds": round(seconds, 3),
                         "entries_per_s": round(total / seconds, 1), "farm": stats})  # fmt: skip
        assert rd is not None
        for mode in ("validators", "plain"):
            farm.mode(mode)
            for _ in range(repeat):
                seconds, stats = _update(rd, farm, workers)
                warm[mode].append({"feeds": farm.feeds, "seconds": round(seconds, 3),
                                   "feeds_per_s": round(farm.feeds / seconds, 1),
                                   "farm": stats})  # fmt: skip
        broken = sum(1 for f in rd.get_feeds() if f.last_exception is not None)
    finally:
        farm.mode("validators")
        if rd is not None:
            rd.close()
    return {
        "version": reader.__version__,
        "workers": workers,
        "broken_feeds": broken,
        "cold": summary(cold, "entries_per_s"),
        "warm_304": summary(warm["validators"], "feeds_per_s"),
        "warm_plain": summary(warm["plain"], "feeds_per_s"),
    }


def summary(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The median of `key` (and of the seconds) over the runs, with the runs."""
    return {
        key: round(statistics.median(r[key] for r in runs), 1),
        "seconds": round(statistics.median(r["seconds"] for r in runs), 3),
        "runs": runs,
    }
