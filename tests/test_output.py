"""Typed outputs (``run(prompt, output=Song)``): the value returned, the request that asks for it
(``response_format`` or the ``final_result`` tool), the partial output while it streams, the
retries of an output that does not fit, refusals, the token limit, cancellation, misuse, and the
history each leaves.

Under both runners (streamed and whole where it matters), against the loopback server.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from typing import Any, Literal, TypedDict

import attrs
import pytest

from agentools import (
    AssistantMessage,
    CancelToken,
    Hooks,
    MaxTokensExceeded,
    MisuseError,
    OutputRefused,
    OutputValidationError,
    PartialOutput,
    RunCancelled,
    RunResult,
    SchemaError,
    UserMessage,
    function_tool,
    validate_history,
)
from agentools.events import OutputDelta, OutputDone, ResponseEnd
from agentools.hooks import RecordingHooks
from agentools.output import OUTPUT_RETRY_PROMPT, OUTPUT_TOOL_NAME
from agentools.testing import Chunking, FakeOpenAIServer, ToolCallSpec, Turn

from .support import Bot, Runner


@attrs.define
class Song:
    title: str
    year: int


@dataclasses.dataclass
class Album:
    name: str
    tracks: int


class SongDict(TypedDict):
    title: str
    year: int


SONG = Song(title="Yesterday", year=1965)
SONG_JSON = '{"title": "Yesterday", "year": 1965}'
SONG_SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
    "required": ["title", "year"],
    "additionalProperties": False,
}

ran: list[str] = []
"""The cities ``get_weather`` was really called for (emptied by each test that reads it)."""


@function_tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    ran.append(city)
    return f"Sunny in {city}"


def _valid(assistant: Any) -> None:
    assert validate_history(assistant.history.to_openai()) == []


def _result(assistant: Any) -> RunResult:
    result = assistant.last_result
    assert result is not None
    return result  # type: ignore[no-any-return]


def _retry_prompt(problems: str) -> dict[str, str]:
    return {"role": "user", "content": OUTPUT_RETRY_PROMPT.format(problems=problems)}


def _output_turn(mode: str, text: str, **kwargs: Any) -> Turn:
    """The model giving ``text`` as its output: as its answer's text, or as the output tool's
    arguments."""
    if mode == "tool":
        return Turn(tool_calls=[ToolCallSpec(OUTPUT_TOOL_NAME, text)], **kwargs)
    return Turn(text=text, **kwargs)


# -- each kind of output type ------------------------------------------------------------------


OUTPUT_TYPES = [
    pytest.param(Song, SONG_JSON, SONG, id="attrs"),
    pytest.param(Album, '{"name": "Help!", "tracks": 14}', Album("Help!", 14), id="dataclass"),
    pytest.param(SongDict, SONG_JSON, {"title": "Yesterday", "year": 1965}, id="TypedDict"),
    pytest.param(
        list[Song],
        '{"response": [{"title": "Yesterday", "year": 1965}, {"title": "Help!", "year": 1965}]}',
        [SONG, Song("Help!", 1965)],
        id="list",
    ),
    pytest.param(Literal["yes", "no"], '{"response": "no"}', "no", id="Literal"),
    pytest.param(
        Song | Album,
        '{"response": {"name": "Help!", "tracks": 14}}',
        Album("Help!", 14),
        id="union",
    ),
    pytest.param(int, '{"response": 42}', 42, id="int"),
]


@pytest.mark.parametrize(("output", "text", "expected"), OUTPUT_TYPES)
@pytest.mark.parametrize("mode", ["json_schema", "tool"])
def test_each_kind_of_type_comes_back_as_a_value_of_it(
    server: FakeOpenAIServer,
    bot: Bot,
    runner: Runner,
    stream: bool,
    mode: str,
    output: Any,
    text: str,
    expected: Any,
) -> None:
    server.add(_output_turn(mode, text))
    assistant = bot(stream=stream, output_mode=mode)

    value = runner.run(assistant, "Tell me", output=output)

    assert value == expected
    assert type(value) is type(expected)
    assert _result(assistant).output == expected
    assert assistant.history.to_openai() == [
        {"role": "user", "content": "Tell me"},
        {"role": "assistant", "content": text},  # as written: wrapped, and no tool call
    ]
    body = server.requests[0].body
    if mode == "tool":
        (tool,) = body["tools"]
        schema = tool["function"]["parameters"]
    else:
        schema = body["response_format"]["json_schema"]["schema"]
    record = output in (Song, Album, SongDict)
    assert schema["type"] == "object"
    assert (schema["required"] == ["response"]) is not record


def test_the_request_asks_for_a_strict_json_schema(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(text=SONG_JSON))

    runner.run(bot(stream=stream), "A song?", output=Song)

    body = server.requests[0].body
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Song", "schema": SONG_SCHEMA, "strict": True},
    }
    assert "tools" not in body
    assert "tool_choice" not in body


def test_a_wrapped_type_gets_a_name_the_api_accepts(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(Turn(text='{"response": []}'))

    assert runner.run(bot(), "Songs?", output=list[Song]) == []

    json_schema = server.requests[0].body["response_format"]["json_schema"]
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", json_schema["name"])
    assert json_schema["schema"] == {
        "type": "object",
        "properties": {"response": {"type": "array", "items": SONG_SCHEMA}},
        "required": ["response"],
        "additionalProperties": False,
    }
    assert json_schema["strict"] is True


def test_tool_mode_offers_the_output_tool_and_requires_a_call(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(_output_turn("tool", SONG_JSON))

    value = runner.run(
        bot(stream=stream, output_mode="tool", tools=[get_weather]), "A song?", output=Song
    )

    assert value == SONG
    body = server.requests[0].body
    assert "response_format" not in body
    assert body["tool_choice"] == "required"
    names = [tool["function"]["name"] for tool in body["tools"]]
    assert names == ["get_weather", OUTPUT_TOOL_NAME]
    function = body["tools"][1]["function"]
    assert function["parameters"] == SONG_SCHEMA
    assert function["strict"] is True


def test_tool_mode_keeps_a_tool_choice_the_user_set(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(_output_turn("tool", SONG_JSON))

    runner.run(bot(output_mode="tool", tool_choice="auto"), "A song?", output=Song)

    assert server.requests[0].body["tool_choice"] == "auto"


# -- the output while it streams ---------------------------------------------------------------


@attrs.frozen
class Seen:
    value: Any
    text: str
    title: bool
    year: bool
    whole: bool


class Watching(RecordingHooks):
    """Records each partial output as it was when the hook got it (the value is live: copied)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Seen] = []

    def on_partial_output(self, partial: PartialOutput) -> None:
        super().on_partial_output(partial)
        self.seen.append(
            Seen(
                value=copy.deepcopy(partial.value),
                text=partial.text,
                title=partial.is_complete("title"),
                year=partial.is_complete("year"),
                whole=partial.is_complete(),
            )
        )


