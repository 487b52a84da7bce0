"""The benchmark of issue 6: `make bench` (bench/run.py) runs it; docs/benchmarks.md has figures."""
