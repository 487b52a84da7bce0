"""The table on stdout, the targets of issue 6, and what machine the figures come from."""

from __future__ import annotations

import os
import platform
import subprocess
from typing import Any

RSS_TARGET_FEEDS = 2000


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")),
                cpu,
            )
    except OSError:
        pass
    try:
        free = subprocess.run(["free", "-h"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        free = ""
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu,
        "free_h": free.strip(),
        "python": platform.python_version(),
        "loadavg_at_start": list(os.getloadavg()),
    }


def targets(figures: dict[str, Any], feeds: int) -> list[dict[str, Any]]:
    rows = [
        ("cold ingest ≥ 3× reader (entries/s)", figures["cold_ratio"], figures["cold_ratio"] >= 3),
        ("warm 304 ≥ 3× reader (feeds/s)", figures["warm_304_ratio"],
         figures["warm_304_ratio"] >= 3),
        ("end-to-end cold ≤ 1.5× parse floor", figures["cold_vs_floor"],
         figures["cold_vs_floor"] <= 1.5),
        ("≤ 4 Redis round trips per poll for storage", figures["round_trips_store_schedule"],
         figures["round_trips_store_schedule"] <= 4),
        (f"worker RSS ≤ 150 MB per process at {RSS_TARGET_FEEDS:,} feeds",
         figures["worker_peak_rss_mb_max"], figures["worker_peak_rss_mb_max"] <= 150),
    ]  # fmt: skip
    found = [{"target": name, "value": value, "met": bool(met)} for name, value, met in rows]
    if feeds != RSS_TARGET_FEEDS:
        found[-1]["note"] = f"measured at {feeds:,} feeds, not {RSS_TARGET_FEEDS:,}"
    return found


def _met(met: bool) -> str:
    return "met" if met else "NOT met"


def table(f: dict[str, Any], goals: list[dict[str, Any]]) -> str:
    cold, warm, floor_, trips, rss = goals
    rss_note = f" ({rss['note']})" if "note" in rss else ""
    rows = [
        ("figure", "newsworker", "reader", "ratio", "target"),
        ("cold ingest, entries/s", f"{f['cold_entries_per_s']:,.0f}",
         f"{f['reader_cold_entries_per_s']:,.0f}", f"{f['cold_ratio']:.2f}×",
         f"≥ 3× reader: {_met(cold['met'])}"),
        ("warm, all 304, feeds/s", f"{f['warm_304_feeds_per_s']:,.0f}",
         f"{f['reader_warm_304_feeds_per_s']:,.0f}", f"{f['warm_304_ratio']:.2f}×",
         f"≥ 3× reader: {_met(warm['met'])}"),
        ("warm, no validators, feeds/s", f"{f['warm_plain_feeds_per_s']:,.0f}",
         f"{f['reader_warm_plain_feeds_per_s']:,.0f}", f"{f['warm_plain_ratio']:.2f}×", "—"),
        ("end-to-end cold vs parse floor, s", f"{f['cold_seconds']:.2f}",
         f"floor {f['floor_seconds']:.2f}", f"{f['cold_vs_floor']:.2f}×",
         f"≤ 1.5× floor: {_met(floor_['met'])}"),
        ("file ingest (enqueue --wait), files/s", f"{f['files_per_s']:,.0f}", "—", "—", "—"),
        ("Redis round trips, store+schedule of a 50-entry poll",
         str(f["round_trips_store_schedule"]), "—",
         f"whole poll {f['round_trips_whole_poll']}", f"≤ 4: {_met(trips['met'])}"),
        ("Redis commands per stored article", f"{f['redis_commands_per_article']:.1f}",
         "—", "—", "—"),
        ("Redis memory per stored article, bytes", f"{f['redis_bytes_per_article']:,}",
         f"record JSON {f['record_json_bytes_mean']:,}",
         f"{f['redis_bytes_per_article'] / max(1, f['record_json_bytes_mean']):.2f}×", "—"),
        ("worker peak RSS (max process), MB",
         f"{f['worker_peak_rss_mb_max']:.0f} (feeds only {f['worker_peak_rss_mb_feeds']:.0f})",
         "—", "—",
         f"≤ 150 MB: {_met(rss['met'])}{rss_note}"),
    ]  # fmt: skip
    widths = [max(len(r[c]) for r in rows) for c in range(5)]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)