@pytest.mark.parametrize("mode", ["json_schema", "tool"])
def test_the_partial_output_arrives_field_by_field(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, mode: str
) -> None:
    server.add(_output_turn(mode, SONG_JSON, chunking=Chunking(text=4, arguments=4)))
    hooks = Watching()

    value = runner.run(bot(hooks=hooks, output_mode=mode), "A song?", output=Song)

    seen = hooks.seen
    assert len(seen) >= len(SONG_JSON) // 4
    assert [s.text for s in seen] == sorted({s.text for s in seen}, key=len)
    assert all(SONG_JSON.startswith(s.text) for s in seen)
    titles = [s.value["title"] for s in seen if s.value and "title" in s.value]
    assert len(set(titles)) >= 3  # the title grows while it streams
    assert all("Yesterday".startswith(title) for title in titles)
    assert [s.value.get("year") for s in seen if s.value and "year" in s.value] == [1965]
    # Complete: the title once the next key starts, the year and the whole only at the end.
    title_done = [s.title for s in seen]
    first = title_done.index(True)
    assert all(title_done[first:])
    assert not any(title_done[:first])
    assert seen[first].value["title"] == "Yesterday"
    assert [s.year for s in seen] == [False] * (len(seen) - 1) + [True]
    assert [s.whole for s in seen] == [False] * (len(seen) - 1) + [True]
    assert seen[-1].text == SONG_JSON
    assert seen[-1].value == attrs.asdict(value)
    # on_output once, after the last partial and before the run's end.
    names = hooks.names()
    assert hooks.args_of("on_output") == [(SONG,)]
    assert names.index("on_output") > max(
        i for i, name in enumerate(names) if name == "on_partial_output"
    )
    assert names.index("on_output") < names.index("on_response_end")


