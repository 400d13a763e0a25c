"""What ``Hooks.before_model_call`` sees: the model call about to be made, open to change.

Every model call of a run passes through it, so one hook can trim what is sent (the last turns, a
token budget: ``agentools.trimming``), change this call's ``tool_choice``, tools or parameters,
or end the run with a text of its own (``StopRun``)::

    class Trim(Hooks):
        def before_model_call(self, request):
            request.messages = keep_last_turns(request.messages, 4)
            if request.turn > 3:
                request.tool_choice = "none"

What the hook changes applies to this one call: the history keeps every message, and the next
call starts again from the history and the assistant's settings.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from .messages import Message, TokenUsage

__all__ = ["ModelCallRequest", "StopRun"]


@attrs.define(kw_only=True)
class ModelCallRequest:
    """The model call about to be made; change it in place (or return another one).

    ``messages`` is the conversation to send (the history with what this run added, without the
    system prompt, which is ``system``), ``tools`` the names of the tools offered (leave a name
    out and this call does not offer it), ``params`` the API's parameters for this call
    (``temperature``, ``tool_choice``, ...), ``model`` the model's name. ``turn`` (1, 2, ... in
    this run), ``usage`` (this run's tokens so far) and ``deps`` (what ``run(deps=...)`` was
    given) are there to read.
    """

    messages: list[Message]
    system: str | None
    tools: list[str]
    params: dict[str, Any]
    model: str
    turn: int
    usage: TokenUsage
    deps: Any = None

    @property
    def tool_choice(self) -> Any:
        """This call's ``tool_choice`` (``None``: not sent, the server's default)."""
        return self.params.get("tool_choice")

    @tool_choice.setter
    def tool_choice(self, value: Any) -> None:
        if value is None:
            self.params.pop("tool_choice", None)
        else:
            self.params["tool_choice"] = value

    def without_tools(self, names: Iterable[str]) -> None:
        """Offer none of ``names`` in this call."""
        left_out = set(names)
        self.tools = [name for name in self.tools if name not in left_out]


@attrs.frozen
class StopRun:
    """Returned by ``before_model_call``: do not call the model; the run ends with ``text`` as
    its answer (what ``run`` returns, or, with ``output=``, what is read as the output). The
    history is left as it is: nothing is added for it."""

    text: str
