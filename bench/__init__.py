"""Benchmarks (``make bench``): ours next to the obvious alternative, measured in one run."""
