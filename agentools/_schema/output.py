"""An output type (``run(output=Song)``) as the JSON schema the model must write, and the model's
JSON read back into a value of that type, with the same converter and error words as a tool's
arguments.

OpenAI's strict structured outputs (and a tool's parameters) want an object at the top: a record
type (attrs class, dataclass, ``TypedDict``) is that object; any other type (``list[Song]``,
``Literal[...]``, a union of classes, ``int``) is wrapped as ``{"response": ...}``, as
pydantic-ai and openai-agents wrap it, and unwrapped when read.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from .describe import SchemaBuilder, Unsupported
from .records import is_record
from .signatures import SchemaError, fits_strict
from .structure import argument_converter, problems_of, render_path

__all__ = ["OutputProblem", "OutputSchema", "WRAPPER_KEY"]

WRAPPER_KEY = "response"


class OutputProblem(Exception):
    """Why an output does not fit its type, written for the model (it is sent back to it)."""


@attrs.frozen(eq=False)
class OutputSchema:
    """The schema of one output type, and how the model's JSON becomes a value of it."""

    type: Any
    name: str
    schema: dict[str, Any]
    wrapped: bool
    strict: bool

    @classmethod
    def of(cls, tp: Any) -> OutputSchema:
        """``SchemaError`` for a type that cannot be described."""
        builder = SchemaBuilder(True, argument_converter(False).unstructure)
        try:
            described = builder.describe(tp)
        except Unsupported as exc:
            raise SchemaError(f"output type {_name(tp)}: {exc}") from None
        wrapped = not (is_record(tp) and described.get("type") == "object")
        if wrapped:
            schema: dict[str, Any] = {
                "type": "object",
                "properties": {WRAPPER_KEY: described},
                "required": [WRAPPER_KEY],
                "additionalProperties": False,
            }
        else:
            schema = dict(described)
        if builder.defs:
            schema["$defs"] = builder.defs
        return cls(
            type=tp, name=_name(tp), schema=schema, wrapped=wrapped, strict=fits_strict(schema)
        )

    def read(self, text: str) -> Any:
        """The value ``text`` (the model's JSON) describes; ``OutputProblem`` saying why not."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise OutputProblem(f"the output is not valid JSON: {exc}") from None
        return self.structure(data)

    def structure(self, data: Any) -> Any:
        if self.wrapped:
            if not isinstance(data, dict) or WRAPPER_KEY not in data:
                raise OutputProblem(f'the output must be a JSON object {{"{WRAPPER_KEY}": ...}}')
            extra = [key for key in data if key != WRAPPER_KEY]
            if extra:
                raise OutputProblem(f"output: unknown field {extra[0]!r}")
            data = data[WRAPPER_KEY]
        try:
            return argument_converter(True).structure(data, self.type)
        except Exception as exc:
            problems = problems_of(exc)
            lines = [
                f"output {render_path(path)!r}: {message}" if path else f"output: {message}"
                for path, message in problems[:10]
            ]
            raise OutputProblem("\n".join(lines) or f"output: {exc}") from None


def _name(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) else repr(tp).replace("typing.", "")
