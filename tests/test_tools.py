"""Tools in the loop, under both runners: the fault policy (asserted on what the model really
received), timeouts, the error bound, toolkits, run-time changes, typed arguments, results and
context."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import enum
import json
import threading
from typing import Any

import attrs
import pytest

from agentools import (
    History,
    SchemaError,
    ToolContext,
    ToolErrorsExceeded,
    Toolkit,
    function_tool,
)
from agentools.hooks import RecordingHooks
from agentools.testing import FakeOpenAIServer, ToolCallSpec, Turn

from .support import Bot, Runner


def call(name: str, arguments: Any = "{}", id: str | None = None) -> Turn:
    return Turn(tool_calls=[ToolCallSpec(name=name, arguments=arguments, id=id)])


def tool_messages(server: FakeOpenAIServer, request: int) -> list[str]:
    return [m["content"] for m in server.requests[request].messages if m["role"] == "tool"]


@function_tool
def forecast(city: str, days: int = 1) -> str:
    """Forecast for a city.

    Args:
        city: The city.
        days: How many days ahead.
    """
    return f"{city}: sunny for {days} day(s)"


@pytest.mark.parametrize(
    ("turn", "says", "error_type"),
    [
        (
            call("forecast", '{"city": "Oslo", "days": '),
            "not complete JSON",
            "MalformedArgumentsError",
        ),
        (call("forecast", "[1, 2]"), "must be a JSON object", "MalformedArgumentsError"),
        (
            call("weather", {"city": "Oslo"}),
            "no tool 'weather'; available tools: forecast",
            "UnknownToolError",
        ),
        (call("forecast", {"city": "Oslo", "days": "three"}), "argument 'days'", "ArgumentsError"),
        (call("forecast", {"days": 2}), "argument 'city'", "ArgumentsError"),
        (call("forecast", {"city": "Oslo", "colour": "red"}), "colour", "ArgumentsError"),
    ],
    ids=["truncated-json", "not-an-object", "unknown-tool", "wrong-type", "missing", "unexpected"],
)
def test_bad_calls_are_explained_to_the_model(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, turn: Turn, says: str, error_type: str
) -> None:
    server.add(turn, Turn(text="Sorry about that."))
    hooks = RecordingHooks()
    assistant = bot(tools=[forecast], hooks=hooks)

    assert runner.run(assistant, "Weather?") == "Sorry about that."

    ((content,),) = [tool_messages(server, 1)]
    assert content.startswith(f"Error: {error_type}: ")
    assert says in content
    assert "Traceback" not in content
    ((_, result),) = hooks.args_of("on_tool_result")
    assert type(result.error).__name__ == error_type
    assert result.content == content
    # What the API got back is a history it accepts: the arguments stored always parse.
    (stored,) = server.requests[1].messages[-2]["tool_calls"]
    json.loads(stored["function"]["arguments"])


def test_a_raising_tool_is_reported_with_type_and_message(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    @function_tool
    def divide(a: int, b: int) -> float:
        """Divides."""
        return a / b

    server.add(call("divide", {"a": 1, "b": 0}), Turn(text="Cannot."))
    assistant = bot(tools=[divide])
    runner.run(assistant, "1/0")
    assert tool_messages(server, 1) == ["Error: ZeroDivisionError: division by zero"]


def test_timeouts_turn_hung_tools_into_messages(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    release = threading.Event()
    returned = threading.Event()

    @function_tool(timeout=0.2)
    def hangs(x: int) -> str:
        """Hangs."""
        release.wait(timeout=30)
        returned.set()
        return "late"

    @function_tool(timeout=0.2)
    async def sleeps(x: int) -> str:
        """Sleeps."""
        await asyncio.sleep(30)
        return "late"

    @function_tool
    def quick(x: int) -> int:
        """Quick."""
        return x * 2

    server.add(
        Turn(
            tool_calls=[
                ToolCallSpec(name="hangs", arguments={"x": 1}),
                ToolCallSpec(name="sleeps", arguments={"x": 2}),
                ToolCallSpec(name="quick", arguments={"x": 3}),
            ]
        ),
        Turn(text="Partly done."),
    )
    hooks = RecordingHooks()
    assistant = bot(tools=[hangs, sleeps, quick], hooks=hooks)
    try:
        assert runner.run(assistant, "go") == "Partly done."
    finally:
        release.set()  # the run abandoned the sync tool: let its thread end before the test does
        assert returned.wait(timeout=5)
    assert tool_messages(server, 1) == [
        "Error: ToolTimeoutError: hangs did not finish within 0.2 s",
        "Error: ToolTimeoutError: sleeps did not finish within 0.2 s",
        "6",
    ]
    errors = {call.name: result.error for call, result in hooks.args_of("on_tool_result")}
    assert isinstance(errors["hangs"], TimeoutError)
    assert errors["quick"] is None


def test_error_bound_stops_a_model_that_keeps_failing(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    # Three failing calls in one turn do not trip it; three failing turns in a row do.
    many = Turn(tool_calls=[ToolCallSpec(name="nope", arguments={}) for _ in range(3)])
    server.add(many, call("forecast", {"city": "Oslo"}), call("nope"), call("nope"), call("nope"))
    server.add(Turn(text="recovered"))
    assistant = bot(tools=[forecast], max_tool_errors=3, max_turns=10)

    with pytest.raises(ToolErrorsExceeded, match="max_tool_errors=3") as caught:
        runner.run(assistant, "go")

    assert len(server.requests) == 5
    assert len(caught.value.errors) == 1
    history = assistant.history.to_openai()
    answered = {m["tool_call_id"] for m in history if m["role"] == "tool"}
    asked = {c["id"] for m in history if m["role"] == "assistant" for c in m.get("tool_calls", [])}
    assert asked == answered
    assert history[0] == {"role": "user", "content": "go"}
    assert runner.run(assistant, "again") == "recovered"


def test_raise_errors_tools_propagate_and_keep_only_the_prompt(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    class PaymentDeclined(Exception):
        pass

    @function_tool(raise_errors=True)
    def pay(amount: int) -> str:
        """Pays."""
        raise PaymentDeclined(f"{amount} declined")

    server.add(call("pay", {"amount": 5}), Turn(text="after"))
    assistant = bot(tools=[pay])
    with pytest.raises(PaymentDeclined, match="5 declined"):
        runner.run(assistant, "pay 5")
    assert assistant.history.to_openai() == [{"role": "user", "content": "pay 5"}]
    assert runner.run(assistant, "just talk") == "after"


class Counter(Toolkit):
    """Per-instance state, shared by its tools."""

    def __init__(self, start: int) -> None:
        self.value = start

    @function_tool
    def increment(self, by: int = 1) -> int:
        """Add to the counter.

        Args:
            by: How much to add.
        """
        self.value += by
        return self.value

    @function_tool(name="read_counter")
    def read(self) -> int:
        """Read the counter."""
        return self.value


def test_toolkits_bind_tools_to_their_instance(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    counter = Counter(10)
    server.add(call("increment", {"by": 5}), call("read_counter"), Turn(text="15"))
    assistant = bot(tools=[counter])

    runner.run(assistant, "count")

    assert counter.value == 15
    assert Counter(0).value == 0
    schemas = {t["function"]["name"]: t["function"] for t in server.requests[0].body["tools"]}
    assert set(schemas) == {"increment", "read_counter"}
    assert "self" not in schemas["increment"]["parameters"]["properties"]
    assert schemas["increment"]["description"] == "Add to the counter."
    assert tool_messages(server, 2) == ["15", "15"]


def test_two_tools_with_one_name_are_refused_naming_both() -> None:
    from agentools import Assistant, ToolDefinitionError

    with pytest.raises(ToolDefinitionError, match="two tools are named 'increment'") as caught:
        Assistant(model="m", tools=[Counter(1), Counter(2)])
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).count("Counter.increment") == 2
    with pytest.raises(ToolDefinitionError, match="is a method"):
        Assistant(model="m", tools=[Counter.increment])


def test_tools_change_at_run_time(server: FakeOpenAIServer, bot: Bot, runner: Runner) -> None:
    @function_tool
    def unlock() -> str:
        """Unlocks the secret tool."""
        assistant.tools.enable("secret")
        return "unlocked"

    @function_tool
    def secret() -> str:
        """A secret."""
        return "42"

    server.add(call("secret"), call("unlock"), call("secret"), Turn(text="42"))
    assistant = bot(tools=[unlock, secret])
    assistant.tools.disable("secret")

    runner.run(assistant, "secret?")

    names = [[t["function"]["name"] for t in r.body["tools"]] for r in server.requests]
    assert names == [["unlock"], ["unlock"], ["unlock", "secret"], ["unlock", "secret"]]
    assert tool_messages(server, 3) == [
        "Error: UnknownToolError: there is no tool 'secret'; available tools: unlock",
        "unlocked",
        "42",
    ]
    assistant.tools.remove("secret")
    assert "secret" not in assistant.tools
    with pytest.raises(KeyError, match="no tool named 'secret'"):
        assistant.tools.disable("secret")


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


@attrs.frozen
class Place:
    city: str
    country: str = "FR"


@dataclasses.dataclass
class Reading:
    place: Place
    temperatures: list[int]
    unit: Unit


def test_typed_arguments_and_encoded_results(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    received: list[Any] = []

    @function_tool
    def record(place: Place, temperatures: list[int], unit: Unit) -> Reading:
        """Records a reading."""
        received.append((place, temperatures, unit))
        return Reading(place, temperatures, unit)

    @function_tool
    def nothing() -> None:
        """Returns nothing."""

    @function_tool
    def text() -> str:
        """Returns text."""
        return "plain text, not JSON"

    arguments = {"place": {"city": "Nice"}, "temperatures": [20, 21], "unit": "celsius"}
    server.add(
        Turn(
            tool_calls=[
                ToolCallSpec(name="record", arguments=arguments),
                ToolCallSpec(name="nothing"),
                ToolCallSpec(name="text"),
            ]
        ),
        Turn(text="ok"),
    )
    assistant = bot(tools=[record, nothing, text])
    runner.run(assistant, "record")

    assert received == [(Place("Nice", "FR"), [20, 21], Unit.CELSIUS)]
    first, empty, plain = tool_messages(server, 1)
    assert json.loads(first) == {
        "place": {"city": "Nice", "country": "FR"},
        "temperatures": [20, 21],
        "unit": "celsius",
    }
    assert empty == ""
    assert plain == "plain text, not JSON"


def test_tools_can_ask_for_their_context(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    seen: list[ToolContext] = []

    @function_tool
    async def remember(note: str, context: ToolContext) -> str:
        """Remembers a note."""
        seen.append(context)
        return f"noted {note} as {context.call_id}"

    server.add(call("remember", {"note": "milk"}, id="call_77"), Turn(text="ok"))
    assistant = bot(tools=[remember])
    runner.run(assistant, "remember milk")

    (context,) = seen
    assert context.call_id == "call_77"
    assert context.assistant is assistant
    assert isinstance(context.history, History)
    assert context.history[0].content == "remember milk"
    schema = server.requests[0].body["tools"][0]["function"]["parameters"]
    assert set(schema["properties"]) == {"note"}
    assert tool_messages(server, 1) == ["noted milk as call_77"]


def test_a_type_that_cannot_be_described_fails_at_decoration() -> None:
    with pytest.raises(SchemaError, match="when"):

        @function_tool
        def schedule(when: datetime.datetime) -> None:
            """Schedules."""
