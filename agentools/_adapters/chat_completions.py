"""The Chat Completions API (``client.chat.completions.create``) as a ``ModelAPI``.

Everything agentools knows of that wire format is here and in ``chat_accumulate``: the request's
shape (the history as message dicts, the tools as function entries, ``stream_options`` asking for
usage), the chunks and completions, which SDK exceptions mean a broken connection, and how to
wake a blocked read of a stream. Any OpenAI-compatible server speaks it.

The SDK always makes the request (its authentication, headers, retries before a response, and
exceptions for an HTTP error status). By default (``decoding="raw"``) the answer is then read
from the response's bytes through the SDK's raw-response API (``with_streaming_response``): the
SSE events decoded by ``sse``, each chunk a plain dict, several times cheaper than the typed
chunk the SDK would build of it. ``decoding="sdk"`` reads the SDK's typed stream (for a client
whose ``create()`` does more) and turns each chunk back into its dict, so that one accumulator
reads both. A connection failing mid-read raises the SDK's ``APIConnectionError`` /
``APITimeoutError`` either way, and an error event in the stream ``StreamError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import re
import socket
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import Any

import anyio
import httpx2
import openai

from .._errors import StreamError, UnknownSettingError
from .._schema.output import OutputSchema
from ..calls import PartialToolCall
from ..events import Event
from ..history import History
from ..output import OUTPUT_TOOL_NAME
from .base import Accumulator, Decoding, Failure, Limits, ModelRequest
from .chat_accumulate import ChunkAccumulator, CompletionReader
from .sse import SSEDecoder

__all__ = ["ChatCompletions"]

_OURS = {
    "messages": "agentools sends the history (and the system prompt) as the messages",
    "tools": "pass tools=... to the Assistant (or use assistant.tools)",
    "functions": "the legacy 'functions' are not supported; pass tools=... to the Assistant",
}
"""Parameters of ``create()`` that agentools sets itself, and what to do instead."""


def _ask_for_output(wire: dict[str, Any], output: OutputSchema, mode: str) -> None:
    """Ask for the typed output: a ``response_format`` JSON schema, or the output tool."""
    if mode == "tool":
        function: dict[str, Any] = {
            "name": OUTPUT_TOOL_NAME,
            "description": f"Give the final answer, as {output.name}. Call it once, last.",
            "parameters": output.schema,
        }
        if output.strict:
            function["strict"] = True
        wire["tools"] = [*wire.get("tools", ()), {"type": "function", "function": function}]
        return
    name = re.sub(r"[^a-zA-Z0-9_-]+", "_", output.name).strip("_")[:64] or "output"
    json_schema: dict[str, Any] = {"name": name, "schema": output.schema}
    if output.strict:
        json_schema["strict"] = True
    wire["response_format"] = {"type": "json_schema", "json_schema": json_schema}


class ChatCompletions:
    """The Chat Completions wire format, for the machine and both runners."""

    def check_params(
        self, params: Mapping[str, Any], client: object | None, settings: Iterable[str] = ()
    ) -> None:
        if client is None:
            # Here, not at the top: the SDK loads its resources on first use, so ``import
            # agentools`` would otherwise pay for every Chat Completions resource module.
            from openai.resources.chat.completions import Completions

            create: Callable[..., Any] = Completions.create
        else:
            create = client.chat.completions.create  # type: ignore[attr-defined]
        parameters = inspect.signature(create).parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
        known = [*settings, *(name for name in parameters if name not in ("self", *_OURS))]
        for name in params:
            if name in _OURS:
                raise UnknownSettingError(f"{name!r} is not an Assistant keyword: {_OURS[name]}")
            if name not in parameters and not takes_any:
                import difflib  # only for this error's hint

                close = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise UnknownSettingError(
                    f"{name!r} is neither a setting of the Assistant nor a parameter of "
                    f"chat.completions.create{hint}"
                )

    def request(self, request: ModelRequest) -> dict[str, Any]:
        wire: dict[str, Any] = {
            **request.params,
            "model": request.model,
            "messages": History(request.messages).to_openai(),
        }
        if request.json_steps and request.tools:
            from . import json_steps  # constrained tool calling only: not every program's cost

            offer = request.offer_tools
            for name in _NATIVE_TOOL_PARAMS:
                wire.pop(name, None)
            typed = request.output
            wire["messages"] = json_steps.step_messages(
                wire["messages"], request.tools, offer_tools=offer, typed=typed is not None
            )
            wire["response_format"] = json_steps.step_format(
                request.tools, offer_tools=offer, answer=None if typed is None else typed.schema
            )
        elif request.tools:
            wire["tools"] = [signature.to_openai() for signature in request.tools]
        if request.output is not None and not (request.json_steps and request.tools):
            _ask_for_output(wire, request.output, request.output_mode)
        if request.stream:
            wire["stream"] = True
            wire["stream_options"] = {**wire.get("stream_options", {}), "include_usage": True}
        return wire

    def accumulator(
        self,
        *,
        stream: bool,
        limits: Limits,
        emit: Callable[[Event], None],
        on_arguments: Callable[[PartialToolCall], None],
        json_steps: bool = False,
        typed_answer: bool = False,
    ) -> Accumulator:
        if json_steps:
            from . import step_reading

            if stream:
                return step_reading.StepAccumulator(limits, emit, on_arguments, typed_answer)
            return step_reading.StepCompletionReader(limits, typed_answer)
        return ChunkAccumulator(limits, emit, on_arguments) if stream else CompletionReader(limits)

    def failure(self, error: Exception) -> Failure:
        if isinstance(error, openai.APIConnectionError):  # timeouts included
            return Failure.BROKEN
        if isinstance(error, (json.JSONDecodeError, UnicodeDecodeError)):
            return Failure.MALFORMED  # a chunk or a body that is not JSON, or not UTF-8
        if isinstance(error, RuntimeError) and str(error) == "Event loop is closed":
            return Failure.LOOP_CLOSED  # the pool's connections belong to a loop that is gone
        return Failure.OTHER

    @contextlib.contextmanager
    def call(
        self, client: openai.OpenAI, request: Mapping[str, Any], *, stream: bool, decoding: Decoding
    ) -> Iterator[Iterable[dict[str, Any]]]:
        """The SDK makes the request either way. ``"raw"`` reads the response itself: a stream's
        bytes through ``sse``, a whole body with one ``json.loads`` (the SDK has read it, but
        building a ``ChatCompletion`` of it would cost as much again); ``"sdk"`` reads the SDK's
        objects, turned back into the dicts they were."""
        completions = client.chat.completions
        if decoding == "sdk":
            if not stream:
                yield (completions.create(**request).to_dict(warnings=False),)
                return
            with completions.create(**request) as typed:
                yield _TypedStream(typed)
        elif not stream:
            yield (
                json.loads(completions.with_raw_response.create(**request).http_response.content),
            )
        else:
            with completions.with_streaming_response.create(**request) as response:
                yield _RawStream(response.http_response)

    def interrupt(self, response: Any) -> None:
        """Shutting the socket down makes a read waiting for the next chunk fail at once; the
        runner's own ``with`` block then closes the response in its own thread."""
        http = getattr(response, "http_response", None)
        network = http.extensions.get("network_stream") if http is not None else None
        connection = network.get_extra_info("socket") if network is not None else None
        if isinstance(connection, socket.socket):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    @contextlib.asynccontextmanager
    async def acall(
        self,
        client: openai.AsyncOpenAI,
        request: Mapping[str, Any],
        *,
        stream: bool,
        decoding: Decoding,
    ) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        completions = client.chat.completions
        if decoding == "sdk":
            if not stream:
                yield _One((await completions.create(**request)).to_dict(warnings=False))
                return
            async with await completions.create(**request) as typed:
                yield _AsyncTypedStream(typed)
        elif not stream:
            whole = await completions.with_raw_response.create(**request)
            yield _One(json.loads(whole.http_response.content))
        else:
            async with completions.with_streaming_response.create(**request) as response:
                yield _AsyncRawStream(response.http_response)


