"""The feed commands through a real worker process: `feeds ...` and `poll --wait --json`."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Response

from tests.documents import FEEDS, serve_feed
from tests.support import Worker

FEED_FIELDS = {
    "id", "url", "name", "status", "last_status", "etag", "last_modified", "error_count",
    "last_error", "last_polled_at", "next_poll_at", "entries_total",
}  # fmt: skip


def test_add_poll_list_show(celery_worker: Worker, httpserver: HTTPServer) -> None:
    cli = celery_worker.cli
    url = serve_feed(httpserver, "rss20.xml", "/cli/rss")
    code, docs = cli.json_lines("feeds", "add", url, "--name", "Wire", "--json")
    assert code == 0
    feed = docs[0]
    assert set(feed) >= FEED_FIELDS
    assert (feed["name"], feed["status"], feed["entries_total"]) == ("Wire", "ok", 0)
    assert feed["next_poll_at"].endswith("Z")

    code, again = cli.json_lines("feeds", "add", url, "--json")
    assert again[0]["id"] == feed["id"]

    code, lines = cli.json_lines("poll", feed["id"], "--wait", "--json")
    assert code == 0
    assert lines == [
        {"feed": feed["id"], "url": url, "outcome": "ok", "http_status": 200,
         "new": 2, "updated": 0, "unchanged": 0, "error": None, "held_back": 0}
    ]  # fmt: skip
    code, lines = cli.json_lines("poll", url, "--wait", "--json")
    assert lines[0]["outcome"] == "not_modified"
    code, listed = cli.json_lines("feeds", "list", "--json")
    assert [f["failing"] for f in listed if f["id"] == feed["id"]] == [False]
    # Both polls are in the feed's history, newest first.
    [shown] = cli.json_lines("feeds", "show", feed["id"], "--json")[1]
    assert [h["outcome"] for h in shown["history"]] == ["not_modified", "ok"]
    assert shown["history"][1]["new"] == 2 and shown["history"][1]["http_status"] == 200
    done = cli.run("feeds", "show", feed["id"])
    assert "RECENT POLLS" in done.stdout and "not_modified" in done.stdout

    code, shown = cli.json_lines("feeds", "show", feed["id"], "--json")
    assert shown[0]["entries_total"] == 2
    assert shown[0]["last_status"] == 200
    assert shown[0]["last_polled_at"]

    code, listed = cli.json_lines("feeds", "list", "--json")
    assert feed["id"] in [f["id"] for f in listed]

    code, records = cli.json_lines("articles", "list", "--feed", feed["id"], "--json")
    assert sorted(r["title"] for r in records) == [
        "Council approves budget",
        "Harbour reopens after storm",
    ]

    human = cli.run("feeds", "list")
    assert "STATUS" in human.stdout and url in human.stdout
    polled = cli.json_lines("feeds", "show", feed["id"], "--json")[1][0]
    assert f"{polled['last_polled_at']}  {polled['next_poll_at']}  {url}" in human.stdout

    status = json.loads(cli.run("status", "--json").stdout)
    assert status["feeds"]["total"] >= 1


def test_bad_url_and_unknown_feed(celery_worker: Worker) -> None:
    cli = celery_worker.cli
    done = cli.run("feeds", "add", "ftp://example.com/feed", "--json")
    assert done.returncode == 1
    assert "not an http(s) URL" in done.stderr
    assert done.stdout == ""
    assert cli.run("feeds", "show", "nope").returncode == 1
    assert cli.run("poll").returncode == 2


def test_poll_all_reports_each_feed_and_fails_on_any(
    celery_worker: Worker, httpserver: HTTPServer
) -> None:
    cli = celery_worker.cli
    good = serve_feed(httpserver, "atom10.xml", "/all/good")
    httpserver.expect_request("/all/bad").respond_with_data("nope", status=500)
    bad = httpserver.url_for("/all/bad")
    for url in (good, bad):
        assert cli.run("feeds", "add", url).returncode == 0
    code, lines = cli.json_lines("poll", "--all", "--wait", "--json")
    assert code == 1
    by_url = {line["url"]: line for line in lines}
    assert by_url[good]["outcome"] in ("ok", "not_modified")
    assert by_url[bad]["outcome"] == "failed"
    assert by_url[bad]["http_status"] == 500
    assert "500" in by_url[bad]["error"]


def test_import_export_remove(celery_worker: Worker, tmp_path: Path) -> None:
    cli = celery_worker.cli
    opml = tmp_path / "subs.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head/><body>'
        '<outline text="Imported" xmlUrl="https://imported.example/rss"/></body></opml>'
    )
    code, imported = cli.json_lines("feeds", "import", str(opml), "--json")
    assert code == 0
    assert imported[0]["name"] == "Imported"
    exported = cli.run("feeds", "export")
    assert 'xmlUrl="https://imported.example/rss"' in exported.stdout
    assert cli.run("feeds", "remove", imported[0]["id"]).returncode == 0
    assert cli.run("feeds", "show", imported[0]["id"]).returncode == 1


def test_poll_without_wait_queues_and_the_worker_polls(
    celery_worker: Worker, httpserver: HTTPServer
) -> None:
    import time

    cli = celery_worker.cli
    url = serve_feed(httpserver, "rss091.xml", "/nowait/rss")
    code, docs = cli.json_lines("feeds", "add", url, "--json")
    assert code == 0
    code, lines = cli.json_lines("poll", docs[0]["id"], "--json")
    assert code == 0
    assert (lines[0]["feed"], lines[0]["url"]) == (docs[0]["id"], url)
    assert lines[0]["task_id"]
    deadline = time.monotonic() + 30
    while True:
        _, shown = cli.json_lines("feeds", "show", docs[0]["id"], "--json")
        if shown[0]["last_polled_at"]:
            break
        assert time.monotonic() < deadline, shown
        time.sleep(0.2)
    assert (shown[0]["last_status"], shown[0]["entries_total"]) == (200, 1)


def test_every_poll_step_is_logged_with_its_figures(
    celery_worker: Worker, httpserver: HTTPServer
) -> None:
    cli = celery_worker.cli
    # Entries of their own: the session's worker may have stored rss20.xml's already.
    document = (FEEDS / "rss20.xml").read_bytes().replace(b"news.example", b"logged.example")
    httpserver.expect_request("/logged/rss").respond_with_data(
        document, content_type="application/rss+xml"
    )
    url = httpserver.url_for("/logged/rss")
    code, docs = cli.json_lines("feeds", "add", url, "--json")
    feed_id = docs[0]["id"]
    code, _ = cli.json_lines("poll", feed_id, "--wait", "--json")
    assert code == 0
    events = {
        e["event"]: e
        for e in celery_worker.log_events()
        if e.get("feed") == feed_id and e.get("logger") == "newsworker.feeds"
    }
    for name in ("fetch", "parse", "normalise", "store", "schedule"):
        assert name in events, f"no {name} event in {sorted(events)}"
        assert events[name]["url"] == url
        assert events[name]["task_id"]
        assert isinstance(events[name]["duration_ms"], float)
    assert (events["fetch"]["http_status"], events["fetch"]["bytes"]) == (200, len(document))
    assert (events["store"]["new"], events["store"]["updated"]) == (2, 0)
    assert events["schedule"]["next_poll_at"].endswith("Z")


def test_poll_by_hand_applies_a_correction_at_once(
    celery_worker: Worker, httpserver: HTTPServer
) -> None:
    """The revision policy is for the schedule: `poll --wait` right after an entry
    was corrected stores the correction and says so."""
    cli = celery_worker.cli
    original = (FEEDS / "rss20.xml").read_bytes().replace(b"news.example", b"fixed.example")
    served = {"body": original}
    httpserver.expect_request("/fixed/rss").respond_with_handler(
        lambda _: Response(served["body"], content_type="application/rss+xml")
    )
    code, docs = cli.json_lines("feeds", "add", httpserver.url_for("/fixed/rss"), "--json")
    feed_id = docs[0]["id"]
    assert cli.json_lines("poll", feed_id, "--wait", "--json")[1][0]["new"] == 2
    served["body"] = original.replace(b"seven votes to two", b"eight votes to one")
    code, [outcome] = cli.json_lines("poll", feed_id, "--wait", "--json")
    assert (code, outcome["updated"], outcome["unchanged"], outcome["held_back"]) == (0, 1, 1, 0)
