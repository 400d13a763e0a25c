"""Hooks: the rule that ties them to the events (a hook is called with its event's fields, in
order), and the ready-made ``PrintHooks``, under both runners."""

from __future__ import annotations

import inspect
import io
import re
from typing import Any

import attrs
import pytest

from agentools import Hooks, function_tool
from agentools._dispatch import hook_calls
from agentools.events import EVENT_TYPES
from agentools.hooks import PrintHooks, RecordingHooks
from agentools.hooks.base import HOOK_NAMES
from agentools.testing import Chunking, FakeOpenAIServer, ToolCallSpec, Turn

from .support import Bot, Runner

# -- hooks and events agree -------------------------------------------------------------------

EVENTS = sorted(EVENT_TYPES, key=lambda event_type: event_type.__name__)


@pytest.mark.parametrize("event_type", EVENTS, ids=[e.__name__ for e in EVENTS])
def test_each_event_names_a_hook_that_takes_its_fields_in_order(event_type: type) -> None:
    method = getattr(Hooks, event_type.hook)
    self, *parameters = inspect.signature(method).parameters.values()
    assert self.name == "self"
    assert [p.name for p in parameters] == [field.name for field in attrs.fields(event_type)]
    assert all(p.kind is p.POSITIONAL_OR_KEYWORD and p.default is p.empty for p in parameters)


def test_every_hook_is_some_events_hook() -> None:
    hooks = sorted(
        name
        for name, _ in inspect.getmembers(Hooks)
        if name.startswith("on_") or name == "before_model_call"
    )
    assert sorted(event_type.hook for event_type in EVENT_TYPES) == hooks  # one event each
    assert sorted(HOOK_NAMES) == hooks


@pytest.mark.parametrize("event_type", EVENTS, ids=[e.__name__ for e in EVENTS])
def test_the_dispatch_table_calls_each_hook_with_its_events_fields(event_type: type) -> None:
    fields = {field.name: object() for field in attrs.fields(event_type)}
    hooks = RecordingHooks()

    hook_calls(hooks, blocking=True)[event_type](event_type(**fields))

    assert hooks.calls == [(event_type.hook, tuple(fields.values()))]


def test_print_hooks_override_hooks_with_their_signatures() -> None:
    overridden = [name for name in vars(PrintHooks) if name.startswith("on_")]
    assert overridden
    for name in overridden:
        ours = inspect.signature(getattr(PrintHooks, name)).parameters
        assert list(ours) == list(inspect.signature(getattr(Hooks, name)).parameters), name


# -- PrintHooks --------------------------------------------------------------------------------

TEXT = "Hello there, how are you?"


@function_tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return f"sunny in {city}"


@function_tool
def divide(a: int, b: int) -> float:
    """Divide a by b."""
    return a / b


TOOL_TURNS = (  # one call a turn: the results of calls that run together come in any order
    Turn(
        text="Checking.",
        tool_calls=[ToolCallSpec(name="get_weather", arguments={"city": "Paris"})],
        chunking=Chunking(text=3, arguments=4),
    ),
    Turn(
        tool_calls=[ToolCallSpec(name="divide", arguments={"a": 1, "b": 0})],
        chunking=Chunking(arguments=4),
    ),
    Turn(text="Sunny, and no.", chunking=Chunking(text=3)),
)


class Watched(PrintHooks):
    """``PrintHooks`` into a ``StringIO``, noting what it had printed after each piece of text."""

    def __init__(self, **kwargs: Any) -> None:
        self.out = io.StringIO()
        super().__init__(self.out, **kwargs)
        self.printed: list[str] = []

    def on_partial_text(self, delta: str, snapshot: str) -> None:
        super().on_partial_text(delta, snapshot)
        self.printed.append(self.out.getvalue())