def _broken(error: BaseException) -> bool:
    """Does the SDK's stream take ``error`` for a broken connection (``APIConnectionError``)
    when it reads? (``ssl`` is looked for, not imported: an SSL error comes only from a
    connection that imported it, and importing it costs ``import agentools`` 3 ms.)"""
    if isinstance(error, (httpx2.RequestError, anyio.EndOfStream)):
        return True
    ssl = sys.modules.get("ssl")
    return ssl is not None and isinstance(error, ssl.SSLError)


def _connection_error(error: Exception, request: httpx2.Request) -> openai.APIConnectionError:
    """The SDK's exception for ``error``, raised while a stream was read, as its stream raises."""
    if isinstance(error, httpx2.TimeoutException):
        return openai.APITimeoutError(request=request)
    return openai.APIConnectionError(request=request)


class _RawStream:
    """The chunks of one streamed response, decoded from its bytes (``sse``), as dicts."""

    def __init__(self, http_response: httpx2.Response) -> None:
        self.http_response = http_response

    def __iter__(self) -> Iterator[dict[str, Any]]:
        http = self.http_response
        decoder = SSEDecoder(http.request)
        try:
            for data in http.iter_bytes():
                yield from decoder.feed(data)
                if decoder.done:
                    break
        except Exception as error:
            if _broken(error):
                raise _connection_error(error, http.request) from error
            raise
        decoder.end()


