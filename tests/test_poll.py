"""One poll of one feed, in-process, against a local HTTP server and the throwaway Redis."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import redis
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.documents import FEEDS, rss_document, rss_item, serve_feed
from tests.documents import POLL_NOW as NOW
from tests.support import Cli, RedisServer
from worker.inputs.fetch import Fetcher
from worker.log import get_logger
from worker.model import Article
from worker.normalise.dates import format_utc
from worker.polling.poll import Poller
from worker.runtime import fetch_config
from worker.settings import Settings
from worker.store.hostslots import HostSlots
from worker.store.services import open_services


@pytest.fixture
def poller(redis_server: RedisServer, prefix: str) -> Iterator[Poller]:
    settings = Settings(
        redis_url=redis_server.url,
        key_prefix=prefix,
        allow_private_networks=True,
        fetch_timeout=3,
        fetch_connect_timeout=2,
        feed_broken_after=3,
    )
    svc = open_services(settings)
    slots = HostSlots(svc.client, prefix=prefix, limit=2, lease_seconds=30)
    fetcher = Fetcher(fetch_config(settings))
    yield Poller(svc, fetcher, slots, settings, random.Random(3), get_logger("test"))
    fetcher.close()


def add(poller: Poller, url: str) -> str:
    state, _ = poller.svc.feeds.add(url, now=NOW)
    return state.id


def records(client: redis.Redis, prefix: str) -> list[dict]:
    keys = sorted(client.scan_iter(match=f"{prefix}article:*"))
    return [json.loads(client.get(k)) for k in keys]


@pytest.mark.parametrize(
    ("fixture", "count", "title"),
    [
        ("rss20.xml", 2, "Harbour reopens after storm"),
        ("rss091.xml", 1, "Café opens downtown"),
        ("rss10.rdf", 1, "First RDF item"),
        ("atom03.xml", 1, "Legacy Atom entry"),
        ("atom10.xml", 1, "Atom entry with content"),
        ("feed.json", 1, "JSON Feed item"),
        ("feed_v1.json", 1, "JSON Feed 1.0 item"),
        ("illformed.xml", 2, "Still readable entry"),
        ("wrong_charset.xml", 1, "Café crème news"),
    ],
)
def test_formats(
    poller: Poller, httpserver: HTTPServer, rclient: redis.Redis, prefix: str,
    fixture: str, count: int, title: str,
) -> None:  # fmt: skip
    feed_id = add(poller, serve_feed(httpserver, fixture))
    outcome = poller.poll(feed_id, now=NOW)
    assert outcome.outcome == "ok", outcome
    assert (outcome.new, outcome.http_status) == (count, 200)
    stored = records(rclient, prefix)
    assert title in [r["title"] for r in stored]
    for record in stored:
        assert record["source"]["kind"] == "feed"
        assert record["source"]["feed_url"] == poller.svc.feeds.get(feed_id).url
        assert "<p>" not in record["body"]
    state = poller.svc.feeds.get(feed_id)
    assert state.status == "ok"
    assert state.entries_total == count


def test_rss_entry_fields(
    poller: Poller, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    poller.poll(add(poller, serve_feed(httpserver, "rss20.xml")), now=NOW)
    harbour = next(r for r in records(rclient, prefix) if r["title"].startswith("Harbour"))
    assert harbour["url"] == "https://news.example/2024/harbour"
    assert harbour["published_at"] == "2024-03-05T08:30:00Z"
    assert [a["name"] for a in harbour["authors"]] == ["Jane Doe", "John Smith"]
    assert harbour["tags"] == ["Weather"]
    assert harbour["body"].startswith("The harbour reopened on Tuesday after a storm")
    assert "Ferries resumed at noon & traffic was light." in harbour["body"]
    assert harbour["language"] == "en"


def test_etag_304_skips_parsing_and_writes_nothing(
    poller: Poller, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    body = (FEEDS / "rss20.xml").read_bytes()

    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(body, headers={"ETag": '"v1"'}, content_type="application/rss+xml")

    httpserver.expect_request("/feed").respond_with_handler(handler)
    feed_id = add(poller, httpserver.url_for("/feed"))
    assert poller.poll(feed_id, now=NOW).outcome == "ok"
    events = rclient.xlen(f"{prefix}events")
    second = poller.poll(feed_id, now=NOW + timedelta(hours=1))
    assert (second.outcome, second.http_status) == ("not_modified", 304)
    assert rclient.xlen(f"{prefix}events") == events
    state = poller.svc.feeds.get(feed_id)
    assert state.etag == '"v1"'
    assert state.last_status == 304


def test_last_modified_304(poller: Poller, httpserver: HTTPServer) -> None:
    stamp = "Tue, 05 Mar 2024 10:00:00 GMT"
    body = (FEEDS / "atom10.xml").read_bytes()

    def handler(request: Request) -> Response:
        if request.headers.get("If-Modified-Since") == stamp:
            return Response(status=304)
        return Response(body, headers={"Last-Modified": stamp}, content_type="application/atom+xml")

    httpserver.expect_request("/feed").respond_with_handler(handler)
    feed_id = add(poller, httpserver.url_for("/feed"))
    assert poller.poll(feed_id, now=NOW).outcome == "ok"
    assert poller.poll(feed_id, now=NOW).outcome == "not_modified"
    assert poller.svc.feeds.get(feed_id).last_modified == stamp


def test_no_validators_identical_body_is_not_modified(
    poller: Poller, httpserver: HTTPServer
) -> None:
    feed_id = add(poller, serve_feed(httpserver, "atom10.xml"))
    assert poller.poll(feed_id, now=NOW).outcome == "ok"
    again = poller.poll(feed_id, now=NOW)
    assert (again.outcome, again.http_status) == ("not_modified", 200)


def test_changed_entry_is_an_update_and_unchanged_writes_nothing(
    poller: Poller, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    original = (FEEDS / "rss20.xml").read_bytes()
    bodies = [original, original.replace(b"seven votes to two", b"eight votes to one")]
    httpserver.expect_ordered_request("/feed").respond_with_data(bodies[0])
    httpserver.expect_ordered_request("/feed").respond_with_data(bodies[1])
    feed_id = add(poller, httpserver.url_for("/feed"))
    poller.poll(feed_id, now=NOW)
    second = poller.poll(feed_id, now=NOW + timedelta(minutes=10))
    assert (second.new, second.updated, second.unchanged) == (0, 1, 1)
    budget = next(r for r in records(rclient, prefix) if r["title"].startswith("Council"))
    assert budget["version"] == 2
    types = [e[1]["type"] for e in rclient.xrange(f"{prefix}events")]
    assert types == ["created", "created", "updated"]


def test_guidless_and_duplicate_guid_entries_stay_apart(
    poller: Poller, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    for name, path in (("no_guids.xml", "/a"), ("dup_guids.xml", "/b")):
        feed_id = add(poller, serve_feed(httpserver, name, path))
        first = poller.poll(feed_id, now=NOW)
        assert first.new == 2, first
        Article.model_validate(records(rclient, prefix)[0])
    assert len(records(rclient, prefix)) == 4


def test_permanent_redirect_moves_the_feed_temporary_does_not(
    poller: Poller, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": "/new"}
    )
    httpserver.expect_request("/temp").respond_with_data(
        "", status=302, headers={"Location": "/new"}
    )
    serve_feed(httpserver, "atom10.xml", "/new")
    moved = add(poller, httpserver.url_for("/old"))
    assert poller.poll(moved, now=NOW).outcome == "ok"
    assert poller.svc.feeds.get(moved).url == httpserver.url_for("/new")
    assert poller.svc.feeds.find(httpserver.url_for("/new")).id == moved
    # Adding the old URL again (a feeds.yaml sync at every start does) finds the moved
    # feed as it is, instead of a fresh feed overwriting it under the same id.
    again, created = poller.svc.feeds.add(httpserver.url_for("/old"), now=NOW)
    assert (again.id, again.url, created) == (moved, httpserver.url_for("/new"), False)
    assert poller.svc.feeds.get(moved).entries_total == 1
    temporary = add(poller, httpserver.url_for("/temp"))
    assert poller.poll(temporary, now=NOW).outcome == "ok"
    assert poller.svc.feeds.get(temporary).url == httpserver.url_for("/temp")


def test_gone_disables_the_feed(poller: Poller, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data("gone", status=410)
    feed_id = add(poller, httpserver.url_for("/feed"))
    outcome = poller.poll(feed_id, now=NOW)
    assert (outcome.outcome, outcome.http_status) == ("failed", 410)
    state = poller.svc.feeds.get(feed_id)
    assert state.status == "disabled"
    assert state.next_poll_at is None
    assert poller.svc.client.zscore(poller.svc.feeds.due_key, feed_id) is None
    assert poller.poll(feed_id, now=NOW).error == "feed is disabled"


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(poller: Poller, httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        "slow down", status=status, headers={"Retry-After": "7200"}
    )
    feed_id = add(poller, httpserver.url_for("/feed"))
    outcome = poller.poll(feed_id, now=NOW)
    assert (outcome.outcome, outcome.http_status) == ("failed", status)
    state = poller.svc.feeds.get(feed_id)
    assert state.status == "error"
    assert state.error_count == 1
    assert format_utc(state.next_poll_at) == "2026-03-10T14:00:00Z"
    due = poller.svc.client.zscore(poller.svc.feeds.due_key, feed_id)
    assert due == (NOW + timedelta(hours=2)).timestamp()


def test_errors_back_off_mark_broken_and_one_success_resets(
    poller: Poller, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed").respond_with_data("oops", status=500)
    feed_id = add(poller, httpserver.url_for("/feed"))
    waits = []
    for attempt in range(3):
        poller.poll(feed_id, now=NOW)
        state = poller.svc.feeds.get(feed_id)
        waits.append(state.next_poll_at - NOW)
        assert state.error_count == attempt + 1
    assert waits[0] < waits[1] < waits[2]
    # Never sooner than a healthy feed would be polled (min interval 5 min, -10 % jitter).
    assert waits[0] >= timedelta(minutes=4.5)
    assert state.status == "broken"  # broken_after=3 in this fixture
    assert "500" in state.last_error
    httpserver.clear()
    serve_feed(httpserver, "atom10.xml")
    assert poller.poll(feed_id, now=NOW).outcome == "ok"
    state = poller.svc.feeds.get(feed_id)
    assert (state.status, state.error_count, state.last_error) == ("ok", 0, None)


def test_unparseable_document_is_an_error_on_the_feed(
    poller: Poller, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        "<html><body>not a feed</body></html>", content_type="text/html"
    )
    feed_id = add(poller, httpserver.url_for("/feed"))
    outcome = poller.poll(feed_id, now=NOW)
    assert outcome.outcome == "failed"
    assert poller.svc.feeds.get(feed_id).status == "error"


def test_loopback_refused_unless_allowed(poller: Poller, httpserver: HTTPServer) -> None:
    strict = Settings(redis_url="redis://unused", allow_private_networks=False)
    poller.fetcher = Fetcher(fetch_config(strict))
    feed_id = add(poller, serve_feed(httpserver, "atom10.xml"))
    outcome = poller.poll(feed_id, now=NOW)
    assert outcome.outcome == "failed"
    assert "127.0.0.1" in (outcome.error or "")


def busy_feed(ttl_minutes: int, *, padding: int = 0) -> bytes:
    """48 entries an hour apart up to NOW: its own rhythm is hourly."""
    items = (
        rss_item(
            f"Hourly {n}",
            guid=f"h{n}",
            published=NOW - timedelta(hours=n),
            description=f"Entry number {n}.",
        )
        for n in range(48)
    )
    # A long channel description pushes <ttl> far into the document.
    filler = "x" * padding
    channel = f"<link>http://hourly.example/</link><description>{filler}</description>"
    return rss_document(items, title="Hourly", channel=f"{channel}<ttl>{ttl_minutes}</ttl>")


def wait_after(poller: Poller, feed_id: str, now: datetime) -> timedelta:
    state = poller.svc.feeds.get(feed_id)
    return state.next_poll_at - now


def test_next_poll_follows_ttl_hint_even_on_a_304(poller: Poller, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/quick").respond_with_data(busy_feed(1))
    httpserver.expect_request("/ttl").respond_with_data(
        busy_feed(20 * 60, padding=20_000), headers={"ETag": '"t1"'}
    )
    quick = add(poller, httpserver.url_for("/quick"))
    poller.poll(quick, now=NOW)
    # A tiny ttl does not shorten the feed's own rhythm (1 h ± 10 %).
    assert timedelta(minutes=54) <= wait_after(poller, quick, NOW) <= timedelta(minutes=66)
    slow = add(poller, httpserver.url_for("/ttl"))
    poller.poll(slow, now=NOW)
    # <ttl>1200</ttl>, 20 KB into the document, lengthens it to 20 h (under the 24 h max).
    assert timedelta(hours=18) <= wait_after(poller, slow, NOW) <= timedelta(hours=22)
    httpserver.clear()
    httpserver.expect_request("/ttl").respond_with_data("", status=304)
    later = NOW + timedelta(hours=20)
    assert poller.poll(slow, now=later).outcome == "not_modified"
    assert timedelta(hours=18) <= wait_after(poller, slow, later) <= timedelta(hours=22)


def test_entry_that_changes_on_every_poll_is_not_updated_forever(
    poller: Poller, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    # A feed that stamps the render time into its only entry, polled every 5 minutes
    # for two days: each poll sees different content under the same guid.
    polls = 2 * 24 * 12
    template = (FEEDS / "rss20.xml").read_bytes()
    state = {"n": 0}

    def handler(_: Request) -> Response:
        state["n"] += 1
        body = template.replace(b"seven votes to two", b"rendered at tick %d" % state["n"])
        return Response(body, content_type="application/rss+xml")

    httpserver.expect_request("/churn").respond_with_handler(handler)
    feed_id = add(poller, httpserver.url_for("/churn"))
    for tick in range(polls):
        poller.poll(feed_id, now=NOW + timedelta(minutes=5 * tick))
    budget = next(r for r in records(rclient, prefix) if r["title"].startswith("Council"))
    # Versions come ever further apart (5, 10, 20, ... minutes): about log2 of the span.
    assert 5 <= budget["version"] <= 12, budget["version"]
    assert "rendered at tick" in budget["body"]
    updates = [e for e in rclient.xrange(f"{prefix}events") if e[1]["type"] == "updated"]
    assert len(updates) == budget["version"] - 1


def test_duplicate_claim_is_skipped_without_a_request(
    poller: Poller, httpserver: HTTPServer
) -> None:
    feed_id = add(poller, serve_feed(httpserver, "atom10.xml"))
    assert poller.poll(feed_id, now=NOW, claimed_at=NOW).outcome == "ok"
    requests = len(httpserver.log)
    # Claimed again before that poll ran (its lease ran out in a backlog): a duplicate.
    late = poller.poll(feed_id, now=NOW + timedelta(seconds=5), claimed_at=NOW)
    assert late.outcome == "skipped"
    assert len(httpserver.log) == requests
    # A later claim is a real poll.
    later = NOW + timedelta(hours=1)
    assert poller.poll(feed_id, now=later, claimed_at=later).outcome == "not_modified"


def test_removed_feed_is_unscheduled_and_stays_removed(
    poller: Poller, httpserver: HTTPServer
) -> None:
    feeds = poller.svc.feeds
    feed_id = add(poller, serve_feed(httpserver, "atom10.xml"))
    state = feeds.get(feed_id)
    assert feeds.remove(feed_id)
    # A poll that read the state before the removal writes it back: dropped.
    assert not feeds.save(state.model_copy(update={"error_count": 1}), due=NOW)
    assert feeds.get(feed_id) is None
    assert feeds.claim_due(NOW, limit=10, lease_seconds=60) == []
    # A ghost id left in the due set is unscheduled by the poll that finds no feed.
    poller.svc.client.zadd(feeds.due_key, {"ghost": NOW.timestamp()})
    assert poller.poll("ghost", now=NOW).outcome == "failed"
    assert poller.svc.client.zscore(feeds.due_key, "ghost") is None
    feeds.schedule("ghost", NOW)  # moving a poll never schedules a removed feed
    assert poller.svc.client.zscore(feeds.due_key, "ghost") is None


def test_busy_host_puts_the_poll_off_briefly(poller: Poller, httpserver: HTTPServer) -> None:
    feed_id = add(poller, serve_feed(httpserver, "atom10.xml"))
    host = "localhost" if "localhost" in httpserver.url_for("/") else "127.0.0.1"
    for token in ("a", "b"):  # the host's two slots, held by other polls
        assert poller.slots.try_acquire(host, token)
    poller.settings.host_slot_wait = 0.2
    outcome = poller.poll(feed_id, now=NOW)
    assert (outcome.outcome, len(httpserver.log)) == ("failed", 0)
    assert "busy" in outcome.error
    due = poller.svc.client.zscore(poller.svc.feeds.due_key, feed_id)
    assert NOW.timestamp() + 5 <= due <= NOW.timestamp() + 15
    assert poller.svc.feeds.get(feed_id).error_count == 0  # not the feed's fault
    poller.slots.release(host, "a")
    assert poller.poll(feed_id, now=NOW).outcome == "ok"
    # The slot went back after the fetch: one is free again besides "b".
    assert poller.slots.try_acquire(host, "c")


def test_json_feed_version_1_fields(
    poller: Poller, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    poller.poll(add(poller, serve_feed(httpserver, "feed_v1.json")), now=NOW)
    (record,) = records(rclient, prefix)
    assert record["url"] == "https://json1.example/a"
    assert record["authors"] == [{"name": "Ana Ruiz", "bio": None, "handles": []}]
    assert record["published_at"] == "2024-03-04T08:00:00Z"
    assert record["summary"] == "Short summary of the item."
    assert record["body"] == "First paragraph of the version 1 item.\n\nSecond paragraph."
    assert record["tags"] == ["science"]


def test_feeds_list_shows_a_broken_feed(poller: Poller, httpserver: HTTPServer, cli: Cli) -> None:
    httpserver.expect_request("/down").respond_with_data("oops", status=503)
    feed_id = add(poller, httpserver.url_for("/down"))
    for attempt in range(3):  # broken_after=3 in this fixture
        poller.poll(feed_id, now=NOW + timedelta(hours=attempt))
    done = cli.run("feeds", "list")
    assert done.returncode == 0, done.stderr
    (row,) = [line for line in done.stdout.splitlines() if line.startswith(feed_id)]
    assert row.split()[1:4] == ["broken", "503", "0"], row
    code, docs = cli.json_lines("feeds", "show", feed_id, "--json")
    assert (code, docs[0]["status"], docs[0]["error_count"]) == (0, "broken", 3)
    code, status = cli.json_lines("status", "--json")
    assert status[0]["feeds"] == {"total": 1, "ok": 0, "error": 0, "broken": 1, "disabled": 0}


def test_a_poll_that_never_finishes_counts_as_an_error(
    poller: Poller, httpserver: HTTPServer
) -> None:
    feed_id = add(poller, serve_feed(httpserver, "atom10.xml"))
    outcome = poller.give_up(feed_id, "given up after 6 deliveries", now=NOW)
    assert outcome.outcome == "failed"
    state = poller.svc.feeds.get(feed_id)
    assert (state.status, state.error_count) == ("error", 1)
    assert "6 deliveries" in state.last_error
    assert poller.svc.client.zscore(poller.svc.feeds.due_key, feed_id) > NOW.timestamp()
    assert poller.give_up("nope", "x", now=NOW).error == "no feed with id nope"


def test_a_held_back_change_lands_when_the_document_stays_the_same(
    poller: Poller, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    original = (FEEDS / "rss20.xml").read_bytes()
    served = {"body": original, "etag": '"v1"'}

    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == served["etag"]:
            return Response(status=304, headers={"ETag": served["etag"]})
        return Response(served["body"], headers={"ETag": served["etag"]})

    httpserver.expect_request("/held").respond_with_handler(handler)
    feed_id = add(poller, httpserver.url_for("/held"))
    poller.poll(feed_id, now=NOW)
    # A correction without a new date, one minute later: held back (5 min for version 1).
    served.update(body=original.replace(b"seven votes to two", b"eight votes to one"), etag='"v2"')
    held = poller.poll(feed_id, now=NOW + timedelta(minutes=1))
    assert (held.outcome, held.updated) == ("ok", 0)
    # The document does not change again. The next poll must still see it, not a 304.
    later = poller.poll(feed_id, now=NOW + timedelta(minutes=10))
    assert (later.outcome, later.updated) == ("ok", 1)
    budget = next(r for r in records(rclient, prefix) if r["title"].startswith("Council"))
    assert (budget["version"], "eight votes" in budget["body"]) == (2, True)
    # Nothing held back any more: validators are kept again and the next poll is a 304.
    assert poller.poll(feed_id, now=NOW + timedelta(minutes=20)).outcome == "not_modified"


def test_a_moved_feed_keeps_its_entries_records_and_index(
    poller: Poller, httpserver: HTTPServer, rclient: redis.Redis, prefix: str, cli: Cli
) -> None:
    # Entries with a guid and no link: their identity is the guid, scoped by the feed.
    document = rss_document(
        [
            rss_item("Guid only one", guid="g-1", description="First."),
            rss_item("Guid only two", guid="g-2", description="Second."),
        ],
        title="Guids",
        channel="<link>http://guids.example/</link><description>x</description>",
    )
    httpserver.expect_request("/before").respond_with_data(
        "", status=301, headers={"Location": "/after"}
    )
    bodies = iter([document, document.replace(b"<description>x", b"<description>y")])
    httpserver.expect_request("/after").respond_with_handler(
        lambda _: Response(next(bodies), content_type="application/rss+xml")
    )
    feed_id = add(poller, httpserver.url_for("/before"))
    assert poller.poll(feed_id, now=NOW).new == 2
    assert poller.svc.feeds.get(feed_id).url == httpserver.url_for("/after")
    # Polled at its new URL (the channel changed, so it is parsed again): the same
    # entries, not two more records.
    again = poller.poll(feed_id, now=NOW + timedelta(hours=1))
    assert (again.new, again.unchanged) == (0, 2), again
    assert len(records(rclient, prefix)) == 2
    code, listed = cli.json_lines("articles", "list", "--feed", feed_id, "--json")
    assert code == 0
    assert sorted(r["title"] for r in listed) == ["Guid only one", "Guid only two"]
