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


def ratio(a: float, b: float) -> float:
    """a ÷ b to two places (infinite when b is 0)."""
    return round(a / b, 2) if b else float("inf")


def targets(figures: dict[str, Any], feeds: int) -> list[dict[str, Any]]:
    """Each target of issues 6 and 11 that this run measured, met or not, by key."""
    f = figures
    rows = [
        ("cold", "cold ingest ≥ 3× reader (entries/s)", f["cold_ratio"], f["cold_ratio"] >= 3),
        ("warm", "warm 304 ≥ 3× reader (feeds/s)", f["warm_304_ratio"], f["warm_304_ratio"] >= 3),
        ("floor", "end-to-end cold ≤ 1.5× parse floor", f["cold_vs_floor"],
         f["cold_vs_floor"] <= 1.5),
        ("trips", "≤ 4 Redis round trips per poll for storage", f["round_trips_store_schedule"],
         f["round_trips_store_schedule"] <= 4),
        ("rss", f"worker RSS ≤ 150 MB per process at {RSS_TARGET_FEEDS:,} feeds",
         f["worker_peak_rss_mb_max"], f["worker_peak_rss_mb_max"] <= 150),
    ]  # fmt: skip
    if "far_cold_ratio" in f:
        rows += [
            ("far_cold", "far farm: cold ingest ≥ 10× reader (entries/s)", f["far_cold_ratio"],
             f["far_cold_ratio"] >= 10),
            ("far_warm", "far farm: warm 304 ≥ 10× reader (feeds/s)", f["far_warm_304_ratio"],
             f["far_warm_304_ratio"] >= 10),
            ("far_hung", "far farm, one hung host: the rest warm ≥ 90 % of without it",
             f["far_hung_rest_pct"], f["far_hung_rest_pct"] >= 90),
            ("on_demand", "poll --all --wait (warm) ≤ 1.5× the scheduled cycle (wall time)",
             f["on_demand_vs_scheduled"], f["on_demand_vs_scheduled"] <= 1.5),
        ]  # fmt: skip
    found = [{"key": key, "target": name, "value": value, "met": bool(met)}
             for key, name, value, met in rows]  # fmt: skip
    if feeds != RSS_TARGET_FEEDS:
        found[4]["note"] = f"measured at {feeds:,} feeds, not {RSS_TARGET_FEEDS:,}"
    return found


def _met(met: bool) -> str:
    return "met" if met else "NOT met"


def table(f: dict[str, Any], goals: list[dict[str, Any]]) -> str:
    g = {goal["key"]: goal for goal in goals}
    rss = g["rss"]
    rss_note = f" ({rss['note']})" if "note" in rss else ""
    rows = [
        ("figure", "newsworker", "reader", "ratio", "target"),
        ("cold ingest, entries/s", f"{f['cold_entries_per_s']:,.0f}",
         f"{f['reader_cold_entries_per_s']:,.0f}", f"{f['cold_ratio']:.2f}×",
         f"≥ 3× reader: {_met(g['cold']['met'])}"),
        ("warm, all 304, feeds/s", f"{f['warm_304_feeds_per_s']:,.0f}",
         f"{f['reader_warm_304_feeds_per_s']:,.0f}", f"{f['warm_304_ratio']:.2f}×",
         f"≥ 3× reader: {_met(g['warm']['met'])}"),
        ("warm, no validators, feeds/s", f"{f['warm_plain_feeds_per_s']:,.0f}",
         f"{f['reader_warm_plain_feeds_per_s']:,.0f}", f"{f['warm_plain_ratio']:.2f}×", "—"),
        ("end-to-end cold vs parse floor, s", f"{f['cold_seconds']:.2f}",
         f"floor {f['floor_seconds']:.2f}", f"{f['cold_vs_floor']:.2f}×",
         f"≤ 1.5× floor: {_met(g['floor']['met'])}"),
        ("file ingest (enqueue --wait), files/s", f"{f['files_per_s']:,.0f}", "—", "—", "—"),
        ("Redis round trips, store+schedule of a 50-entry poll",
         str(f["round_trips_store_schedule"]), "—",
         f"whole poll {f['round_trips_whole_poll']}", f"≤ 4: {_met(g['trips']['met'])}"),
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
    if "far_cold" in g:
        rows += _far_rows(f, g)
    widths = [max(len(r[c]) for r in rows) for c in range(5)]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def _far_rows(f: dict[str, Any], g: dict[str, dict[str, Any]]) -> list[tuple[str, ...]]:
    reader_hung = (
        f"{f['far_reader_hung_rest_feeds_per_s']:,.1f} ({f['far_reader_hung_rest_pct']:.0f} %)"
        if "far_reader_hung_rest_feeds_per_s" in f
        else "not run"
    )
    return [
        ("FAR FARM (delay, hosts: see JSON `far`)", "", "", "", ""),
        ("far: cold ingest, entries/s", f"{f['far_cold_entries_per_s']:,.0f}",
         f"{f['far_reader_cold_entries_per_s']:,.0f}", f"{f['far_cold_ratio']:.2f}×",
         f"≥ 10× reader: {_met(g['far_cold']['met'])}"),
        ("far: warm, all 304, feeds/s", f"{f['far_warm_304_feeds_per_s']:,.1f}",
         f"{f['far_reader_warm_304_feeds_per_s']:,.1f}", f"{f['far_warm_304_ratio']:.2f}×",
         f"≥ 10× reader: {_met(g['far_warm']['met'])}"),
        ("far, one hung host: the rest warm, feeds/s (% of without)",
         f"{f['far_hung_rest_feeds_per_s']:,.1f} ({f['far_hung_rest_pct']:.0f} %)",
         reader_hung, "—", f"≥ 90 %: {_met(g['far_hung']['met'])}"),
        ("far: poll --all --wait --json (warm), s", f"{f['on_demand_seconds']:.2f}",
         f"scheduled {f['far_warm_304_seconds']:.2f}", f"{f['on_demand_vs_scheduled']:.2f}×",
         f"≤ 1.5×: {_met(g['on_demand']['met'])}"),
        ("far: the same less the command with no feeds, s", f"{f['on_demand_net_seconds']:.2f}",
         f"no feeds {f['on_demand_no_feeds_seconds']:.2f}",
         f"{f['on_demand_net_vs_scheduled']:.2f}×", "—"),
        ("far: worker peak RSS (max process), MB", f"{f['far_worker_peak_rss_mb_max']:.0f}",
         "—", "—", "—"),
        ("far: farm's CPU share, busiest phase", f"{f['far_farm_cpu_share_max']:.0%}",
         "—", "—", "—"),
    ]  # fmt: skip
