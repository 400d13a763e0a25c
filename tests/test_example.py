"""``examples/weather.py`` runs as the README says: offline, and against an OpenAI-compatible
server given by ``OPENAI_BASE_URL`` alone (a local server needs no key)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentools.testing import FakeOpenAIServer, offline_model

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "weather.py"


def run_example(**environment: str) -> subprocess.CompletedProcess[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("OPENAI_") and not name.lower().endswith("_proxy")
    }
    return subprocess.run(
        [sys.executable, str(EXAMPLE)],
        env={**env, **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_example_runs_offline() -> None:
    done = run_example()
    assert done.returncode == 0, done.stderr
    assert "get_weather says city Paris, temperature 18" in done.stdout
    assert "get_weather says city Rome, temperature 24" in done.stdout


@pytest.mark.parametrize("with_key", [False, True], ids=["base URL only", "base URL and key"])
def test_the_example_talks_to_the_server_of_openai_base_url(with_key: bool) -> None:
    with FakeOpenAIServer(responder=offline_model) as server:
        key = {"OPENAI_API_KEY": "sk-given"} if with_key else {}
        done = run_example(OPENAI_BASE_URL=server.base_url, AGENTOOLS_MODEL="local", **key)
        requests = server.requests

    assert done.returncode == 0, done.stderr
    assert "get_weather says city Rome, temperature 24" in done.stdout
    assert len(requests) == 4  # two runs, each a tool call then the answer
    assert {request.model for request in requests} == {"local"}
    expected = "Bearer sk-given" if with_key else "Bearer no-key-needed"
    assert {request.headers["authorization"] for request in requests} == {expected}
