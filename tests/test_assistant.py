"""What ``Assistant`` checks when it is made and when it is reconfigured: its settings, the
model API's parameters, its hooks and its history. Whatever it refuses, it refuses at once, with
the documented exception, before anything is sent or stored; ``configure()`` checks the same way
and applies from the next model call, also in the middle of a run."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import attrs
import pytest

from agentools import (
    Assistant,
    History,
    HistoryError,
    HookError,
    Hooks,
    MaxTurnsExceeded,
    SettingsError,
    ToolDefinitionError,
    UnknownSettingError,
    function_tool,
)
from agentools.testing import FakeOpenAIServer, ToolCallSpec, Turn

from .support import Bot, Runner

EARLIER = [{"role": "user", "content": "Hi."}, {"role": "assistant", "content": "Hello."}]


@function_tool
def lookup(key: str) -> str:
    """Look a key up."""
    return f"value of {key}"


LOOKUP_TURN = Turn(tool_calls=[ToolCallSpec(name="lookup", arguments={"key": "a"})])


class AnyParameters:
    """A client whose ``chat.completions.create`` takes ``**kwargs`` (a wrapper's, say)."""

    def __init__(self) -> None:
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.create))

    def create(self, **kwargs: Any) -> Any:
        raise AssertionError("never called in these tests")


# -- keywords that are neither settings nor the API's parameters ------------------------------


def test_a_misspelt_parameter_is_refused_before_anything_is_sent(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    history = History.from_openai(EARLIER)

    with pytest.raises(UnknownSettingError, match="did you mean 'temperature'") as caught:
        bot(history=history, temprature=0)

    assert isinstance(caught.value, TypeError)
    assert isinstance(caught.value, SettingsError)
    assert "'temprature'" in str(caught.value)
    assert server.requests == []
    assert history.to_openai() == EARLIER

    assistant = bot(history=history, temperature=0)
    before = assistant.settings
    with pytest.raises(UnknownSettingError, match="did you mean 'temperature'"):
        assistant.configure(max_turns=4, temprature=1)
    assert assistant.settings is before  # all or nothing: max_turns did not change either
    assert server.requests == []
    assert assistant.history.to_openai() == EARLIER

    server.add(Turn(text="ok"))
    assert runner.run(assistant, "again") == "ok"
    (request,) = server.requests
    assert request.body["temperature"] == 0
    assert "temprature" not in request.body
    assert request.messages == [*EARLIER, {"role": "user", "content": "again"}]


@pytest.mark.parametrize(
    ("keyword", "meant"),
    [("temprature", "temperature"), ("max_turn", "max_turns"), ("sytem", "system")],
)
def test_a_misspelt_keyword_names_the_closest_setting_or_parameter(
    keyword: str, meant: str
) -> None:
    expected = f"'{keyword}' is neither a setting .*; did you mean '{meant}'\\?$"
    with pytest.raises(UnknownSettingError, match=expected):
        Assistant(model="m", **{keyword: 1})
    with pytest.raises(UnknownSettingError, match=expected):
        Assistant(model="m").configure(**{keyword: 1})


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("messages", "agentools sends the history"),
        ("functions", "pass tools=... to the Assistant"),
    ],
)
def test_keywords_agentools_sets_itself_are_refused_saying_what_to_do(name: str, says: str) -> None:
    expected = f"'{name}' is not an Assistant keyword: .*{says}"
    with pytest.raises(UnknownSettingError, match=expected):
        Assistant(model="m", **{name: []})
    with pytest.raises(UnknownSettingError, match=expected):
        Assistant(model="m", params={name: []})
    with pytest.raises(UnknownSettingError, match=expected):
        Assistant(model="m", client=AnyParameters(), **{name: []})  # type: ignore[arg-type]
    assistant = Assistant(model="m")
    with pytest.raises(UnknownSettingError, match=expected):
        assistant.configure(**{name: []})
    assert assistant.settings.params == {}


def test_tools_are_the_assistants_not_a_parameter() -> None:
    assistant = Assistant(model="m", tools=[lookup])
    with pytest.raises(UnknownSettingError, match=r"pass tools=\.\.\. to the Assistant"):
        assistant.configure(tools=[])
    assert [tool.name for tool in assistant.tools] == ["lookup"]


