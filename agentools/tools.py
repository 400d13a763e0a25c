"""Tools the model can call, and how a call becomes a result without doing any I/O.

``Toolset.prepare(call)`` decides everything that does not need the function to run (is the tool
known, do the arguments fit); ``Invocation.succeeded(value)`` / ``Invocation.failed(exc)`` turn
what the function did into the ``ToolResult`` the model receives. The runners only call the
function: in a thread, on an event loop, as they can.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar, overload

import attrs
from typing_extensions import ParamSpec

from ._schema import ArgumentsError, Signature, encode_result, signature_of
from .calls import ToolCallRequest, ToolResult

__all__ = [
    "FunctionTool",
    "Invocation",
    "MalformedArgumentsError",
    "Toolset",
    "UnknownToolError",
    "function_tool",
]

P = ParamSpec("P")
R = TypeVar("R")


class FunctionTool(Generic[P, R]):
    """A Python function the model can call.

    The schema the model sees comes from the function's signature and docstring. Calling the tool
    object calls the function, so decorating it does not change how your own code uses it.
    """

    def __init__(
        self,
        function: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        strict: bool = False,
    ) -> None:
        self.function = function
        self.signature: Signature = signature_of(
            function, name=name, description=description, strict=strict
        )
        self.is_async = inspect.iscoroutinefunction(function)
        functools.update_wrapper(self, function)

    @property
    def name(self) -> str:
        return self.signature.name

    @property
    def description(self) -> str:
        return self.signature.description

    def to_openai(self) -> dict[str, Any]:
        """The entry for the request's ``tools`` list."""
        return self.signature.to_openai()

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<FunctionTool {self.name!r}>"


@overload
def function_tool(function: Callable[P, R], /) -> FunctionTool[P, R]: ...
@overload
def function_tool(
    *, name: str | None = None, description: str | None = None, strict: bool = False
) -> Callable[[Callable[P, R]], FunctionTool[P, R]]: ...
def function_tool(
    function: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool = False,
) -> FunctionTool[P, R] | Callable[[Callable[P, R]], FunctionTool[P, R]]:
    """Make a function (sync or ``async def``) a tool: ``@function_tool`` or
    ``@function_tool(name=..., description=..., strict=...)``.

    A type the JSON schema cannot describe raises ``SchemaError`` here, naming the parameter.
    """

    def decorate(function: Callable[P, R]) -> FunctionTool[P, R]:
        return FunctionTool(function, name=name, description=description, strict=strict)

    return decorate if function is None else decorate(function)


def describe_error(error: BaseException) -> str:
    """What the model is told of a failed call: the exception's type and message, no traceback."""
    message = str(error)
    return (
        f"Error: {type(error).__name__}: {message}" if message else f"Error: {type(error).__name__}"
    )


@attrs.frozen(kw_only=True)
class Invocation:
    """One tool call, ready to run (``function`` is set) or already answered (``result`` is)."""

    call: ToolCallRequest
    function: Callable[..., Any] | None = None
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = attrs.field(factory=dict)
    is_async: bool = False
    result: ToolResult | None = None

    def succeeded(self, value: Any) -> ToolResult:
        try:
            content = encode_result(value)
        except Exception as error:
            return self.failed(error)
        return ToolResult(call_id=self.call.id, content=content, value=value)

    def failed(self, error: BaseException) -> ToolResult:
        return ToolResult(call_id=self.call.id, content=describe_error(error), error=error)


class UnknownToolError(LookupError):
    """The model called a tool that the assistant does not have."""


class MalformedArgumentsError(ValueError):
    """The model's arguments are not a JSON object (the tool is not called)."""


class Toolset:
    """An assistant's tools by name; it prepares the model's calls to them."""

    def __init__(self, tools: Iterable[FunctionTool[..., Any] | Callable[..., Any]] = ()) -> None:
        self._tools: dict[str, FunctionTool[..., Any]] = {}
        for tool in tools:
            self.add(tool)

    def add(self, tool: FunctionTool[..., Any] | Callable[..., Any]) -> FunctionTool[..., Any]:
        """Add a tool (a plain function is wrapped with ``function_tool``); a name already taken is
        an error naming both."""
        if not isinstance(tool, FunctionTool):
            tool = FunctionTool(tool)
        existing = self._tools.get(tool.name)
        if existing is not None and existing is not tool:
            raise ValueError(
                f"two tools are named {tool.name!r}: {existing.function!r} and {tool.function!r}"
            )
        self._tools[tool.name] = tool
        return tool

    def __iter__(self) -> Iterator[FunctionTool[..., Any]]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def schemas(self) -> list[dict[str, Any]]:
        return [tool.to_openai() for tool in self._tools.values()]

    def prepare(self, call: ToolCallRequest) -> Invocation:
        tool = self._tools.get(call.name)
        error: Exception
        if tool is None:
            available = ", ".join(sorted(self._tools)) or "none"
            error = UnknownToolError(
                f"there is no tool {call.name!r}; available tools: {available}"
            )
            return Invocation(call=call, result=Invocation(call=call).failed(error))
        if call.arguments_error is not None:
            error = MalformedArgumentsError(call.arguments_error)
            return Invocation(call=call, result=Invocation(call=call).failed(error))
        try:
            args, kwargs = tool.signature.structure(call.parsed)
        except ArgumentsError as error:
            return Invocation(call=call, result=Invocation(call=call).failed(error))
        return Invocation(
            call=call, function=tool.function, args=args, kwargs=kwargs, is_async=tool.is_async
        )
