"""The whole benchmark in one run: farm, parse floor, reader, newsworker, table, JSON.

Order: the loopback farm starts (and stays up until its part is done); the parse
floor and reader run while nothing else is busy; then, for each cold repeat, a
fresh Redis and fresh workers take a cold ingest and a file ingest, and the last of
them also the warm cycles and the in-process round-trip count. Then far mode
(bench/far.py) with a farm and a stack of its own. Everything started is stopped in
`finally` blocks, on errors and on Ctrl-C (SIGTERM too) alike.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import ours, report
from bench.far import far_figures, run_far
from bench.farm import REPO, FarmProcess
from bench.floor import parse_floor
from bench.peer import run_reader, summary
from bench.report import ratio
from bench.roundtrips import poll_round_trips
from bench.stack import Stack, clean_environ, worker_env


def options(argv: list[str] | None) -> argparse.Namespace:
    cores = len(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__)
    add = parser.add_argument
    add("--feeds", type=int, default=200, help="feeds in the farm (default 200)")
    add("--entries", type=int, default=50, help="entries per feed (default 50)")
    add("--files", type=int, default=1000, help="article files to enqueue (default 1000)")
    add("--repeat", type=int, default=3, help="runs of each warm cycle and of the floor")
    add("--cold-repeat", type=int, default=1, help="cold ingests (fresh Redis and DB each)")
    add("--workers", type=int, default=1, help="`newsworker worker` processes (default 1)")
    add("--concurrency", type=int, default=cores, help=f"pool size of each (default {cores})")
    add("--pool", choices=["prefork", "threads", "solo"], default=None,
        help="worker pool (default: the worker's own default)")  # fmt: skip
    add("--worker-env", action="append", default=[], metavar="NAME=VALUE",
        help="a setting for the worker, e.g. NEWSWORKER_POLL_BATCH=1 (repeatable): "
        "to measure an alternative")  # fmt: skip
    add("--reader-workers", type=int, default=4, help="reader's update_feeds(workers=...)")
    add("--host-concurrency", type=int, default=1000,
        help="NEWSWORKER_HOST_CONCURRENCY (every farm feed is on one host)")  # fmt: skip
    add("--timeout", type=float, default=900, help="bound on each wait, seconds")
    add("--out", type=Path, default=REPO / "var" / "bench" / "latest.json")
    add("--keep", action="store_true", help="keep the temporary folder (logs, Redis files)")
    far = parser.add_argument_group("far mode (bench/far.py)")
    add = far.add_argument
    add("--no-far", dest="far", action="store_false", help="skip the far mode")
    add("--far-feeds", type=int, default=1000, help="feeds in the far farm (default 1000)")
    add("--far-entries", type=int, default=20, help="entries per far feed (default 20)")
    add("--delay-ms", type=float, default=200, help="far farm's delay per answer (200)")
    add("--hosts", type=int, default=50, help="loopback hosts of the far farm (default 50)")
    add("--far-repeat", type=int, default=1, help="runs of each far warm cycle (default 1)")
    add("--far-fetch-timeout", type=float, default=10,
        help="NEWSWORKER_FETCH_TIMEOUT in far mode, seconds (default 10)")  # fmt: skip
    add("--reader-hung", action="store_true",
        help="reader on the hung variant too (its own 60 s read timeout: minutes)")  # fmt: skip
    args = parser.parse_args(argv)
    if min(args.feeds, args.entries, args.files, args.repeat, args.cold_repeat) < 1:
        parser.error("sizes and repeats must be at least 1")
    if min(args.far_feeds, args.far_entries, args.far_repeat, args.hosts) < 1:
        parser.error("far sizes, repeats and hosts must be at least 1")
    if any("=" not in item for item in args.worker_env):
        parser.error("--worker-env takes NAME=VALUE")
    if args.hosts > 253:  # 127.0.0.1-127.0.0.253, and one more for the hung host
        parser.error("--hosts is at most 253")
    return args


def _on_sigterm(*_: Any) -> None:
    raise SystemExit(143)


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    # The driver's own HTTP (reader's requests session) must not go through a proxy.
    os.environ.clear()
    os.environ.update(clean_environ())
    home = Path(tempfile.mkdtemp(prefix="nwbench-"))
    ok = False
    try:
        result = run(args, home)
        ok = True
    finally:
        # The stacks and the farm are stopped by now; a second Ctrl-C must not stop the rest.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        if args.keep or not ok:
            print(f"bench: logs and data kept in {home}", file=sys.stderr)
        else:
            shutil.rmtree(home, ignore_errors=True)
        signal.signal(signal.SIGINT, previous)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(report.table(result["figures"], result["targets"]))
    print(f"\n(JSON: {args.out})")
    return 0


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    started = datetime.now(UTC)
    result: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds"),
        "machine": report.machine(),
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    _log(f"farm: {args.feeds} feeds x {args.entries} entries")
    farm = FarmProcess(args.feeds, args.entries)
    try:
        _log("parse floor")
        floor = parse_floor(args.feeds, args.entries, processes=result["machine"]["nproc"],
                            repeat=args.repeat)  # fmt: skip
        if floor["digest"] != farm.digest:
            raise RuntimeError("the floor's documents differ from the farm's")
        _log(f"reader (workers={args.reader_workers})")
        peer = run_reader(farm, home, workers=args.reader_workers, repeat=args.repeat,
                          cold_repeat=args.cold_repeat)  # fmt: skip
        ourselves = _newsworker(args, farm, home)
    finally:
        farm.stop()
    result["farm"] = _farm_facts(farm)
    result.update(floor=floor, reader=peer, newsworker=ourselves)
    result["figures"] = figures(ourselves, peer, floor)
    if args.far:
        result["far"] = run_far(args, home, _log)
        result["figures"].update(far_figures(result["far"]))
    result["targets"] = report.targets(result["figures"], args.feeds)
    result["seconds_total"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    return result


def _farm_facts(farm: FarmProcess) -> dict[str, Any]:
    from bench.farm import entry_html_bytes, feed_document

    sample = feed_document(0, farm.entries)
    return {
        "feeds": farm.feeds,
        "entries": farm.entries,
        "entry_html_bytes_mean": round(entry_html_bytes(sample)),
        "document_bytes_feed0": len(sample),
        "digest": farm.digest,
    }


def _newsworker(args: argparse.Namespace, farm: FarmProcess, home: Path) -> dict[str, Any]:
    colds: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    found: dict[str, Any] = {
        "workers": args.workers,
        "concurrency": args.concurrency,
        "pool": args.pool,
        "host_concurrency": args.host_concurrency,
        "worker_env": worker_env(args),
    }
    for r in range(args.cold_repeat):
        last = r == args.cold_repeat - 1
        stack = Stack(home / f"stack{r}", concurrency=args.concurrency, workers=args.workers,
                      host_concurrency=args.host_concurrency, pool=args.pool,
                      extra_env=worker_env(args))  # fmt: skip
        try:
            _log(f"newsworker: starting redis-server and {args.workers} worker(s) (run {r + 1})")
            stack.start(timeout=min(args.timeout, 120))
            ids = ours.register(stack, farm)
            _log("newsworker: cold ingest")
            colds.append(ours.cold_ingest(stack, farm, ids, args.timeout))
            # VmHWM is a peak: read after each phase, it shows which phase raised it.
            phases = {"cold": _max_mb(stack.peak_rss_mb())}
            if last:
                for mode, name in (("validators", "warm_304"), ("plain", "warm_plain")):
                    _log(f"newsworker: warm cycles ({mode})")
                    runs = [ours.warm_cycle(stack, farm, ids, mode, args.timeout)
                            for _ in range(args.repeat)]  # fmt: skip
                    found[name] = summary(runs, "feeds_per_s")
                farm.mode("validators")
                phases["warm"] = _max_mb(stack.peak_rss_mb())
            _log(f"newsworker: enqueue {args.files} files")
            files.append(ours.file_ingest(stack, stack.home / "files", args.files, seed=r,
                                          timeout=args.timeout))  # fmt: skip
            phases["files"] = _max_mb(stack.peak_rss_mb())
            if last:
                _log("newsworker: round trips of one poll (in-process)")
                found["round_trips"] = poll_round_trips(
                    stack.url, [farm.probe_url(0), farm.probe_url(1)],
                    host_concurrency=args.host_concurrency,
                )  # fmt: skip
            rss = stack.peak_rss_mb()
        finally:
            stack.stop()
        found["peak_rss_mb"] = rss
        found["peak_rss_mb_max_after"] = phases
    found["cold"] = summary(colds, "entries_per_s")
    for key in ("redis_commands_per_article", "redis_bytes_per_article",
                "record_json_bytes_mean"):  # fmt: skip
        found[key] = statistics.median(c[key] for c in colds)
    found["files"] = summary(files, "files_per_s")
    return found


def _max_mb(processes: list[dict[str, Any]]) -> float:
    return max((float(p["mb"]) for p in processes), default=0.0)


def figures(nw: dict[str, Any], peer: dict[str, Any], floor: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers, flat (the table and the smoke test read these)."""

    f: dict[str, Any] = {
        "cold_entries_per_s": nw["cold"]["entries_per_s"],
        "reader_cold_entries_per_s": peer["cold"]["entries_per_s"],
        "warm_304_feeds_per_s": nw["warm_304"]["feeds_per_s"],
        "reader_warm_304_feeds_per_s": peer["warm_304"]["feeds_per_s"],
        "warm_plain_feeds_per_s": nw["warm_plain"]["feeds_per_s"],
        "reader_warm_plain_feeds_per_s": peer["warm_plain"]["feeds_per_s"],
        "cold_seconds": nw["cold"]["seconds"],
        "floor_seconds": floor["seconds"],
        "files_per_s": nw["files"]["files_per_s"],
        "round_trips_store_schedule": nw["round_trips"]["store_schedule"]["round_trips"],
        "round_trips_whole_poll": nw["round_trips"]["whole_poll"]["round_trips"],
        "redis_commands_per_article": nw["redis_commands_per_article"],
        "redis_bytes_per_article": nw["redis_bytes_per_article"],
        "record_json_bytes_mean": nw["record_json_bytes_mean"],
        "worker_peak_rss_mb_max": max(p["mb"] for p in nw["peak_rss_mb"]),
        # Before any file was ingested: polling feeds alone.
        "worker_peak_rss_mb_feeds": max(nw["peak_rss_mb_max_after"][k] for k in ("cold", "warm")),
    }
    f["cold_ratio"] = ratio(f["cold_entries_per_s"], f["reader_cold_entries_per_s"])
    f["warm_304_ratio"] = ratio(f["warm_304_feeds_per_s"], f["reader_warm_304_feeds_per_s"])
    f["warm_plain_ratio"] = ratio(f["warm_plain_feeds_per_s"], f["reader_warm_plain_feeds_per_s"])
    f["cold_vs_floor"] = ratio(f["cold_seconds"], f["floor_seconds"])
    return f
