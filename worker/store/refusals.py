"""When Redis refuses a write: how to recognise it, and a probe that asks.

Redis answers a write it will not make with an error and keeps running:

- `OOM`: `maxmemory` reached under the `noeviction` policy (a database's policy);
- `MISCONF`: a background save failed and `stop-writes-on-bgsave-error` is on,
  or the append-only file could not be written (a full disk);
- `READONLY`: the server is a replica, e.g. after a failover;
- `BUSY`: a script has run past `busy-reply-threshold`;
- `NOREPLICAS`, `MASTERDOWN`: too few replicas, or a replica without its master;
- `LOADING`: the dataset is still being loaded at start-up;
- `UNBLOCKED`: a blocking read (the broker's BRPOP) cut short because the server
  just became a replica.

Each is transient: the same write succeeds once the operator (or Redis) has
freed memory, fixed the disk, or the failover has finished. The worker treats
them so: nothing is acknowledged, nothing is dropped, and it waits
(worker/runtime.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import redis

# redis-py names the command of a pipeline that failed, payload and all.
_PIPELINE_NOISE = re.compile(r"Command # \d+ \(.*?\) of pipeline caused error: ")
# From this share of maxmemory on, a store with the noeviction policy counts as full.
FULL = 0.95
_CODES = (
    "OOM", "MISCONF", "READONLY", "BUSY", "NOREPLICAS", "MASTERDOWN", "LOADING", "UNBLOCKED",
)  # fmt: skip
_CODE_IN_TEXT = re.compile(r"(?:^|[\s-])(" + "|".join(_CODES) + r") ")
# redis-py drops the code of the errors it has a class for: give it back.
_CLASSES: tuple[tuple[type[BaseException], str], ...] = (
    (redis.exceptions.OutOfMemoryError, "OOM"),
    (redis.exceptions.ReadOnlyError, "READONLY"),
    (redis.exceptions.MasterDownError, "MASTERDOWN"),
    (redis.exceptions.BusyLoadingError, "LOADING"),
)


def refusal(exc: BaseException) -> str | None:
    """Why Redis refused a write, e.g. "OOM command not allowed when used memory >
    'maxmemory'", when `exc` (or what caused it) is such a refusal; else None."""
    for error in _chain(exc):
        text = _PIPELINE_NOISE.sub("", " ".join(str(error).split()))[:300]
        for cls, code in _CLASSES:
            if isinstance(error, cls):
                return text if text.startswith(code) else f"{code} {text}"
        if isinstance(error, redis.exceptions.ResponseError):
            # A refusal inside a script comes back inside the script's error
            # ("... @user_script: 6: -OOM command not allowed ..." on Redis 6).
            found = _CODE_IN_TEXT.search(text)
            if found:
                return text[found.start(1) :]
    return None


def probe(client: redis.Redis, key: str) -> str | None:
    """Ask with one tiny write whether the server accepts writes now: None, or why not.

    Errors that are not refusals (the server is unreachable) propagate.
    """
    try:
        client.set(key, "1", px=10_000)
    except redis.RedisError as exc:
        reason = refusal(exc)
        if reason is None:
            raise
        return reason
    return None


def refusing(client: redis.Redis, key: str) -> str | None:
    """Whether the server refuses writes now, for a report: the probe's answer, or
    OOM when memory is at the brim (a tiny probe slips through below the limit
    while every record write, being larger, still pushes it over)."""
    reason = probe(client, key)
    if reason is not None:
        return reason
    memory = client.info("memory")
    used, limit = int(memory.get("used_memory", 0)), int(memory.get("maxmemory", 0))
    if limit and memory.get("maxmemory_policy") == "noeviction" and used >= FULL * limit:
        return f"OOM used memory at {100 * used / limit:.1f} % of maxmemory"
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__  # what was raised `from` it, never what it interrupted
