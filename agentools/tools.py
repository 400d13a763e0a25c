"""Tools the model can call: ``@function_tool``, ``Toolkit`` (tools that share state) and
``ToolRegistry`` (an assistant's tools by name, ``assistant.tools``).

A tool is described once, when it is defined (``agentools._schema``: the JSON schema from the
signature, the descriptions from the docstring); what happens when the model calls it (the
arguments checked and structured, the one fault policy) is the loop's core
(``agentools._core.tool_calls``).
"""

from __future__ import annotations

import copy
import inspect
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar, Generic, TypeVar, get_args, get_origin, overload

from typing_extensions import ParamSpec, get_type_hints, is_typeddict

from ._errors import ToolDefinitionError, UnknownToolError
from ._schema import (
    ABSENT,
    MISSING,
    RecordField,
    SchemaError,
    Signature,
    is_record,
    record_fields,
    signature_of,
)
from .calls import ToolCall
from .settings import ErrorDetail
from .streaming import ArgumentStream

__all__ = [
    "FunctionTool",
    "ToolRegistry",
    "Toolkit",
    "function_tool",
]

P = ParamSpec("P")
R = TypeVar("R")


class _Unbound:
    """Stands in for ``self`` while a method's schema is read at decoration time."""


_UNBOUND = _Unbound()


def _is_method(function: Callable[..., Any]) -> bool:
    if not inspect.isfunction(function):
        return False
    parameters = list(inspect.signature(function).parameters)
    return bool(parameters) and parameters[0] == "self"


def _origin(hint: Any) -> Any:
    return get_origin(hint)


def _streamed_type(function: Callable[..., Any]) -> type | None:
    """``T`` when the function's one parameter is an ``ArgumentStream[T]`` (a streaming tool)."""
    try:
        hints = get_type_hints(function)
    except Exception:
        return None  # signature_of reports unresolvable annotations with the parameter's name
    streams = [hint for hint in hints.values() if _origin(hint) is ArgumentStream]
    if not streams:
        return None
    parameters = list(inspect.signature(function).parameters)
    if len(streams) > 1 or len(parameters) != 1:
        raise SchemaError(
            f"{function.__name__}(): a streaming tool takes exactly one parameter, "
            "an ArgumentStream[Args]"
        )
    (argument_type,) = get_args(streams[0]) or (None,)
    if not is_record(argument_type):
        raise SchemaError(
            f"{function.__name__}(): ArgumentStream[...] needs an attrs class, a dataclass or a "
            f"TypedDict describing the arguments, not {argument_type!r}"
        )
    return argument_type


def _fields_as_function(argument_type: type, function: Callable[..., Any]) -> Callable[..., Any]:
    """A stand-in function whose parameters are ``argument_type``'s fields and whose name and
    docstring are ``function``'s, so a streaming tool is described like any other."""
    fields = record_fields(argument_type)

    def stand_in(**kwargs: Any) -> None:
        raise AssertionError("never called")

    stand_in.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                field.name, inspect.Parameter.KEYWORD_ONLY, default=_parameter_default(field)
            )
            for field in fields
        ]
    )
    stand_in.__annotations__ = {field.name: field.type for field in fields}
    for attribute in ("__name__", "__qualname__", "__doc__", "__module__"):
        setattr(stand_in, attribute, getattr(function, attribute))
    return stand_in


def _parameter_default(field: RecordField) -> Any:
    """A field's default as the stand-in's parameter default. ``_ABSENT`` (the key is dropped, not
    passed) where the class makes the value itself: a default factory, a TypedDict key left out."""
    if field.required:
        return inspect.Parameter.empty
    return _ABSENT if field.default is MISSING else field.default


_ABSENT = ABSENT
"""The default of a field the model may leave out: it is dropped, not passed."""


