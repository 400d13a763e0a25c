"""The Chat Completions API (``client.chat.completions.create``) as a ``ModelAPI``.

Everything agentools knows of that wire format is here and in ``chat_accumulate``: the request's
shape (the history as message dicts, the tools as function entries, ``stream_options`` asking for
usage), the chunks and completions, which SDK exceptions mean a broken connection, and how to
wake a blocked read of a stream. Any OpenAI-compatible server speaks it.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import socket
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import Any

import openai

from .._errors import UnknownSettingError
from ..calls import PartialToolCall
from ..events import Event
from ..history import History
from .base import Accumulator, Failure, Limits, ModelRequest
from .chat_accumulate import ChunkAccumulator, CompletionReader

__all__ = ["ChatCompletions"]

_OURS = {
    "messages": "agentools sends the history (and the system prompt) as the messages",
    "tools": "pass tools=... to the Assistant (or use assistant.tools)",
    "functions": "the legacy 'functions' are not supported; pass tools=... to the Assistant",
}
"""Parameters of ``create()`` that agentools sets itself, and what to do instead."""


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
        if request.tools:
            wire["tools"] = [signature.to_openai() for signature in request.tools]
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
    ) -> Accumulator:
        return ChunkAccumulator(limits, emit, on_arguments) if stream else CompletionReader(limits)

    def failure(self, error: Exception) -> Failure:
        if isinstance(error, openai.APIConnectionError):  # timeouts included
            return Failure.BROKEN
        if isinstance(error, json.JSONDecodeError):  # the SDK lets a body that is not JSON out
            return Failure.MALFORMED
        if isinstance(error, RuntimeError) and str(error) == "Event loop is closed":
            return Failure.LOOP_CLOSED  # the pool's connections belong to a loop that is gone
        return Failure.OTHER

    @contextlib.contextmanager
    def call(
        self, client: openai.OpenAI, request: Mapping[str, Any], *, stream: bool
    ) -> Iterator[Any]:
        if not stream:
            yield (client.chat.completions.create(**request),)
            return
        with client.chat.completions.create(**request) as response:
            yield response

    def interrupt(self, response: Any) -> None:
        """Shutting the socket down makes a read waiting for the next chunk fail at once; the
        runner's own ``with`` block then closes the response in its own thread."""
        http = getattr(response, "response", None)
        network = http.extensions.get("network_stream") if http is not None else None
        connection = network.get_extra_info("socket") if network is not None else None
        if isinstance(connection, socket.socket):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    @contextlib.asynccontextmanager
    async def acall(
        self, client: openai.AsyncOpenAI, request: Mapping[str, Any], *, stream: bool
    ) -> AsyncIterator[AsyncIterator[Any]]:
        if not stream:
            yield _One(await client.chat.completions.create(**request))
            return
        async with await client.chat.completions.create(**request) as response:
            yield response


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
