"""The feed registry, the dispatcher's claim, per-host slots and the feeds file (real Redis)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import redis

from tests.documents import POLL_NOW as NOW
from worker.errors import BadInput
from worker.normalise.dates import format_utc
from worker.polling.feeds_file import parse_feeds_yaml, parse_opml, to_opml
from worker.store.feeds import FeedRegistry
from worker.store.hostslots import HostSlots


@pytest.fixture
def registry(rclient: redis.Redis, prefix: str) -> FeedRegistry:
    return FeedRegistry(rclient, prefix=prefix)


def test_add_is_due_at_once_and_idempotent(registry: FeedRegistry) -> None:
    state, created = registry.add("HTTPS://News.Example/feed.xml#top", now=NOW, name="News")
    assert created
    assert state.url == "https://news.example/feed.xml"
    assert format_utc(state.next_poll_at) == "2026-03-10T12:00:00Z"
    assert (state.status, state.error_count, state.entries_total) == ("ok", 0, 0)
    again, created = registry.add("https://news.example/feed.xml", now=NOW + timedelta(days=1))
    assert not created
    assert again.id == state.id
    assert registry.claim_due(NOW, limit=10, lease_seconds=60) == [state.id]
    assert registry.find(state.id) == registry.find("https://news.example/feed.xml")


@pytest.mark.parametrize(
    "url", ["ftp://x.example/feed", "file:///etc/passwd", "javascript:alert(1)", "not a url", ""]
)
def test_only_http_urls_are_accepted(registry: FeedRegistry, url: str) -> None:
    with pytest.raises(BadInput, match="not an http"):
        registry.add(url, now=NOW)


def test_claim_is_atomic_two_schedulers_never_take_the_same_feed(
    registry: FeedRegistry, redis_server, prefix: str
) -> None:
    ids = {registry.add(f"https://h{i}.example/feed", now=NOW)[0].id for i in range(200)}
    claimed: list[list[str]] = [[], []]
    barrier = threading.Barrier(2)

    def scheduler(slot: int) -> None:
        mine = FeedRegistry(redis_server.client(), prefix=prefix)
        barrier.wait()
        for _ in range(20):
            claimed[slot] += mine.claim_due(NOW, limit=7, lease_seconds=300)

    threads = [threading.Thread(target=scheduler, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not set(claimed[0]) & set(claimed[1])
    assert set(claimed[0]) | set(claimed[1]) == ids
    # Claimed feeds are leased: not due again until the lease runs out.
    assert registry.claim_due(NOW + timedelta(seconds=299), limit=500, lease_seconds=300) == []
    assert (
        len(registry.claim_due(NOW + timedelta(seconds=301), limit=500, lease_seconds=300)) == 200
    )


def test_remove_forgets_the_feed(registry: FeedRegistry) -> None:
    state, _ = registry.add("https://gone.example/feed", now=NOW)
    assert registry.remove(state.id)
    assert registry.get(state.id) is None
    assert registry.find("https://gone.example/feed") is None
    assert registry.claim_due(NOW, limit=10, lease_seconds=1) == []
    assert not registry.remove(state.id)


def test_sync_from_file_adds_changes_removes_and_leaves_cli_feeds(registry: FeedRegistry) -> None:
    manual, _ = registry.add("https://manual.example/feed", now=NOW)
    registry.sync(
        [{"url": "https://a.example/feed", "name": "A"}, {"url": "https://b.example/feed"}], now=NOW
    )
    names = {s.url: (s.name, s.origin) for s in registry.all()}
    assert names["https://a.example/feed"] == ("A", "file")
    counts = registry.sync(
        [{"url": "https://a.example/feed", "name": "A2", "interval": 900}], now=NOW
    )
    assert counts == {"added": 0, "changed": 1, "removed": 1}
    states = {s.url: s for s in registry.all()}
    assert set(states) == {"https://a.example/feed", manual.url}
    assert (states["https://a.example/feed"].name, states["https://a.example/feed"].interval) == (
        "A2",
        900,
    )
    again = registry.sync(
        [{"url": "https://a.example/feed", "name": "A2", "interval": 900}], now=NOW
    )
    assert again == {"added": 0, "changed": 0, "removed": 0}
    # A setting taken out of the file goes back to its default.
    assert registry.sync([{"url": "https://a.example/feed", "name": "A2"}], now=NOW) == {
        "added": 0,
        "changed": 1,
        "removed": 0,
    }
    assert registry.find("https://a.example/feed").interval is None


def test_sync_keeps_a_command_line_feed_that_the_file_also_lists(registry: FeedRegistry) -> None:
    manual, _ = registry.add("https://both.example/feed", now=NOW)
    registry.sync([{"url": "https://both.example/feed", "name": "From file"}], now=NOW)
    state = registry.get(manual.id)
    assert (state.name, state.origin) == ("From file", "cli")
    registry.sync([], now=NOW)  # dropped from the file: still there until `feeds remove`
    assert registry.get(manual.id) is not None


def test_host_slots_limit_concurrency_and_expire(rclient: redis.Redis, prefix: str) -> None:
    slots = HostSlots(rclient, prefix=prefix, limit=2, lease_seconds=1)
    assert slots.try_acquire("Feeds.Example", "a")
    assert slots.try_acquire("feeds.example", "b")
    assert not slots.try_acquire("feeds.example", "c")
    assert slots.try_acquire("other.example", "d")
    slots.release("feeds.example", "a")
    assert slots.try_acquire("feeds.example", "c")
    with slots.hold("feeds.example", wait=0.1) as held:
        assert not held
    with slots.hold("feeds.example", wait=3) as held:  # the 1 s leases run out
        assert held


def test_feeds_yaml() -> None:
    text = """
