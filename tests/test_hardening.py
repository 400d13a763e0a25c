"""Regression tests for what a new user's trial and an adversarial pass found (the "hardening"
issue): context variables, event loops, what tools raise, tool-call ids and names, a cancel at
the end of a run, and answers the wire format allows but nobody promised to handle. Each test
runs under both runners; the points on limits, hooks, logging and reprs are in
``test_hardening_controls.py``.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import os
import threading
from typing import Any

import attrs
import pytest

from agentools import (
    ArgumentStream,
    Assistant,
    CancelToken,
    HookError,
    Hooks,
    MisuseError,
    ModelProtocolError,
    RunCancelled,
    function_tool,
    validate_history,
)
from agentools.partial_json import MAX_JSON_DEPTH
from agentools.testing import Chunking, FakeOpenAIServer, ToolCallSpec, Turn

from .support import Bot, Runner, agentools_threads, raw_chunk

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("REQUEST_ID", default="unset")


def tool_message(server: FakeOpenAIServer, request: int = 1) -> list[str]:
    """The tool messages' contents the model was sent in ``request``."""
    return [m["content"] for m in server.requests[request].messages if m["role"] == "tool"]


def run_within(runner: Runner, assistant: Assistant, prompt: str, **kwargs: Any) -> str:
    """``runner.run``, but a run that hangs fails the test after 30 s instead of hanging it."""
    if runner.loop is None:
        return runner.run(assistant, prompt, **kwargs)
    return runner.await_(asyncio.wait_for(assistant.arun(prompt, **kwargs), 30))


# -- 1. context variables ------------------------------------------------------------------------


@attrs.frozen
class Note:
    text: str


