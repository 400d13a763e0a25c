"""Typed answers: ``assistant.run(prompt, output=Song)`` returns a ``Song``.

The output type is an attrs class, a dataclass, a ``TypedDict``, or any type a tool's parameter
may have (``list[Song]``, ``Literal["yes", "no"]``, ``Song | Album``, ``int``). The model is asked
for JSON of its schema in one of two ways (``Settings.output_mode``):

- ``"json_schema"`` (the default): ``response_format`` with the schema, strict where the schema
  allows it (OpenAI, vLLM, llama.cpp, Ollama take it). The model may call tools first; its final
  text is the output;
- ``"tool"``: an output tool, ``final_result``, whose parameters are the schema, offered with the
  other tools and ``tool_choice="required"``: for servers that take tools but not
  ``response_format``. The model ends the run by calling it; other calls in that same message are
  not run.

While the output streams, ``Hooks.on_partial_output(partial)`` gets a ``PartialOutput``: the
value as far as it has come (from ``agentools.partial_json``) and ``is_complete(*path)``, so that
a form can fill field by field. Once the output is whole, ``on_output(value)`` gets the typed
value. An output that does not fit the type is sent back to the model with the exact problems
(``OUTPUT_RETRY_PROMPT``) and asked for again, up to ``Settings.output_retries`` times; then
``OutputValidationError`` is raised, with the last raw output. A refusal raises
``OutputRefused``. The history keeps the output as the assistant's text (the JSON as written), a
conversation the API accepts.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from .partial_json import PartialJSONParser

__all__ = ["OUTPUT_RETRY_PROMPT", "OUTPUT_TOOL_NAME", "OutputMode", "PartialOutput"]

OutputMode = Literal["json_schema", "tool"]

OUTPUT_TOOL_NAME = "final_result"
"""The output tool's name under ``output_mode="tool"`` (a tool of yours may not have it)."""

OUTPUT_RETRY_PROMPT = (
    "Your output did not fit the required schema:\n{problems}\n"
    "Write the whole output again, as JSON that fits the schema."
)
"""The user message that sends an output's problems back to the model (``{problems}``: one line
each, with its path)."""


@attrs.frozen(eq=False)
class PartialOutput:
    """The output while it streams: ``value`` is what is known so far (``None`` before anything
    is), ``text`` the JSON written so far. Fields appear as they start; a string grows, a number
    appears once it is whole (see ``agentools.partial_json``)."""

    value: Any
    text: str
    _parser: PartialJSONParser | None = attrs.field(default=None, repr=False, alias="parser")
    _prefix: tuple[str | int, ...] = attrs.field(default=(), repr=False, alias="prefix")

    def is_complete(self, *path: str | int) -> bool:
        """Is the field or item at ``path`` written to its end (``()``: the whole output)?"""
        parser = self._parser
        return parser is not None and parser.is_complete(*self._prefix, *path)
