"""The seam between the loop and one model API's wire format.

The machine speaks provider-neutral terms: it builds a ``ModelRequest`` (the messages, the tools,
this call's settings) and reads a ``ModelAnswer`` (the assistant message, its tool calls, why the
model stopped, the tokens it used). A ``ModelAPI`` translates between those and the wire:

- ``request()`` turns a ``ModelRequest`` into the keyword arguments of the client's call;
- ``accumulator()`` reads what comes back (a stream's chunks, or a whole response, as the one
  chunk of its answer) and says, while it streams, what grew (``emit`` for events,
  ``on_arguments`` for a tool call's arguments);
- ``call()`` / ``acall()`` are the I/O the runners do with the client, ``interrupt()`` wakes the
  blocking runner's read when the run is cancelled, and ``failure()`` names the kind of an
  exception from that I/O, so that the machine can decide whether to call again.

Chat Completions (``chat_completions.ChatCompletions``) is the adapter today; another API (the
Responses API) is a second class with these methods, and the machine does not change.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs

from ..calls import PartialToolCall, ToolCall
from ..events import Event
from ..messages import AssistantMessage, Message, TokenUsage

if TYPE_CHECKING:
    from .._schema import Signature
    from .._schema.output import OutputSchema

__all__ = [
    "Accumulator",
    "Decoding",
    "Failure",
    "Limits",
    "ModelAPI",
    "ModelAnswer",
    "ModelRequest",
]

Decoding = Literal["raw", "sdk"]
"""How a model call's answer is read: ``"raw"``, from the response's bytes by agentools' own
decoder, or ``"sdk"``, as the SDK's typed objects (``client.chat.completions.create()``)."""


@attrs.frozen(kw_only=True)
class ModelRequest:
    """One model call, in the loop's terms."""

    model: str
    messages: tuple[Message, ...]
    """The system prompt (if any) first, then the history as it will be once the pending units
    are committed."""
    tools: tuple[Signature, ...]
    stream: bool
    params: Mapping[str, Any]
    """The user's extra parameters for the API (``temperature``, ``max_tokens``, ...)."""
    decoding: Decoding = "raw"
    """How the answer is read (``Settings.decoding``)."""
    json_steps: bool = False
    """Constrained tool calling (``Settings.tool_mode == "json"``): the tools are offered as a
    JSON step in ``response_format``, not in ``tools``."""
    offer_tools: bool = True
    """With ``json_steps``: may this step call tools (or only answer)?"""
    output: OutputSchema | None = None
    """The typed output asked for (``run(output=...)``), in the request as ``output_mode``
    says: a ``response_format`` JSON schema, or an output tool."""
    output_mode: str = "json_schema"


@attrs.frozen(kw_only=True)
class Limits:
    """Caps on one answer: its text (or refusal) and each tool call's arguments, in characters,
    and its number of tool calls."""

    text: int
    arguments: int
    calls: int


@attrs.frozen(kw_only=True)
class ModelAnswer:
    """One finished model answer: the message to store, its calls, why the model stopped
    (``"stop"``, ``"tool_calls"``, ``"length"``, ``"content_filter"``, or what the API said)."""

    message: AssistantMessage
    calls: tuple[ToolCall, ...]
    finish_reason: str
    usage: TokenUsage | None


class Failure(enum.Enum):
    """What an exception from the model call's I/O is, as far as the loop cares."""

    BROKEN = "broken"
    """The connection failed or timed out, perhaps mid-stream: calling again may work."""
    MALFORMED = "malformed"
    """The server sent something that cannot be read: the model's (or server's) fault."""
    LOOP_CLOSED = "loop closed"
    """An async client was used on an event loop other than the one it was made on, which is
    closed now (``asyncio.run()`` closes its loop): the caller's to fix."""
    OTHER = "other"
    """Anything else (an HTTP error status, an authentication failure, ...): raised as it is."""


class Accumulator(Protocol):
    """Reads one model answer as it arrives."""

    def add(self, chunk: Any) -> None:
        """Read one chunk (a whole answer: the one chunk), as plain values: the dict its JSON
        decodes to, whichever way the adapter read it; raises ``ModelProtocolError`` for one
        that cannot be right."""

    def finish(self) -> ModelAnswer:
        """The answer, once nothing more comes; raises ``ModelProtocolError`` if it is not
        whole."""


class ModelAPI(Protocol):
    """One model API's wire format, and the I/O the runners do with its client."""

    def check_params(
        self, params: Mapping[str, Any], client: object | None, settings: Iterable[str] = ()
    ) -> None:
        """Refuse (``UnknownSettingError``) a parameter the client's call does not take, naming
        the closest parameter or ``settings`` name (a misspelt setting lands among the params)."""

    def request(self, request: ModelRequest) -> dict[str, Any]:
        """The keyword arguments of the client's call for ``request``."""

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
        """What reads the answer; with ``json_steps``, an answer that is a JSON step, read
        into text and tool calls as a native answer's would be (``typed_answer``: the step's
        answer is a typed output's JSON, which becomes the text as written)."""

    def failure(self, error: Exception) -> Failure: ...

    def call(
        self, client: Any, request: Mapping[str, Any], *, stream: bool, decoding: Decoding
    ) -> AbstractContextManager[Iterable[Any]]:
        """Make the call (blocking); the context gives the chunks (a whole response: one),
        read as ``decoding`` says."""

    def interrupt(self, response: Iterable[Any]) -> None:
        """Make a blocked read of ``response`` fail at once (called from another thread)."""

    def acall(
        self, client: Any, request: Mapping[str, Any], *, stream: bool, decoding: Decoding
    ) -> AbstractAsyncContextManager[AsyncIterator[Any]]:
        """``call()`` for asyncio."""
