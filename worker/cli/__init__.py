"""The `newsworker` command line (the contract is DESIGN.md, "Command line").

Machine output (`--json`) goes to stdout, one document or one record per line;
progress bars and logs go to stderr. Exit status: 0 when everything succeeded,
1 when any input failed, 2 for usage errors. Failures are reported, never a traceback.

One module per family of commands: `processes` (run, worker, beat), `files`
(ingest, enqueue), `store` (articles, status, failed), `feeds` (feeds, poll).
"""

from __future__ import annotations

from worker.cli import feeds, files, processes, store
from worker.cli.common import main

__all__ = ["feeds", "files", "main", "processes", "store"]
