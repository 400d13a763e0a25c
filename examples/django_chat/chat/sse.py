"""agentools events as Server-Sent Events for the page.

Each frame is ``event: <kind>`` and ``data: <one line of JSON>``. The kinds:

- ``text`` ``{"delta"}``: a piece of the answer's text;
- ``tool_call`` ``{"index", "id", "name", "parsed", "complete"}``: a tool call while its arguments
  stream: ``parsed`` is the arguments parsed so far (agentools' incremental parser: an
  unfinished string shows as far as it has come), ``complete`` the names of the arguments that
  are finished;
- ``tool_call_done`` ``{"index", "id", "name", "parsed"}``: the call, whole, about to run;
- ``tool_result`` ``{"id", "name", "content", "error"}``: what it gave the model;
- ``retry`` ``{"attempt"}``: the model's stream broke and is asked again: drop its partial text;
- ``refusal`` ``{"text"}``, ``done`` ``{"text"}``, ``error`` ``{"error", "message"}``.

Other events (usage, the whole text of a message...) are not sent: the page has no use for them.
"""

from __future__ import annotations

import json
from typing import Any

from agentools.events import (
    Event,
    RefusalDone,
    ResponseEnd,
    Retry,
    TextDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolResultDone,
)


def frame(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()


def frame_of(event: Event) -> bytes | None:
    """The frame the page gets for ``event``, or ``None`` if it gets none."""
    match event:
        case TextDelta(delta=delta):
            return frame("text", {"delta": delta})
        case ToolCallDelta(call=call):
            parsed = call.parsed
            complete = (
                [name for name in parsed if call.is_complete(name)]
                if isinstance(parsed, dict)
                else []
            )
            return frame(
                "tool_call",
                {
                    "index": call.index,
                    "id": call.id,
                    "name": call.name,
                    "parsed": parsed,
                    "complete": complete,
                },
            )
        case ToolCallDone(call=call):
            return frame(
                "tool_call_done",
                {"index": call.index, "id": call.id, "name": call.name, "parsed": call.parsed},
            )
        case ToolResultDone(call=call, result=result):
            error = None if result.error is None else type(result.error).__name__
            return frame(
                "tool_result",
                {"id": call.id, "name": call.name, "content": result.content, "error": error},
            )
        case Retry(attempt=attempt):
            return frame("retry", {"attempt": attempt})
        case RefusalDone(text=text):
            return frame("refusal", {"text": text})
        case ResponseEnd(text=text):
            return frame("done", {"text": text})
    return None


def error_frame(error: BaseException) -> bytes:
    return frame("error", {"error": type(error).__name__, "message": str(error)})
