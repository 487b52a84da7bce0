"""One poll of one feed, in-process, against a local HTTP server and the throwaway Redis:
what it reads and stores. Every format, the fields of an entry, conditional GET
(a 304 or an identical body writes nothing), updates and held-back changes, and
entries that keep their identity. What a poll makes of the feed itself (status,
errors, next poll, claims) is in tests/test_poll_feed_state.py.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import redis
import structlog
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.documents import FEEDS, rss_document, rss_item, serve_feed
from tests.documents import POLL_NOW as NOW
from tests.polling import add, records
from tests.support import Cli
from worker.model import Article
from worker.polling.poll import Poller


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


@pytest.mark.parametrize(
    ("case", "content_type"),
    [
        ("legacy_ru_koi8_r.rss", "application/rss+xml; charset=koi8-r"),  # declared ISO-8859-1
        ("legacy_ja_euc_jp.rss", "text/xml; charset=ISO-8859-1"),  # undeclared
        ("legacy_zh_tw_big5.rss", "application/rss+xml"),  # declared UTF-8
    ],
)
def test_legacy_encodings(
    poller: Poller, httpserver: HTTPServer, rclient: redis.Redis, prefix: str,
    case: str, content_type: str,
) -> None:  # fmt: skip
    """A feed in a legacy encoding, with a right, wrong or no charset, stores no mojibake."""
    cases = FEEDS.parent / "cases"
    httpserver.expect_request("/feed").respond_with_data(
        (cases / case).read_bytes(), content_type=content_type
    )
    outcome = poller.poll(add(poller, httpserver.url_for("/feed")), now=NOW)
    assert (outcome.outcome, outcome.new) == ("ok", 1), outcome
    want = json.loads((cases / case.replace(".rss", ".expected.json")).read_text("utf-8"))
    [stored] = records(rclient, prefix)
    assert (stored["title"], stored["body"]) == (want["title"], want["body"])


def test_feed_without_entries_and_with_a_recovered_error_is_ok_and_logs_the_error(
    poller: Poller, httpserver: HTTPServer
) -> None:
    feed_id = add(poller, serve_feed(httpserver, "empty_malformed.xml"))
    with structlog.testing.capture_logs() as events:
        outcome = poller.poll(feed_id, now=NOW)
    assert (outcome.outcome, outcome.new, outcome.error) == ("ok", 0, None)
    [parse] = [e for e in events if e["event"] == "parse"]
    assert parse["log_level"] == "warning"
    assert parse["warning"] == "malformed feed: line 2, column 45: not well-formed (invalid token)"
    assert poller.svc.feeds.get(feed_id).status == "ok"


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
    # Counted as held back, not as unchanged (the feed's other entry is).
    assert (held.outcome, held.updated, held.held_back, held.unchanged) == ("ok", 0, 1, 1)
    # The document does not change again. The next poll must still see it, not a 304.
    later = poller.poll(feed_id, now=NOW + timedelta(minutes=10))
    assert (later.outcome, later.updated) == ("ok", 1)
    budget = next(r for r in records(rclient, prefix) if r["title"].startswith("Council"))
    assert (budget["version"], "eight votes" in budget["body"]) == (2, True)
    # Nothing held back any more: validators are kept again and the next poll is a 304.
    assert poller.poll(feed_id, now=NOW + timedelta(minutes=20)).outcome == "not_modified"


def test_an_on_demand_poll_applies_a_correction_at_once(
    poller: Poller, httpserver: HTTPServer, rclient: redis.Redis, prefix: str
) -> None:
    original = (FEEDS / "rss20.xml").read_bytes()
    bodies = iter([original, original.replace(b"seven votes to two", b"eight votes to one")])
    httpserver.expect_request("/corrected").respond_with_handler(
        lambda _: Response(next(bodies), content_type="application/rss+xml")
    )
    feed_id = add(poller, httpserver.url_for("/corrected"))
    poller.poll(feed_id, now=NOW)
    # One minute later, asked for by hand (`newsworker poll`): no revision policy.
    again = poller.poll(feed_id, now=NOW + timedelta(minutes=1), on_demand=True)
    assert (again.outcome, again.updated, again.held_back) == ("ok", 1, 0)
    budget = next(r for r in records(rclient, prefix) if r["title"].startswith("Council"))
    assert (budget["version"], "eight votes" in budget["body"]) == (2, True)


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
