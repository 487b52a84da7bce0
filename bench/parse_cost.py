"""What parsing one feed document costs us, in process, next to feedparser alone.

Times, per document, `read_feed` + `normalise` of every draft + the stored JSON
(`Article.to_json`, what ArticleStore.upsert_many writes), and in the same run
`feedparser.parse` alone with the floor's options (bench/floor.py). The document
is a farm feed (bench/farm.py): 50 entries of about 1 KB of HTML by default.
Rounds alternate the two, so a noisy machine slows both alike; medians are printed.

    .venv/bin/python bench/parse_cost.py [--entries 50] [--runs 30] [--json]
    .venv/bin/python bench/parse_cost.py --profile   # cProfile of our side, top 30
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository is the import root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import feedparser

from bench.farm import feed_document
from worker.normalise.article import normalise
from worker.readers import read_feed

_NOW = datetime(2026, 1, 6, tzinfo=UTC)
_URL = "http://127.0.0.1/feed/0.xml"


def ours(doc: bytes) -> int:
    """read + normalise + encode one document; the bytes of JSON it produced."""
    polled = read_feed(doc, url=_URL, headers={"content-type": "application/rss+xml"})
    return sum(len(normalise(d, now=_NOW).to_json()) for d in polled.drafts)


def floor(doc: bytes) -> int:
    return len(feedparser.parse(doc, sanitize_html=False, resolve_relative_uris=False).entries)


def _time(fn: object, doc: bytes) -> float:
    started = time.perf_counter()
    fn(doc)  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


def measure(doc: bytes, runs: int) -> dict[str, float]:
    for _ in range(3):  # warm up imports, caches and regexes
        ours(doc)
        floor(doc)
    ours_ms, floor_ms = [], []
    for _ in range(runs):
        ours_ms.append(_time(ours, doc))
        floor_ms.append(_time(floor, doc))
    ours_med, floor_med = statistics.median(ours_ms), statistics.median(floor_ms)
    return {
        "ours_ms": round(ours_med, 2),
        "feedparser_ms": round(floor_med, 2),
        "ratio": round(ours_med / floor_med, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--feed", type=int, default=0, help="farm feed number (its seed)")
    parser.add_argument("--json", action="store_true", help="one JSON line")
    parser.add_argument("--profile", action="store_true", help="cProfile of our side")
    args = parser.parse_args(argv)
    doc = feed_document(args.feed, args.entries)
    if args.profile:
        ours(doc)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.runs):
            ours(doc)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        return
    figures = measure(doc, args.runs)
    if args.json:
        print(json.dumps({"entries": args.entries, "runs": args.runs, **figures}))
    else:
        print(
            f"{args.entries} entries, {len(doc)} bytes, median of {args.runs}: "
            f"ours {figures['ours_ms']} ms, feedparser alone {figures['feedparser_ms']} ms, "
            f"ratio {figures['ratio']}"
        )


if __name__ == "__main__":
    main()
