"""Benchmarks of hallkey's hot paths; run with `make bench` (python -m bench)."""
