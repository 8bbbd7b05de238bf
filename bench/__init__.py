"""Benchmarks: ``python -m bench.<name>`` prints figures next to their targets."""
