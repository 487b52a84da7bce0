"""The `newsworker` command line (the contract is DESIGN.md, "Command line").

Machine output (`--json`) goes to stdout, one document or one record per line;
progress bars and logs go to stderr. Exit status: 0 when everything succeeded,
1 when any input failed, 2 for usage errors. Failures are reported, never a traceback.

One module per family of commands: `processes` (run, worker, beat), `files`
(ingest, enqueue), `store` (articles, status, failed), `feeds` (feeds, poll).

Every command module is imported to build the command tree, for `--help` too, so
at the top they import only click and light modules. Redis, the settings model,
the store, Celery and the parsing stack are imported inside the functions that
use them: commands that only read the store never load the parsing stack
(tests/test_cli_startup.py keeps it so; docs/benchmarks.md has the timings).
`enqueue`, `status` and `wait` hold what single commands need, imported by them.
"""

from __future__ import annotations

from worker.cli import feeds, files, processes, store
from worker.cli.common import main

__all__ = ["feeds", "files", "main", "processes", "store"]
