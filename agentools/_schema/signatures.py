"""A Python function as an OpenAI function tool, and the model's arguments as its call arguments.

This is the pure half of ``@function_tool``: no I/O, no calling of the function. Everything about
a tool that can be wrong is found here, and found early:

* a function whose parameters cannot be described raises :class:`SchemaError` when the tool is
  defined, not when the model first calls it;
* arguments from the model that do not fit raise :class:`ArgumentsError`, whose text is short and
  precise enough to be sent back to the model so it can correct itself.
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any, get_origin

import attrs
from typing_extensions import get_type_hints

from .._errors import AgentoolsError
from .describe import SchemaBuilder, Unsupported, json_kind, parse_doc, show, split_annotated
from .structure import ArgumentsError, Path, argument_converter, problems_of, render_path

__all__ = ["ContextParameter", "SchemaError", "Signature", "fits_strict", "signature_of"]

_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ContextParameter:
    """Base of the types a tool asks for instead of an argument from the model.

    A parameter annotated with a subclass (or a generic alias of one, ``RunContext[Deps]``) is left
    out of the schema; ``Signature.structure(context=...)`` passes the caller's value to it.
    """

    __slots__ = ()


class SchemaError(AgentoolsError, TypeError):
    """The function cannot be described as a tool.

    Raised when the tool is defined, so that a bad annotation fails at import time rather than on
    the model's first call. The message names the function, the parameter and the type.
    """


@attrs.frozen
class _Param:
    name: str
    type: Any
    kind: inspect._ParameterKind
    default: Any
    context: bool

    @property
    def has_default(self) -> bool:
        return self.default is not inspect.Parameter.empty


@attrs.frozen
class Signature:
    """A function described as a tool: what the model is shown, and how its arguments come back."""

    name: str
    description: str
    parameters: dict[str, Any]
    strict: bool
    context_parameters: tuple[str, ...]
    _params: tuple[_Param, ...] = attrs.field(default=(), repr=False, eq=False)
    given: bool = False
    """The schema was given as it is (``from_schema``), not read from a function: the arguments
    object is passed whole, as the one positional argument, for whoever defined the schema (an
    MCP server) to check."""

    @classmethod
    def from_schema(
        cls, name: str, description: str, parameters: Mapping[str, Any], *, strict: bool = False
    ) -> Signature:
        """A tool described by a JSON schema used as it is (a tool from elsewhere: an MCP
        server's). ``strict`` is asked for only where the schema fits OpenAI's strict mode
        (``fits_strict``): a schema that does not would be refused by the API."""
        if not _TOOL_NAME.fullmatch(name):
            raise SchemaError(f"tool name {name!r} must be 1 to 64 letters, digits, '_' or '-'")
        schema = copy.deepcopy(dict(parameters))
        if schema.get("type") != "object":
            raise SchemaError(f"tool {name!r}: its parameters schema must be of type 'object'")
        return cls(
            name=name,
            description=description,
            parameters=schema,
            strict=strict and fits_strict(schema),
            context_parameters=(),
            given=True,
        )

    def structure(
        self, arguments: Mapping[str, Any], context: Any = None
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """(args, kwargs) to call the function with; raises ArgumentsError.

        ``arguments`` is the model's decoded JSON object. Missing optional arguments get their
        defaults (and so does ``null`` for them in strict mode, where the model must send every
        argument); ``context`` is passed to every context parameter.
        """
        if json_kind(arguments) != "object":
            raise ArgumentsError([("", f"expected a JSON object, got {show(arguments)}")])
        if self.given:
            return (dict(arguments),), {}
        converter = argument_converter(self.strict)
        problems: list[tuple[Path, str]] = []
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for param in self._params:
            if param.context:
                value = context
            elif self._left_out(param, arguments):
                if not param.has_default:
                    problems.append(((param.name,), "missing required argument"))
                    continue
                value = param.default
            else:
                try:
                    value = converter.structure(arguments[param.name], param.type)
                except Exception as exc:
                    problems.extend(problems_of(exc, (param.name,)))
                    continue
            if param.kind is inspect.Parameter.POSITIONAL_ONLY:
                args.append(value)
            else:
                kwargs[param.name] = value
        known = {param.name for param in self._params if not param.context}
        problems.extend(((name,), "unknown argument") for name in arguments if name not in known)
        if problems:
            raise ArgumentsError((render_path(path), message) for path, message in problems)
        return tuple(args), kwargs

    def _left_out(self, param: _Param, arguments: Mapping[str, Any]) -> bool:
        # In strict mode the model must send every argument: null stands for the default.
        if param.name not in arguments:
            return True
        return self.strict and arguments[param.name] is None and param.has_default

    def to_openai(self) -> dict[str, Any]:
        """The tool as the Chat Completions API takes it in ``tools``."""
        function: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "parameters": copy.deepcopy(self.parameters),
        }
        if self.strict:
            function["strict"] = True
        return {"type": "function", "function": function}


_STRICT_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum", "const",
        "anyOf", "$ref", "$defs", "definitions", "description", "title",
    }
)  # fmt: skip
"""The keywords kept here for a strict schema: those OpenAI's strict mode takes in every case."""


def fits_strict(schema: Any) -> bool:
    """Whether OpenAI's strict mode takes ``schema`` as it is: every object closed
    (``additionalProperties: false``) with all its properties required, and no keyword beyond
    ``_STRICT_KEYWORDS`` (a conservative reading: a schema this refuses still works, unstrict)."""
    if isinstance(schema, list):
        return all(fits_strict(item) for item in schema)
    if not isinstance(schema, dict):
        return True
    if not _STRICT_KEYWORDS.issuperset(schema):
        return False
    if schema.get("type") == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            return False
        if not isinstance(properties, dict) or set(schema.get("required", ())) != set(properties):
            return False
        if not all(fits_strict(value) for value in properties.values()):
            return False
    nested = ("items", "anyOf", "$defs", "definitions")
    for key in nested:
        value = schema.get(key)
        values = value.values() if isinstance(value, dict) and key != "items" else [value]
        if value is not None and not all(fits_strict(v) for v in values):
            return False
    return True


def signature_of(
    func: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool = False,
) -> Signature:
    """Describe ``func`` as a tool; raises SchemaError if any parameter cannot be described.

    ``func`` may be a function, an ``async def`` function, a bound method or a
    ``functools.partial`` (arguments bound by keyword are hidden from the model). Parameters
    annotated with a ``ContextParameter`` subclass are left out of the schema: the caller
    supplies them through ``Signature.structure(context=...)``.
    """
    target, label, bound = _unwrap_callable(func)
    tool_name = label if name is None else name
    if not _TOOL_NAME.fullmatch(tool_name):
        raise SchemaError(
            f"{label}(): tool name {tool_name!r} must be 1 to 64 letters, digits, '_' or '-'; "
            "pass name=..."
        )
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"{label}(): cannot read its signature: {exc}") from None
    hints = _function_hints(target, label)
    doc = parse_doc(inspect.getdoc(target))
    builder = SchemaBuilder(strict, argument_converter(False).unstructure)
    params: list[_Param] = []
    properties: dict[str, Any] = {}
    required: list[str] = []
    for parameter in signature.parameters.values():
        if parameter.name in bound:
            continue
        annotation = _annotation(parameter, hints, label)
        if _is_context(annotation):
            params.append(_param(parameter, annotation, context=True))
            continue
        try:
            properties[parameter.name] = builder.property(
                annotation,
                doc.params.get(parameter.name),
                required=parameter.default is parameter.empty,
                default=parameter.default,
            )
        except Unsupported as exc:
            raise SchemaError(f"{label}(): parameter {parameter.name!r}: {exc}") from None
        if parameter.default is parameter.empty or strict:
            required.append(parameter.name)
        params.append(_param(parameter, annotation, context=False))
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    if builder.defs:
        schema["$defs"] = builder.defs
    return Signature(
        name=tool_name,
        description=doc.description if description is None else description,
        parameters=schema,
        strict=strict,
        context_parameters=tuple(p.name for p in params if p.context),
        params=tuple(params),
    )


