"""The `newsworker` command line (the contract is DESIGN.md, "Command line").

Machine output (`--json`) goes to stdout, one document or one record per line;
progress bars and logs go to stderr. Exit status: 0 when everything succeeded,
1 when any input failed, 2 for usage errors. Failures are reported, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar

import click
import redis

from worker.errors import BadInput, NewsworkerError
from worker.failures import FailureLog
from worker.ingest import IngestOutcome, ingest_input
from worker.inputs import expand, read_input
from worker.log import configure_logging, get_logger
from worker.redis_client import connect
from worker.settings import Settings, get_settings, override_settings
from worker.store import ArticleStore

F = TypeVar("F", bound=Callable[..., Any])


# -- plumbing --------------------------------------------------------------------------
def _fail(message: str) -> None:
    click.echo(f"newsworker: {message}", err=True)


def reports_errors(func: F) -> F:
    """Turn expected failures into a one-line message and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (NewsworkerError, redis.RedisError, OSError) as exc:
            _fail(str(exc) or type(exc).__name__)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@contextlib.contextmanager
def redis_url(settings: Settings) -> Iterator[str]:
    """The configured Redis, or the embedded one under the data folder."""
    if settings.redis_url:
        yield settings.redis_url
        return
    from worker.embedded import embedded_redis

    with embedded_redis(settings.data_dir) as url:
        override_settings(redis_url=url)
        yield url


def _emit_json(document: Any) -> None:
    click.echo(json.dumps(document, ensure_ascii=False))


def _setup_cli_logging(settings: Settings, verbose: bool) -> None:
    # One-shot commands stay quiet unless asked; the worker logs every step.
    level = "INFO" if verbose else "WARNING"
    configure_logging(level, settings.log_format)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsworker")
def main() -> None:
    """Ingest news feeds and article files into normalised records in Redis."""


# -- the worker processes --------------------------------------------------------------
def _celery_argv(
    settings: Settings, *, beat: bool, concurrency: int | None, pool: str | None
) -> list[str]:
    argv = ["worker", "--loglevel", settings.log_level, "-Q", settings.queue]
    if beat:
        argv += ["-B", "--schedule", str(settings.data_dir / "celerybeat-schedule")]
    chosen = concurrency or settings.concurrency
    if chosen:
        argv += ["--concurrency", str(chosen)]
    if pool:
        argv += ["--pool", pool]
    return argv


def _run_worker(*, beat: bool, concurrency: int | None, pool: str | None) -> None:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with redis_url(settings):
        settings = get_settings()
        configure_logging(settings.log_level, settings.log_format)
        from worker.celery_app import app

        app.worker_main(_celery_argv(settings, beat=beat, concurrency=concurrency, pool=pool))


_worker_options = [
    click.option("--concurrency", "-c", type=int, default=None, help="Worker processes."),
    click.option("--pool", type=click.Choice(["prefork", "threads", "solo"]), default=None),
]


def worker_options(func: F) -> F:
    for option in reversed(_worker_options):
        func = option(func)
    return func


@main.command()
@worker_options
@reports_errors
def run(concurrency: int | None, pool: str | None) -> None:
    """Worker and scheduler together (the main job)."""
    _run_worker(beat=True, concurrency=concurrency, pool=pool)


@main.command()
@worker_options
@reports_errors
def worker(concurrency: int | None, pool: str | None) -> None:
    """A worker alone (deployments run the scheduler separately)."""
    _run_worker(beat=False, concurrency=concurrency, pool=pool)


