"""What every command shares: the group, error reporting, Redis resolution, output."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

import click

from worker.errors import NewsworkerError
from worker.redact import redact_text

if TYPE_CHECKING:
    from worker.model import IngestOutcome
    from worker.settings import Settings
    from worker.store.services import Services

F = TypeVar("F", bound=Callable[..., Any])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsworker")
def main() -> None:
    """Ingest news feeds and article files into normalised records in Redis."""


def fail(message: str) -> None:
    # Error texts may quote a URL from the settings or a library: never its password.
    click.echo(f"newsworker: {redact_text(message)}", err=True)


def reports_errors(func: F) -> F:
    """Turn expected failures into a one-line message and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import redis

        try:
            return func(*args, **kwargs)
        except (NewsworkerError, redis.RedisError, OSError) as exc:
            fail(str(exc) or type(exc).__name__)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@contextlib.contextmanager
def redis_url(settings: Settings) -> Iterator[str]:
    """The configured Redis, or the embedded one under the data folder.

    A configured URL (and a separate broker URL) whose credentials are refused fails
    here, in one line, before any command or worker starts using it.
    """
    from worker.store.connection import check_credentials

    if settings.redis_url:
        for url in dict.fromkeys((settings.redis_url, settings.effective_broker_url())):
            check_credentials(url)
        yield settings.redis_url
        return
    from worker.settings import override_settings
    from worker.store.embedded import embedded_redis

    with embedded_redis(settings.data_dir) as url:
        override_settings(redis_url=url)
        yield url


@contextlib.contextmanager
def services() -> Iterator[Services]:
    """The store, dead letters and feed registry, on the configured or embedded Redis.

    The connection is checked first, so a wrong password or an unreachable server is
    one line naming the (redacted) URL, not a failure per input.
    """
    from worker.settings import get_settings
    from worker.store.connection import check_connection
    from worker.store.services import open_services

    with redis_url(get_settings()) as url:
        svc = open_services(get_settings(), url)
        check_connection(svc.client, url)
        yield svc


def emit_json(document: Any) -> None:
    click.echo(json.dumps(document, ensure_ascii=False))


def quiet_logging(verbose: bool = False) -> None:
    """One-shot commands log warnings only, unless asked; the worker logs every step."""
    from worker.log import configure_logging
    from worker.settings import get_settings

    configure_logging("INFO" if verbose else "WARNING", get_settings().log_format)


def progress(total: int, desc: str) -> Any:
    """A progress bar on stderr, shown only on a terminal."""
    from tqdm import tqdm

    return tqdm(
        total=total, desc=desc, unit="file", file=sys.stderr, disable=not sys.stderr.isatty()
    )


def report(outcome: IngestOutcome, as_json: bool) -> None:
    if as_json:
        emit_json(outcome.to_dict())
    elif outcome.outcome == "failed":
        click.echo(f"failed     {outcome.path}: {outcome.error}", err=True)
    elif outcome.outcome == "queued":
        click.echo(f"queued     {outcome.task_id}  {outcome.path}")
    else:
        click.echo(f"{outcome.outcome:<10} {outcome.id}  {outcome.path}")


def report_all(outcomes: Iterable[IngestOutcome], as_json: bool) -> int:
    """Print each outcome as it comes; the exit status for the lot."""
    status = 0
    for outcome in outcomes:
        report(outcome, as_json)
        if outcome.outcome == "failed":
            status = 1
    return status
