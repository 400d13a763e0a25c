"""Shared test configuration.

Hypothesis profiles: ``ci`` (fast, the default so a plain ``pytest`` stays quick) and ``thorough``
(many more examples, for local runs: ``HYPOTHESIS_PROFILE=thorough python -m pytest``).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=60, deadline=None, print_blob=True)
settings.register_profile(
    "thorough",
    max_examples=5_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
