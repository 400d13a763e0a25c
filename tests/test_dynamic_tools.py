"""Tools described by a JSON schema given as is, and toolkits whose tools change (what an MCP
toolkit is made of, and open to any toolkit): the registry asks them at each model call."""

from __future__ import annotations

from typing import Any

import pytest

from agentools import ToolDefinitionError, ToolRegistry, function_tool
from agentools._schema import ArgumentsError, SchemaError, Signature, fits_strict
from agentools.testing import FakeOpenAIServer, ToolCallSpec, Turn
from agentools.tools import FunctionTool, Toolkit

from .support import Bot, Runner

SCHEMA = {
    "type": "object",
    "properties": {"q": {"type": "string"}, "opts": {"type": "object"}},
    "required": ["q"],
}


def test_a_schema_given_as_is_is_sent_as_is_and_gets_the_arguments_whole() -> None:
    signature = Signature.from_schema("search", "Search.", SCHEMA)

    assert signature.to_openai()["function"] == {
        "name": "search",
        "description": "Search.",
        "parameters": SCHEMA,
    }
    assert signature.structure({"q": "x", "anything": 1}) == (({"q": "x", "anything": 1},), {})
    with pytest.raises(ArgumentsError, match="expected a JSON object"):
        signature.structure([1])  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match="must be 1 to 64"):
        Signature.from_schema("a.b", "", SCHEMA)


def test_strict_only_where_the_schema_fits_strict_mode() -> None:
    closed = {
        "type": "object",
        "properties": {
            "q": {"type": "string"},
            "n": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        },
        "required": ["q", "n"],
        "additionalProperties": False,
    }
    assert fits_strict(closed)
    assert Signature.from_schema("t", "", closed, strict=True).strict
    assert not Signature.from_schema("t", "", SCHEMA, strict=True).strict
    assert not fits_strict({**closed, "required": ["q"]})  # an optional property
    assert not fits_strict(
        {**closed, "properties": {"q": {"type": "string", "format": "uri"}}, "required": ["q"]}
    )
    nested_open = {
        **closed,
        "properties": {"o": {"type": "object", "properties": {}}},
        "required": ["o"],
    }
    assert not fits_strict(nested_open)


class Growing(Toolkit):
    """A toolkit whose tools change: calling ``t<n>`` adds ``t<n+1>``."""

    dynamic = True

    def __init__(self) -> None:
        self.asked = 0
        self.made: list[FunctionTool[..., Any]] = []
        self.grow()

    def grow(self) -> None:
        name = f"t{len(self.made)}"

        def call(arguments: dict[str, Any]) -> str:
            self.grow()
            return f"{name}{arguments}"

        self.made.append(
            FunctionTool(call, signature=Signature.from_schema(name, "", {"type": "object"}))
        )

    def tools(self) -> list[FunctionTool[..., Any]]:
        self.asked += 1
        return list(self.made)


def test_a_dynamic_toolkit_is_asked_when_the_tools_are_read_not_when_added() -> None:
    growing = Growing()
    registry = ToolRegistry([growing])
    assert repr(registry) == """<ToolRegistry ['<Growing (dynamic)>']>"""  # a repr asks nothing
    assert growing.asked == 0

    assert [s.name for s in registry.signatures()] == ["t0"]
    growing.grow()
    assert [s.name for s in registry.signatures()] == ["t0", "t1"]
    registry.disable("t0")
    assert registry.enabled_names() == ["t1"]
    assert registry.get("t1") is growing.made[1]
    with pytest.raises(ToolDefinitionError, match="belongs to a dynamic toolkit"):
        registry.remove("t1")
    registry.remove(growing)
    assert registry.signatures() == ()


def test_a_dynamic_tool_may_not_take_a_name_already_taken() -> None:
    @function_tool
    def t0() -> str:
        """Mine."""
        return "mine"

    registry = ToolRegistry([t0, Growing()])
    with pytest.raises(ToolDefinitionError, match="two tools are named 't0'"):
        registry.signatures()


def test_a_dynamic_toolkit_under_both_runners(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    server.add(
        Turn(tool_calls=[ToolCallSpec(name="t0", arguments={"a": 1}, id="x")]), Turn(text="ok")
    )

    assert runner.run(bot(tools=[Growing()]), "Go") == "ok"

    assert [tool["function"]["name"] for tool in server.requests[0].tools] == ["t0"]
    assert [tool["function"]["name"] for tool in server.requests[1].tools] == ["t0", "t1"]
    assert server.requests[1].messages[-1]["content"] == "t0{'a': 1}"
