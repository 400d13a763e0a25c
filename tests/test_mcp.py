"""MCP servers' tools (``agentools.mcp.MCPToolkit``) against real MCP servers, under both runners.

The servers are written with the ``mcp`` package's server API (``tests/mcp_servers``): one over
stdio (a subprocess per toolkit) and one over streamable HTTP on 127.0.0.1 (a subprocess for the
module; a test that kills its server starts its own). The model is the loopback
``FakeOpenAIServer`` with scripted turns.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "mcp", reason="the MCP tests need the mcp package: pip install 'agentools[mcp]'"
)

from agentools import CancelToken, Hooks, RunCancelled, ToolDefinitionError
from agentools.calls import ToolCall, ToolResult
from agentools.mcp import MCPConnectionError, MCPResult, MCPToolkit
from agentools.testing import FakeOpenAIServer, RecordedRequest, ToolCallSpec, Turn

from .support import Bot, Runner

SERVERS = Path(__file__).parent / "mcp_servers"
ROOT = Path(__file__).parent.parent

# -- the servers ------------------------------------------------------------------------------


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` if it does not within
    ``timeout`` (a bound for a broken run, not a measurement)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def http_server(traces: Path, name: str = "http", token: str = "") -> Iterator[str]:
    """The HTTP test server in a subprocess, until the block ends: its URL. With a ``token``,
    it refuses requests without the header ``X-Token: <token>``."""
    port = free_port()
    with open(traces / f"http-{port}.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, str(SERVERS / "http_server.py"), str(port), name],
            env={**os.environ, "MCP_TEST_DIR": str(traces), "MCP_TEST_TOKEN": token},
            stdout=log,
            stderr=log,
        )
        try:
            wait_until(lambda: accepts(port) or process.poll() is not None, "the server listens")
            assert process.poll() is None, (traces / f"http-{port}.log").read_text()
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            process.terminate()
            process.wait(10)


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the servers' ``slow`` tool leaves its traces (``started-<tag>``,
    ``cancelled-<tag>``)."""
    return tmp_path_factory.mktemp("mcp-traces")


@pytest.fixture(scope="module")
def http_url(traces: Path) -> Iterator[str]:
    with http_server(traces) as url:
        yield url


def stdio_toolkit(traces: Path, name: str = "stdio", **options: Any) -> MCPToolkit:
    command = [sys.executable, str(SERVERS / "stdio_server.py"), name]
    return MCPToolkit.stdio(command, env={"MCP_TEST_DIR": str(traces)}, **options)