@main.command()
@reports_errors
def beat() -> None:
    """The scheduler alone."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with redis_url(settings):
        settings = get_settings()
        configure_logging(settings.log_level, settings.log_format)
        from worker.celery_app import app

        schedule = str(settings.data_dir / "celerybeat-schedule")
        app.start(["beat", "--loglevel", settings.log_level, "--schedule", schedule])


# -- ingest and enqueue ----------------------------------------------------------------
def _report(outcomes: Sequence[IngestOutcome], as_json: bool) -> int:
    for outcome in outcomes:
        if as_json:
            _emit_json(outcome.to_dict())
        elif outcome.outcome == "failed":
            click.echo(f"failed     {outcome.path}: {outcome.error}", err=True)
        else:
            click.echo(f"{outcome.outcome:<10} {outcome.id}  {outcome.path}")
    return 1 if any(o.outcome == "failed" for o in outcomes) else 0


def _progress(total: int, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total, desc=desc, unit="file", file=sys.stderr, disable=not sys.stderr.isatty()
    )


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON line per record on stdout.")
@click.option("--verbose", "-v", is_flag=True, help="Log every step on stderr.")
@reports_errors
def ingest(paths: tuple[str, ...], as_json: bool, verbose: bool) -> None:
    """Parse and store files now, in this process (no broker, no worker)."""
    settings = get_settings()
    _setup_cli_logging(settings, verbose)
    log = get_logger("newsworker.ingest")
    refs = expand(paths)
    outcomes: list[IngestOutcome] = []
    with redis_url(settings) as url:
        client = connect(url)
        store = ArticleStore(
            client, prefix=settings.key_prefix, stream_maxlen=settings.stream_maxlen
        )
        with _progress(len(refs), "ingest") as bar:
            for ref in refs:
                try:
                    item = read_input(ref, max_bytes=settings.max_file_bytes)
                except NewsworkerError as exc:
                    found = [IngestOutcome(ref.display, "failed", error=str(exc))]
                else:
                    found = ingest_input(item, store, now=datetime.now(UTC), log=log)
                outcomes.extend(found)
                bar.update(1)
    sys.exit(_report(outcomes, as_json))


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--wait", is_flag=True, help="Wait for the workers and report each outcome.")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds to wait.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per record on stdout.")
@reports_errors
def enqueue(paths: tuple[str, ...], wait: bool, timeout: float, as_json: bool) -> None:
    """Send files to the workers; their bytes travel in the task message."""
    from worker.enqueue import enqueue_paths

    settings = get_settings()
    _setup_cli_logging(settings, verbose=False)
    with redis_url(settings):
        outcomes = enqueue_paths(
            get_settings(), paths, wait=wait, timeout=timeout, progress=_progress
        )
    sys.exit(_report(outcomes, as_json))


# -- reading the store -----------------------------------------------------------------
def _store(settings: Settings, url: str) -> ArticleStore:
    return ArticleStore(
        connect(url), prefix=settings.key_prefix, stream_maxlen=settings.stream_maxlen
    )


@main.group()
def articles() -> None:
    """Read the stored records."""


@articles.command("get")
@click.argument("article_id")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def articles_get(article_id: str, as_json: bool) -> None:
    """One record."""
    settings = get_settings()
    with redis_url(settings) as url:
        raw = _store(settings, url).get_json(article_id)
    if raw is None:
        _fail(f"no article with id {article_id}")
        sys.exit(1)
    if as_json:
        click.echo(raw)
    else:
        click.echo(_human_article(json.loads(raw)))


@articles.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--feed", "feed", default=None, help="Only records from this source or feed.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def articles_list(limit: int, feed: str | None, as_json: bool) -> None:
    """Newest first."""
    settings = get_settings()
    with redis_url(settings) as url:
        store = _store(settings, url)
        source_key = store.feed_index_key(feed) if feed else None
        records = store.list_json(limit=limit, source_key=source_key)
    for raw in records:
        if as_json:
            click.echo(raw)
        else:
            doc = json.loads(raw)
            when = doc.get("published_at") or doc.get("ingested_at")
            click.echo(f"{doc['id']}  {when}  {doc['title']}")


def _human_article(doc: dict[str, Any]) -> str:
    authors = ", ".join(a["name"] for a in doc.get("authors", []))
    lines = [doc["title"]]
    if doc.get("subtitle"):
        lines.append(doc["subtitle"])
    lines.append("")
    for label, key in (
        ("id", "id"),
        ("url", "url"),
        ("published", "published_at"),
        ("language", "language"),
    ):
        if doc.get(key):
            lines.append(f"{label}: {doc[key]}")
    if authors:
        lines.append(f"authors: {authors}")
    lines += [f"version: {doc['version']}  words: {doc['word_count']}", "", doc["body"]]
    return "\n".join(lines)


# -- operations ------------------------------------------------------------------------
@main.command()
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def status(as_json: bool) -> None:
    """Queues, workers, counts and memory."""
    from worker.status import collect_status

    settings = get_settings()
    with redis_url(settings):
        document = collect_status(get_settings())
    if as_json:
        _emit_json(document)
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
    settings = get_settings()
    with redis_url(settings) as url:
        entries = FailureLog(connect(url), prefix=settings.key_prefix).list(limit)
    for entry in entries:
        if as_json:
            _emit_json(entry.__dict__)
        else:
            click.echo(f"{entry.id}  {entry.failed_at}  {entry.input}: {entry.reason}")


@failed.command("retry")
@click.argument("failure_id", required=False)
@click.option("--all", "retry_all", is_flag=True, help="Retry every dead letter.")
@click.option("--wait", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def failed_retry(failure_id: str | None, retry_all: bool, wait: bool, as_json: bool) -> None:
    """Send dead-lettered files to the workers again (read again from their path)."""
    from worker.enqueue import enqueue_paths

    if bool(failure_id) == retry_all:
        raise click.UsageError("give one failure ID or --all")
    settings = get_settings()
    _setup_cli_logging(settings, verbose=False)
    with redis_url(settings) as url:
        log = FailureLog(connect(url), prefix=settings.key_prefix)
        entries = log.list(settings.failed_maxlen) if retry_all else [log.get(failure_id or "")]
        if entries == [None]:
            raise BadInput(f"no dead letter with id {failure_id}")
        chosen = [e for e in entries if e is not None]
        for entry in chosen:
            log.remove(entry.id)
        outcomes = enqueue_paths(
            get_settings(), [e.input for e in chosen], wait=wait, timeout=600.0, progress=_progress
        )
    sys.exit(_report(outcomes, as_json))


if __name__ == "__main__":  # pragma: no cover
    main()