def _unwrap_callable(func: Callable[..., Any]) -> tuple[Any, str, frozenset[str]]:
    """What to read annotations and docstring from, the default tool name, and the parameter
    names a ``functools.partial`` binds by keyword."""
    bound: set[str] = set()
    while isinstance(func, functools.partial):
        bound.update(func.keywords)
        func = func.func
    if inspect.ismethod(func):
        func = func.__func__
    name = getattr(func, "__name__", None)
    if name is None:
        name = type(func).__name__
        func = type(func).__call__
    return func, name, frozenset(bound)


def _function_hints(target: Any, label: str) -> dict[str, Any]:
    try:
        return get_type_hints(target, include_extras=True)
    except NameError as exc:
        raise SchemaError(f"{label}(): cannot resolve its annotations: {exc}") from None
    except TypeError:
        return {}


def _annotation(parameter: inspect.Parameter, hints: Mapping[str, Any], label: str) -> Any:
    if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
        raise SchemaError(
            f"{label}(): parameter {parameter.name!r}: *args and **kwargs cannot be described in "
            "a JSON schema; use a list or an attrs class parameter"
        )
    annotation = hints.get(parameter.name, parameter.annotation)
    if annotation is parameter.empty:
        raise SchemaError(
            f"{label}(): parameter {parameter.name!r} has no type annotation "
            "(use typing.Any for any JSON value)"
        )
    if isinstance(annotation, str):
        raise SchemaError(f"{label}(): parameter {parameter.name!r}: cannot resolve {annotation!r}")
    return annotation


def _is_context(annotation: Any) -> bool:
    bare = split_annotated(annotation)[0]
    origin = get_origin(bare) or bare
    return isinstance(origin, type) and issubclass(origin, ContextParameter)


def _param(parameter: inspect.Parameter, annotation: Any, *, context: bool) -> _Param:
    return _Param(
        name=parameter.name,
        type=split_annotated(annotation)[0],
        kind=parameter.kind,
        default=parameter.default,
        context=context,
    )
