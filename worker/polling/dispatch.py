"""How the dispatcher splits the feeds it claimed into poll messages (pure)."""

from __future__ import annotations

from urllib.parse import urlsplit


def batches_by_host(urls: dict[str, str], size: int) -> list[list[str]]:
    """Feed ids in batches of about `size`, each host's feeds in one batch.

    A host's feeds are never split across batches (unless it has more than
    `size` of them): one process then holds the host's request slots and runs its
    feeds through them back to back, instead of processes taking turns at the
    slots. A batch waits for its slowest fetch: a hung host holds up only the
    batches of its own feeds. Hosts come in the order given (due time).
    """
    by_host: dict[str, list[str]] = {}
    for feed_id, url in urls.items():
        by_host.setdefault(urlsplit(url).hostname or "", []).append(feed_id)
    batches: list[list[str]] = []
    current: list[str] = []
    for ids in by_host.values():
        if current and len(current) + len(ids) > size:
            batches.append(current)
            current = []
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            if len(chunk) == size:
                batches.append(chunk)
            else:
                current += chunk
    return [*batches, current] if current else batches
