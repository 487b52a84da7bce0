"""`ingest` (in this process) and `enqueue` (to the workers): article files in."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from worker.cli.common import (
    main,
    progress,
    quiet_logging,
    report_all,
    reports_errors,
    services,
)
from worker.errors import NewsworkerError, StorageError

if TYPE_CHECKING:
    from worker.model import IngestOutcome
    from worker.store.services import Services


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON line per record on stdout.")
@click.option("--verbose", "-v", is_flag=True, help="Log every step on stderr.")
@reports_errors
def ingest(paths: tuple[str, ...], as_json: bool, verbose: bool) -> None:
    """Parse and store files now, in this process (no broker, no worker)."""
    quiet_logging(verbose)
    with services() as svc:
        status = report_all(_ingest_each(svc, paths), as_json)
    sys.exit(status)


def _ingest_each(svc: Services, paths: tuple[str, ...]) -> Iterator[IngestOutcome]:
    """Outcomes input by input, so each is reported as soon as it is known."""
    from worker.ingest import ingest_input
    from worker.inputs.files import expand, read_input
    from worker.log import get_logger
    from worker.model import IngestOutcome
    from worker.settings import get_settings

    settings = get_settings()
    log = get_logger("newsworker.ingest")
    refs = expand(paths)
    with progress(len(refs), "ingest") as bar:
        for ref in refs:
            try:
                item = read_input(ref, max_bytes=settings.max_file_bytes)
                outcomes = ingest_input(item, svc.store, now=datetime.now(UTC), log=log)
            except NewsworkerError as exc:  # unreadable, or Redis failed for this input
                error = f"not stored: {exc}" if isinstance(exc, StorageError) else str(exc)
                outcomes = [IngestOutcome(ref.display, "failed", error=error)]
            bar.update(1)
            yield from outcomes


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--wait", is_flag=True, help="Wait for the workers and report each outcome.")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds to wait.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per record on stdout.")
@reports_errors
def enqueue(paths: tuple[str, ...], wait: bool, timeout: float, as_json: bool) -> None:
    """Send files to the workers; their bytes travel in the task message."""
    from worker.cli.enqueue import enqueue_paths
    from worker.settings import get_settings

    quiet_logging()
    with services():
        outcomes = enqueue_paths(
            get_settings(), paths, wait=wait, timeout=timeout, progress=progress
        )
        status = report_all(outcomes, as_json)
    sys.exit(status)
