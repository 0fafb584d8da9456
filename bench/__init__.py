"""Benchmarks: `.venv/bin/python -m bench.<name>` (see bench/README.md). 127.0.0.1 only."""