feeds:
  - url: https://a.example/rss
    name: A
    interval: 900
    tags: [world]
  - https://b.example/atom
"""
    assert parse_feeds_yaml(text) == [
        {"url": "https://a.example/rss", "name": "A", "interval": 900.0, "tags": ["world"]},
        {"url": "https://b.example/atom"},
    ]
    with pytest.raises(BadInput, match="feed 1: interval"):
        parse_feeds_yaml("feeds:\n  - url: https://a.example\n    interval: -5\n")
    with pytest.raises(BadInput, match="feed 1: colour"):
        parse_feeds_yaml("feeds:\n  - url: https://a.example\n    colour: red\n")
    with pytest.raises(BadInput, match=r"feed 2: url: .*not an http"):
        parse_feeds_yaml("feeds:\n  - https://a.example/rss\n  - ftp://b.example/feed\n")
    with pytest.raises(BadInput, match="not valid YAML"):
        parse_feeds_yaml("feeds: [")
    assert parse_feeds_yaml("feeds: []") == []


def test_opml_round_trip(registry: FeedRegistry) -> None:
    opml = b"""<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>
    <outline text="News"><outline text="A" title="A feed" type="rss" xmlUrl="https://a.example/rss"/></outline>
    <outline text="B" type="rss" xmlUrl="https://b.example/atom"/></body></opml>"""
    entries = parse_opml(opml)
    assert entries == [
        {"url": "https://a.example/rss", "name": "A feed"},
        {"url": "https://b.example/atom", "name": "B"},
    ]
    for entry in entries:
        registry.add(entry["url"], now=NOW, name=entry["name"])
    exported = parse_opml(to_opml(registry.all()))
    assert sorted(e["url"] for e in exported) == ["https://a.example/rss", "https://b.example/atom"]
    with pytest.raises(BadInput):
        parse_opml(b"<opml><body/></opml>")
    entity_bomb = (
        b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b'<opml><body><outline xmlUrl="&b;"/></body></opml>'
    )
    with pytest.raises(BadInput, match="entity declarations"):
        parse_opml(entity_bomb)
