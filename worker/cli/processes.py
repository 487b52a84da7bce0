"""`run`, `worker`, `beat`: the long-running processes."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from worker.cli.common import main, redis_url, reports_errors

if TYPE_CHECKING:
    from worker.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def worker_options(func: F) -> F:
    func = click.option(
        "--role",
        type=click.Choice(["all", "files", "polls"]),
        default="all",
        show_default=True,
        help="all: a file worker and the poll workers (each its own process); "
        "files or polls: that one worker only.",
    )(func)
    func = click.option(
        "--pool",
        type=click.Choice(["prefork", "threads", "solo"]),
        default=None,
        help="One Celery worker with this pool for files and polls alike (the old layout).",
    )(func)
    return click.option(
        "--concurrency", "-c", type=int, default=None, help="The file worker's processes."
    )(func)


def celery_argv(
    settings: Settings, *, beat: bool, concurrency: int | None, pool: str | None
) -> list[str]:
    """One Celery worker on both queues (`--pool` given: the layout before poll workers)."""
    queues = f"{settings.queue},{settings.effective_poll_queue}"
    argv = ["worker", "--loglevel", settings.log_level, "-Q", queues]
    if beat:
        argv += ["-B", "--schedule", str(settings.data_dir / "celerybeat-schedule")]
    chosen = concurrency or settings.concurrency
    if chosen:
        argv += ["--concurrency", str(chosen)]
    if pool:
        argv += ["--pool", pool]
    return argv


def files_argv(settings: Settings, concurrency: int | None) -> list[str]:
    """The file worker: the main queue, prefork (file ingests are CPU-bound)."""
    argv = ["worker", "--loglevel", settings.log_level, "-Q", settings.queue, "--pool", "prefork"]
    chosen = concurrency or settings.concurrency
    return argv + (["--concurrency", str(chosen)] if chosen else [])


def polls_argv(settings: Settings, index: int) -> list[str]:
    """A poll worker: the poll queue, threads, `poll_threads` batches at once."""
    return [
        "worker", "--loglevel", settings.log_level, "-Q", settings.effective_poll_queue,
        "--pool", "threads", "--concurrency", str(settings.poll_threads),
        "--hostname", f"polls{index}@%h",
    ]  # fmt: skip


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


def _supervise(*, beat: bool, concurrency: int | None) -> None:
    """The default layout: a file worker, the poll workers (and beat), each a process."""
    from worker.cli.supervisor import Role, poll_processes, supervise
    from worker.log import configure_logging
    from worker.settings import get_settings

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with redis_url(settings) as url:
        settings = get_settings()
        configure_logging(settings.log_level, settings.log_format)
        files = ["worker", "--role", "files"]
        if concurrency:
            files += ["--concurrency", str(concurrency)]
        roles = [Role("files", files)]
        for index in range(1, poll_processes(settings.poll_processes) + 1):
            roles.append(
                Role(f"polls{index}", ["worker", "--role", "polls", "--index", str(index)])
            )
        if beat:
            roles.append(Role("beat", ["beat"]))
        sys.exit(supervise(roles, {**os.environ, "NEWSWORKER_REDIS_URL": url}))


def _worker(
    *, beat: bool, role: str, concurrency: int | None, pool: str | None, index: int
) -> None:
    if pool is not None:
        _start(lambda s: celery_argv(s, beat=beat, concurrency=concurrency, pool=pool))
    elif role == "files":
        _start(lambda s: files_argv(s, concurrency))
    elif role == "polls":
        _start(lambda s: polls_argv(s, index))
    else:
        _supervise(beat=beat, concurrency=concurrency)


@main.command()
@worker_options
@reports_errors
def run(concurrency: int | None, pool: str | None, role: str) -> None:
    """Workers and scheduler together (the main job)."""
    _worker(beat=True, role=role, concurrency=concurrency, pool=pool, index=1)


@main.command()
@worker_options
@click.option("--index", type=int, default=1, hidden=True)
@reports_errors
def worker(concurrency: int | None, pool: str | None, role: str, index: int) -> None:
    """Workers alone (deployments run the scheduler separately): by default a file
    worker (prefork) and one poll worker (threads) per core, each its own process."""
    _worker(beat=False, role=role, concurrency=concurrency, pool=pool, index=index)


def beat_argv(settings: Settings) -> list[str]:
    schedule = str(settings.data_dir / "celerybeat-schedule")
    return ["beat", "--loglevel", settings.log_level, "--schedule", schedule]


@main.command()
@reports_errors
def beat() -> None:
    """The scheduler alone."""
    _start(beat_argv)
