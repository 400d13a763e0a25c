"""A run's typed output (``run(output=...)``): its value while it streams, and reading it whole.

Under ``output_mode="json_schema"`` the output is the final message's text; under ``"tool"`` it is
the arguments of the call to the output tool (``OUTPUT_TOOL_NAME``). Either way the partial value
comes from ``partial_json`` and the whole one from the output type's ``OutputSchema``, whose
problems are sent back to the model while ``output_retries`` last.
"""

from __future__ import annotations

from typing import Any

from .._schema.output import WRAPPER_KEY, OutputProblem, OutputSchema
from ..calls import PartialToolCall, ToolCall
from ..events import Event, OutputDelta, TextDelta, ToolCallDelta
from ..output import OUTPUT_TOOL_NAME, OutputMode, PartialOutput
from ..partial_json import MISSING, PartialJSONError, PartialJSONParser

__all__ = ["OutputTracker"]


class OutputTracker:
    """What the machine knows of the output: the partial one of the answer being read, and how
    many outputs were read in this run."""

    def __init__(self, schema: OutputSchema, mode: OutputMode) -> None:
        self.schema = schema
        self.mode = mode
        self.attempts = 0
        self._parser: PartialJSONParser | None = None
        self._prefix: tuple[str, ...] = (WRAPPER_KEY,) if schema.wrapped else ()

    def start_message(self) -> None:
        """A new answer is coming: its text (if it is the output) is parsed from the start."""
        self._parser = PartialJSONParser() if self.mode == "json_schema" else None

    def partial(self, event: Event) -> OutputDelta | None:
        """The output as it stands after ``event`` (a text or tool-call delta), if it grew."""
        if type(event) is TextDelta:
            parser = self._parser
            if parser is None:
                return None
            try:
                parser.feed(event.delta)
            except PartialJSONError:
                self._parser = None  # not JSON: no partial output for this answer
                return None
            return self._delta(parser.value, event.snapshot, parser)
        if type(event) is ToolCallDelta and event.call.name == OUTPUT_TOOL_NAME:
            call: PartialToolCall = event.call
            value = MISSING if call.parsed is None else call.parsed
            return self._delta(value, call.arguments, call._parser)
        return None

    def _delta(self, value: Any, text: str, parser: PartialJSONParser | None) -> OutputDelta:
        if value is MISSING:
            value = None
        elif self.schema.wrapped:
            value = value.get(WRAPPER_KEY) if isinstance(value, dict) else None
        return OutputDelta(partial=PartialOutput(value, text, parser=parser, prefix=self._prefix))

    def output_call(self, calls: tuple[ToolCall, ...]) -> ToolCall | None:
        """The call to the output tool among ``calls`` (the first, if several)."""
        if self.mode != "tool":
            return None
        return next((call for call in calls if call.name == OUTPUT_TOOL_NAME), None)

    def read(self, text: str, call: ToolCall | None = None) -> Any:
        """The output of one answer: ``call``'s arguments, or ``text``; ``OutputProblem``."""
        self.attempts += 1
        if call is not None:
            if call.arguments_error is not None:
                raise OutputProblem(f"the output is not valid JSON: {call.arguments_error}")
            return self.schema.structure(call.parsed)
        if self.mode == "tool":
            raise OutputProblem(f"give the output by calling the {OUTPUT_TOOL_NAME} tool")
        if not text.strip():
            raise OutputProblem("the output is empty")
        return self.schema.read(text)
