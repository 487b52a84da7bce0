"""Far mode: the same comparison against a farm that answers like distant servers.

A farm of its own (bench/farm.py with `--delay-ms D --hosts H --hung`): every feed
answer waits D ms and the feeds are spread over H loopback addresses, so newsworker
runs with its per-host politeness default (NEWSWORKER_HOST_CONCURRENCY unset)
instead of the loopback mode's 1000. One more address accepts connections and never
answers; the hung variant registers N / H feeds there (the share of any other host)
on top of the N and times the N alone.

Order: reader (cold, warm 304, and the hung variant only with --reader-hung), then
one fresh newsworker stack: cold, warm 304, `poll --all --wait --json` over the
same warm feeds, then the hung variant. The farm's own CPU is read around every
phase, to show whether one asyncio process keeps up.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from bench import ours
from bench.farm import FarmProcess
from bench.peer import run_reader, summary
from bench.report import ratio
from bench.stack import Stack, worker_env

T = TypeVar("T")


def hung_share(feeds: int, hosts: int) -> int:
    """Feeds placed on the hung host in the variant: as many as on any other host."""
    return max(1, round(feeds / hosts))


def run_far(args: argparse.Namespace, home: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """Every far-mode figure, with the farm's CPU share per phase."""
    hung = hung_share(args.far_feeds, args.hosts)
    log(f"far farm: {args.far_feeds} feeds x {args.far_entries} entries, "
        f"{args.delay_ms:g} ms, {args.hosts} hosts (+1 hung)")  # fmt: skip
    farm = FarmProcess(args.far_feeds, args.far_entries, delay_ms=args.delay_ms,
                       hosts=args.hosts, hung=True)  # fmt: skip
    farm_cpu: dict[str, dict[str, float]] = {}

    def phase(name: str, work: Callable[[], T]) -> T:
        cpu, wall = farm.cpu_seconds(), time.perf_counter()
        try:
            return work()
        finally:
            cpu, wall = farm.cpu_seconds() - cpu, time.perf_counter() - wall
            farm_cpu[name] = {"cpu_seconds": round(cpu, 2), "wall_seconds": round(wall, 2),
                              "share": round(cpu / wall, 3) if wall else 0.0}  # fmt: skip

    (home / "far-reader").mkdir(parents=True, exist_ok=True)
    try:
        what = "cold, warm 304" + (f", {hung} hung feeds added" if args.reader_hung else "")
        log(f"far: reader (workers={args.reader_workers}): {what}")
        peer = phase("reader", lambda: run_reader(
            farm, home / "far-reader", workers=args.reader_workers, repeat=args.far_repeat,
            cold_repeat=1, modes=("validators",), hung=hung if args.reader_hung else 0,
        ))  # fmt: skip
        found = _newsworker(args, farm, home / "far-stack", hung, phase, log)
    finally:
        farm.stop()
    return {
        "delay_ms": args.delay_ms,
        "hosts": args.hosts,
        "feeds": args.far_feeds,
        "entries": args.far_entries,
        "hung_feeds": hung,
        "fetch_timeout": args.far_fetch_timeout,
        "reader": peer,
        "newsworker": found,
        "farm_cpu": farm_cpu,
    }


def _newsworker(
    args: argparse.Namespace,
    farm: FarmProcess,
    home: Path,
    hung: int,
    phase: Callable[[str, Callable[[], Any]], Any],
    log: Callable[[str], None],
) -> dict[str, Any]:
    stack = Stack(home, concurrency=args.concurrency, workers=args.workers, pool=args.pool,
                  host_concurrency=None, fetch_timeout=args.far_fetch_timeout,
                  extra_env=worker_env(args))  # fmt: skip
    found: dict[str, Any] = {"host_concurrency": "default (unset)",
                             "fetch_timeout": args.far_fetch_timeout}  # fmt: skip
    try:
        log("far: newsworker: starting redis-server and worker(s)")
        stack.start(timeout=min(args.timeout, 120))
        ids = ours.register(stack, farm)
        log("far: newsworker: cold ingest")
        cold = phase("newsworker cold", lambda: ours.cold_ingest(stack, farm, ids, args.timeout))
        found["cold"] = summary([cold], "entries_per_s")
        log("far: newsworker: warm cycles (validators)")
        runs = [phase(f"newsworker warm {n}", lambda: ours.warm_cycle(
                    stack, farm, ids, "validators", args.timeout))
                for n in range(args.far_repeat)]  # fmt: skip
        found["warm_304"] = summary(runs, "feeds_per_s")
        log("far: newsworker: poll --all --wait --json (warm, all 304)")
        found["on_demand"] = phase("newsworker poll --all", lambda: ours.on_demand_poll(
            stack, farm, len(ids), args.timeout))  # fmt: skip
        log(f"far: newsworker: warm with {hung} feeds on the hung host "
               f"(fetch timeout {args.far_fetch_timeout:g} s)")  # fmt: skip
        hung_ids = ours.register_urls(stack, [farm.hung_url(k) for k in range(hung)])
        found["hung"] = phase("newsworker hung", lambda: ours.warm_cycle(
            stack, farm, ids + hung_ids, "validators", args.timeout, rest=ids))  # fmt: skip
        found["peak_rss_mb"] = stack.peak_rss_mb()
    finally:
        stack.stop()
    return found


def far_figures(far: dict[str, Any]) -> dict[str, Any]:
    """The far mode's headline numbers, flat, `far_` and `on_demand_` keys."""
    nw, peer = far["newsworker"], far["reader"]

    f: dict[str, Any] = {
        "far_cold_entries_per_s": nw["cold"]["entries_per_s"],
        "far_reader_cold_entries_per_s": peer["cold"]["entries_per_s"],
        "far_warm_304_feeds_per_s": nw["warm_304"]["feeds_per_s"],
        "far_reader_warm_304_feeds_per_s": peer["warm_304"]["feeds_per_s"],
        "far_hung_rest_feeds_per_s": nw["hung"]["feeds_per_s"],
        "far_warm_304_seconds": nw["warm_304"]["seconds"],
        "on_demand_seconds": nw["on_demand"]["seconds"],
        "on_demand_no_feeds_seconds": nw["on_demand"]["seconds_no_feeds"],
        "on_demand_net_seconds": nw["on_demand"]["seconds_net"],
        "far_worker_peak_rss_mb_max": max(p["mb"] for p in nw["peak_rss_mb"]),
        "far_farm_cpu_share_max": max(p["share"] for p in far["farm_cpu"].values()),
    }
    f["far_cold_ratio"] = ratio(f["far_cold_entries_per_s"], f["far_reader_cold_entries_per_s"])
    f["far_warm_304_ratio"] = ratio(
        f["far_warm_304_feeds_per_s"], f["far_reader_warm_304_feeds_per_s"]
    )
    f["far_hung_rest_pct"] = round(
        100 * f["far_hung_rest_feeds_per_s"] / f["far_warm_304_feeds_per_s"], 1
    )
    f["on_demand_vs_scheduled"] = ratio(f["on_demand_seconds"], f["far_warm_304_seconds"])
    f["on_demand_net_vs_scheduled"] = ratio(f["on_demand_net_seconds"], f["far_warm_304_seconds"])
    if "hung" in peer:
        f["far_reader_hung_rest_feeds_per_s"] = peer["hung"]["feeds_per_s_rest"]
        f["far_reader_hung_rest_pct"] = round(
            100 * peer["hung"]["feeds_per_s_rest"] / f["far_reader_warm_304_feeds_per_s"], 1
        )
    return f