class FunctionTool(Generic[P, R]):
    """A Python function the model can call.

    The schema the model sees comes from the function's signature and docstring. Calling the tool
    object calls the function, so decorating it does not change how your own code uses it. On a
    method (first parameter ``self``), the tool is bound to the instance it is read from, as a
    method is: see ``Toolkit``.

    ``timeout`` (seconds) turns a call that runs longer into a message for the model. An ``async
    def`` tool is cancelled then; a sync tool runs in a thread, which Python cannot stop: it is
    abandoned and runs on in the background until it returns, its result dropped.
    ``error_detail`` says what the model is told when the tool raises (``"message"``,
    ``"type"``, ``"none"``: see ``Settings.tool_error_detail``, which applies when it is None).

    ``signature`` describes a tool whose schema comes from elsewhere (``Signature.from_schema``,
    e.g. an MCP server's tool): ``function`` is then called with the arguments object whole.
    """

    def __init__(
        self,
        function: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        strict: bool = False,
        timeout: float | None = None,
        raise_errors: bool = False,
        error_detail: ErrorDetail | None = None,
        needs_approval: bool | Callable[[ToolCall], bool] = False,
        signature: Signature | None = None,
    ) -> None:
        if error_detail is not None and error_detail not in get_args(ErrorDetail):
            raise ToolDefinitionError(
                f"error_detail must be 'message', 'type' or 'none', not {error_detail!r}"
            )
        if timeout is not None and not timeout > 0:
            raise ToolDefinitionError(
                f"timeout must be a positive number of seconds, not {timeout!r}"
            )
        self.function: Callable[..., Any] = function
        self.is_method = signature is None and _is_method(function)
        described = types.MethodType(function, _UNBOUND) if self.is_method else function
        self.streamed_type = None if signature is not None else _streamed_type(described)
        if self.streamed_type is not None:
            described = _fields_as_function(self.streamed_type, described)
        if signature is None:
            signature = signature_of(described, name=name, description=description, strict=strict)
        self.signature: Signature = signature
        self.is_async = inspect.iscoroutinefunction(function)
        self.timeout = timeout
        self.raise_errors = raise_errors
        self.error_detail = error_detail
        if not (isinstance(needs_approval, bool) or callable(needs_approval)):
            raise ToolDefinitionError(
                "needs_approval must be True, False or a function of the call, not "
                f"{needs_approval!r}"
            )
        self.needs_approval = needs_approval
        self.preview_function: Callable[..., Any] | None = None
        self._attribute: str | None = None

    def asks_approval(self, call: ToolCall) -> bool:
        """Must ``call`` wait for ``Hooks.on_approval`` before it runs?"""
        needs = self.needs_approval
        return needs if isinstance(needs, bool) else bool(needs(call))

    @property
    def streams_arguments(self) -> bool:
        """A streaming tool: it starts as soon as its arguments start streaming, and reads them
        from an ``ArgumentStream`` as they grow."""
        return self.streamed_type is not None

    def preview(self, function: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """Register a preview, called with each ``Snapshot`` of a call's arguments while they
        stream (``stream=False``: once, with the complete arguments), before the tool runs.

        It runs beside the stream, in a thread (or a task, for ``async def`` under ``arun``),
        and never makes the stream wait: a slow preview skips intermediate snapshots (see
        ``agentools.streaming``). Its exceptions go to ``Hooks.on_preview_error``. Use it as
        ``@my_tool.preview``.
        """
        self.preview_function = function
        return function

    def arguments_value(self, kwargs: Mapping[str, Any]) -> Any:
        """A streaming tool's structured arguments, from the keyword arguments they fit."""
        assert self.streamed_type is not None
        present = {name: value for name, value in kwargs.items() if value is not _ABSENT}
        return present if is_typeddict(self.streamed_type) else self.streamed_type(**present)

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
        result: R = self.function(*args, **kwargs)
        return result

    def __set_name__(self, owner: type, name: str) -> None:
        self._attribute = name

    @overload
    def __get__(self, instance: None, owner: type) -> FunctionTool[P, R]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> FunctionTool[..., R]: ...
    def __get__(self, instance: object | None, owner: type) -> FunctionTool[..., R]:
        if instance is None or not self.is_method:
            return self
        bound = copy.copy(self)
        bound.function = types.MethodType(self.function, instance)
        bound.is_method = False
        if self._attribute is not None and hasattr(instance, "__dict__"):
            instance.__dict__[self._attribute] = bound  # one bound tool per instance, like a cache
        return bound

    def __repr__(self) -> str:
        return f"<FunctionTool {self.name!r}>"


@overload
def function_tool(function: Callable[P, R], /) -> FunctionTool[P, R]: ...
@overload
def function_tool(
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool = False,
    timeout: float | None = None,
    raise_errors: bool = False,
    error_detail: ErrorDetail | None = None,
    needs_approval: bool | Callable[[ToolCall], bool] = False,
) -> Callable[[Callable[P, R]], FunctionTool[P, R]]: ...
def function_tool(
    function: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool = False,
    timeout: float | None = None,
    raise_errors: bool = False,
    error_detail: ErrorDetail | None = None,
    needs_approval: bool | Callable[[ToolCall], bool] = False,
) -> FunctionTool[P, R] | Callable[[Callable[P, R]], FunctionTool[P, R]]:
    """Make a function (sync or ``async def``, or a method of a ``Toolkit``) a tool:
    ``@function_tool`` or ``@function_tool(name=..., description=..., strict=..., timeout=...,
    raise_errors=..., error_detail=..., needs_approval=...)``.

    ``needs_approval`` (``True``, or a function of the ``ToolCall`` saying whether this call
    needs it) makes each call wait for ``Hooks.on_approval`` (see ``agentools.approval``).

    A type the JSON schema cannot describe raises ``SchemaError`` here, naming the parameter.
    """

    def decorate(function: Callable[P, R]) -> FunctionTool[P, R]:
        return FunctionTool(
            function,
            name=name,
            description=description,
            strict=strict,
            timeout=timeout,
            raise_errors=raise_errors,
            error_detail=error_detail,
            needs_approval=needs_approval,
        )

    return decorate if function is None else decorate(function)


class Toolkit:
    """A group of tools sharing state: its methods decorated with ``@function_tool`` become tools
    bound to the instance (``self`` is never in the schema).

    ::

        class Files(Toolkit):
            def __init__(self, root: Path) -> None:
                self.root = root

            @function_tool
            def read(self, path: str) -> str:
                \"\"\"Read a file under the root.\"\"\"
                return (self.root / path).read_text()

        assistant = Assistant(model=..., tools=[Files(Path("."))])
    """

    dynamic: ClassVar[bool] = False
    """Whether the tools may change after the toolkit is added (an MCP server's, known once
    connected and changed when the server says so): ``ToolRegistry`` then asks ``tools()`` at
    each model call and each tool call instead of once, when the toolkit is added."""

    def tools(self) -> list[FunctionTool[..., Any]]:
        """This instance's tools, in the order the class defines them."""
        names: dict[str, None] = {}
        for cls in reversed(type(self).__mro__):
            names.update(
                dict.fromkeys(k for k, v in vars(cls).items() if isinstance(v, FunctionTool))
            )
        tools = [getattr(self, name) for name in names]
        return [tool for tool in tools if isinstance(tool, FunctionTool)]

    def __repr__(self) -> str:
        if self.dynamic:  # reading its tools may cost (a connection): a repr does not
            return f"<{type(self).__name__} (dynamic)>"
        return f"<{type(self).__name__} tools={[tool.name for tool in self.tools()]}>"


class ToolRegistry:
    """An assistant's tools by name (``assistant.tools``): add, remove, enable and disable them at
    any time; a change applies from the next model call. (A ``Toolkit`` is a group of tools you
    write; the registry holds the tools of every toolkit and function you give the assistant.)

    A dynamic toolkit (``Toolkit.dynamic``) is kept as a toolkit: its tools are those its
    ``tools()`` gives at the time asked, after the tools added one by one, which keep their names
    (a dynamic tool of the same name is an error naming both, raised when the tools are read).
    """

    def __init__(
        self,
        tools: Iterable[FunctionTool[..., Any] | Toolkit | Callable[..., Any]]
        | FunctionTool[..., Any]
        | Toolkit
        | Callable[..., Any] = (),
    ) -> None:
        self._tools: dict[str, FunctionTool[..., Any]] = {}
        self._dynamic: list[Toolkit] = []
        self._disabled: set[str] = set()
        if isinstance(tools, (FunctionTool, Toolkit)) or callable(tools):
            tools = [tools]  # one tool given alone
        elif isinstance(tools, (str, bytes, Mapping)) or not isinstance(tools, Iterable):
            raise ToolDefinitionError(
                f"tools must be a tool, a Toolkit, a function, or a list of them; "
                f"not {type(tools).__name__}"
            )
        for tool in tools:
            self.add(tool)

    def add(self, tool: FunctionTool[..., Any] | Toolkit | Callable[..., Any]) -> None:
        """Add a tool, every tool of a ``Toolkit``, or a plain function (wrapped with
        ``function_tool``). A name already taken is an error naming both tools."""
        if isinstance(tool, Toolkit) and tool.dynamic:
            if tool not in self._dynamic:
                self._dynamic.append(tool)
            return
        if isinstance(tool, Toolkit):
            for each in tool.tools():
                self.add(each)
            return
        if not isinstance(tool, FunctionTool):
            if not callable(tool):
                raise ToolDefinitionError(
                    f"a tool is a function, a FunctionTool or a Toolkit, not {type(tool).__name__}"
                )
            tool = FunctionTool(tool)
        if tool.is_method:
            raise ToolDefinitionError(
                f"tool {tool.name!r} is a method; add it from an instance (e.g. a Toolkit)"
            )
        existing = self._tools.get(tool.name)
        if existing is not None and existing.function != tool.function:
            raise ToolDefinitionError(
                f"two tools are named {tool.name!r}: {existing.function!r} and {tool.function!r}"
            )
        self._tools[tool.name] = tool

    def remove(self, tool: str | FunctionTool[..., Any] | Toolkit) -> None:
        """Remove a tool (by name or object) or every tool of a toolkit; ``UnknownToolError`` (a
        ``KeyError``) if absent."""
        if isinstance(tool, Toolkit) and tool.dynamic:
            self._dynamic.remove(tool)
            return
        if isinstance(tool, Toolkit):
            for each in tool.tools():
                self.remove(each)
            return
        name = tool if isinstance(tool, str) else tool.name
        if self[name].name not in self._tools:
            raise ToolDefinitionError(f"tool {name!r} belongs to a dynamic toolkit: remove that")
        del self._tools[name]
        self._disabled.discard(name)

    def enable(self, name: str) -> None:
        self._disabled.discard(self[name].name)

    def disable(self, name: str) -> None:
        """Hide a tool from the model (its schema is not sent, a call to it is refused)."""
        self._disabled.add(self[name].name)

    def is_enabled(self, name: str) -> bool:
        return name in self._tools and name not in self._disabled

    def _all(self) -> dict[str, FunctionTool[..., Any]]:
        """Every tool by name: those added one by one, then the dynamic toolkits' current ones."""
        if not self._dynamic:
            return self._tools
        tools = dict(self._tools)
        for toolkit in self._dynamic:
            for tool in toolkit.tools():
                existing = tools.setdefault(tool.name, tool)
                if existing is not tool:
                    raise ToolDefinitionError(
                        f"two tools are named {tool.name!r}: {existing!r} and {tool!r} "
                        f"of {toolkit!r}; rename one, or give its toolkit a prefix"
                    )
        return tools

    def __getitem__(self, name: str) -> FunctionTool[..., Any]:
        try:
            return self._all()[name]
        except KeyError:
            raise UnknownToolError(f"no tool named {name!r}") from None

    def __iter__(self) -> Iterator[FunctionTool[..., Any]]:
        return iter(list(self._all().values()))

    def __len__(self) -> int:
        return len(self._all())

    def __contains__(self, name: object) -> bool:
        return name in self._all()

    def signatures(self) -> tuple[Signature, ...]:
        """The enabled tools' descriptions, for the next model call."""
        return tuple(tool.signature for tool in self if tool.name not in self._disabled)

    def enabled_names(self) -> list[str]:
        """The names of the enabled tools, sorted (what the model is told it may call)."""
        return sorted(set(self._all()) - self._disabled)

    def get(self, name: str) -> FunctionTool[..., Any] | None:
        """The enabled tool named ``name``, or ``None``."""
        return None if name in self._disabled else self._all().get(name)

    def shown(self) -> list[str]:
        """The tools' names as a repr shows them: a disabled one marked so, a dynamic toolkit
        as its repr (reading its tools might connect to a server: a repr must not)."""
        shown = [
            name if name not in self._disabled else f"{name} (disabled)" for name in self._tools
        ]
        return shown + [repr(toolkit) for toolkit in self._dynamic]

    def __repr__(self) -> str:
        shown = self.shown()
        return f"<ToolRegistry {shown}>"
