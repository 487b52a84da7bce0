"""newsworker's figures, measured on a running Stack: cold ingest, warm cycles, file ingest.

Every wait polls Redis (plain reads the driver makes, not counted against the worker:
its own commands are tallied and subtracted from INFO commandstats) and is bounded
by a deadline.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.farm import FarmProcess
from bench.stack import Stack
from worker.settings import Settings
from worker.store.feeds import FeedRegistry

# One dispatch claims at most this many feeds (NEWSWORKER_DISPATCH_BATCH, unset here).
DISPATCH_BATCH = int(Settings.model_fields["dispatch_batch"].default)
_POLL = 0.02


def register(stack: Stack, farm: FarmProcess) -> list[str]:
    """Every farm feed, through the real registry (not timed)."""
    return register_urls(stack, [farm.url(i) for i in range(farm.feeds)])


def register_urls(stack: Stack, urls: list[str]) -> list[str]:
    assert stack.client is not None
    registry = FeedRegistry(stack.client, prefix=stack.prefix)
    now = datetime.now(UTC)
    return [registry.add(url, now=now)[0].id for url in urls]


def _redis_counts(stack: Stack) -> dict[str, Any]:
    assert stack.client is not None
    stats = stack.client.info("commandstats")
    memory = stack.client.info("memory")
    calls = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}
    return {"calls": calls, "used_memory": int(memory["used_memory"]),
            "ours": stack.tally.commands}  # fmt: skip


def _dispatch_all(stack: Stack, feeds: int) -> int:
    count = math.ceil(feeds / DISPATCH_BATCH)
    stack.dispatch(count)
    return count


def _due_now(stack: Stack) -> int:
    assert stack.client is not None
    return int(stack.client.zcount(f"{stack.prefix}feeds:due", "-inf", time.time()))


def _wait_polled(
    stack: Stack, ids: list[str], since: float, deadline: float, what: str
) -> tuple[float, int]:
    """Until every feed's last_polled_at is at or after `since` (whole seconds).

    Returns when that was seen and how many extra dispatches it took (a dispatch is
    sent again only if feeds are still due and unclaimed two seconds on).
    """
    assert stack.client is not None
    pending = list(ids)
    extra, nudge = 0, time.monotonic() + 2
    # One script call per check, not one HGET per feed from Python: the driver's
    # watching must not take the CPU the worker is being measured on.
    still = stack.client.register_script(_STILL_PENDING)
    mark = json.dumps(datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    while pending:
        keys = [f"{stack.prefix}feed:{feed_id}" for feed_id in pending]
        left = {int(i) for i in still(keys=keys, args=[mark])}
        pending = [feed_id for n, feed_id in enumerate(pending, start=1) if n in left]
        if not pending:
            break
        now = time.monotonic()
        if now > deadline:
            raise TimeoutError(f"{what}: {len(pending)} of {len(ids)} feeds not polled in time")
        if now > nudge:
            nudge = now + 2
            if _due_now(stack):
                stack.dispatch(1)
                extra += 1
        time.sleep(_POLL + len(pending) / 20_000)
    return time.perf_counter(), extra


# Positions (1-based) of the feed keys whose last_polled_at (a JSON string of an
# RFC 3339 UTC stamp, so stamps compare as text) is still before ARGV[1].
_STILL_PENDING = """
local left = {}
for i, key in ipairs(KEYS) do
  local stamp = redis.call('HGET', key, 'last_polled_at')
  if not stamp or stamp == 'null' or stamp < ARGV[1] then left[#left + 1] = i end
end
return left
"""


def _feed_health(stack: Stack, ids: list[str]) -> dict[str, int]:
    return _field_counts(stack, ids, "status", "missing")


def _field_counts(stack: Stack, ids: list[str], name: str, absent: str) -> dict[str, int]:
    """How many of the feeds have each value of their state field `name`."""
    assert stack.client is not None
    pipe = stack.client.pipeline(transaction=False)
    for feed_id in ids:
        pipe.hget(f"{stack.prefix}feed:{feed_id}", name)
    return dict(Counter(str(json.loads(v) or absent) if v else absent for v in pipe.execute()))


def cold_ingest(stack: Stack, farm: FarmProcess, ids: list[str], timeout: float) -> dict[str, Any]:
    """Entries/s from the dispatch until every entry is stored (ZCARD of idx:time)."""
    assert stack.client is not None
    expected = farm.feeds * farm.entries
    farm.mode("validators")
    farm.reset()
    before = _redis_counts(stack)
    deadline = time.monotonic() + timeout
    since = math.floor(time.time())
    started = time.perf_counter()
    dispatches = _dispatch_all(stack, len(ids))
    stored, nudge = 0, time.monotonic() + 2
    while (stored := int(stack.client.zcard(f"{stack.prefix}idx:time"))) < expected:
        now = time.monotonic()
        if now > deadline:
            health = _feed_health(stack, ids)
            raise TimeoutError(f"cold ingest: {stored} of {expected} entries stored; {health}")
        if now > nudge:
            nudge = now + 2
            if _due_now(stack):
                stack.dispatch(1)
                dispatches += 1
        time.sleep(_POLL)
    finished = time.perf_counter()
    # The schedule step follows the store: the counts cover whole polls.
    _, extra = _wait_polled(stack, ids, since, deadline, "cold ingest")
    after = _redis_counts(stack)
    seconds = finished - started
    # Our own reads between the two INFOs, and the first INFO itself, are not the worker's.
    ours = after["ours"] - before["ours"] - 1
    calls = Counter(after["calls"])
    calls.subtract(before["calls"])
    total = sum(calls.values()) - ours
    top = {name: round(n / stored, 2) for name, n in calls.most_common(8)}
    return {
        "entries": stored,
        "seconds": round(seconds, 3),
        "entries_per_s": round(stored / seconds, 1),
        "dispatches": dispatches + extra,
        "redis_commands_per_article": round(total / stored, 2),
        "redis_commands_per_article_top": top,
        "redis_bytes_per_article": round((after["used_memory"] - before["used_memory"]) / stored),
        "record_json_bytes_mean": round(_mean_record_bytes(stack)),
        "feed_status": _feed_health(stack, ids),
        "farm": farm.stats(),
    }


def _mean_record_bytes(stack: Stack) -> float:
    assert stack.client is not None
    keys = list(stack.client.scan_iter(match=f"{stack.prefix}article:*", count=1000))
    total = 0
    for start in range(0, len(keys), 1000):
        pipe = stack.client.pipeline(transaction=False)
        for key in keys[start : start + 1000]:
            pipe.strlen(key)
        total += sum(pipe.execute())
    return total / max(1, len(keys))


def warm_cycle(
    stack: Stack,
    farm: FarmProcess,
    ids: list[str],
    mode: str,
    timeout: float,
    *,
    rest: list[str] | None = None,
) -> dict[str, Any]:
    """Feeds/s for one cycle in which every feed is due now and nothing changed.

    With `rest`, every feed of `ids` is made due but the clock stops when the feeds
    of `rest` are polled, and the figure is theirs (the hung-host variant); then it
    waits for the others too (`seconds_all`) and reports how their polls ended.
    """
    assert stack.client is not None
    measured = ids if rest is None else rest
    # last_polled_at has whole seconds: start in a later second than any earlier poll.
    time.sleep(1.05 - time.time() % 1)
    farm.mode(mode)
    stack.client.zadd(f"{stack.prefix}feeds:due", dict.fromkeys(ids, time.time() - 1))
    farm.reset()
    since = math.floor(time.time())
    started = time.perf_counter()
    dispatches = _dispatch_all(stack, len(ids))
    deadline = time.monotonic() + timeout
    finished, extra = _wait_polled(stack, measured, since, deadline, f"warm {mode}")
    seconds = finished - started
    found: dict[str, Any] = {
        "feeds": len(measured),
        "seconds": round(seconds, 3),
        "feeds_per_s": round(len(measured) / seconds, 1),
        "dispatches": dispatches + extra,
        "farm": farm.stats(),
    }
    if rest is not None:
        others = sorted(set(ids) - set(rest))
        everything, more = _wait_polled(stack, others, since, deadline, f"warm {mode}, others")
        found.update(feeds_due=len(ids), seconds_all=round(everything - started, 3),
                     dispatches=found["dispatches"] + more, others=_feed_health(stack, others),
                     others_errors=_field_counts(stack, others, "last_error", "none"))  # fmt: skip
    found["feed_status"] = _feed_health(stack, ids)
    return found


def on_demand_poll(stack: Stack, farm: FarmProcess, feeds: int, timeout: float) -> dict[str, Any]:
    """Wall time of `python -m worker poll --all --wait --json` over every feed (all 304),
    and of the same command with no feeds registered (a key prefix with none): the
    CLI's start-up, connections and listing, which the scheduled path does not pay."""
    farm.mode("validators")
    farm.reset()
    command = [sys.executable, "-m", "worker", "poll", "--all", "--wait", "--json",
               "--timeout", str(timeout)]  # fmt: skip

    def run(env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
        started = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=stack.home, capture_output=True, text=True,
                              timeout=timeout + 60)  # fmt: skip
        return time.perf_counter() - started, done

    seconds, done = run(stack.env())
    stats = farm.stats()
    outcomes = Counter(
        json.loads(line).get("outcome") for line in done.stdout.splitlines() if line.strip()
    )
    if done.returncode != 0 or sum(outcomes.values()) != feeds or "failed" in outcomes:
        raise RuntimeError(
            f"poll --all exited {done.returncode} with {dict(outcomes)}: {done.stderr[-2000:]}"
        )
    empty_env = {**stack.env(), "NEWSWORKER_KEY_PREFIX": f"{stack.prefix}empty:"}
    empty_seconds, empty = run(empty_env)
    if empty.returncode != 0 or empty.stdout.strip():
        raise RuntimeError(f"poll --all with no feeds: {empty.returncode} {empty.stderr[-2000:]}")
    return {
        "feeds": feeds,
        "seconds": round(seconds, 3),
        "seconds_no_feeds": round(empty_seconds, 3),
        "seconds_net": round(seconds - empty_seconds, 3),
        "outcomes": dict(outcomes),
        "farm": stats,
    }


# --- article files ------------------------------------------------------------------------

_NAMES = ("Dana Whitfield", "Marco Bellini", "Priya Natarajan", "Tom Okafor")


def write_articles(folder: Path, count: int, seed: int) -> None:
    """`count` plain-text article files (DESIGN.md's format), about 1.5 KB each."""
    from bench.farm import _WORDS

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        title = " ".join(rng.choices(_WORDS, k=8)).capitalize()
        subtitle = " ".join(rng.choices(_WORDS, k=14)).capitalize() + "."
        paragraphs = [" ".join(rng.choices(_WORDS, k=50)).capitalize() + "." for _ in range(4)]
        name = rng.choice(_NAMES)
        handle = "@" + name.split()[0].lower()
        text = "\n\n".join(
            [title, f"URL: https://files.example/bench/{seed}/{n}", subtitle, *paragraphs,
             f"Author: {name}", f"{name} covers the harbour for the paper. {handle}"]
        )  # fmt: skip
        (folder / f"article-{n:05d}.txt").write_text(text + "\n", encoding="utf-8")


def file_ingest(
    stack: Stack, folder: Path, count: int, seed: int, timeout: float
) -> dict[str, Any]:
    """Files/s through `python -m worker enqueue DIR --wait --json` (CLI start-up included)."""
    write_articles(folder, count, seed)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "worker", "enqueue", str(folder), "--wait", "--json",
         "--timeout", str(timeout)],
        env=stack.env(), cwd=stack.home, capture_output=True, text=True, timeout=timeout + 60,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    outcomes = Counter(
        json.loads(line).get("outcome") for line in done.stdout.splitlines() if line.strip()
    )
    if done.returncode != 0 or outcomes.get("created") != count:
        raise RuntimeError(
            f"enqueue exited {done.returncode} with {dict(outcomes)}: {done.stderr[-2000:]}"
        )
    return {
        "files": count,
        "seconds": round(seconds, 3),
        "files_per_s": round(count / seconds, 1),
        "outcomes": dict(outcomes),
    }
