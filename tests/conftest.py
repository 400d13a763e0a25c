"""Shared test configuration and fixtures (their helpers are in ``support.py``).

Hypothesis profiles: ``ci`` (fast, the default so a plain ``pytest`` stays quick) and ``thorough``
(many more examples, for local runs: ``HYPOTHESIS_PROFILE=thorough python -m pytest``).

- ``runner``: how every scenario runs under both runners: ``runner.run(assistant, prompt)`` calls
  ``assistant.run`` for the blocking runner, and ``assistant.arun`` on one event loop kept for the
  whole test for the asyncio runner (an ``AsyncOpenAI`` client's connections belong to the loop
  that opened them). Pin a test to one with ``@pytest.mark.parametrize("runner", ["async"],
  indirect=True)``.
- ``stream``: streamed answers, then whole completions.
- ``server``: the loopback server; after the test no connection may be open, and no server thread
  or serving error left.
- ``bot(**kwargs)``: an ``Assistant`` wired to the ``server``; every client it built is closed
  when the test ends (``bot(client={...}, pooled=False)``: see ``support.Bot``).
- After every test, agentools' tool and preview threads must end within 5 s: a test that leaves
  a sync tool running past its ``timeout`` lets it end before it returns.

``AGENTOOLS_TEST_DECODING=sdk python -m pytest`` runs the whole suite with every assistant reading
the SDK's typed stream (``Settings.decoding="sdk"``) unless a test gives ``decoding`` itself; the
default is agentools' own (``"raw"``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

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

DECODING = os.environ.get("AGENTOOLS_TEST_DECODING")
"""The path every assistant the tests build reads answers with, unless a test says otherwise."""


@pytest.fixture(autouse=True, scope="session")
def decoding_path() -> Iterator[None]:
    """Every assistant built from keywords (``Assistant(...)``, ``bot(...)``) gets
    ``decoding=DECODING`` by default, when it is set."""
    if DECODING is None:
        yield
        return
    from agentools import Settings

    made = Settings.from_options.__func__  # type: ignore[attr-defined]

    def from_options(cls: type[Settings], options: Any) -> Settings:
        return made(cls, {"decoding": DECODING, **options})  # type: ignore[no-any-return]

    mp = pytest.MonkeyPatch()
    mp.setattr(Settings, "from_options", classmethod(from_options))
    yield
    mp.undo()


@pytest.fixture(autouse=True)
def no_thread_left() -> Iterator[None]:
    """No agentools tool or preview thread may outlive a test (each gets 5 s in all to end)."""
    yield
    from .support import threads_left

    assert threads_left() == []


@pytest.fixture(params=["blocking", "async"])
def runner(request: pytest.FixtureRequest) -> Iterator[Runner]:
    from .support import Runner

    runner = Runner(request.param)
    yield runner
    runner.close()


@pytest.fixture(params=[True, False], ids=["stream", "whole"])
def stream(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    from .support import serving

    with serving() as server:
        yield server


@pytest.fixture
def bot(server: FakeOpenAIServer, runner: Runner) -> Iterator[Bot]:
    from .support import Bot

    factory = Bot(server, runner)
    yield factory
    factory.close()
