"""The pure parse floor: feedparser over the farm's documents, one process per core.

No sanitising and no relative-URI resolution (`sanitize_html=False,
resolve_relative_uris=False`): the least any feed reader built on feedparser must
spend. The documents are built here from the farm's seed (byte-identical; the
digest is checked against the farm's) before the pool forks, so the timed part is
parsing alone.
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from typing import Any

import feedparser

from bench.farm import digest, documents

_DOCS: list[bytes] = []


def _parse(index: int) -> int:
    parsed = feedparser.parse(_DOCS[index], sanitize_html=False, resolve_relative_uris=False)
    return len(parsed.entries)


def parse_floor(feeds: int, entries: int, *, processes: int, repeat: int) -> dict[str, Any]:
    global _DOCS
    _DOCS = documents(feeds, entries)
    doc_digest = digest(_DOCS)
    runs = []
    # fork: the children inherit the documents and the imported parser.
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(_parse, [0] * processes * 2, chunksize=1)  # warm every child up
        for _ in range(repeat):
            started = time.perf_counter()
            chunk = max(1, feeds // (processes * 8))
            counts = pool.map(_parse, range(feeds), chunksize=chunk)
            runs.append(time.perf_counter() - started)
            if sum(counts) != feeds * entries:
                raise RuntimeError(f"parse floor: {sum(counts)} entries, not {feeds * entries}")
    _DOCS = []
    seconds = statistics.median(runs)
    return {
        "processes": processes,
        "seconds": round(seconds, 3),
        "runs": [round(r, 3) for r in runs],
        "entries_per_s": round(feeds * entries / seconds, 1),
        "digest": doc_digest,
    }
