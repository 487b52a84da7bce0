"""The feed registry (`feeds ...`) and polling now (`poll`)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from worker.cli.common import emit_json, fail, main, quiet_logging, reports_errors, services
from worker.errors import BadInput

if TYPE_CHECKING:
    from worker.cli.wait import Answer
    from worker.model import FeedState


@main.group()
def feeds() -> None:
    """The feed registry: what the scheduler polls."""


@feeds.command("add")
@click.argument("url")
@click.option("--name", default=None, help="A display name.")
@click.option("--interval", type=click.FloatRange(min=60), default=None, help="Fixed seconds.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def feeds_add(url: str, name: str | None, interval: float | None, as_json: bool) -> None:
    """Register a feed (due at once); a URL already registered prints that feed."""
    with services() as svc:
        state, created = svc.feeds.add(url, now=datetime.now(UTC), name=name, interval=interval)
    if as_json:
        emit_json(state.public())
    else:
        click.echo(f"{'added' if created else 'exists'}  {state.id}  {state.url}")


@feeds.command("list")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def feeds_list(as_json: bool) -> None:
    """Every feed with its health: status, last poll, entries, errors, next poll.

    A feed whose polls have failed for a day (none succeeded since) is flagged:
    `failing` in the JSON, a `!` before its status."""
    from datetime import UTC, datetime

    from worker.polling.decide import failing_for_long

    with services() as svc:
        states = svc.feeds.all()
    now = datetime.now(UTC)
    if as_json:
        for state in states:
            emit_json(state.public() | {"failing": failing_for_long(state, now)})
        return
    header = f"{'ID':<12}  {'STATUS':<8}  {'HTTP':>4}  {'ENTRIES':>7}  {'ERRORS':>6}  "
    click.echo(header + f"{'LAST POLL':<20}  {'NEXT POLL':<20}  URL")
    for state in states:
        s = state.public()  # instants as RFC 3339 text
        status = ("!" if failing_for_long(state, now) else "") + s["status"]
        click.echo(
            f"{s['id']:<12}  {status:<8}  {s['last_status'] or '-':>4}  "
            f"{s['entries_total']:>7}  {s['error_count']:>6}  {s['last_polled_at'] or '-':<20}  "
            f"{s['next_poll_at'] or '-':<20}  {s['url']}"
            + (f"\n{'':<12}  last error: {s['last_error']}" if s["last_error"] else "")
        )


@feeds.command("show")
@click.argument("feed")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def feeds_show(feed: str, as_json: bool) -> None:
    """One feed, by id or URL, with its last polls (newest first)."""
    with services() as svc:
        state = _find(svc.feeds.find(feed), feed)
        history = svc.feeds.history(state.id)
    if as_json:
        emit_json(state.public() | {"history": history})
        return
    for key, value in state.public().items():
        click.echo(f"{key:>15}: {value}")
    click.echo(f"\n{'RECENT POLLS':<20}  {'HTTP':>4}  {'OUTCOME':<12}  {'MS':>7}  {'BYTES':>8}  "
               "NEW  UPD  ERROR")  # fmt: skip
    for h in history:
        ms = "-" if h["duration_ms"] is None else f"{h['duration_ms']:.0f}"
        click.echo(
            f"{h['at']:<20}  {h['http_status'] or '-':>4}  {h['outcome']:<12}  {ms:>7}  "
            f"{h['bytes'] if h['bytes'] is not None else '-':>8}  {h['new']:>3}  "
            f"{h['updated']:>3}  {h['error'] or ''}"
        )


@feeds.command("remove")
@click.argument("feed")
@reports_errors
def feeds_remove(feed: str) -> None:
    """Stop polling a feed and forget its state (its articles stay)."""
    with services() as svc:
        state = _find(svc.feeds.find(feed), feed)
        svc.feeds.remove(state.id)
    click.echo(f"removed  {state.id}  {state.url}", err=True)


@feeds.command("import")
@click.argument("opml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def feeds_import(opml: Path, as_json: bool) -> None:
    """Register every feed of an OPML file."""
    from worker.polling.feeds_file import parse_opml

    entries = parse_opml(opml.read_bytes(), name=str(opml))
    status = 0
    with services() as svc:
        for entry in entries:
            try:
                state, _ = svc.feeds.add(
                    entry["url"], now=datetime.now(UTC), name=entry.get("name")
                )
            except BadInput as exc:
                fail(str(exc))
                status = 1
                continue
            emit_json(state.public()) if as_json else click.echo(f"{state.id}  {state.url}")
    sys.exit(status)


@feeds.command("export")
@reports_errors
def feeds_export() -> None:
    """Every feed as OPML on stdout."""
    from worker.polling.feeds_file import to_opml

    with services() as svc:
        click.echo(to_opml(svc.feeds.all()).decode("utf-8"))


def _find(state: FeedState | None, ref: str) -> FeedState:
    if state is None:
        raise BadInput(f"no feed {ref}")
    return state


@main.command()
@click.argument("feed_refs", nargs=-1)
@click.option("--all", "poll_all", is_flag=True, help="Every feed that is not disabled.")
@click.option("--wait", is_flag=True, help="Wait and report the outcome of each poll.")
@click.option("--timeout", type=float, default=300.0, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def poll(
    feed_refs: tuple[str, ...], poll_all: bool, wait: bool, timeout: float, as_json: bool
) -> None:
    """Poll feeds now, outside the schedule (in batches by host, as the scheduler does)."""
    from worker.cli.wait import answers
    from worker.polling.dispatch import batches_by_host
    from worker.settings import get_settings
    from worker.tasks import poll_feeds

    if bool(feed_refs) == poll_all:
        raise click.UsageError("name feeds (id or URL) or give --all")
    quiet_logging()
    with services() as svc:
        if poll_all:
            states = [s for s in svc.feeds.all() if s.status != "disabled"]
        else:
            states = [_find(svc.feeds.find(ref), ref) for ref in feed_refs]
        by_id = {state.id: state for state in states}
        batches = batches_by_host({s.id: s.url for s in by_id.values()}, get_settings().poll_batch)
        sent, status = [], 0
        for batch in batches:
            try:
                sent.append(([by_id[i] for i in batch], poll_feeds.delay(batch)))
            except Exception as exc:  # the broker refused or failed: these feeds are not polled
                for feed_id in batch:
                    _print_poll(_not_sent(by_id[feed_id], exc), as_json)
                status = 1
        if not wait:
            for batch_states, result in sent:
                for state in batch_states:
                    _print_poll({"feed": state.id, "url": state.url, "task_id": result.id}, as_json)
            sys.exit(status)
        for batch_states, answer in answers(sent, timeout):
            for outcome in _outcomes(batch_states, answer):
                status |= outcome["outcome"] == "failed"
                _print_poll(outcome, as_json)
    sys.exit(status)


def _not_sent(state: FeedState, exc: Exception) -> dict[str, Any]:
    from worker.store.refusals import refusal

    reason = refusal(exc)
    error = f"broker refuses writes ({reason})" if reason else " ".join(str(exc).split())
    return _failed(state, f"not sent: {error}")


def _outcomes(states: list[FeedState], answer: Answer) -> list[dict[str, Any]]:
    """One outcome per feed of a batch: the task's, or a failure when it gave none."""
    if isinstance(answer.value, list) and len(answer.value) == len(states):
        return answer.value
    error = answer.no_answer() if not answer.answered else f"poll failed: {answer.value}"
    return [_failed(state, error) for state in states]


def _failed(state: FeedState, error: str) -> dict[str, Any]:
    return {
        "feed": state.id, "url": state.url, "outcome": "failed", "http_status": None,
        "new": 0, "updated": 0, "unchanged": 0, "error": error, "held_back": 0,
    }  # fmt: skip


def _print_poll(outcome: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(outcome)
    elif "task_id" in outcome:
        click.echo(f"queued  {outcome['feed']}  {outcome['url']}")
    else:
        counts = (
            f"new {outcome['new']} updated {outcome['updated']} unchanged {outcome['unchanged']}"
        )
        if outcome.get("held_back"):
            counts += f" held back {outcome['held_back']}"
        error = f"  {outcome['error']}" if outcome.get("error") else ""
        click.echo(f"{outcome['outcome']:<12} {outcome['feed']}  {counts}{error}")
