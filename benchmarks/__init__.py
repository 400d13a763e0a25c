"""Benchmarks of agentools: single scripts, and the side-by-side suite (``python -m benchmarks.suite``)."""