def test_one_tool_may_be_given_alone_and_anything_else_is_refused() -> None:
    assert [tool.name for tool in Assistant(model="m", tools=lookup).tools] == ["lookup"]
    for wrong in (5, "lookup", {"lookup": lookup}, [5]):
        with pytest.raises(ToolDefinitionError, match=r"a tool is|tools must be") as caught:
            Assistant(model="m", tools=wrong)  # type: ignore[arg-type]
        assert isinstance(caught.value, ValueError)


def test_a_client_that_takes_any_keyword_accepts_any_parameter() -> None:
    assistant = Assistant(model="m", client=AnyParameters(), top_k=5)  # type: ignore[arg-type]
    assistant.configure(temprature=0)
    assert assistant.settings.params == {"top_k": 5, "temprature": 0}

    only_async = Assistant(model="m", async_client=AnyParameters(), top_k=5)  # type: ignore[arg-type]
    assert only_async.settings.params == {"top_k": 5}


# -- values a setting cannot have -------------------------------------------------------------

INVALID = [
    pytest.param({"max_turns": 0}, "max_turns", id="max_turns=0"),
    pytest.param({"max_tool_errors": 0}, "max_tool_errors", id="max_tool_errors=0"),
    pytest.param({"stream_retries": -1}, "stream_retries", id="stream_retries=-1"),
    pytest.param({"max_text_chars": 0}, "max_text_chars", id="max_text_chars=0"),
    pytest.param({"max_argument_chars": 0}, "max_argument_chars", id="max_argument_chars=0"),
    pytest.param({"model": ""}, "model", id="model=''"),
    pytest.param({"model": None}, "model", id="model=None"),
    pytest.param({"stream": "yes"}, "stream", id="stream='yes'"),
    pytest.param({"stream": 1}, "stream", id="stream=1"),
    pytest.param({"system": 3}, "system", id="system=3"),
    pytest.param({"max_turns": 2.5}, "max_turns", id="max_turns=2.5"),
    pytest.param({"max_turns": True}, "max_turns", id="max_turns=True"),
    pytest.param({"max_turns": "3"}, "max_turns", id="max_turns='3'"),
    pytest.param({"params": [("temperature", 0)]}, "params", id="params=a-list"),
]


@pytest.mark.parametrize("how", ["Assistant", "configure"])
@pytest.mark.parametrize(("options", "setting"), INVALID)
def test_invalid_values_are_refused_naming_the_setting(
    options: dict[str, Any], setting: str, how: str
) -> None:
    if how == "Assistant":
        with pytest.raises(SettingsError) as caught:
            Assistant(**{"model": "m", **options})
    else:
        assistant = Assistant(model="m", temperature=0)
        before = assistant.settings
        with pytest.raises(SettingsError) as caught:
            assistant.configure(**options)
        assert assistant.settings is before
    assert type(caught.value) is SettingsError
    assert isinstance(caught.value, ValueError)
    assert setting in str(caught.value)


# -- hooks and history ------------------------------------------------------------------------


def test_hooks_must_be_hooks(server: FakeOpenAIServer, bot: Bot, runner: Runner) -> None:
    with pytest.raises(HookError, match=r"agentools\.Hooks") as caught:
        Assistant(model="m", hooks=object())  # type: ignore[arg-type]
    assert isinstance(caught.value, TypeError)

    assistant = bot(history=EARLIER)
    with pytest.raises(HookError, match=r"agentools\.Hooks"):
        runner.run(assistant, "hi", hooks=object())  # type: ignore[arg-type]
    assert server.requests == []
    assert assistant.history.to_openai() == EARLIER


@pytest.mark.parametrize(
    ("history", "says"),
    [
        ([{"role": "nope", "content": "x"}], "message 0: unknown role 'nope'"),
        ([*EARLIER, {"role": "user"}], "message 2: user.content"),
        ([1], "message 0: expected a dict, got int"),
        (5, "expected a list of message dicts, got int"),
        ('[{"role": "user", "content": "hi"}]', "got text: use History.from_json"),
        ({"role": "user", "content": "hi"}, "got one: put it in a list"),
    ],
    ids=["unknown-role", "no-content", "not-a-dict", "not-iterable", "json-text", "one-message"],
)
def test_a_bad_history_is_refused(history: Any, says: str | None) -> None:
    with pytest.raises(HistoryError, match=says) as caught:
        Assistant(model="m", history=history)
    assert isinstance(caught.value, ValueError)


