"""Commands that do not parse start without the parsing stack (and `--help` without Celery).

Each command runs in its own process under `python -X importtime`, which lists on
stderr every module the process imported. Only what was imported is checked, never
how long it took: timings are in docs/benchmarks.md ("Command-line start-up").
"""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from tests.documents import SEED
from tests.support import Cli
from worker.cli import main

# What reading and parsing articles and feeds needs, and nothing else does.
PARSING = (
    "trafilatura",
    "feedparser",
    "lxml",
    "pycld2",
    "html_text",
    "markdown_it",
    "worker.readers",
)
CELERY = ("celery", "kombu", "billiard", "worker.celery_app", "worker.tasks")
# `--help` only builds the command tree: no Redis client, no settings model.
HELP_ONLY = (*PARSING, *CELERY, "redis", "pydantic", "pydantic_settings", "structlog", "tqdm")


def imported(cli: Cli, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "worker", *args],
        env=cli.env,
        cwd=cli.cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return done, modules


def among(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in packages or m.startswith(packages))


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            paths += command_paths(command, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


@pytest.mark.parametrize("path", command_paths(main), ids=lambda path: " ".join(path) or "main")
def test_help_imports_no_redis_no_celery_no_parsing(cli: Cli, path: tuple[str, ...]) -> None:
    done, modules = imported(cli, *path, "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Usage:" in done.stdout
    assert "worker.cli" in modules  # the listing really covers the command line
    assert among(modules, HELP_ONLY) == []


def test_reading_commands_import_no_parsing_and_only_status_imports_celery(cli: Cli) -> None:
    ingested = cli.run("ingest", str(SEED), "--json")
    assert ingested.returncode == 0, ingested.stderr
    added = cli.run("feeds", "add", "https://news.example.com/feed.xml", "--json")
    assert added.returncode == 0, added.stderr
    article = json.loads(ingested.stdout)["id"]
    feed = json.loads(added.stdout)["id"]

    light = {
        # The worker ping goes through Celery's control API.
        ("status", "--json"): PARSING,
        ("feeds", "list", "--json"): PARSING + CELERY,
        ("feeds", "show", feed, "--json"): PARSING + CELERY,
        ("articles", "list", "--json"): PARSING + CELERY,
        ("articles", "get", article, "--json"): PARSING + CELERY,
        ("failed", "list", "--json"): PARSING + CELERY,
    }
    for args, refused in light.items():
        done, modules = imported(cli, *args)
        assert done.returncode == 0, (args, done.stderr[-2000:])
        assert "worker.store.services" in modules, args  # it really read the store
        assert among(modules, refused) == [], args
