"""`run`, `worker`, `beat`: the long-running processes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from worker.cli.common import main, redis_url, reports_errors

if TYPE_CHECKING:
    from worker.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def worker_options(func: F) -> F:
    func = click.option("--pool", type=click.Choice(["prefork", "threads", "solo"]), default=None)(
        func
    )
    return click.option("--concurrency", "-c", type=int, default=None, help="Worker processes.")(
        func
    )


def celery_argv(
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


def _start(argv_for: Callable[[Settings], list[str]]) -> None:
    from worker.log import configure_logging
    from worker.settings import get_settings

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with redis_url(settings):
        settings = get_settings()
        configure_logging(settings.log_level, settings.log_format)
        from worker.celery_app import app

        argv = argv_for(settings)
        # worker_main, not start: `celery worker` run through start() re-imports
        # the app from the working folder, where `worker` may name something else.
        (app.worker_main if argv[0] == "worker" else app.start)(argv)


@main.command()
@worker_options
@reports_errors
def run(concurrency: int | None, pool: str | None) -> None:
    """Worker and scheduler together (the main job)."""
    _start(lambda s: celery_argv(s, beat=True, concurrency=concurrency, pool=pool))


@main.command()
@worker_options
@reports_errors
def worker(concurrency: int | None, pool: str | None) -> None:
    """A worker alone (deployments run the scheduler separately)."""
    _start(lambda s: celery_argv(s, beat=False, concurrency=concurrency, pool=pool))


def beat_argv(settings: Settings) -> list[str]:
    schedule = str(settings.data_dir / "celerybeat-schedule")
    return ["beat", "--loglevel", settings.log_level, "--schedule", schedule]


@main.command()
@reports_errors
def beat() -> None:
    """The scheduler alone."""
    _start(beat_argv)
