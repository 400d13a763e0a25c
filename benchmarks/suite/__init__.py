"""The side-by-side suite: agentools against the bare openai SDK, its stream helper and two peers.

A server in its own process (``server``) sends the same pre-rendered streams (``workloads``) to
every contender (``contenders``); ``rounds`` interleaves them and keeps each round's ratio to the
bare SDK; ``concurrency``, ``startup`` and ``plots`` do the rest. Run ``python -m benchmarks.suite``
from the repository root (``--help`` for the options).
"""