def test_a_wrapped_partial_output_is_unwrapped_with_paths_inside_it(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    text = '{"response": [{"title": "Yesterday", "year": 1965}, {"title": "Help!", "year": 1965}]}'
    server.add(Turn(text=text, chunking=Chunking(text=5)))
    seen: list[tuple[Any, bool, bool]] = []

    class Hook(Hooks):
        def on_partial_output(self, partial: PartialOutput) -> None:
            seen.append(
                (copy.deepcopy(partial.value), partial.is_complete(0), partial.is_complete())
            )

    value = runner.run(bot(hooks=Hook()), "Songs?", output=list[Song])

    assert value == [SONG, Song("Help!", 1965)]
    assert all(v is None or isinstance(v, list) for v, _, _ in seen)  # never {"response": ...}
    assert seen[-1] == ([attrs.asdict(song) for song in value], True, True)
    # The first song is complete before the second one starts.
    for partial, first_done, _ in seen:
        if partial is not None and len(partial) == 2:
            assert first_done
        if not first_done and partial:
            assert len(partial) == 1


def test_no_partial_output_for_a_whole_answer(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(Turn(text=SONG_JSON))
    hooks = Watching()

    assert runner.run(bot(hooks=hooks, stream=False), "A song?", output=Song) == SONG

    assert hooks.seen == []
    assert hooks.args_of("on_output") == [(SONG,)]


def _events(runner: Runner, assistant: Any, prompt: str, **options: Any) -> list[Any]:
    if runner.is_async:

        async def collect() -> list[Any]:
            async with assistant.aresponse_events(prompt, **options) as events:
                return [event async for event in events]

        return runner.await_(collect())
    with assistant.response_events(prompt, **options) as events:
        return list(events)


def test_response_events_yield_the_output_deltas_and_the_output(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(text=SONG_JSON, chunking=Chunking(text=6)))

    events = _events(runner, bot(stream=stream), "A song?", output=Song)

    kinds = [type(event) for event in events]
    deltas = [event for event in events if type(event) is OutputDelta]
    if stream:
        assert len(deltas) == len(range(0, len(SONG_JSON), 6))
        assert deltas[-1].partial.text == SONG_JSON
        assert kinds.index(OutputDelta) < kinds.index(OutputDone)
    else:
        assert deltas == []
    assert [event.output for event in events if type(event) is OutputDone] == [SONG]
    assert kinds.index(OutputDone) < kinds.index(ResponseEnd)


# -- tools before the output -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["json_schema", "tool"])
def test_tools_run_before_the_output(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool, mode: str
) -> None:
    ran.clear()
    server.add(
        Turn(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="call_w")]),
        _output_turn(mode, SONG_JSON),
    )
    assistant = bot(stream=stream, output_mode=mode, tools=[get_weather])

    assert runner.run(assistant, "Weather, then a song", output=Song) == SONG

    assert ran == ["Paris"]
    history = assistant.history.to_openai()
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant"]
    assert history[1]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert history[2] == {"role": "tool", "tool_call_id": "call_w", "content": "Sunny in Paris"}
    assert history[3] == {"role": "assistant", "content": SONG_JSON}
    _valid(assistant)
    first, second = (request.body for request in server.requests)
    assert second["messages"][-1]["content"] == "Sunny in Paris"
    for body in (first, second):  # still asked for on the call after the tools
        if mode == "tool":
            assert body["tool_choice"] == "required"
            assert body["tools"][-1]["function"]["name"] == OUTPUT_TOOL_NAME
        else:
            assert body["response_format"]["json_schema"]["schema"] == SONG_SCHEMA


