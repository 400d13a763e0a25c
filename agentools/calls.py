"""A tool call at its three stages: ``PartialToolCall`` while it streams, ``ToolCall`` once it is
complete, ``ToolResult`` once it is answered. (In the history, a call is the
``messages.ToolCallRecord`` of its assistant message.)

These are the objects the tool hooks receive. They are frozen snapshots, except ``parsed`` of a
``PartialToolCall``, which is the incremental parser's live value (see ``agentools.partial_json``):
copy it if you keep it past the hook call.
"""

from __future__ import annotations

from typing import Any

import attrs

from .messages import ContentPart
from .partial_json import PartialJSONParser

__all__ = ["PartialToolCall", "ToolCall", "ToolResult"]


@attrs.frozen(kw_only=True)
class PartialToolCall:
    """A tool call while its name and arguments stream in.

    ``arguments`` is the raw JSON text received so far and ``parsed`` the value it describes so far
    (``None`` until anything of it is known), for every tool, strict or not: an unfinished string
    shows as far as it has come, an unfinished number, literal or key not yet (see
    ``agentools.partial_json``). ``is_complete(*path)`` tells which members are finished.
    """

    index: int
    id: str | None
    name: str
    arguments: str
    parsed: Any = None
    _parser: PartialJSONParser | None = attrs.field(default=None, eq=False, repr=False)

    def is_complete(self, *path: str | int) -> bool:
        """Is the member or item at ``path`` finished (``()``: all the arguments)? Answers for the
        arguments as received when asked, which may be more than ``arguments`` shows."""
        return self._parser is not None and self._parser.is_complete(*path)


@attrs.frozen(kw_only=True)
class ToolCall:
    """A complete tool call, about to run.

    ``parsed`` is the decoded arguments object (``{}`` when the arguments were empty). When the
    model's arguments are not a JSON object, ``parsed`` is ``{}`` and ``arguments_error`` says why;
    the tool is then not called and the model is told.
    """

    index: int
    id: str
    name: str
    arguments: str
    parsed: dict[str, Any] = attrs.field(factory=dict)
    arguments_error: str | None = None


@attrs.frozen(kw_only=True)
class ToolResult:
    """What a tool call gave.

    ``content`` is the string sent to the model, ``value`` what the function returned (``None``
    when it failed) and ``error`` the exception, if it failed (the model then gets a short message
    naming it, never a traceback). ``parts`` are the images and audio the tool returned
    (``agentools.Image``, ``agentools.Audio``) as content parts: a tool message takes only text,
    so they go to the model in a user message after the turn's tool messages, and ``content``
    says so where each was.
    """

    call_id: str
    content: str
    value: Any = None
    error: BaseException | None = None
    parts: tuple[ContentPart, ...] = ()
