"""What the machine asks of its runner: ``Machine.next_step()`` returns an event (hand it to the
hooks, give it to the caller) or one of these actions, or ``NEED_INPUT``.

Each action names the I/O to do and the input to feed back once it is done:

- ``CallModel``: make the call; feed each chunk (``receive_chunk``; a whole response is the one
  chunk of its answer), then ``receive_end()``, or ``receive_failure(error)`` if it failed;
- ``StartConsumers``: start each consumer (in a thread, or as a task); nothing to feed back;
- ``RunTools``: wait for ``after``, then run the invocations concurrently, each within its
  ``timeout``; feed each outcome (``receive_tool_outcome`` / ``receive_tool_timeout``) as it
  comes, then ``receive_tools_done()``;
- ``Decide``: call the event's hook and feed back what it returned (``decide``):
  ``before_model_call`` before each model call, ``on_approval`` for each call that needs it,
  ``on_max_tokens`` after an answer cut by the token limit;
- ``Finished``: the run is over.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from .._adapters.base import Decoding
from ..events import ApprovalRequest, BeforeModelCall, Event, MaxTokens
from ..messages import TokenUsage
from .feeds import Consumer
from .tool_calls import Invocation

__all__ = [
    "NEED_INPUT",
    "CallModel",
    "Decide",
    "Finished",
    "RunTools",
    "StartConsumers",
    "Step",
]


class NeedInput(enum.Enum):
    NEED_INPUT = "NEED_INPUT"


NEED_INPUT = NeedInput.NEED_INPUT
"""Nothing to do until the runner feeds the input of the action it is carrying out."""


@attrs.frozen(kw_only=True)
class CallModel:
    """Call the model with ``request`` (the client call's keyword arguments), after waiting
    ``delay`` seconds (a call made again after it broke); read the answer as ``decoding`` says
    (the adapter's ``call()`` takes it)."""

    request: Mapping[str, Any]
    stream: bool
    turn: int
    delay: float = 0.0
    decoding: Decoding = "raw"


@attrs.frozen(kw_only=True)
class StartConsumers:
    """Start these previews or streaming tools beside the stream."""

    consumers: tuple[Consumer, ...]


@attrs.frozen(kw_only=True)
class RunTools:
    """Once the consumers in ``after`` (the previews of these calls) are done, run
    ``invocations``, no more than ``limit`` at a time (``batch.ToolBatch`` keeps the books)."""

    invocations: tuple[Invocation, ...]
    after: tuple[Consumer, ...] = ()
    limit: int = 16


@attrs.frozen(kw_only=True)
class Decide:
    """``event``'s hook decides what happens next: feed what it returns to ``Machine.decide``."""

    event: MaxTokens | BeforeModelCall | ApprovalRequest


@attrs.frozen(kw_only=True)
class Finished:
    """The run is over: ``text`` is its answer (what ``run``/``arun`` return), ``usage`` the
    tokens of all its model calls."""

    text: str
    usage: TokenUsage
    output: Any = None
    """The typed output, when the run asked for one (``run(output=...)``)."""


Action = CallModel | StartConsumers | RunTools | Decide | Finished
Step = Event | Action | NeedInput