def test_streamed_text_is_printed_as_it_arrives(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(Turn(text=TEXT, chunking=Chunking(text=4)))
    hooks = Watched()

    assert runner.run(bot(hooks=hooks), "Hi") == TEXT

    assert hooks.printed == [TEXT[: end + 4] for end in range(0, len(TEXT), 4)]
    assert hooks.out.getvalue() == TEXT + "\n"  # one newline, at the end of the message


def test_a_whole_answer_is_printed_at_once(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(Turn(text=TEXT))
    hooks = Watched()

    assert runner.run(bot(hooks=hooks, stream=False), "Hi") == TEXT

    assert hooks.printed == []
    assert hooks.out.getvalue() == TEXT + "\n"


def test_tool_calls_and_results_get_a_line_each(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(*TOOL_TURNS)
    hooks = Watched()

    runner.run(bot(tools=[get_weather, divide], hooks=hooks, stream=stream), "Paris? 1/0?")

    assert hooks.out.getvalue() == (
        "Checking.\n"
        '-> get_weather({"city": "Paris"})\n'
        "<- get_weather: sunny in Paris\n"
        '-> divide({"a": 1, "b": 0})\n'
        "<- divide: Error: ZeroDivisionError: division by zero\n"
        "Sunny, and no.\n"
    )


def test_show_tools_false_hides_the_tool_lines(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(*TOOL_TURNS)
    hooks = Watched(show_tools=False)

    runner.run(bot(tools=[get_weather, divide], hooks=hooks, stream=stream), "Paris? 1/0?")

    assert hooks.out.getvalue() == "Checking.\nSunny, and no.\n"


def test_a_refusal_is_printed_as_such(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(refusal="I can't help with that.", chunking=Chunking(text=4)))
    hooks = Watched()

    assert runner.run(bot(hooks=hooks, stream=stream), "Help?") == "I can't help with that."

    assert hooks.out.getvalue() == "[refused] I can't help with that.\n"


def test_print_hooks_print_to_stdout_by_default(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add(Turn(text=TEXT))

    runner.run(bot(hooks=PrintHooks()), "Hi")

    assert capsys.readouterr().out == TEXT + "\n"


def screen(output: str) -> list[str]:
    """The lines a terminal shows for ``output``: ``\\r`` takes the cursor to the line's start,
    ``ESC [K`` clears from the cursor to the end of the line, text overwrites."""
    lines, column = [""], 0
    for part in re.split(r"(\r|\x1b\[K|\n)", output):
        if part == "\n":
            lines.append("")
            column = 0
        elif part == "\r":
            column = 0
        elif part == "\x1b[K":
            lines[-1] = lines[-1][:column]
        elif part:
            lines[-1] = lines[-1][:column] + part + lines[-1][column + len(part) :]
            column += len(part)
    return lines


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


LONG_ARGUMENTS = {"city": "Paris", "note": "x" * 300}


def test_on_a_terminal_a_tool_call_grows_in_place(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(
        Turn(
            text="Checking.",
            tool_calls=[
                ToolCallSpec(name="get_weather", arguments={"city": "Paris"}),
                ToolCallSpec(name="divide", arguments={"a": 1, "b": 0}),
            ],
            chunking=Chunking(text=3, arguments=4),
        ),
        Turn(text="Sunny, and no.", chunking=Chunking(text=3)),
    )
    terminal = Terminal()
    hooks = PrintHooks(terminal)
    assert hooks.live  # a TTY: live by default

    runner.run(bot(tools=[get_weather, divide], hooks=hooks), "Paris? 1/0?")

    output = terminal.getvalue()
    drawn = re.findall(r"\r\x1b\[K(-> get_weather\([^\r\n]*)", output)
    assert len(drawn) > 3  # drawn again as the arguments grew ...
    assert drawn[1] != drawn[-2]
    assert drawn[-1] == '-> get_weather({"city": "Paris"})'  # ... and closed when whole
    shown = screen(output)
    assert shown[:3] == [
        "Checking.",
        '-> get_weather({"city": "Paris"})',
        '-> divide({"a": 1, "b": 0})',
    ]
    # The results finish in any order (the calls run together); then the answer.
    assert sorted(shown[3:5]) == [
        "<- divide: Error: ZeroDivisionError: division by zero",
        "<- get_weather: sunny in Paris",
    ]
    assert shown[5:] == ["Sunny, and no.", ""]


def test_a_live_line_is_cut_to_the_terminal_width_showing_the_end(
    server: FakeOpenAIServer, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "41")
    server.add(
        Turn(tool_calls=[ToolCallSpec(name="get_weather", arguments=LONG_ARGUMENTS)]),
        Turn(text="Done."),
    )

    @function_tool(name="get_weather")
    def weather(city: str, note: str) -> str:
        """Weather."""
        return city

    terminal = Terminal()
    bot(tools=[weather], hooks=PrintHooks(terminal)).run("Go")

    lines = screen(terminal.getvalue())
    assert all(len(line) <= 40 for line in lines)
    assert lines[0].startswith("-> get_weather(…")
    assert lines[0].endswith('xxx"})')


def test_not_a_terminal_gets_whole_lines_only(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(*TOOL_TURNS)
    hooks = Watched()
    assert not hooks.live

    runner.run(bot(tools=[get_weather, divide], hooks=hooks), "Paris? 1/0?")

    assert "\r" not in hooks.out.getvalue()
    assert "\x1b" not in hooks.out.getvalue()


def test_print_hooks_show_reasoning_when_asked(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    turn = Turn(reasoning="Greet back.", text="Hello!", chunking=Chunking(reasoning=4, text=3))
    server.add(turn, turn, turn)
    hidden, plain, terminal = io.StringIO(), io.StringIO(), Terminal()

    runner.run(bot(hooks=PrintHooks(hidden), stream=stream), "Hi")
    runner.run(bot(hooks=PrintHooks(plain, show_reasoning=True), stream=stream), "Hi")
    runner.run(bot(hooks=PrintHooks(terminal, show_reasoning=True), stream=stream), "Hi")

    assert hidden.getvalue() == "Hello!\n"
    assert plain.getvalue() == "[reasoning] Greet back.\nHello!\n"
    shown = screen(terminal.getvalue().replace("\x1b[2m", "").replace("\x1b[0m", ""))
    assert shown == (
        ["Greet back.", "Hello!", ""] if stream else ["[reasoning] Greet back.", "Hello!", ""]
    )
    if stream:
        assert "\x1b[2mGree\x1b[0m" in terminal.getvalue()  # dimmed as it streams