# -- the settings: frozen, replaced by configure() ---------------------------------------------


def test_settings_are_frozen() -> None:
    params = {"temperature": 0}
    assistant = Assistant(model="m", params=params, max_tokens=5)

    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        assistant.settings.max_turns = 3  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        assistant.settings.params = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        assistant.settings.params["temperature"] = 1  # type: ignore[index]
    params["temperature"] = 1  # the caller's dict was copied
    assert assistant.settings.params == {"temperature": 0, "max_tokens": 5}
    assert assistant.settings.max_turns == 10


def test_configure_applies_from_the_next_model_call(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(Turn(text="one"), Turn(text="two"))
    assistant = bot(temperature=0, max_tokens=50, system="Be kind.")

    runner.run(assistant, "1")
    assistant.configure(temperature=0.5, system="Be terse.", max_turns=4)
    runner.run(assistant, "2")

    first, second = (request.body for request in server.requests)
    assert (first["temperature"], first["max_tokens"]) == (0, 50)
    assert (second["temperature"], second["max_tokens"]) == (0.5, 50)
    assert first["messages"][0] == {"role": "system", "content": "Be kind."}
    assert second["messages"][0] == {"role": "system", "content": "Be terse."}
    assert assistant.settings.max_turns == 4


def test_params_in_configure_replace_all_parameters(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(Turn(text="one"), Turn(text="two"), Turn(text="three"))
    assistant = bot(temperature=0, max_tokens=50)

    assistant.configure(params={"top_p": 0.9})
    assert assistant.settings.params == {"top_p": 0.9}
    runner.run(assistant, "1")
    assistant.configure(params={"seed": 1}, temperature=0.2)  # the new params, then one more
    assert assistant.settings.params == {"seed": 1, "temperature": 0.2}
    runner.run(assistant, "2")
    assistant.configure(params={})
    runner.run(assistant, "3")

    bodies = [request.body for request in server.requests]
    keys = ("temperature", "max_tokens", "top_p", "seed")
    sent = [{key: value for key, value in body.items() if key in keys} for body in bodies]
    assert sent == [{"top_p": 0.9}, {"seed": 1, "temperature": 0.2}, {}]
    assert all(body["model"] == "fake-model" for body in bodies)


def test_configure_from_a_hook_applies_to_the_runs_next_model_call(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    class Reconfigure(Hooks):
        def on_tool_call(self, call: Any) -> None:
            assistant.configure(
                model="other-model", system="Be terse.", temperature=0.7, stream=not stream
            )

    server.add(LOOKUP_TURN, Turn(text="done"))
    assistant = bot(
        tools=[lookup], hooks=Reconfigure(), system="Be kind.", temperature=0, stream=stream
    )

    assert runner.run(assistant, "go") == "done"

    first, second = server.requests
    assert (first.model, first.body["temperature"], first.stream) == ("fake-model", 0, stream)
    assert (second.model, second.body["temperature"], second.stream) == (
        "other-model",
        0.7,
        not stream,
    )
    assert first.messages[0] == {"role": "system", "content": "Be kind."}
    assert second.messages[0] == {"role": "system", "content": "Be terse."}
    assert second.messages[-1] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": "value of a",
    }


def test_a_limit_configured_from_a_hook_applies_to_that_run(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    class OneTurnOnly(Hooks):
        def on_tool_call(self, call: Any) -> None:
            assistant.configure(max_turns=1)

    server.add(LOOKUP_TURN)
    assistant = bot(tools=[lookup], hooks=OneTurnOnly())

    with pytest.raises(MaxTurnsExceeded, match="max_turns=1"):
        runner.run(assistant, "go")
    assert len(server.requests) == 1
    assert [m["role"] for m in assistant.history.to_openai()] == ["user", "assistant", "tool"]