@pytest.fixture(params=["stdio", "http"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def shared(traces: Path, http_url: str) -> Iterator[Callable[..., MCPToolkit]]:
    """``shared(transport, **options)``: one toolkit per transport and options for the whole
    module, serving the tests of both runners in turn (as one toolkit may), closed at the end.
    Starting a stdio server costs a second or two; the tests of the lifecycle make their own."""
    made: dict[tuple[str, str], MCPToolkit] = {}

    def get(transport: str, **options: Any) -> MCPToolkit:
        key = (transport, repr(sorted(options.items())))
        if key not in made:
            if transport == "stdio":
                made[key] = stdio_toolkit(traces, **options)
            else:
                made[key] = MCPToolkit.http(http_url, **options)
        return made[key]

    yield get
    for toolkit in made.values():
        toolkit.close()


@pytest.fixture
def connect(transport: str, shared: Callable[..., MCPToolkit]) -> Callable[..., MCPToolkit]:
    """``connect(**options)``: the module's toolkit on this test's transport."""
    return functools.partial(shared, transport)


def tool_messages(bot_history: list[dict[str, Any]]) -> dict[str, str]:
    """The tool messages' contents by call id."""
    return {m["tool_call_id"]: m["content"] for m in bot_history if m["role"] == "tool"}


def call(name: str, call_id: str, **arguments: Any) -> ToolCallSpec:
    return ToolCallSpec(name=name, arguments=arguments, id=call_id)


# -- what the model sees and gets -------------------------------------------------------------


def test_the_tools_are_offered_with_their_schemas_as_given(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, connect: Callable[..., MCPToolkit]
) -> None:
    toolkit = connect()
    server.add(Turn(text="ok"))

    assert runner.run(bot(tools=[toolkit]), "Hi") == "ok"

    offered = {tool["function"]["name"]: tool["function"] for tool in server.requests[0].tools}
    assert {"echo", "slow", "fail", "picture", "length", "weather", "meet"} <= set(offered)
    length = offered["length"]
    assert length["description"] == "The length of a route (a nested schema)."
    assert length["parameters"]["properties"] == {"route": {"$ref": "#/$defs/Route"}}
    assert length["parameters"]["$defs"]["Point"]["required"] == ["x", "y"]
    assert "strict" not in length  # the schema is open (no additionalProperties: false)


def test_text_structured_and_image_results(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, connect: Callable[..., MCPToolkit]
) -> None:
    server.add(
        Turn(
            tool_calls=[
                call("echo", "a", text="hi"),
                call("weather", "b", city="Oslo"),
                call("picture", "c"),
                call(
                    "length",
                    "d",
                    route={"name": "r", "points": [{"x": 0, "y": 0}, {"x": 3, "y": 4}]},
                ),
            ]
        ),
        Turn(text="done"),
    )
    results: list[ToolResult] = []

    class Keep(Hooks):
        def on_tool_result(self, call: ToolCall, result: ToolResult) -> None:
            results.append(result)

    assistant = bot(tools=[connect()])

    assert runner.run(assistant, "Go", hooks=Keep()) == "done"

    contents = tool_messages(server.requests[1].messages)
    assert contents["a"].endswith(":hi")
    assert '"celsius": 21.5' in contents["b"]
    assert (
        contents["c"]
        == "[image 1: in the user message after the tool results; image/png, 67 bytes]"
    )
    # The model sees the image: in the user message after the tool messages.
    media = server.requests[1].messages[-1]
    assert media["role"] == "user"
    assert media["content"][1]["image_url"]["url"].startswith("data:image/png;base64,iVBOR")
    assert contents["d"] == "5.0"
    by_id = {result.call_id: result.value for result in results}
    assert isinstance(by_id["b"], MCPResult)
    assert by_id["b"].structured == {"city": "Oslo", "celsius": 21.5}
    (image,) = by_id["c"].images
    assert image.mime_type == "image/png"


def test_parallel_calls_run_at_once(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, connect: Callable[..., MCPToolkit]
) -> None:
    party = f"{runner}-{id(server)}"
    server.add(
        Turn(tool_calls=[call("meet", f"m{i}", party=party, size=3) for i in range(3)]),
        Turn(text="met"),
    )

    assert runner.run(bot(tools=[connect()]), "Meet") == "met"

    assert set(tool_messages(server.requests[1].messages).values()) == {"met 3"}


def test_errors_are_told_to_the_model_and_the_run_goes_on(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, connect: Callable[..., MCPToolkit]
) -> None:
    server.add(
        Turn(tool_calls=[call("fail", "a", reason="no luck"), call("echo", "b")]),
        Turn(text="sorry"),
    )
    assistant = bot(tools=[connect()])

    assert runner.run(assistant, "Try") == "sorry"

    contents = tool_messages(server.requests[1].messages)
    assert contents["a"] == "Error: MCPToolError: Error executing tool fail: failed: no luck"
    assert contents["b"].startswith("Error: MCPToolError: ")
    assert "text" in contents["b"]  # the server's own validation names the missing argument


def test_error_detail_applies_as_to_any_tool(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, shared: Callable[..., MCPToolkit]
) -> None:
    server.add(Turn(tool_calls=[call("fail", "a", reason="secret")]), Turn(text="ok"))

    runner.run(bot(tools=[shared("http", error_detail="type")]), "Try")

    assert tool_messages(server.requests[1].messages) == {"a": "Error: MCPToolError"}


def test_a_transport_failure_is_a_tool_error(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, transport: str, traces: Path
) -> None:
    server.add(
        Turn(tool_calls=[call("crash", "a")]),
        Turn(tool_calls=[call("echo", "b", text="x")]),
        Turn(text="gone"),
    )
    with contextlib.ExitStack() as stack:
        if transport == "stdio":
            toolkit = stdio_toolkit(traces)
        else:
            toolkit = MCPToolkit.http(stack.enter_context(http_server(traces)))
        stack.callback(toolkit.close)

        assert runner.run(bot(tools=[toolkit]), "Crash it") == "gone"

    first, second = (tool_messages(server.requests[i].messages) for i in (1, 2))
    assert first["a"].startswith(("Error: MCPConnectionError: ", "Error: MCPToolError: "))
    assert second["b"].startswith("Error: MCPConnectionError: ")


@pytest.mark.parametrize("runner", ["blocking"], indirect=True)  # the runner plays no part
def test_headers_go_with_every_request(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, traces: Path
) -> None:
    server.add(Turn(tool_calls=[call("echo", "a", text="x")]), Turn(text="in"))
    with http_server(traces, "guarded", token="s3cret") as url:
        with pytest.raises(MCPConnectionError, match="could not connect"):
            MCPToolkit.http(url).open()
        with MCPToolkit.http(url, headers={"X-Token": "s3cret"}) as toolkit:
            assert runner.run(bot(tools=[toolkit]), "Hi") == "in"

    assert tool_messages(server.requests[1].messages) == {"a": "guarded:x"}


# -- time: timeouts and cancels ----------------------------------------------------------------


def test_a_call_past_its_timeout_is_cancelled_on_the_server(
    server: FakeOpenAIServer,
    bot: Bot,
    runner: Runner,
    connect: Callable[..., MCPToolkit],
    traces: Path,
    transport: str,
) -> None:
    tag = f"timeout-{transport}-{runner}"
    server.add(Turn(tool_calls=[call("slow", "a", seconds=60, tag=tag)]), Turn(text="too slow"))

    assert runner.run(bot(tools=[connect(timeout=1)]), "Wait") == "too slow"

    assert tool_messages(server.requests[1].messages) == {
        "a": "Error: ToolTimeoutError: slow did not finish within 1 s"
    }
    wait_until((traces / f"cancelled-{tag}").exists, "the server cancelled the call")


def test_a_run_cancelled_mid_call_cancels_the_call_on_the_server(
    server: FakeOpenAIServer,
    bot: Bot,
    runner: Runner,
    connect: Callable[..., MCPToolkit],
    traces: Path,
    transport: str,
) -> None:
    tag = f"cancel-{transport}-{runner}"
    server.add(Turn(tool_calls=[call("slow", "a", seconds=60, tag=tag)]), Turn(text="never"))
    token = CancelToken()

    def cancel_once_started() -> None:
        wait_until((traces / f"started-{tag}").exists, "the server runs the call")
        token.cancel()

    canceller = threading.Thread(target=cancel_once_started)
    canceller.start()
    assistant = bot(tools=[connect()])
    try:
        with pytest.raises(RunCancelled):
            runner.run(assistant, "Wait", cancel=token)
    finally:
        canceller.join()

    wait_until((traces / f"cancelled-{tag}").exists, "the server cancelled the call")
    assert assistant.history.to_openai()[0] == {"role": "user", "content": "Wait"}
    assert len(server.requests) == 1


# -- names, filters, list changes -------------------------------------------------------------


def test_two_servers_with_the_same_names(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, shared: Callable[..., MCPToolkit]
) -> None:
    with pytest.raises(ToolDefinitionError, match="two tools are named 'echo'"):
        runner.run(bot(tools=[shared("stdio"), shared("http")]), "Hi")
    assert server.requests == []

    local, remote = shared("stdio", prefix="local"), shared("http", prefix="remote")
    server.add(
        Turn(tool_calls=[call("local_echo", "a", text="x"), call("remote_echo", "b", text="y")]),
        Turn(text="both"),
    )

    assert runner.run(bot(tools=[local, remote]), "Hi") == "both"

    assert tool_messages(server.requests[1].messages) == {"a": "stdio:x", "b": "http:y"}


def test_allow_and_deny(shared: Callable[..., MCPToolkit]) -> None:
    allowed = shared("http", allow=["echo", "slow", "fail"], deny=["slow"], prefix="s")

    assert [tool.name for tool in allowed.tools()] == ["s_echo", "s_fail"]


def test_the_list_is_refreshed_when_the_server_says_it_changed(
    server: FakeOpenAIServer,
    bot: Bot,
    runner: Runner,
    connect: Callable[..., MCPToolkit],
    transport: str,
) -> None:
    fresh = f"fresh_{transport}_{runner}"
    toolkit = connect()
    server.add(Turn(tool_calls=[call("grow", "a", tool_name=fresh)]), Turn(text="grown"))
    toolkit.open()
    assert toolkit.protocol_version == "2026-07-28"  # changes come through a subscription
    assistant = bot(tools=[toolkit])
    assert runner.run(assistant, "Grow") == "grown"

    wait_until(lambda: fresh in assistant.tools, "the new tool is listed")
    server.add(Turn(tool_calls=[call(fresh, "b")]), Turn(text="used"))
    assert runner.run(assistant, "Use it") == "used"

    assert fresh in {tool["function"]["name"] for tool in server.requests[2].tools}
    assert tool_messages(server.requests[3].messages)["b"] == f"I am {fresh}"


def test_an_older_protocol_session_refreshes_and_cancels_too(
    server: FakeOpenAIServer,
    bot: Bot,
    runner: Runner,
    shared: Callable[..., MCPToolkit],
    traces: Path,
) -> None:
    """Before 2026-07-28 a server sends ``notifications/tools/list_changed`` unasked (no
    subscription) and the cancel is the same notification."""
    toolkit = shared("stdio", mode="legacy", timeout=1)
    fresh, tag = f"legacy_{runner}", f"legacy-{runner}"
    server.add(
        Turn(tool_calls=[call("grow", "a", tool_name=fresh)]),
        Turn(tool_calls=[call("slow", "b", seconds=60, tag=tag)]),
        Turn(text="done"),
    )
    assistant = bot(tools=[toolkit])

    assert runner.run(assistant, "Grow") == "done"

    assert toolkit.protocol_version == "2025-11-25"
    wait_until(lambda: fresh in assistant.tools, "the new tool is listed")
    wait_until((traces / f"cancelled-{tag}").exists, "the server cancelled the call")


# -- lifecycle --------------------------------------------------------------------------------


def child_processes() -> set[int]:
    """The ids of this process's live children (Linux: /proc)."""
    children: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                fields = stat.rsplit(")", 1)[1].split()
                if int(fields[1]) == os.getpid() and fields[0] != "Z":
                    children.add(int(entry.name))
    return children


def open_sockets() -> int:
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            count += os.readlink(fd).startswith("socket:")
    return count


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts processes in /proc")
def test_nothing_is_left_after_close(
    server: FakeOpenAIServer,
    bot: Bot,
    runner: Runner,
    transport: str,
    traces: Path,
    http_url: str,
) -> None:
    """Under ``with`` (blocking) or ``async with`` (async), with a call cancelled mid-way: after
    the block no thread, process or socket of the toolkit is left, and nothing warned."""
    tag = f"leftovers-{transport}-{runner}"
    server.add(Turn(tool_calls=[call("echo", "a", text="x")]), Turn(text="one"))
    server.add(Turn(tool_calls=[call("slow", "b", seconds=60, tag=tag)]))
    assistant = bot(tools=[], pooled=False)
    threads, children, sockets = set(threading.enumerate()), child_processes(), open_sockets()

    def make() -> MCPToolkit:
        return stdio_toolkit(traces) if transport == "stdio" else MCPToolkit.http(http_url)

    async def in_async_with() -> None:
        async with make() as toolkit:
            assistant.tools.add(toolkit)
            assert await assistant.arun("One") == "one"
            task = asyncio.ensure_future(assistant.arun("Two"))
            while not (traces / f"started-{tag}").exists():  # noqa: ASYNC110 - a file, no event
                await asyncio.sleep(0.02)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assistant.tools.remove(toolkit)
        assert asyncio.all_tasks() == {asyncio.current_task()}  # no task of the toolkit's

    if runner.is_async:
        runner.await_(in_async_with())
    else:
        with make() as toolkit:
            assistant.tools.add(toolkit)
            assert assistant.run("One") == "one"
            token = CancelToken()

            def cancel_once_started() -> None:
                wait_until((traces / f"started-{tag}").exists, "the server runs the call")
                token.cancel()

            canceller = threading.Thread(target=cancel_once_started)
            canceller.start()
            with pytest.raises(RunCancelled):
                assistant.run("Two", cancel=token)
            canceller.join()
            assistant.tools.remove(toolkit)
    bot.close()  # the model's connections too
    assert server.wait_idle(timeout=5)

    wait_until((traces / f"cancelled-{tag}").exists, "the server cancelled the call")
    # (asyncio_N: the caller's loop's executor, the openai client's, shut down with that loop)
    assert {
        t for t in set(threading.enumerate()) - threads if not t.name.startswith("asyncio_")
    } == set()
    assert child_processes() - children == set()
    assert open_sockets() <= sockets


def test_opened_on_first_use_and_closed_by_close(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, transport: str, traces: Path, http_url: str
) -> None:
    toolkit = stdio_toolkit(traces) if transport == "stdio" else MCPToolkit.http(http_url)
    assistant = bot(tools=[toolkit])
    assert not toolkit.is_open  # adding it connects nothing
    before = set(threading.enumerate())

    server.add(Turn(tool_calls=[call("echo", "a", text="x")]), Turn(text="one"))
    assert runner.run(assistant, "One") == "one"
    assert toolkit.is_open
    toolkit.close()
    assert not toolkit.is_open
    assert not [
        t for t in set(threading.enumerate()) - before if t.name.startswith("agentools-mcp")
    ]

    server.add(Turn(tool_calls=[call("echo", "b", text="y")]), Turn(text="two"))
    try:
        assert runner.run(assistant, "Two") == "two"  # connects again
    finally:
        toolkit.close()
    assert tool_messages(server.requests[3].messages)["b"].endswith(":y")


def test_a_server_that_cannot_be_reached_fails_the_run_before_the_model_is_called(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    toolkit = MCPToolkit.http(f"http://127.0.0.1:{free_port()}/mcp", connect_timeout=10)
    with pytest.raises(MCPConnectionError, match="could not connect"):
        runner.run(bot(tools=[toolkit]), "Hi")
    assert server.requests == []
    assert not toolkit.is_open


# -- packaging and docs -----------------------------------------------------------------------


def test_agentools_does_not_import_mcp_and_says_how_to_get_it() -> None:
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'mcp' or name.startswith('mcp.'):\n"
        "            raise ImportError('no mcp here')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import agentools\n"
        "assert 'mcp' not in sys.modules\n"
        "try:\n"
        "    import agentools.mcp\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", blocker], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert "pip install 'agentools[mcp]'" in out.stdout


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.S)


def echo_model(request: RecordedRequest) -> Turn:
    """The docs' model: calls every offered tool whose name ends in ``echo`` with the prompt,
    then answers with the results."""
    messages = request.messages
    last = max(i for i, message in enumerate(messages) if message["role"] == "user")
    results = [m["content"] for m in messages[last + 1 :] if m["role"] == "tool"]
    if results:
        return Turn(text=" / ".join(results))
    names = [tool["function"]["name"] for tool in request.tools]
    prompt = messages[last]["content"]
    calls = [ToolCallSpec(name=n, arguments={"text": prompt}) for n in names if n.endswith("echo")]
    return Turn(tool_calls=calls) if calls else Turn(text="no echo tool")


def test_the_docs_examples_run(
    traces: Path,
    http_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """docs/mcp.md's code blocks, run in order in one namespace, as its last section says."""
    blocks = python_blocks((ROOT / "docs" / "mcp.md").read_text())
    (tmp_path / "server.py").write_text((SERVERS / "stdio_server.py").read_text())
    (tmp_path / "tools.py").write_text((SERVERS / "tools.py").read_text())
    monkeypatch.chdir(tmp_path)
    with FakeOpenAIServer(responder=echo_model) as model:
        monkeypatch.setenv("OPENAI_BASE_URL", model.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-docs")
        namespace: dict[str, Any] = {"SERVER_URL": http_url}
        for block in blocks:
            exec(compile(block, "docs/mcp.md", "exec"), namespace)
        assert model.wait_idle(timeout=5)

    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        "stdio:hello",
        "http:hello",
        "['local_echo', 'local_weather', 'remote_echo']",
        "stdio:hello / http:hello",
        "cancelled",
    ]