def test_tools_previews_streaming_tools_and_hooks_see_the_callers_context(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def saw(what: str) -> None:
        with lock:
            seen.append((what, REQUEST_ID.get()))

    @function_tool
    def plain(n: int) -> str:
        """A sync tool."""
        saw("sync tool")
        return "ok"

    @plain.preview
    def show(snapshot: Any) -> None:
        saw("preview")

    @function_tool
    async def awaited(n: int) -> str:
        """An async tool."""
        saw("async tool")
        return "ok"

    @function_tool
    def streamed(args: ArgumentStream[Note]) -> str:
        """A streaming tool."""
        for _ in args:
            pass
        saw("streaming tool")
        return "ok"

    class Seeing(Hooks):
        def on_tool_result(self, call: Any, result: Any) -> None:
            saw("hook")

    server.add(
        Turn(
            tool_calls=[
                ToolCallSpec(name="plain", arguments={"n": 1}),
                ToolCallSpec(name="plain", arguments={"n": 2}),
                ToolCallSpec(name="awaited", arguments={"n": 3}),
                ToolCallSpec(name="streamed", arguments={"text": "hello"}),
            ],
            chunking=Chunking(arguments=3),
        ),
        Turn(text="done"),
    )
    assistant = bot(tools=[plain, awaited, streamed], hooks=Seeing(), stream=stream)
    token = REQUEST_ID.set("request-42")
    try:
        assert runner.run(assistant, "go") == "done"
    finally:
        REQUEST_ID.reset(token)

    kinds = {what for what, _ in seen}
    assert kinds == {"sync tool", "preview", "async tool", "streaming tool", "hook"}
    assert {value for _, value in seen} == {"request-42"}, seen


# -- 2. event loops ------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_an_assistant_used_on_several_event_loops_builds_a_client_for_each(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    server.add(Turn(text="first"), Turn(text="second"), Turn(text="third"))
    assistant = Assistant(model="m")

    # A Django async view under WSGI, or a script: each asyncio.run() has a loop of its own.
    assert asyncio.run(assistant.arun("one")) == "first"
    assert asyncio.run(assistant.arun("two")) == "second"

    async def closing() -> str:
        async with assistant:
            return await assistant.arun("three")

    assert asyncio.run(closing()) == "third"
    assert [m["content"] for m in assistant.history.to_openai()][-2:] == ["three", "third"]
    # The clients of the loops that closed are dropped (their idle connections cannot be closed
    # on another loop): collected here, under this test's warning filter.
    gc.collect()


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_a_client_passed_in_and_used_on_a_closed_loop_is_a_clear_error(
    server: FakeOpenAIServer,
) -> None:
    client = server.async_client()
    assistant = Assistant(model="m", async_client=client)
    server.add(Turn(text="first"))
    assert asyncio.run(assistant.arun("one")) == "first"

    with pytest.raises(MisuseError, match="event loop that is closed") as raised:
        asyncio.run(assistant.arun("two"))
    assert isinstance(raised.value.__cause__, RuntimeError)
    history = assistant.history.to_openai()
    assert history[-1] == {"role": "user", "content": "two"}
    assert validate_history(history) == []
    # The client's idle connection belongs to the first loop, which is gone: nothing can close
    # it any more, so it is collected here, under this test's warning filter.
    del client, assistant, raised
    gc.collect()


def test_an_assistant_closes_the_clients_it_built(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    server.add(Turn(text="sync"), Turn(text="async"))
    with Assistant(model="m") as assistant:
        assert assistant.run("a") == "sync"
        client = assistant.client
    assert client.is_closed()

    async def main() -> Any:
        async with Assistant(model="m") as built:
            assert await built.arun("b") == "async"
            return built.async_client

    assert asyncio.run(main()).is_closed()


def test_aclose_leaves_the_client_of_another_open_loop_alone(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    assistant = Assistant(model="m")
    other = asyncio.new_event_loop()  # a long-lived loop, say another thread's

    async def client() -> Any:
        return assistant.async_client

    try:
        kept = other.run_until_complete(client())

        async def close_here() -> None:
            await assistant.aclose()

        asyncio.run(close_here())
        assert other.run_until_complete(client()) is kept  # still that loop's own, not rebuilt
        assert not kept.is_closed()
        other.run_until_complete(assistant.aclose())
        assert kept.is_closed()
    finally:
        other.close()


# -- 3. whatever a tool raises -------------------------------------------------------------------


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no")


RAISED = [
    pytest.param(StopIteration("done"), "Error: StopIteration: done", id="StopIteration"),
    pytest.param(StopAsyncIteration("over"), "Error: StopAsyncIteration: over", id="StopAsync"),
    pytest.param(asyncio.CancelledError("mine"), "Error: CancelledError: mine", id="Cancelled"),
    pytest.param(Unprintable(), "Error: Unprintable: (its message could not be read)", id="str"),
]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(("error", "told"), RAISED)
def test_whatever_a_tool_raises_the_model_is_told(
    server: FakeOpenAIServer,
    bot: Bot,
    runner: Runner,
    error: BaseException,
    told: str,
    is_async: bool,
) -> None:
    def fail() -> str:
        raise error

    async def fail_async() -> str:
        raise error

    tool = function_tool(fail_async if is_async else fail, name="fail")
    calls = [ToolCallSpec(name="fail", id="c1"), ToolCallSpec(name="fail", id="c2")]
    server.add(Turn(tool_calls=calls), Turn(text="noted"))
    assistant = bot(tools=[tool])

    assert run_within(runner, assistant, "go") == "noted"
    if is_async and isinstance(error, StopIteration):  # Python turns it into a RuntimeError
        told = "Error: RuntimeError: coroutine raised StopIteration"
    assert tool_message(server) == [told, told]
    assert validate_history(assistant.history.to_openai()) == []


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
def test_an_interrupt_in_a_tool_reaches_the_caller_after_cleanup(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, interrupt: type[BaseException]
) -> None:
    finished = threading.Event()

    @function_tool
    def stop() -> str:
        """Raises what the caller must get."""
        raise interrupt

    @function_tool
    def slow() -> str:
        """Runs beside it, and is waited for."""
        finished.wait(0.2)
        finished.set()
        return "slow"

    server.add(Turn(tool_calls=[ToolCallSpec(name="stop"), ToolCallSpec(name="slow")]))
    assistant = bot(tools=[stop, slow])
    if runner.loop is None:
        with pytest.raises(interrupt):
            assistant.run("go")
    else:

        async def caller() -> str:
            try:
                await assistant.arun("go")
            except interrupt:  # at the caller's own await, in its own task
                return "caught"
            return "not raised"

        assert runner.await_(caller()) == "caught"
    assert finished.is_set()  # the other call ended before the interrupt reached the caller
    assert agentools_threads() == []
    assert assistant.history.to_openai() == [{"role": "user", "content": "go"}]


# -- 4. tool-call ids ----------------------------------------------------------------------------


@function_tool
def echo(word: str) -> str:
    """Says the word back."""
    return word


def test_tool_calls_sharing_an_id_get_ids_of_their_own(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    calls = [
        ToolCallSpec(name="echo", arguments={"word": word}, id="same") for word in ("a", "b", "c")
    ]
    server.add(Turn(tool_calls=calls), Turn(text="done"))
    ids: list[str] = []

    class Ids(Hooks):
        def on_tool_result(self, call: Any, result: Any) -> None:
            ids.append(call.id)

    assistant = bot(tools=[echo], hooks=Ids(), stream=stream)
    assert runner.run(assistant, "go") == "done"

    history = assistant.history.to_openai()
    assert validate_history(history) == []
    assert [c["id"] for c in history[1]["tool_calls"]] == ["same", "same_2", "same_3"]
    assert [(m["tool_call_id"], m["content"]) for m in history[2:5]] == [
        ("same", "a"),
        ("same_2", "b"),
        ("same_3", "c"),
    ]
    assert sorted(ids) == ["same", "same_2", "same_3"]
    assert server.requests[1].messages == history[:5]


def call_delta(index: int | None, *, id: str | None, name: str = "", arguments: str = "") -> Any:
    delta: dict[str, Any] = {"function": {"name": name, "arguments": arguments}}
    if index is not None:
        delta["index"] = index
    if id is not None:
        delta["id"] = id
    return raw_chunk({"tool_calls": [delta]})


def finish(reason: str = "tool_calls", usage: Any = None) -> dict[str, Any]:
    chunk = raw_chunk({}, reason)
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def test_a_call_without_an_id_and_one_named_like_its_stand_in_stay_apart(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(
        Turn(
            raw=[
                call_delta(0, id=None, name="echo", arguments='{"word": "a"}'),
                call_delta(1, id="call_0", name="echo", arguments='{"word": "b"}'),
                finish(),
            ]
        ),
        Turn(text="done"),
    )
    assistant = bot(tools=[echo])
    assert runner.run(assistant, "go") == "done"
    history = assistant.history.to_openai()
    assert validate_history(history) == []
    assert [c["id"] for c in history[1]["tool_calls"]] == ["call_0", "call_0_2"]
    assert [m["content"] for m in history[2:4]] == ["a", "b"]


# -- 5. text UTF-8 cannot encode -----------------------------------------------------------------


def test_a_tool_result_with_a_lone_surrogate_does_not_poison_the_conversation(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    @function_tool
    def list_files() -> list[str]:
        """Lists the files, one of whose names is not UTF-8."""
        return [os.fsdecode(b"notes.txt"), os.fsdecode(b"caf\xe9.txt")]

    server.add(Turn(tool_calls=[ToolCallSpec(name="list_files")]), Turn(text="Two files."))
    assistant = bot(tools=[list_files], stream=stream)
    assert runner.run(assistant, "ls") == "Two files."  # the second request could be sent

    (told,) = tool_message(server)
    assert told == '["notes.txt", "caf\ufffd.txt"]'
    history = assistant.history.to_openai()
    assert validate_history(history) == []
    server.add(Turn(text="Still here."))
    assert runner.run(assistant, "and now?") == "Still here."


def test_an_emoji_split_across_chunks_is_joined_and_a_lone_half_replaced(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    def text(piece: str) -> dict[str, Any]:
        return raw_chunk({"content": piece})

    # Written as \uXXXX escapes, the pair's halves arrive in two chunks; a third half is alone.
    pieces = ["Smile ", "\ud83d", "\ude00", " and ", "\ud83d", "!"]
    server.add(Turn(raw=[*(text(p) for p in pieces), finish("stop")], ensure_ascii=True))
    assistant = bot()
    assert runner.run(assistant, "go") == "Smile \U0001f600 and \ufffd!"
    assert assistant.history.to_openai()[-1]["content"] == "Smile \U0001f600 and \ufffd!"
    assert validate_history(assistant.history.to_openai()) == []
    server.add(Turn(text="ok"))
    assert runner.run(assistant, "again") == "ok"


def test_a_prompt_with_a_lone_surrogate_is_kept_encodable(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(Turn(text="Read it."))
    assistant = bot()
    assert runner.run(assistant, os.fsdecode(b"open caf\xe9.txt")) == "Read it."
    assert server.requests[0].messages == [{"role": "user", "content": "open caf\ufffd.txt"}]
    assert validate_history(assistant.history.to_openai()) == []


# -- 6. tool names the API would refuse ----------------------------------------------------------


def test_a_name_repeated_in_every_delta_is_one_name(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    pieces = ['{"wo', 'rd": ', '"hi"}']
    server.add(
        Turn(
            raw=[
                call_delta(0, id="c1", name="echo"),
                *(call_delta(0, id="c1", name="echo", arguments=piece) for piece in pieces),
                finish(),
            ]
        ),
        Turn(text="done"),
    )
    assistant = bot(tools=[echo])
    assert runner.run(assistant, "go") == "done"
    assert tool_message(server) == ["hi"]
    assert assistant.history.to_openai()[1]["tool_calls"][0]["function"]["name"] == "echo"


def test_a_name_with_characters_the_api_refuses_is_an_unknown_tool(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(tool_calls=[ToolCallSpec(name="functions.echo", id="c1")]), Turn(text="ok"))
    assistant = bot(tools=[echo], stream=stream)
    assert runner.run(assistant, "go") == "ok"
    (told,) = tool_message(server)
    assert told.startswith("Error: UnknownToolError: there is no tool 'functions.echo'")
    history = assistant.history.to_openai()
    assert validate_history(history) == []
    assert history[1]["tool_calls"][0]["function"]["name"] == "functions_echo"


def test_a_call_without_a_name_is_the_models_fault(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(Turn(raw=[call_delta(0, id="c1", arguments="{}"), finish()]))
    assistant = bot(tools=[echo])
    with pytest.raises(ModelProtocolError, match="no name"):
        runner.run(assistant, "go")
    assert assistant.history.to_openai() == [{"role": "user", "content": "go"}]


# -- 7. a cancel during the last events ----------------------------------------------------------


@pytest.mark.parametrize("hook", ["on_text", "on_usage", "on_response_end"])
def test_a_cancel_from_a_hook_at_the_end_is_the_same_under_both_runners(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, hook: str
) -> None:
    token = CancelToken()

    class Cancelling(Hooks):
        pass

    setattr(Cancelling, hook, lambda self, *args: token.cancel())
    server.add(Turn(text="The answer."))
    assistant = bot(hooks=Cancelling())

    if runner.loop is None:
        with pytest.raises(RunCancelled):
            assistant.run("go", cancel=token)
    else:

        async def scenario() -> int:
            with pytest.raises(RunCancelled):
                await assistant.arun("go", cancel=token)
            await asyncio.sleep(0)  # the task is not left cancelled: this await goes through
            task = asyncio.current_task()
            assert task is not None
            return task.cancelling()

        assert runner.await_(scenario()) == 0
    # The answer's events were not all delivered: it is not kept.
    assert assistant.history.to_openai() == [{"role": "user", "content": "go"}]


def test_a_cancel_from_another_thread_while_the_last_hook_runs(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    token = CancelToken()
    inside = threading.Event()
    resume = threading.Event()

    class Slow(Hooks):
        def on_response_end(self, text: str) -> None:
            inside.set()
            resume.wait(5)

    def cancel_meanwhile() -> None:
        inside.wait(5)
        token.cancel()
        resume.set()

    canceller = threading.Thread(target=cancel_meanwhile)
    canceller.start()
    server.add(Turn(text="The answer."))
    assistant = bot(hooks=Slow())
    try:
        with pytest.raises(RunCancelled):
            runner.run(assistant, "go", cancel=token)
    finally:
        canceller.join(5)
    assert assistant.history.to_openai() == [{"role": "user", "content": "go"}]


def test_a_cancel_after_the_end_changes_nothing(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    token = CancelToken()
    server.add(Turn(text="The answer."))
    assistant = bot()
    assert runner.run(assistant, "go", cancel=token) == "The answer."
    token.cancel()
    assert assistant.history.to_openai()[-1] == {"role": "assistant", "content": "The answer."}


# -- 8. what the wire allows but nobody promised to handle ---------------------------------------


def test_usage_with_null_counts(server: FakeOpenAIServer, bot: Bot, runner: Runner) -> None:
    usage = {"prompt_tokens": None, "completion_tokens": 3, "total_tokens": None}
    text = raw_chunk({"content": "Hi."})
    server.add(Turn(raw=[text, finish("stop", usage=usage)]))
    totals: list[Any] = []

    class Usage(Hooks):
        def on_usage(self, usage: Any, total: Any) -> None:
            totals.append(total)

    assert runner.run(bot(hooks=Usage()), "go") == "Hi."
    assert (totals[-1].prompt_tokens, totals[-1].completion_tokens) == (0, 3)


def test_tool_call_deltas_without_an_index(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(
        Turn(
            raw=[
                call_delta(None, id="c1", name="echo", arguments='{"word": '),
                call_delta(None, id=None, arguments='"a"}'),  # more of the last call
                call_delta(None, id="c2", name="echo", arguments='{"word": "b"}'),  # a new one
                call_delta(0, id=None, arguments=""),
                finish(),
            ]
        ),
        Turn(text="done"),
    )
    assistant = bot(tools=[echo])
    assert runner.run(assistant, "go") == "done"
    assert tool_message(server) == ["a", "b"]


def test_a_whole_answer_whose_content_is_not_text(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    completion = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": [{"type": "text", "text": "Hi"}]},
            }
        ],
    }
    server.add(Turn(raw=[completion]))
    assistant = bot(stream=False)
    with pytest.raises(ModelProtocolError, match="not a string"):
        runner.run(assistant, "go")
    assert assistant.history.to_openai() == [{"role": "user", "content": "go"}]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 10_000])
def test_arguments_nested_past_the_limit_are_not_json_for_the_loop_either(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool, depth: int
) -> None:
    @function_tool
    def take(value: Any) -> str:
        """Takes anything."""
        return "taken"

    arguments = '{"value": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"
    server.add(Turn(tool_calls=[ToolCallSpec(name="take", arguments=arguments)]), Turn(text="ok"))
    assistant = bot(tools=[take], stream=stream)
    assert runner.run(assistant, "go") == "ok"
    (told,) = tool_message(server)
    if depth <= MAX_JSON_DEPTH:
        assert told == "taken"
    else:
        assert told.startswith("Error: MalformedArgumentsError:")
        assert f"deeper than {MAX_JSON_DEPTH}" in told
    history = assistant.history.to_openai()
    assert validate_history(history) == []  # the parser and the validator draw the same line


def test_stop_iteration_in_a_hook_is_a_hook_error(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    class Stopping(Hooks):
        def on_partial_text(self, delta: str, snapshot: str) -> None:
            raise StopIteration

    server.add(Turn(text="Hello there."))
    assistant = bot(hooks=Stopping())
    with pytest.raises(HookError, match="StopIteration") as raised:
        runner.run(assistant, "go")
    assert isinstance(raised.value.__cause__, StopIteration)
    assert assistant.history.to_openai() == [{"role": "user", "content": "go"}]
