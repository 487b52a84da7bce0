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
    farm: FarmProcess,
    home: Path,
    *,
    workers: int,
    repeat: int,
    cold_repeat: int,
    modes: tuple[str, ...] = ("validators", "plain"),
    hung: int = 0,
) -> dict[str, Any]:
    """Cold ingests, then `repeat` warm updates in each farm mode of `modes`.

    With `hung` > 0 (a farm with a hung host), that many feeds on the hung host are
    added last and one more warm update runs over all of them (`hung` in the result).
    """
    import reader

    cold: list[dict[str, Any]] = []
    warm: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    hung_run: dict[str, Any] | None = None
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
        for mode in modes:
            farm.mode(mode)
            for _ in range(repeat):
                seconds, stats = _update(rd, farm, workers)
                warm[mode].append({"feeds": farm.feeds, "seconds": round(seconds, 3),
                                   "feeds_per_s": round(farm.feeds / seconds, 1),
                                   "farm": stats})  # fmt: skip
        farm.mode("validators")
        if hung:
            hung_run = _update_with_hung(rd, farm, workers, hung)
        broken = sum(1 for f in rd.get_feeds() if f.last_exception is not None)
    finally:
        farm.mode("validators")
        if rd is not None:
            rd.close()
    found = {
        "version": reader.__version__,
        "workers": workers,
        "broken_feeds": broken,
        "cold": summary(cold, "entries_per_s"),
    }
    names = {"validators": "warm_304", "plain": "warm_plain"}
    found.update({names[mode]: summary(warm[mode], "feeds_per_s") for mode in modes})
    if hung_run is not None:
        found["hung"] = hung_run
    return found


def _update_with_hung(rd: Any, farm: FarmProcess, workers: int, hung: int) -> dict[str, Any]:
    """One warm update with `hung` feeds on the hung host added; the rest's figure is
    the time until the last feed not on the hung host was done (reader's own timeout
    ends the hung ones: it waits for all of them before returning)."""
    hung_urls = {farm.hung_url(k) for k in range(hung)}
    for url in sorted(hung_urls):
        rd.add_feed(url)
    farm.reset()
    started = time.perf_counter()
    rest_done = started
    failed = 0
    for result in rd.update_feeds_iter(workers=workers, scheduled=False):
        if result.url not in hung_urls:
            rest_done = time.perf_counter()
        elif result.error is not None:
            failed += 1
    seconds = time.perf_counter() - started
    rest = rest_done - started
    return {
        "feeds": farm.feeds,
        "hung_feeds": hung,
        "hung_failed": failed,
        "seconds_rest": round(rest, 3),
        "feeds_per_s_rest": round(farm.feeds / rest, 1),
        "seconds_all": round(seconds, 3),
        "farm": farm.stats(),
    }


def summary(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The median of `key` (and of the seconds) over the runs, with the runs."""
    return {
        key: round(statistics.median(r[key] for r in runs), 1),
        "seconds": round(statistics.median(r["seconds"] for r in runs), 3),
        "runs": runs,
    }
