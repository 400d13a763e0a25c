"""``Hooks.before_model_call``: every model call of a run passes through it as a
``ModelCallRequest`` (the messages as the history has them, the system prompt apart, the names of
the tools offered, the call's parameters), which the hook may change for that one call, replace,
or answer with ``StopRun(text)`` to end the run without calling the model. What it changes is what
the server receives; the history keeps every message; the next call starts from the history and
the settings again. Both runners, streamed and whole; the ready-made trimmers end to end."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import attrs
import pytest

from agentools import (
    AssistantMessage,
    AsyncHookError,
    CancelToken,
    History,
    Hooks,
    MisuseError,
    ModelCallRequest,
    RunCancelled,
    StopRun,
    ToolMessage,
    UserMessage,
    function_tool,
    validate_history,
)
from agentools.hooks.trimming import KeepLastTurns, KeepWithinTokens, StopWhen
from agentools.stopping import text_matches, tool_called
from agentools.testing import FakeOpenAIServer, ToolCallSpec, Turn, Usage

from .support import Bot, Runner

SYSTEM = "Be brief."


@function_tool
def lookup(key: str) -> str:
    """Look a key up."""
    return f"value of {key}"


@function_tool
def note(text: str) -> str:
    """Write a note."""
    return "noted"


def call(name: str = "lookup", **arguments: Any) -> Turn:
    """A turn that calls one tool (``lookup(key="a")`` by default)."""
    return Turn(tool_calls=[ToolCallSpec(name=name, arguments=arguments or {"key": "a"})])


def tool_names(request: Any) -> list[str]:
    return [tool["function"]["name"] for tool in request.tools]


@attrs.frozen
class Seen:
    """What one ``before_model_call`` was given, copied when it was called."""

    messages: list[dict[str, Any]]
    system: str | None
    tools: list[str]
    params: dict[str, Any]
    model: str
    turn: int
    prompt_tokens: int


class Recorder(Hooks):
    """Records every request it sees, then lets ``change`` do what the test wants."""

    def __init__(self, change: Any = None) -> None:
        self.seen: list[Seen] = []
        self.change = change

    def before_model_call(self, request: ModelCallRequest) -> Any:
        self.seen.append(
            Seen(
                messages=History(request.messages).to_openai(),
                system=request.system,
                tools=list(request.tools),
                params=dict(request.params),
                model=request.model,
                turn=request.turn,
                prompt_tokens=request.usage.prompt_tokens,
            )
        )
        return None if self.change is None else self.change(request)


# -- what the hook sees ----------------------------------------------------------------------


def test_the_hook_sees_each_call_as_the_history_is(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    assistant = bot(tools=[lookup, note], system=SYSTEM, stream=stream, temperature=0)
    server.add(Turn(text="Hello."))
    runner.run(assistant, "Hi.")
    first_call = Turn(tool_calls=[ToolCallSpec(name="lookup", arguments={"key": "a"})])
    server.add(attrs.evolve(first_call, usage=Usage(30, 4)), Turn(text="It is a."))
    hooks = Recorder()

    assert runner.run(assistant, "Look a up.", hooks=hooks) == "It is a."

    first, second = hooks.seen
    sent = [request.messages for request in server.requests[1:]]
    # The messages are the history's, without the system prompt, which is apart.
    assert first.messages == assistant.history.to_openai()[:3]
    assert second.messages == assistant.history.to_openai()[:5]
    assert [{"role": "system", "content": SYSTEM}, *first.messages] == sent[0]
    assert [{"role": "system", "content": SYSTEM}, *second.messages] == sent[1]
    assert first.system == second.system == SYSTEM
    assert first.tools == second.tools == ["lookup", "note"]
    assert first.params == second.params == {"temperature": 0}
    assert first.model == second.model == "fake-model"
    assert (first.turn, second.turn) == (1, 2)
    # ``usage`` is this run's so far: nothing before its first call.
    assert first.prompt_tokens == 0
    assert second.prompt_tokens == 30


def test_a_disabled_tool_is_not_in_the_request(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    assistant = bot(tools=[lookup, note])
    assistant.tools.disable("note")
    server.add(Turn(text="ok"))
    hooks = Recorder()

    runner.run(assistant, "Hi.", hooks=hooks)

    assert hooks.seen[0].tools == ["lookup"]
    assert tool_names(server.requests[0]) == ["lookup"]


# -- changing one call -------------------------------------------------------------------------


def test_trimmed_messages_are_sent_and_the_history_keeps_all(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    assistant = bot(system=SYSTEM, stream=stream)
    server.add(Turn(text="One."), Turn(text="Two."), Turn(text="Three."))
    runner.run(assistant, "1?")
    runner.run(assistant, "2?")

    def last_only(request: ModelCallRequest) -> None:
        request.messages = request.messages[-1:]

    assert runner.run(assistant, "3?", hooks=Recorder(last_only)) == "Three."

    assert server.requests[2].messages == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "3?"},
    ]
    assert [m["content"] for m in assistant.history.to_openai()] == [
        "1?",
        "One.",
        "2?",
        "Two.",
        "3?",
        "Three.",
    ]


def test_tool_choice_params_model_and_tools_change_for_one_call_only(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    assistant = bot(tools=[lookup, note], stream=stream, temperature=0)
    server.add(call(), Turn(text="done"))

    def first_call_only(request: ModelCallRequest) -> None:
        if request.turn == 1:
            assert request.tool_choice is None
            request.tool_choice = "required"
            request.params["temperature"] = 1
            request.params["seed"] = 7
            request.without_tools(["note"])
            request.model = "other-model"

    hooks = Recorder(first_call_only)
    assert runner.run(assistant, "Go.", hooks=hooks) == "done"

    first, second = (request.body for request in server.requests)
    assert first["tool_choice"] == "required"
    assert (first["temperature"], first["seed"], first["model"]) == (1, 7, "other-model")
    assert tool_names(server.requests[0]) == ["lookup"]
    # The next call starts again from the settings and the tools.
    assert "tool_choice" not in second
    assert "seed" not in second
    assert (second["temperature"], second["model"]) == (0, "fake-model")
    assert tool_names(server.requests[1]) == ["lookup", "note"]
    assert hooks.seen[1].tools == ["lookup", "note"]
    assert hooks.seen[1].params == {"temperature": 0}
    assert assistant.settings.params == {"temperature": 0}


def test_tool_choice_can_be_taken_away_for_one_call(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    assistant = bot(tools=[lookup], tool_choice="required", reset_tool_choice=False)
    server.add(Turn(text="a"), Turn(text="b"))

    def no_choice(request: ModelCallRequest) -> None:
        assert request.tool_choice == "required"
        request.tool_choice = None

    runner.run(assistant, "1", hooks=Recorder(no_choice))
    runner.run(assistant, "2")

    assert "tool_choice" not in server.requests[0].body
    assert server.requests[1].body["tool_choice"] == "required"


def test_removing_every_tool_sends_none(server: FakeOpenAIServer, bot: Bot, runner: Runner) -> None:
    assistant = bot(tools=[lookup, note])
    server.add(Turn(text="plain"))

    def no_tools(request: ModelCallRequest) -> None:
        request.tools = []

    assert runner.run(assistant, "Hi.", hooks=Recorder(no_tools)) == "plain"
    assert server.requests[0].tools == []


def test_returning_a_new_request_sends_that_one(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    assistant = bot(tools=[lookup, note], system=SYSTEM, stream=stream)
    server.add(Turn(text="Replaced."))

    def replace(request: ModelCallRequest) -> ModelCallRequest:
        return ModelCallRequest(
            messages=[UserMessage(content="Something else.")],
            system="Other system.",
            tools=["note"],
            params={"max_tokens": 5},
            model="other-model",
            turn=request.turn,
            usage=request.usage,
        )

    assert runner.run(assistant, "Hi.", hooks=Recorder(replace)) == "Replaced."

    (sent,) = server.requests
    assert sent.messages == [
        {"role": "system", "content": "Other system."},
        {"role": "user", "content": "Something else."},
    ]
    assert tool_names(sent) == ["note"]
    assert (sent.body["max_tokens"], sent.body["model"]) == (5, "other-model")
    assert assistant.history.to_openai() == [
        {"role": "user", "content": "Hi."},
        {"role": "assistant", "content": "Replaced."},
    ]


def test_a_system_prompt_of_none_sends_no_system_message(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    assistant = bot(system=SYSTEM)
    server.add(Turn(text="ok"))

    def no_system(request: ModelCallRequest) -> None:
        request.system = None

    runner.run(assistant, "Hi.", hooks=Recorder(no_system))
    assert server.requests[0].messages == [{"role": "user", "content": "Hi."}]


# -- StopRun ------------------------------------------------------------------------------------


def test_stop_run_before_the_first_call_makes_no_call(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    assistant = bot()
    server.add(Turn(text="earlier"))
    runner.run(assistant, "Hi.")
    before = assistant.history.to_openai()

    answer = runner.run(assistant, "Again.", hooks=Recorder(lambda request: StopRun("Bye.")))

    assert answer == "Bye."
    assert len(server.requests) == 1
    # The prompt is kept; nothing is added for the stop.
    assert assistant.history.to_openai() == [*before, {"role": "user", "content": "Again."}]
    assert assistant.last_result is not None
    assert (assistant.last_result.text, assistant.last_result.error) == ("Bye.", None)


def test_stop_run_after_tools_ran_keeps_their_answers_and_adds_nothing(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    assistant = bot(tools=[lookup], stream=stream)
    server.add(call())
    texts: list[str] = []

    class Stop(Recorder):
        def on_response_end(self, text: str) -> None:
            texts.append(text)

    hooks = Stop(lambda request: StopRun("Enough.") if request.turn == 2 else None)
    assert runner.run(assistant, "Look.", hooks=hooks) == "Enough."

    assert len(server.requests) == 1
    assert texts == ["Enough."]
    history = assistant.history.to_openai()
    assert [m["role"] for m in history] == ["user", "assistant", "tool"]
    assert history[2]["content"] == "value of a"
    assert validate_history(assistant.history) == []


@pytest.mark.parametrize(
    "garbage",
    [
        "a string",
        42,
        {"messages": []},
        True,
        StopRun(text=3),  # type: ignore[arg-type]
    ],
    ids=["str", "int", "dict", "bool", "stoprun-int"],
)
def test_returning_anything_else_is_misuse(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, garbage: object
) -> None:
    assistant = bot()

    with pytest.raises(MisuseError):
        runner.run(assistant, "Hi.", hooks=Recorder(lambda request: garbage))

    assert server.requests == []
    assert assistant.history.to_openai() == [{"role": "user", "content": "Hi."}]
    assert validate_history(assistant.history) == []


@pytest.mark.parametrize("field", ["messages", "params"])
def test_messages_and_params_of_the_wrong_type_are_misuse(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, field: str
) -> None:
    assistant = bot()

    def wrong(request: ModelCallRequest) -> None:
        setattr(request, field, tuple(request.messages) if field == "messages" else [])

    with pytest.raises(MisuseError, match="must be a list"):
        runner.run(assistant, "Hi.", hooks=Recorder(wrong))
    assert server.requests == []


def test_offering_a_tool_that_is_not_enabled_is_misuse(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    assistant = bot(tools=[lookup, note])
    assistant.tools.disable("note")

    def offer(request: ModelCallRequest) -> None:
        request.tools = ["lookup", "note"]

    with pytest.raises(MisuseError, match="note"):
        runner.run(assistant, "Hi.", hooks=Recorder(offer))

    def unknown(request: ModelCallRequest) -> None:
        request.tools = ["nowhere"]

    with pytest.raises(MisuseError, match="nowhere"):
        runner.run(assistant, "Hi.", hooks=Recorder(unknown))
    assert server.requests == []

    # The assistant is usable again after the misuse.
    server.add(Turn(text="fine"))
    assert runner.run(assistant, "Hi.") == "fine"


# -- async hooks, failures, cancellation -------------------------------------------------------


@pytest.mark.parametrize("runner", ["async"], indirect=True)
def test_an_async_hook_is_awaited_under_arun(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    assistant = bot(tools=[lookup])
    server.add(call())
    turns: list[int] = []

    class Later(Hooks):
        async def before_model_call(self, request: ModelCallRequest) -> StopRun | None:
            await asyncio.sleep(0)
            turns.append(request.turn)
            request.tool_choice = "required"
            return StopRun("async stop") if request.turn == 2 else None

    assert runner.run(assistant, "Go.", hooks=Later()) == "async stop"
    assert turns == [1, 2]
    assert server.requests[0].body["tool_choice"] == "required"


@pytest.mark.parametrize("runner", ["blocking"], indirect=True)
def test_an_async_hook_is_refused_by_run_before_anything_is_sent(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    class Later(Hooks):
        async def before_model_call(self, request: ModelCallRequest) -> None:
            return None

    assistant = bot()
    with pytest.raises(AsyncHookError, match="before_model_call"):
        runner.run(assistant, "Hi.", hooks=Later())
    assert server.requests == []


class Boom(Exception):
    pass


def test_a_raising_hook_ends_the_run_with_its_exception_and_a_valid_history(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    assistant = bot(tools=[lookup], stream=stream)
    server.add(call())
    errors: list[BaseException] = []

    class Raising(Hooks):
        def before_model_call(self, request: ModelCallRequest) -> None:
            if request.turn == 2:
                raise Boom("no second call")

        def on_response_error(self, error: BaseException) -> None:
            errors.append(error)

    with pytest.raises(Boom):
        runner.run(assistant, "Look.", hooks=Raising())

    assert len(server.requests) == 1
    assert [type(e) for e in errors] == [Boom]
    assert validate_history(assistant.history) == []
    assert [m["role"] for m in assistant.history.to_openai()] == ["user", "assistant", "tool"]
    assert assistant.last_result is not None
    assert isinstance(assistant.last_result.error, Boom)

    server.add(Turn(text="after"))
    assert runner.run(assistant, "Again.") == "after"


def test_cancelling_from_the_hook_makes_no_call(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    assistant = bot(tools=[lookup])
    server.add(call())
    token = CancelToken()

    def cancel_second(request: ModelCallRequest) -> None:
        if request.turn == 2:
            token.cancel()

    with pytest.raises(RunCancelled):
        runner.run(assistant, "Look.", hooks=Recorder(cancel_second), cancel=token)

    assert len(server.requests) == 1
    assert validate_history(assistant.history) == []
    assert assistant.history.to_openai()[0] == {"role": "user", "content": "Look."}


# -- the ready-made hooks, end to end ---------------------------------------------------------


def assert_valid(messages: list[dict[str, Any]]) -> None:
    problems = validate_history(messages)
    assert problems == [], problems


def test_keep_last_turns_sends_the_last_turns_whole(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    assistant = bot(tools=[lookup], system=SYSTEM, stream=stream, hooks=KeepLastTurns(2))
    for prompt in ("one", "two", "three"):
        server.add(call(key=prompt), Turn(text=f"{prompt} done"))
        assert runner.run(assistant, prompt) == f"{prompt} done"

    assert len(assistant.history) == 3 * 4
    for request in server.requests:
        assert_valid(request.messages)
        assert request.messages[0] == {"role": "system", "content": SYSTEM}
    prompts = [
        [m["content"] for m in request.messages if m["role"] == "user"]
        for request in server.requests
    ]
    assert prompts == [
        ["one"],
        ["one"],
        ["one", "two"],
        ["one", "two"],
        ["two", "three"],
        ["two", "three"],
    ]
    # The last call sent the last two turns whole: every tool call with its answer.
    last = server.requests[-1].messages
    one_turn = ["user", "assistant", "tool", "assistant"]
    assert [m["role"] for m in last] == ["system", *one_turn, *one_turn[:3]]


def test_keep_within_tokens_never_sends_a_tool_call_without_its_answer(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    @function_tool
    def read(page: int) -> str:
        """Read a page."""
        return f"page {page}: " + "lorem ipsum " * 40

    assistant = bot(tools=[read], stream=stream, hooks=KeepWithinTokens(400))
    steps = [
        Turn(tool_calls=[ToolCallSpec(name="read", arguments={"page": n})]) for n in range(1, 7)
    ]
    server.add(*steps, Turn(text="read them all"))

    assert runner.run(assistant, "Read the book.") == "read them all"

    assert len(assistant.history) == 1 + 6 * 2 + 1
    assert validate_history(assistant.history) == []
    # The last call had 13 messages to send, and the budget let fewer through.
    assert len(server.requests[-1].messages) < 1 + 6 * 2
    for request in server.requests:
        assert_valid(request.messages)
        # The prompt is always sent first.
        assert request.messages[0] == {"role": "user", "content": "Read the book."}
    # The latest step is always sent.
    assert "page 6" in server.requests[-1].messages[-1]["content"]


def test_stop_when_a_tool_was_called_ends_the_run_with_its_result(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    assistant = bot(tools=[lookup, note], stream=stream)
    server.add(call("note", text="x"), call("lookup", key="k"))
    hooks = StopWhen(tool_called("lookup"))

    assert runner.run(assistant, "Go.", hooks=hooks) == "value of k"

    assert len(server.requests) == 2
    assert validate_history(assistant.history) == []
    assert isinstance(assistant.history[-1], ToolMessage)


def test_stop_when_the_text_matches(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    assistant = bot(tools=[lookup], stream=stream)
    with_text = Turn(
        text="FINAL ANSWER: 42",
        tool_calls=[ToolCallSpec(name="lookup", arguments={"key": "z"})],
    )
    server.add(call(), with_text)
    hooks = StopWhen(text_matches(r"^FINAL ANSWER:"))

    assert runner.run(assistant, "Go.", hooks=hooks) == "FINAL ANSWER: 42"

    # Its tools still ran, and the model was not called again.
    assert len(server.requests) == 2
    message = assistant.history[-2]
    assert isinstance(message, AssistantMessage)
    assert message.content == "FINAL ANSWER: 42"
    assert assistant.history.to_openai()[-1]["content"] == "value of z"
    assert validate_history(assistant.history) == []

    # The next run starts afresh: a text that does not match does not stop it.
    server.add(Turn(text="not final"))
    assert runner.run(assistant, "More.", hooks=hooks) == "not final"
    assert re.search("FINAL", assistant.history.to_openai()[-1]["content"]) is None
