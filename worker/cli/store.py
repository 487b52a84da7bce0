"""Reading the store: `articles`, `status`, and the dead letters (`failed`)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Any

import click

from worker.cli.common import (
    emit_json,
    fail,
    main,
    progress,
    quiet_logging,
    report_all,
    reports_errors,
    services,
)


@main.group()
def articles() -> None:
    """Read the stored records."""


@articles.command("get")
@click.argument("article_id")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def articles_get(article_id: str, as_json: bool) -> None:
    """One record by id, URL or content hash (with --json, exactly what Redis holds)."""
    with services() as svc:
        found = svc.store.resolve(article_id)
        raw = svc.store.get_json(found) if found else None
    if raw is None:
        fail(f"no article with id {article_id}")
        sys.exit(1)
    click.echo(raw if as_json else _human_article(json.loads(raw)))


@articles.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--feed", "feed", default=None, help="Only records from this feed (id or URL).")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def articles_list(limit: int, feed: str | None, as_json: bool) -> None:
    """Newest first."""
    with services() as svc:
        source_key = None
        if feed:
            state = svc.feeds.find(feed)
            source_key = svc.store.keys.feed_index(state.scope if state else feed)
        records = svc.store.list_json(limit=limit, source_key=source_key)
    for raw in records:
        if as_json:
            click.echo(raw)
        else:
            doc = json.loads(raw)
            when = doc.get("published_at") or doc.get("ingested_at")
            click.echo(f"{doc['id']}  {when}  {doc['title']}")


def _human_article(doc: dict[str, Any]) -> str:
    lines = [doc["title"]]
    if doc.get("subtitle"):
        lines.append(doc["subtitle"])
    lines.append("")
    fields = (("id", "id"), ("url", "url"), ("published", "published_at"), ("language", "language"))
    lines += [f"{label}: {doc[key]}" for label, key in fields if doc.get(key)]
    if doc.get("authors"):
        lines.append("authors: " + ", ".join(a["name"] for a in doc["authors"]))
    lines += [f"version: {doc['version']}  words: {doc['word_count']}", "", doc["body"]]
    return "\n".join(lines)


@main.command()
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def status(as_json: bool) -> None:
    """Queues, workers, feed health, counts and memory."""
    from worker.cli.status import collect_status
    from worker.settings import get_settings

    with services() as svc:
        document = collect_status(get_settings(), svc)
    for warning in document["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        emit_json(document)
        return
    for key, value in document.items():
        click.echo(f"{key:>10}: {json.dumps(value)}")


@main.group()
def failed() -> None:
    """Dead letters: inputs that failed for good."""


@failed.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def failed_list(limit: int, as_json: bool) -> None:
    with services() as svc:
        entries = svc.failures.list(limit)
    for entry in entries:
        if as_json:
            emit_json(asdict(entry))
        else:
            click.echo(f"{entry.id}  {entry.failed_at}  {entry.input}: {entry.reason}")


@failed.command("retry")
@click.argument("failure_id", required=False)
@click.option("--all", "retry_all", is_flag=True, help="Retry every dead letter.")
@click.option("--wait", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def failed_retry(failure_id: str | None, retry_all: bool, wait: bool, as_json: bool) -> None:
    """Send dead-lettered files to the workers again, read afresh from their path.

    A dead letter is removed only when its input is stored again; one whose file
    cannot be read (or came from standard input) stays, with the reason reported.
    """
    from worker.cli.enqueue import retry_failures
    from worker.settings import get_settings

    if bool(failure_id) == retry_all:
        raise click.UsageError("give one failure ID or --all")
    quiet_logging()
    with services() as svc:
        outcomes = retry_failures(
            get_settings(), svc.failures, None if retry_all else failure_id, wait=wait,
            progress=progress,
        )  # fmt: skip
        status = report_all(outcomes, as_json)
    sys.exit(status)