def test_tool_mode_other_calls_beside_the_output_call_are_not_run(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    ran.clear()
    server.add(
        Turn(
            tool_calls=[
                ToolCallSpec("get_weather", {"city": "Oslo"}),
                ToolCallSpec(OUTPUT_TOOL_NAME, SONG_JSON),
            ]
        )
    )
    assistant = bot(stream=stream, output_mode="tool", tools=[get_weather])

    assert runner.run(assistant, "A song?", output=Song) == SONG

    assert ran == []
    assert len(server.requests) == 1
    assert assistant.history.to_openai() == [
        {"role": "user", "content": "A song?"},
        {"role": "assistant", "content": SONG_JSON},
    ]


# -- outputs that do not fit -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["json_schema", "tool"])
@pytest.mark.parametrize(
    ("bad", "problems"),
    [
        ('{"title": "Yesterday"}', "output 'year': missing required field"),
        (
            '{"title": "Yesterday", "year": "soon"}',
            "output 'year': expected an integer, got 'soon'",
        ),
        ('{"title": "Yesterday", "year": 1965, "mood": "sad"}', "output 'mood': unknown field"),
    ],
)
def test_an_output_that_does_not_fit_is_sent_back_with_its_problems(
    server: FakeOpenAIServer,
    bot: Bot,
    runner: Runner,
    stream: bool,
    mode: str,
    bad: str,
    problems: str,
) -> None:
    server.add(_output_turn(mode, bad), _output_turn(mode, SONG_JSON))
    hooks = RecordingHooks()
    assistant = bot(stream=stream, output_mode=mode, hooks=hooks)

    assert runner.run(assistant, "A song?", output=Song) == SONG

    assert len(server.requests) == 2
    assert server.requests[1].body["messages"][-2:] == [
        {"role": "assistant", "content": bad},
        _retry_prompt(problems),
    ]
    assert assistant.history.to_openai() == [
        {"role": "user", "content": "A song?"},
        {"role": "assistant", "content": bad},
        _retry_prompt(problems),
        {"role": "assistant", "content": SONG_JSON},
    ]
    _valid(assistant)
    assert hooks.args_of("on_output") == [(SONG,)]  # only the output that fit


def test_text_that_is_not_json_is_retried(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(text="Yesterday, 1965"), Turn(text=SONG_JSON))
    assistant = bot(stream=stream)

    assert runner.run(assistant, "A song?", output=Song) == SONG

    retry = server.requests[1].body["messages"][-1]
    assert retry["role"] == "user"
    assert "the output is not valid JSON" in retry["content"]


def test_a_wrapped_type_must_keep_its_wrapper(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(Turn(text="42"), Turn(text='{"response": 42}'))
    assistant = bot()

    assert runner.run(assistant, "A number?", output=int) == 42

    assert server.requests[1].body["messages"][-1] == _retry_prompt(
        'the output must be a JSON object {"response": ...}'
    )


@pytest.mark.parametrize("mode", ["json_schema", "tool"])
def test_past_its_retries_the_output_raises_with_the_last_attempt(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool, mode: str
) -> None:
    attempts = ['{"title": "A"}', '{"title": "B", "year": "x"}', '{"year": 3}']
    server.add(*(_output_turn(mode, text) for text in attempts), Turn(text="Sure."))
    assistant = bot(stream=stream, output_mode=mode)

    with pytest.raises(OutputValidationError) as caught:
        runner.run(assistant, "A song?", output=Song)

    error = caught.value
    assert error.raw == attempts[-1]
    assert error.error == "output 'title': missing required field"
    assert error.attempts == 3
    assert len(server.requests) == 3  # output_retries=2 by default
    assert assistant.history.to_openai() == [
        {"role": "user", "content": "A song?"},
        {"role": "assistant", "content": attempts[0]},
        _retry_prompt("output 'year': missing required field"),
        {"role": "assistant", "content": attempts[1]},
        _retry_prompt("output 'year': expected an integer, got 'x'"),
        {"role": "assistant", "content": attempts[2]},
    ]
    _valid(assistant)
    assert _result(assistant).error is error
    assert _result(assistant).output is None
    # The history is one the API takes: the next run goes on from it.
    assert runner.run(assistant, "Never mind.") == "Sure."
    assert len(server.requests[-1].body["messages"]) == 7


def test_no_retry_with_output_retries_0(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(text='{"title": "A"}'), Turn(text=SONG_JSON))
    assistant = bot(stream=stream, output_retries=0)

    with pytest.raises(OutputValidationError) as caught:
        runner.run(assistant, "A song?", output=Song)

    assert caught.value.attempts == 1
    assert caught.value.raw == '{"title": "A"}'
    assert len(server.requests) == 1
    assert assistant.history.to_openai() == [
        {"role": "user", "content": "A song?"},
        {"role": "assistant", "content": '{"title": "A"}'},
    ]


def test_retries_are_counted_per_run(server: FakeOpenAIServer, bot: Bot, runner: Runner) -> None:
    server.add(
        Turn(text='{"title": "A"}'),
        Turn(text=SONG_JSON),
        Turn(text='{"title": "B"}'),
        Turn(text='{"title": "Help!", "year": 1965}'),
    )
    assistant = bot(output_retries=1)

    assert runner.run(assistant, "A song?", output=Song) == SONG
    assert runner.run(assistant, "Another?", output=Song) == Song("Help!", 1965)


def test_a_refusal_raises_output_refused(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(refusal="I can't help with that."), Turn(text=SONG_JSON))
    assistant = bot(stream=stream)

    with pytest.raises(OutputRefused) as caught:
        runner.run(assistant, "A song?", output=Song)

    assert caught.value.refusal == "I can't help with that."
    assert len(server.requests) == 1  # a refusal is not retried
    assert assistant.history.to_openai() == [
        {"role": "user", "content": "A song?"},
        {"role": "assistant", "refusal": "I can't help with that."},
    ]
    _valid(assistant)


# -- the token limit ---------------------------------------------------------------------------


class OnMaxTokens(Hooks):
    def __init__(self, decision: str | None) -> None:
        self.decision = decision

    def on_max_tokens(self, message: AssistantMessage) -> str | None:
        return self.decision


@pytest.mark.parametrize("decision", [None, "keep"])
def test_an_output_cut_by_the_token_limit_and_kept_is_retried(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool, decision: str | None
) -> None:
    cut = '{"title": "Yester'
    server.add(Turn(text=cut, finish_reason="length"), Turn(text=SONG_JSON))
    assistant = bot(stream=stream, hooks=OnMaxTokens(decision))

    assert runner.run(assistant, "A song?", output=Song) == SONG

    history = assistant.history.to_openai()
    assert history[1] == {"role": "assistant", "content": cut}
    assert history[2]["role"] == "user"
    assert history[2]["content"].startswith(OUTPUT_RETRY_PROMPT.split("{")[0])
    assert "not valid JSON" in history[2]["content"]
    assert history[3] == {"role": "assistant", "content": SONG_JSON}
    _valid(assistant)


def test_an_output_cut_by_the_token_limit_can_raise(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(text='{"title": "Yester', finish_reason="length"))
    assistant = bot(stream=stream, hooks=OnMaxTokens("raise"))

    with pytest.raises(MaxTokensExceeded) as caught:
        runner.run(assistant, "A song?", output=Song)

    assert caught.value.message.content == '{"title": "Yester'
    assert assistant.history.to_openai() == [{"role": "user", "content": "A song?"}]
    assert len(server.requests) == 1


# -- tool mode: no call to the output tool ----------------------------------------------------


def test_tool_mode_an_empty_answer_is_asked_to_call_the_output_tool(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(text=""), _output_turn("tool", SONG_JSON))
    assistant = bot(stream=stream, output_mode="tool")

    assert runner.run(assistant, "A song?", output=Song) == SONG

    retry = server.requests[1].body["messages"][-1]
    assert retry == _retry_prompt(f"give the output by calling the {OUTPUT_TOOL_NAME} tool")
    _valid(assistant)


def test_tool_mode_text_instead_of_a_call_is_asked_to_call_the_output_tool(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(text="Here is your song: Yesterday."), _output_turn("tool", SONG_JSON))
    assistant = bot(stream=stream, output_mode="tool")

    assert runner.run(assistant, "A song?", output=Song) == SONG

    retry = server.requests[1].body["messages"][-1]
    assert retry["role"] == "user"
    assert OUTPUT_TOOL_NAME in retry["content"]


def test_tool_mode_arguments_that_are_not_json_are_kept_as_written(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    broken = '{"title": "Yesterday", "year": '
    server.add(_output_turn("tool", broken))
    assistant = bot(stream=stream, output_mode="tool", output_retries=0)

    with pytest.raises(OutputValidationError) as caught:
        runner.run(assistant, "A song?", output=Song)

    assert caught.value.raw == broken
    assert "not valid JSON" in caught.value.error


# -- cancellation, hooks, later runs -----------------------------------------------------------


@pytest.mark.parametrize("mode", ["json_schema", "tool"])
def test_cancelled_while_the_output_streams(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, mode: str
) -> None:
    server.add(_output_turn(mode, SONG_JSON, chunking=Chunking(text=3, arguments=3)))
    token = CancelToken()
    seen: list[Any] = []

    class Cancel(RecordingHooks):
        def on_partial_output(self, partial: PartialOutput) -> None:
            seen.append(copy.deepcopy(partial.value))
            if partial.value and "title" in partial.value:
                token.cancel()

    hooks = Cancel()
    assistant = bot(hooks=hooks, output_mode=mode)

    with pytest.raises(RunCancelled):
        runner.run(assistant, "A song?", cancel=token, output=Song)

    assert seen
    assert "year" not in seen[-1]  # stopped before the output was whole
    assert hooks.args_of("on_output") == []
    assert assistant.history.to_openai() == [{"role": "user", "content": "A song?"}]
    _valid(assistant)
    assert _result(assistant).output is None


def test_a_hook_raising_in_on_output_leaves_the_output_out_of_the_history(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    class Boom(Exception):
        pass

    class Raising(Hooks):
        def on_output(self, output: Any) -> None:
            raise Boom(output)

    server.add(Turn(text=SONG_JSON))
    assistant = bot(stream=stream, hooks=Raising())

    with pytest.raises(Boom):
        runner.run(assistant, "A song?", output=Song)

    assert assistant.history.to_openai() == [{"role": "user", "content": "A song?"}]
    _valid(assistant)


def test_the_output_is_asked_for_in_its_run_only(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(Turn(text=SONG_JSON), Turn(text="It is by the Beatles."))
    assistant = bot()

    assert runner.run(assistant, "A song?", output=Song) == SONG
    assert _result(assistant).output == SONG
    assert runner.run(assistant, "Who wrote it?") == "It is by the Beatles."

    assert _result(assistant).output is None
    body = server.requests[1].body
    assert "response_format" not in body
    assert body["messages"][1] == {"role": "assistant", "content": SONG_JSON}


# -- constrained tool calling (tool_mode="json") ----------------------------------------------


def _step(**step: Any) -> str:
    return json.dumps(step)


@pytest.mark.parametrize("output_mode", ["json_schema", "tool"])
def test_under_constrained_tool_calling_the_output_is_the_steps_answer(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool, output_mode: str
) -> None:
    ran.clear()
    partials: list[Any] = []

    class Form(Hooks):
        def on_partial_output(self, partial: PartialOutput) -> None:
            partials.append(copy.deepcopy(partial.value))

    server.add(
        Turn(
            text=_step(tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}]),
            chunking=Chunking(text=5),
        ),
        Turn(text=_step(answer=json.loads(SONG_JSON)), chunking=Chunking(text=5)),
    )
    assistant = bot(
        tools=[get_weather], tool_mode="json", output_mode=output_mode, stream=stream, hooks=Form()
    )

    assert runner.run(assistant, "A song for the weather?", output=Song) == SONG

    assert ran == ["Oslo"]
    first = server.requests[0].body
    assert "tools" not in first  # the step is the only format asked for
    answer = first["response_format"]["json_schema"]["schema"]["anyOf"][1]
    assert answer["properties"]["answer"] == SONG_SCHEMA
    history = assistant.history.to_openai()
    assert history[-1] == {"role": "assistant", "content": json.dumps(json.loads(SONG_JSON))}
    _valid(assistant)
    if stream:
        assert partials[-1] == attrs.asdict(SONG)
    else:
        assert partials == []


def test_under_constrained_tool_calling_an_answer_that_does_not_fit_is_asked_again(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(
        Turn(text=_step(answer={"title": "Yesterday"})),
        Turn(text=_step(answer=json.loads(SONG_JSON))),
    )
    assistant = bot(tools=[get_weather], tool_mode="json", stream=stream)

    assert runner.run(assistant, "A song?", output=Song) == SONG

    retry = server.requests[1].body["messages"][-1]
    assert retry == _retry_prompt("output 'year': missing required field")


# -- misuse ------------------------------------------------------------------------------------


@function_tool(name=OUTPUT_TOOL_NAME)
def my_final_result() -> str:
    """A tool of the user's, with the output tool's name."""
    return "mine"


@pytest.mark.parametrize(
    "options",
    [
        pytest.param(
            {"response_format": {"type": "json_object"}}, id="response_format-in-the-params"
        ),
        pytest.param({"output_mode": "tool", "tools": [my_final_result]}, id="a-final_result-tool"),
    ],
)
def test_conflicting_settings_are_misuse(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, options: dict[str, Any]
) -> None:
    assistant = bot(**options)

    with pytest.raises(MisuseError):
        runner.run(assistant, "A song?", output=Song)

    assert server.requests == []
    assert list(assistant.history) == []


@pytest.mark.parametrize("output", [complex, set, object])
def test_a_type_that_cannot_be_described_is_a_schema_error(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, output: Any
) -> None:
    server.add(Turn(text="Fine."))
    assistant = bot()

    with pytest.raises(SchemaError):
        runner.run(assistant, "A value?", output=output)

    assert server.requests == []
    assert list(assistant.history) == []
    assert runner.run(assistant, "Hi") == "Fine."  # the assistant is not left running


def test_the_history_holds_messages_of_the_usual_kinds(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(Turn(text='{"title": "A"}'), Turn(text=SONG_JSON))
    assistant = bot()

    runner.run(assistant, "A song?", output=Song)

    assert [type(message) for message in assistant.history] == [
        UserMessage,
        AssistantMessage,
        UserMessage,
        AssistantMessage,
    ]
