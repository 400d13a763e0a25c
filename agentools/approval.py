"""Tool calls that wait for a person's approval before they run.

A tool made with ``@function_tool(needs_approval=True)`` (or a predicate of the call) does not
run until ``Hooks.on_approval(call)`` answers for it. Each call is decided on its own, in call
order, once the model's message is complete; the message's calls then run together. The hook
returns:

- ``True`` or ``Allow()``: run it; ``Allow(arguments={...})``: run it with these arguments
  instead (the history records the call as run, with them);
- ``False``, ``None`` (the default: an unanswered approval is a denial) or ``Deny(message)``: do
  not run it; the model reads ``message`` as the call's result;
- ``"pause"`` (``PAUSE``): stop the run with ``RunPaused``; its ``pending``
  (``PendingApprovals``, JSON like the history) holds the message and its calls, and
  ``assistant.run(approvals={call_id: decision})`` goes on from there, in this process or
  another one.

A streaming tool that needs approval does not start while its arguments stream: it starts, with
its arguments complete, once allowed. Previews still show the arguments as they stream.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from ._errors import MisuseError
from .calls import ToolCall
from .messages import AssistantMessage, TokenUsage

__all__ = [
    "DENIED_MESSAGE",
    "PAUSE",
    "Allow",
    "Approval",
    "Deny",
    "PendingApprovals",
    "approval_of",
]

DENIED_MESSAGE = "The user did not approve this tool call; it was not run."
"""What the model reads for a call denied without a message of its own."""

PAUSE: Literal["pause"] = "pause"


@attrs.frozen
class Allow:
    """Run the call; with ``arguments``, run it with these instead of the model's."""

    arguments: Mapping[str, Any] | None = None


@attrs.frozen
class Deny:
    """Do not run the call; the model reads ``message`` as its result."""

    message: str = DENIED_MESSAGE


Approval = Allow | Deny | bool | None | Literal["pause"]
"""What ``on_approval`` may return (and the values of ``run(approvals=...)``)."""


def approval_of(value: object, *, name: str = "on_approval") -> Allow | Deny | Literal["pause"]:
    """``value`` as one decision; ``MisuseError`` for anything else."""
    if value is True:
        return Allow()
    if value is None or value is False:
        return Deny()
    if isinstance(value, (Allow, Deny)):
        return value
    if value == PAUSE:
        return PAUSE
    raise MisuseError(
        f"{name} gave {value!r}; expected True, False, None, Allow(...), Deny(...) or 'pause'"
    )


@attrs.frozen(kw_only=True)
class PendingApprovals:
    """A run paused for approvals: the model's message whose calls wait, and what was decided.

    ``message`` is not in the history (nothing of it has run); ``decided`` holds the decisions
    already made (by call id), ``waiting`` the ids still to decide. ``malformed`` says, by call
    id, why a call's arguments were not JSON (the message stores them as ``"{}"``, as the history
    does), so that the resumed run tells the model so rather than run the call without them.
    ``turn`` and ``usage`` carry the run's count of model calls and tokens, so that ``max_turns``
    and the token limits go on counting where they were. ``to_json()`` / ``from_json()`` keep it
    across a restart.
    """

    message: AssistantMessage
    waiting: tuple[str, ...]
    decided: Mapping[str, Allow | Deny] = attrs.field(factory=dict)
    malformed: Mapping[str, str] = attrs.field(factory=dict)
    turn: int = 1
    usage: TokenUsage = attrs.field(factory=TokenUsage)

    @property
    def calls(self) -> tuple[ToolCall, ...]:
        """The message's calls, as hooks see them (arguments parsed)."""
        return tuple(
            tool_call_of(index, record, self.malformed.get(record.id))
            for index, record in enumerate(self.message.tool_calls)
        )

    @property
    def waiting_calls(self) -> tuple[ToolCall, ...]:
        """The calls that wait for a decision."""
        return tuple(call for call in self.calls if call.id in self.waiting)

    def to_json(self, **dumps_kwargs: Any) -> str:
        from .history import History

        message = History([self.message]).to_openai()[0]
        decided = {
            call_id: (
                {"allow": True, "arguments": None if d.arguments is None else dict(d.arguments)}
                if isinstance(d, Allow)
                else {"allow": False, "message": d.message}
            )
            for call_id, d in self.decided.items()
        }
        data = {
            "message": message,
            "waiting": list(self.waiting),
            "decided": decided,
            "malformed": dict(self.malformed),
            "turn": self.turn,
            "usage": attrs.asdict(self.usage),
        }
        return json.dumps(data, **dumps_kwargs)

    @classmethod
    def from_json(cls, text: str | bytes) -> PendingApprovals:
        """The pending state ``to_json()`` wrote; ``HistoryError`` if it is not one."""
        from ._converter import HistoryError
        from .history import History

        try:
            data = json.loads(text)
            message = History.from_openai([data["message"]])[0]
            if not isinstance(message, AssistantMessage):
                raise HistoryError("the pending message must be an assistant message")
            decided: dict[str, Allow | Deny] = {}
            for call_id, d in data.get("decided", {}).items():
                if d["allow"]:
                    decided[str(call_id)] = Allow(d.get("arguments"))
                else:
                    decided[str(call_id)] = Deny(str(d["message"]))
            return cls(
                message=message,
                waiting=tuple(str(i) for i in data["waiting"]),
                decided=decided,
                malformed={str(k): str(v) for k, v in data.get("malformed", {}).items()},
                turn=int(data.get("turn", 1)),
                usage=TokenUsage(**data.get("usage", {})),
            )
        except HistoryError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise HistoryError(f"not a pending-approvals state: {error}") from None


def tool_call_of(index: int, record: Any, malformed: str | None = None) -> ToolCall:
    """The ``ToolCall`` hooks see for a call as the history records it; ``malformed``: why its
    arguments, stored as ``"{}"``, were not JSON when the model wrote them."""
    try:
        parsed = json.loads(record.arguments) if record.arguments.strip() else {}
        error = None if isinstance(parsed, dict) else "the arguments must be a JSON object"
    except (ValueError, RecursionError) as exc:
        parsed, error = {}, f"the arguments are not JSON: {exc}"
    error = malformed or error
    return ToolCall(
        index=index,
        id=record.id,
        name=record.name,
        arguments=record.arguments,
        parsed=parsed if error is None else {},
        arguments_error=error,
    )
