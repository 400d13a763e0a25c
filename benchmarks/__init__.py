"""Benchmarks of agentools: single scripts, and the side-by-side suite (``benchmarks.suite``)."""
