"""The feed decision table (worker/polling/decide.py): no Redis, no HTTP, a fixed clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from worker.model import POLL_FIELDS, FeedState
from worker.polling.decide import (
    RECENT_ENTRY_TIMES,
    Attempt,
    Defaults,
    Failed,
    HostBusy,
    Parsed,
    Response,
    Unchanged,
    decide_feed,
    failing_for_long,
    is_unchanged,
    polled_since,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DEFAULTS = Defaults(min_interval=300, max_interval=86400, broken_after=3)
URL = "https://news.example/feed.xml"
HOUR = timedelta(hours=1)
LAST_MODIFIED = "Mon, 09 Mar 2026 00:00:00 GMT"


def state(**changes: object) -> FeedState:
    base = FeedState(
        id="f1", url=URL, added_url=URL, etag='"old"', last_modified=LAST_MODIFIED,
        body_hash="aaa", ttl=None, next_poll_at=NOW, last_polled_at=NOW - HOUR,
    )  # fmt: skip
    return base.model_copy(update=changes)


def decide(feed: FeedState, attempt: Attempt, seed: int = 1):  # type: ignore[no-untyped-def]
    return decide_feed(feed, attempt, now=NOW, rng=random.Random(seed), defaults=DEFAULTS)


def ok(status: int = 200, **kw: object) -> Response:
    return Response(status=status, headers=kw.pop("headers", {}), **kw)  # type: ignore[arg-type]


def hourly(count: int) -> list[datetime]:
    return [NOW - HOUR * i for i in range(count)]


# (case, state changes, attempt) -> (status, outcome, fields written, due after, due before)
TABLE = [
    ("304", {}, Unchanged(ok(304)), "ok", "not_modified", POLL_FIELDS),
    ("same body", {}, Unchanged(ok(200, body_hash="aaa")), "ok", "not_modified", POLL_FIELDS),
    ("200 parsed", {}, Parsed(ok(200, body_hash="bbb"), [NOW], new=2), "ok", "ok", POLL_FIELDS),
    ("network error", {}, Failed("cannot fetch: reset"), "error", "failed",
     ("error_count", "last_error", "last_status", "last_polled_at", "status", "next_poll_at")),
    ("500", {}, Failed("HTTP 500", http_status=500), "error", "failed",
     ("error_count", "last_error", "last_status", "last_polled_at", "status", "next_poll_at")),
    ("third error: broken", {"error_count": 2}, Failed("HTTP 500", http_status=500), "broken",
     "failed", ("error_count", "last_error", "last_status", "last_polled_at", "status",
                "next_poll_at")),
    ("410", {}, Failed("HTTP 410 Gone", http_status=410, gone=True), "disabled", "failed",
     ("error_count", "last_error", "last_status", "last_polled_at", "status", "next_poll_at")),
    ("host busy", {}, HostBusy(), "ok", "failed", ()),
]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "attempt", "status", "outcome", "fields"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_decision_table(
    changes: dict[str, object], attempt: Attempt, status: str, outcome: str, fields: tuple[str, ...]
) -> None:
    decision = decide(state(**changes), attempt)
    assert decision.state.status == status
    assert decision.outcome.outcome == outcome
    assert set(decision.fields) == set(fields)
    assert decision.outcome.feed == "f1"


def test_success_resets_errors_and_keeps_validators_a_304_omits() -> None:
    decision = decide(state(error_count=4, last_error="boom", status="broken"), Unchanged(ok(304)))
    new = decision.state
    assert (new.error_count, new.last_error, new.status) == (0, None, "ok")
    assert new.etag == '"old"' and new.last_modified == LAST_MODIFIED
    assert new.last_polled_at == NOW and new.last_status == 304
    assert new.body_hash == "aaa"


def test_a_200_without_validators_drops_the_old_ones_and_records_its_body() -> None:
    new = decide(state(), Parsed(ok(200, body_hash="bbb"), [])).state
    assert (new.etag, new.last_modified, new.body_hash) == (None, None, "bbb")
    with_etag = decide(state(), Parsed(ok(200, etag='"new"', body_hash="bbb"), [])).state
    assert with_etag.etag == '"new"'


def test_parsed_counts_go_to_the_outcome_and_entries_total() -> None:
    decision = decide(
        state(entries_total=5), Parsed(ok(200, body_hash="b"), [NOW], new=2, updated=1, unchanged=3)
    )
    out = decision.outcome
    assert (out.new, out.updated, out.unchanged, out.http_status) == (2, 1, 3, 200)
    assert decision.state.entries_total == 7


def test_permanent_redirect_moves_the_url_temporary_does_not() -> None:
    moved = "https://news.example/new.xml"
    permanent = decide(state(), Parsed(ok(200, moved_to=moved, body_hash="b"), []))
    assert permanent.state.url == moved and permanent.outcome.url == moved
    assert permanent.state.added_url == URL  # the scope of its entry ids stays
    temporary = decide(state(), Parsed(ok(200, body_hash="b"), []))
    assert temporary.state.url == URL


def test_held_back_change_forgets_body_and_validators() -> None:
    attempt = Parsed(ok(200, etag='"e"', last_modified="x", body_hash="b"), [], held_back=1)
    new = decide(state(), attempt).state
    assert (new.etag, new.last_modified, new.body_hash) == (None, None, None)


def test_rhythm_from_entry_times_is_kept_to_the_newest() -> None:
    times = hourly(RECENT_ENTRY_TIMES + 50)
    new = decide(state(entry_times=times[:100]), Parsed(ok(200, body_hash="b"), times)).state
    assert len(new.entry_times) == RECENT_ENTRY_TIMES
    assert new.entry_times[-1] == NOW and new.entry_times == sorted(new.entry_times)


def test_hourly_feed_is_polled_about_hourly_and_due_matches_next_poll_at() -> None:
    decision = decide(state(entry_times=hourly(48)), Unchanged(ok(304)))
    assert decision.due is not None
    assert decision.due.replace(microsecond=0) == decision.state.next_poll_at
    assert HOUR * 0.9 <= decision.due - NOW <= HOUR * 1.1


@pytest.mark.parametrize(
    ("headers", "at_least"),
    [
        ({"cache-control": "max-age=7200"}, 2 * HOUR),
        ({"expires": "Tue, 10 Mar 2026 15:00:00 GMT", "date": "Tue, 10 Mar 2026 12:00:00 GMT"},
         3 * HOUR),
    ],
)  # fmt: skip
def test_cache_headers_lengthen_the_interval(headers: dict[str, str], at_least: timedelta) -> None:
    decision = decide(state(entry_times=hourly(48)), Unchanged(ok(304, headers=headers)))
    assert decision.due is not None and decision.due - NOW >= at_least * 0.9


def test_cache_headers_never_shorten_and_never_pass_the_maximum() -> None:
    short = decide(
        state(entry_times=hourly(48)), Unchanged(ok(304, headers={"cache-control": "max-age=5"}))
    )
    assert short.due is not None and short.due - NOW >= HOUR * 0.9
    huge = decide(state(), Unchanged(ok(304, headers={"cache-control": "max-age=9999999"})))
    assert huge.due is not None and huge.due - NOW <= timedelta(seconds=DEFAULTS.max_interval)


def test_ttl_of_a_parse_is_used_and_kept_for_later_304s() -> None:
    parsed = decide(state(entry_times=hourly(48)), Parsed(ok(200, body_hash="b"), [], ttl=6 * 3600))
    assert parsed.state.ttl == 6 * 3600
    assert parsed.due is not None and parsed.due - NOW >= 6 * HOUR * 0.9
    later = decide(parsed.state, Unchanged(ok(304)))
    assert later.state.ttl == 6 * 3600
    assert later.due is not None and later.due - NOW >= 6 * HOUR * 0.9


def test_errors_back_off_from_the_minimum_interval_doubling() -> None:
    waits = []
    for errors in range(4):
        decision = decide(state(error_count=errors), Failed("down"))
        assert decision.due is not None
        waits.append((decision.due - NOW).total_seconds())
    for count, wait in enumerate(waits):
        assert 300 * 2**count * 0.9 <= wait <= 300 * 2**count * 1.1


def test_retry_after_is_honoured_when_longer_than_backoff() -> None:
    decision = decide(state(), Failed("HTTP 429", http_status=429, retry_after=7200))
    assert decision.due is not None and decision.due - NOW >= 2 * HOUR
    assert decision.state.last_status == 429


def test_gone_is_never_due_again() -> None:
    decision = decide(state(), Failed("HTTP 410", http_status=410, gone=True))
    assert decision.due is None and decision.state.next_poll_at is None


def test_failure_keeps_validators_url_and_body() -> None:
    new = decide(state(), Failed("timed out")).state
    assert (new.url, new.etag, new.body_hash) == (URL, '"old"', "aaa")
    assert new.last_error == "timed out" and new.error_count == 1


def test_busy_host_only_moves_the_due_time_a_little() -> None:
    decision = decide(state(), HostBusy())
    assert decision.state == state()
    assert decision.due is not None
    assert timedelta(seconds=5) <= decision.due - NOW <= timedelta(seconds=15)
    assert decision.outcome.error == "news.example busy; retry later"


def test_fixed_interval_overrides_the_rhythm_and_hints() -> None:
    decision = decide(state(interval=600, entry_times=hourly(48)), Unchanged(ok(304)))
    assert decision.due is not None
    assert timedelta(seconds=540) <= decision.due - NOW <= timedelta(seconds=660)


def test_same_seed_same_decision() -> None:
    attempt = Parsed(ok(200, body_hash="b"), [NOW])
    assert decide(state(), attempt, seed=7) == decide(state(), attempt, seed=7)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (ok(304), True),
        (ok(200, body_hash="aaa"), True),
        (ok(200, body_hash="bbb"), False),
        (ok(200), False),
    ],
)
def test_is_unchanged(response: Response, expected: bool) -> None:
    assert is_unchanged(state(), response) is expected


def test_polled_since_a_claim_is_a_duplicate() -> None:
    assert polled_since(state(last_polled_at=NOW), NOW)
    assert not polled_since(state(last_polled_at=NOW - HOUR), NOW)
    assert not polled_since(state(last_polled_at=None), NOW)


def test_a_success_notes_when_and_a_failure_keeps_it() -> None:
    ok_once = decide(state(), Unchanged(ok(304))).state
    assert ok_once.last_ok_at == NOW
    failed = decide_feed(
        ok_once, Failed("boom"), now=NOW + HOUR, rng=random.Random(1), defaults=DEFAULTS
    ).state
    assert (failed.last_ok_at, failed.status) == (NOW, "error")


@pytest.mark.parametrize(
    ("status", "last_ok", "added", "failing"),
    [
        ("error", NOW - timedelta(days=2), None, True),  # failing for two days
        ("broken", NOW - timedelta(days=1), None, True),  # exactly a day
        ("error", NOW - timedelta(hours=23), None, False),  # not a day yet
        ("error", None, NOW - timedelta(days=3), True),  # never succeeded since added
        ("error", None, NOW - timedelta(hours=2), False),  # added two hours ago
        ("ok", NOW - timedelta(days=9), None, False),  # healthy (an old success: fine)
        ("disabled", NOW - timedelta(days=9), None, False),  # not polled any more
    ],
)
def test_feeds_failing_for_a_day_are_flagged(
    status: str, last_ok: datetime | None, added: datetime | None, failing: bool
) -> None:
    feed = state(status=status, last_ok_at=last_ok, added_at=added)
    assert failing_for_long(feed, NOW) is failing
