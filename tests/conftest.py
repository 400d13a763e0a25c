"""Shared test configuration and fixtures.

Hypothesis profiles: ``ci`` (fast, the default so a plain ``pytest`` stays quick) and ``thorough``
(many more examples, for local runs: ``HYPOTHESIS_PROFILE=thorough python -m pytest``).

The ``runner`` fixture is how every scenario runs under both runners: ``runner.run(assistant,
prompt)`` calls ``assistant.run`` for the blocking runner, and ``assistant.arun`` on one event loop
kept for the whole test for the asyncio runner (an ``AsyncOpenAI`` client's connections belong to
the loop that opened them). ``bot(**kwargs)`` builds an ``Assistant`` wired to the ``server``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

pytest.register_assert_rewrite("tests.support")

if TYPE_CHECKING:
    from agentools.testing import FakeOpenAIServer

    from .support import Bot, Runner

settings.register_profile("ci", max_examples=60, deadline=None, print_blob=True)
settings.register_profile(
    "thorough",
    max_examples=5_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(params=["blocking", "async"])
def runner(request: pytest.FixtureRequest) -> Iterator[Runner]:
    from .support import Runner

    runner = Runner(request.param)
    yield runner
    runner.close()


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    from agentools.testing import FakeOpenAIServer

    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def bot(server: FakeOpenAIServer, runner: Runner) -> Iterator[Bot]:
    from .support import Bot

    factory = Bot(server, runner)
    yield factory
    factory.close()
