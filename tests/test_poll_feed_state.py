"""One poll of one feed, in-process, against a local HTTP server and the throwaway Redis:
what it makes of the feed. Redirects that move it, 410 and Retry-After, errors with
back-off and `broken`, the next poll time from a feed's hints, duplicate claims,
removed feeds, busy hosts, and polls that never finish. What a poll stores is in
tests/test_poll.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer

from tests.documents import POLL_NOW as NOW
from tests.documents import rss_document, rss_item, serve_feed
from tests.polling import add
from tests.support import Cli
from worker.inputs.fetch import Fetcher
from worker.normalise.dates import format_utc
from worker.polling.poll import Poller
from worker.runtime import fetch_config
from worker.settings import Settings


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


def test_feeds_list_shows_a_broken_feed(poller: Poller, httpserver: HTTPServer, cli: Cli) -> None:
    httpserver.expect_request("/down").respond_with_data("oops", status=503)
    feed_id = add(poller, httpserver.url_for("/down"))
    for attempt in range(3):  # broken_after=3 in this fixture
        poller.poll(feed_id, now=NOW + timedelta(hours=attempt))
    done = cli.run("feeds", "list")
    assert done.returncode == 0, done.stderr
    (row,) = [line for line in done.stdout.splitlines() if line.startswith(feed_id)]
    # Added (on the test's clock) months ago, never polled with success: flagged.
    assert row.split()[1:4] == ["!broken", "503", "0"], row
    code, listed = cli.json_lines("feeds", "list", "--json")
    assert [f["failing"] for f in listed] == [True]
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