class _AsyncRawStream:
    """``_RawStream`` for asyncio; an iterator, not an async generator (see ``_One``)."""

    def __init__(self, http_response: httpx2.Response) -> None:
        self.http_response = http_response
        self._reads = http_response.aiter_bytes()
        self._decoder = SSEDecoder(http_response.request)
        self._ready: list[dict[str, Any]] = []

    def __aiter__(self) -> _AsyncRawStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        ready = self._ready
        while not ready:
            decoder = self._decoder
            if decoder.done:
                decoder.end()
                await self._drain()
                raise StopAsyncIteration
            try:
                data = await anext(self._reads)
            except StopAsyncIteration:
                decoder.end()
                raise
            except Exception as error:
                if _broken(error):
                    raise _connection_error(error, self.http_response.request) from error
                raise
            ready.extend(decoder.feed(data))
            ready.reverse()
        return ready.pop()

    async def _drain(self) -> None:
        """Read what follows ``[DONE]`` (the body's end, normally), for a little while: the
        connection goes back to the pool only once its response was read to the end (as the
        SDK's async stream does)."""
        try:
            await asyncio.wait_for(self._read_rest(), _DRAIN_SECONDS)
        except Exception as error:
            if not (isinstance(error, asyncio.TimeoutError) or _broken(error)):
                raise

    async def _read_rest(self) -> None:
        async for _ in self._reads:
            pass


_DRAIN_SECONDS = 0.1


class _TypedStream:
    """The SDK's typed stream (``decoding="sdk"``), each chunk turned into the dict it was."""

    def __init__(self, stream: openai.Stream[Any]) -> None:
        self.http_response = stream.response
        self._stream = stream

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            for chunk in self._stream:
                yield chunk.to_dict(warnings=False)
        except openai.APIError as error:
            if type(error) is not openai.APIError:
                raise
            raise _stream_error(error) from error


class _AsyncTypedStream:
    """``_TypedStream`` for asyncio."""

    def __init__(self, stream: openai.AsyncStream[Any]) -> None:
        self.http_response = stream.response
        self._stream = stream

    def __aiter__(self) -> _AsyncTypedStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        try:
            chunk = await self._stream.__anext__()
        except openai.APIError as error:
            if type(error) is not openai.APIError:
                raise
            raise _stream_error(error) from error
        return chunk.to_dict(warnings=False)  # type: ignore[no-any-return]


def _stream_error(error: openai.APIError) -> StreamError:
    """The SDK raises a bare ``APIError`` (not one of its subclasses: a timeout, ...) for an
    error event in a stream; agentools raises the same ``StreamError`` on both paths."""
    return StreamError(error.body, error.request)


_NATIVE_TOOL_PARAMS = ("tool_choice", "parallel_tool_calls")
"""Parameters about native tools, which a request of constrained tool calling does not send."""


class _One:
    """An async iterator over one item (a whole completion); not an async generator, which
    would be left for the event loop to finalize if the runner stopped before its end."""

    def __init__(self, item: Any) -> None:
        self._item: list[Any] = [item]

    def __aiter__(self) -> _One:
        return self

    async def __anext__(self) -> Any:
        if not self._item:
            raise StopAsyncIteration
        return self._item.pop()
