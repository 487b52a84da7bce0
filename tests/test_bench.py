"""`make bench` end to end at a tiny size: it completes and reports every figure.

No timing is asserted (the machine is shared); only that the run measured what it
says it measured: every entry stored, and the warm cycles really answered by 304s.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIGURES = (
    "cold_entries_per_s", "reader_cold_entries_per_s", "cold_ratio",
    "warm_304_feeds_per_s", "reader_warm_304_feeds_per_s", "warm_304_ratio",
    "warm_plain_feeds_per_s", "reader_warm_plain_feeds_per_s", "warm_plain_ratio",
    "cold_seconds", "floor_seconds", "cold_vs_floor", "files_per_s",
    "round_trips_store_schedule", "round_trips_whole_poll", "redis_commands_per_article",
    "redis_bytes_per_article", "record_json_bytes_mean", "worker_peak_rss_mb_max",
    "worker_peak_rss_mb_feeds",
    # far mode
    "far_cold_entries_per_s", "far_reader_cold_entries_per_s", "far_cold_ratio",
    "far_warm_304_feeds_per_s", "far_reader_warm_304_feeds_per_s", "far_warm_304_ratio",
    "far_hung_rest_feeds_per_s", "far_hung_rest_pct", "far_warm_304_seconds",
    "on_demand_seconds", "on_demand_no_feeds_seconds", "on_demand_net_seconds",
    "on_demand_vs_scheduled", "far_worker_peak_rss_mb_max", "far_farm_cpu_share_max",
)  # fmt: skip
# Only signs matter for these (a difference of two timings).
SIGNED = ("on_demand_net_seconds",)


@pytest.mark.slow
def test_bench_runs_at_a_tiny_size(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    sizes = [
        "--feeds",
        "3",
        "--entries",
        "4",
        "--files",
        "10",
        "--repeat",
        "1",
        "--concurrency",
        "2",
        *("--far-feeds", "4", "--far-entries", "3", "--delay-ms", "50", "--hosts", "2"),
    ]
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), *sizes, "--timeout", "60",
         "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    assert "figure" in done.stdout and "cold ingest" in done.stdout

    result = json.loads(out.read_text())
    for name in FIGURES:
        value = result["figures"][name]
        assert isinstance(value, int | float) and (value >= 0 or name in SIGNED), (name, value)
    assert [t["key"] for t in result["targets"]] == [
        "cold", "warm", "floor", "trips", "rss", "far_cold", "far_warm", "far_hung", "on_demand",
    ]  # fmt: skip
    assert all(t["met"] in (True, False) for t in result["targets"])
    for key in ("nproc", "cpu_model", "free_h", "python"):
        assert result["machine"][key]

    nw, peer = result["newsworker"], result["reader"]
    assert nw["cold"]["runs"][0]["entries"] == peer["cold"]["runs"][0]["entries"] == 12
    for side in (nw, peer):
        warm = side["warm_304"]["runs"][0]["farm"]
        assert warm["feed_conditional"] == warm["feed_304"] == 3
        assert side["warm_plain"]["runs"][0]["farm"]["feed_200"] == 3
    assert nw["round_trips"]["entries"] == 50
    assert nw["files"]["runs"][0]["outcomes"] == {"created": 10}
    # The supervisor and every process under it: the file worker and its two pool
    # children, the poll worker.
    assert [p["role"] for p in nw["peak_rss_mb"]][:1] == ["main"]
    assert len(nw["peak_rss_mb"]) >= 4

    far = result["far"]
    assert far["hosts"] == 2 and far["hung_feeds"] == 2
    fnw, fpeer = far["newsworker"], far["reader"]
    assert fnw["cold"]["runs"][0]["entries"] == fpeer["cold"]["runs"][0]["entries"] == 12
    for side in (fnw, fpeer):
        warm = side["warm_304"]["runs"][0]["farm"]
        assert warm["feed_conditional"] == warm["feed_304"] == 4
    hung = fnw["hung"]
    assert hung["feeds"] == 4 and hung["feeds_due"] == 6 and hung["farm"]["feed_304"] == 4
    assert hung["farm"]["hung_connections"] >= 1  # the hung host was really asked
    assert hung["others"] == {"error": 2}  # the fetch timed out
    assert "none" not in hung["others_errors"]
    assert fnw["on_demand"]["outcomes"] == {"not_modified": 4}
