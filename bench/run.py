"""`make bench`: the benchmark of issue 6 in one run (see bench/suite.py and docs/benchmarks.md).

.venv/bin/python bench/run.py [--feeds 200] [--entries 50] [--files 1000] [--repeat 3] ...
"""

import sys
from pathlib import Path

# Run as a script (`python bench/run.py`), the folder above is not on the path yet.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.suite import main

if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # everything started is stopped by then
        sys.exit("bench: interrupted")
