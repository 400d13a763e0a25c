"""Describe a Python function as an OpenAI function tool, and turn the model's arguments back into
the function's typed arguments.

This is the pure half of ``@function_tool``: no I/O, no calling of the function. Everything about
a tool that can be wrong is found here, and found early:

* a function whose parameters cannot be described raises :class:`SchemaError` when the tool is
  defined, not when the model first calls it;
* arguments from the model that do not fit raise :class:`ArgumentsError`, whose text is short and
  precise enough to be sent back to the model so it can correct itself.

The supported types, and what OpenAI's strict mode cannot express, are listed in
``docs/tools-types.md``.
"""

from __future__ import annotations

import collections.abc as abc
import copy
import dataclasses
import datetime as dt
import enum
import functools
import inspect
import itertools
import json
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal, cast, get_args, get_origin

import attrs
import cattrs
import cattrs.gen
import docstring_parser
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from typing_extensions import NotRequired, Required, get_type_hints, is_typeddict

__all__ = [
    "ArgumentsError",
    "ContextParameter",
    "SchemaError",
    "Signature",
    "encode_result",
    "make_converter",
    "signature_of",
]

_NoneType = type(None)
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MAX_PROBLEMS = 10
_SHOWN_STRING_LENGTH = 40
_NULL: dict[str, Any] = {"type": "null"}
# attrs' stubs declare Factory as a function returning the default's type; it is a class.
_ATTRS_FACTORY = cast(type, type(attrs.Factory(list)))

# bool before int: issubclass(bool, int), and _structure_scalar takes the first match.
_SCALAR_KINDS: dict[type, str] = {bool: "boolean", str: "string", int: "integer", float: "number"}
_KIND_TEXT = {
    "null": "null",
    "boolean": "a boolean",
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "array": "an array",
    "object": "an object",
}
# How each accepted container origin is rebuilt from the list of structured items.
_ARRAYS: dict[Any, Callable[[list[Any]], Any]] = {
    list: list,
    abc.Sequence: list,
    abc.MutableSequence: list,
    set: set,
    abc.MutableSet: set,
    frozenset: frozenset,
    abc.Set: frozenset,
}
_SETS = frozenset({set, abc.MutableSet, frozenset, abc.Set})
_MAPPINGS = frozenset({dict, abc.Mapping, abc.MutableMapping})
# Schemas with these keywords are made nullable with anyOf rather than a list of types.
_STRUCTURAL_KEYWORDS = frozenset({"properties", "items", "prefixItems", "additionalProperties"})

_Path = tuple[str | int, ...]


class ContextParameter:
    """Base of the types a tool asks for instead of an argument from the model (``ToolContext``):
    such a parameter is left out of the schema, and filled by the loop."""


class SchemaError(TypeError):
    """The function cannot be described as a tool.

    Raised when the tool is defined, so that a bad annotation fails at import time rather than on
    the model's first call. The message names the function, the parameter and the type.
    """


class ArgumentsError(ValueError):
    """The model's arguments do not fit the function's parameters.

    ``str(exc)`` is written for the model: one line per problem (at most ten), each naming the
    argument path, e.g. ``argument 'location.city': missing required field``. ``problems`` holds
    every ``(path, message)`` pair for programs.
    """

    def __init__(self, problems: Iterable[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        super().__init__(_format_problems(self.problems))

    def __reduce__(self) -> tuple[type[ArgumentsError], tuple[tuple[tuple[str, str], ...]]]:
        return type(self), (self.problems,)


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

    def structure(
        self, arguments: Mapping[str, Any], context: Any = None
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """(args, kwargs) to call the function with; raises ArgumentsError.

        ``arguments`` is the model's decoded JSON object. Missing optional arguments get their
        defaults (and so does ``null`` for them in strict mode, where the model must send every
        argument); ``context`` is passed to every context parameter.
        """
        if _json_kind(arguments) != "object":
            raise ArgumentsError([("", f"expected a JSON object, got {_show(arguments)}")])
        converter = _converter(self.strict)
        problems: list[tuple[_Path, str]] = []
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for param in self._params:
            try:
                value = self._argument(param, arguments, context, converter)
            except Exception as exc:
                problems.extend(_collect(exc, (param.name,)))
                continue
            if param.kind is inspect.Parameter.POSITIONAL_ONLY:
                args.append(value)
            else:
                kwargs[param.name] = value
        known = {param.name for param in self._params if not param.context}
        problems.extend(((name,), "unknown argument") for name in arguments if name not in known)
        if problems:
            raise ArgumentsError((_render_path(path), message) for path, message in problems)
        return tuple(args), kwargs

    def _argument(
        self,
        param: _Param,
        arguments: Mapping[str, Any],
        context: Any,
        converter: cattrs.Converter,
    ) -> Any:
        if param.context:
            return context
        value = arguments.get(param.name)
        if param.name not in arguments or (self.strict and value is None and param.has_default):
            if param.has_default:
                return param.default
            raise _Invalid([((), "missing required argument")])
        return converter.structure(value, param.type)

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


def signature_of(
    func: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool = False,
    context_types: tuple[type, ...] = (),
) -> Signature:
    """Describe ``func`` as a tool; raises SchemaError if any parameter cannot be described.

    ``func`` may be a function, an ``async def`` function, a bound method or a
    ``functools.partial`` (arguments bound by keyword are hidden from the model). Parameters
    annotated with (a subclass of) one of ``context_types`` are left out of the schema: the caller
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
    doc = _parse_doc(inspect.getdoc(target))
    builder = _SchemaBuilder(strict)
    params: list[_Param] = []
    properties: dict[str, Any] = {}
    required: list[str] = []
    for parameter in signature.parameters.values():
        if parameter.name in bound:
            continue
        annotation = _annotation(parameter, hints, label)
        if _is_context(annotation, context_types):
            params.append(_param(parameter, annotation, context=True))
            continue
        try:
            properties[parameter.name] = builder.property(
                annotation,
                doc.params.get(parameter.name),
                required=parameter.default is parameter.empty,
                default=parameter.default,
            )
        except _Unsupported as exc:
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


def encode_result(value: Any) -> str:
    """The text sent to the model for a tool's return value.

    Strings go as they are and ``None`` as ``""``; everything else is unstructured with the
    converter (attrs classes and dataclasses to objects, enums to their values, sets to arrays,
    datetimes to ISO 8601) and sent as JSON. Parts JSON cannot encode are sent as their ``str()``,
    so a result is never lost to an encoding error.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        data = _converter(False).unstructure(value)
    except Exception:
        return str(value)
    if isinstance(data, str):
        return data
    if not isinstance(data, (dict, list, tuple, int, float)):
        return str(value)
    try:
        return json.dumps(data, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def make_converter(*, strict: bool = False) -> cattrs.Converter:
    """A cattrs converter that structures JSON values the way the schemas describe them.

    Unlike cattrs' defaults it never coerces: an ``int`` takes only a JSON integer (not ``"3"``,
    not ``true``), a ``float`` a JSON number, a ``str`` only a string, a list only an array.
    Objects reject unknown fields. With ``strict``, ``null`` for a field that has a default means
    the default, as strict schemas make every field required and such fields nullable.
    """
    converter = cattrs.Converter(
        forbid_extra_keys=True,
        detailed_validation=True,
        unstruct_collection_overrides={abc.Set: list},
    )
    # Registered on the classes (singledispatch) because cattrs consults those first; one hook for
    # all of them because an IntEnum or a StrEnum would otherwise dispatch to the int or str hook.
    for scalar in (str, int, float, bool, enum.Enum):
        converter.register_structure_hook(scalar, _structure_scalar)
    converter.register_structure_hook_func(lambda tp: tp is _NoneType, _structure_none)
    converter.register_structure_hook_func(_is_literal, _structure_literal)

    def record_factory(tp: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
        return _record_hook(tp, conv, strict=strict)

    converter.register_structure_hook_factory(_is_union, _union_hook)
    converter.register_structure_hook_factory(_is_array, _array_hook)
    converter.register_structure_hook_factory(_is_mapping, _mapping_hook)
    converter.register_structure_hook_factory(_is_record, record_factory)
    # Last, so it comes first: our hooks, not cattrs' own, for what Annotated wraps.
    converter.register_structure_hook_factory(_is_annotated, _annotated_hook)
    for timestamp in (dt.datetime, dt.date, dt.time):
        converter.register_unstructure_hook(timestamp, lambda value: value.isoformat())
    return converter


@functools.cache
def _converter(strict: bool) -> cattrs.Converter:
    return make_converter(strict=strict)


# --- describing types -----------------------------------------------------------------------------


class _Unsupported(Exception):
    """A type the schema cannot describe; becomes a SchemaError naming the parameter."""

    def __init__(self, tp: Any, reason: str | None = None, where: tuple[str, ...] = ()) -> None:
        super().__init__(tp, reason, where)
        self.type = tp
        self.reason = reason
        self.where = where

    def inside(self, field: str) -> _Unsupported:
        return _Unsupported(self.type, self.reason, (field, *self.where))

    def __str__(self) -> str:
        if self.reason is None:
            text = f"cannot describe type {self.type!r} in a JSON schema"
        else:
            text = f"cannot use type {self.type!r}: {self.reason}"
        if self.where:
            text += " (in " + ", ".join(f"field {field}" for field in self.where) + ")"
        return text


class _Missing(enum.Enum):
    """Defaults a schema cannot show: none, or not a plain value (an attrs ``Factory``, a default
    factory), or, for a TypedDict key, leaving the key out."""

    MISSING = "MISSING"
    ABSENT = "ABSENT"


_MISSING = _Missing.MISSING
_ABSENT = _Missing.ABSENT


@attrs.frozen
class _Doc:
    description: str
    params: dict[str, str]


@attrs.frozen
class _Field:
    name: str
    type: Any
    required: bool
    default: Any


class _SchemaBuilder:
    """Builds the JSON schemas of one tool's parameters.

    Nested classes are inlined, which is what the model reads most easily. A class that contains
    itself (directly or not) is inlined once and its inner occurrences refer to a copy in
    ``$defs``, which both JSON Schema and OpenAI's strict mode accept.
    """

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.defs: dict[str, dict[str, Any]] = {}
        self._def_names: dict[type, str] = {}
        self._expanding: list[type] = []
        self._recursive: set[type] = set()

    def property(self, tp: Any, doc: str | None, *, required: bool, default: Any) -> dict[str, Any]:
        """The schema of a parameter or a field; an ``Annotated`` description wins over ``doc``."""
        bare, annotated = _split_annotated(tp)
        schema = self.describe(bare)
        description = annotated or doc
        if not required:
            schema, description = self._optional(schema, description, default)
        return _with_description(schema, description) if description else schema

    def describe(self, tp: Any) -> dict[str, Any]:
        bare, description = _split_annotated(tp)
        schema = self._describe_bare(_unwrap_newtype(bare))
        return _with_description(schema, description) if description else schema

    def _describe_bare(self, tp: Any) -> dict[str, Any]:
        origin = get_origin(tp) or tp
        args = get_args(tp)
        if tp is Any:
            if self.strict:
                raise _Unsupported(tp, "strict mode needs a type for every value")
            return {}
        if tp is None or tp is _NoneType:
            return dict(_NULL)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return _enum_schema(tp)
        if tp in _SCALAR_KINDS:
            return {"type": _SCALAR_KINDS[tp]}
        if _is_literal(tp):
            return _literal_schema(tp)
        if _is_union(tp):
            return self._union(args)
        if origin in _ARRAYS:
            return self._array(origin, args)
        if origin is tuple:
            return self._tuple(tp, args)
        if origin in _MAPPINGS:
            return self._mapping(tp, args)
        if _is_record(tp):
            return self._record(tp)
        raise _Unsupported(tp)

    def _union(self, args: tuple[Any, ...]) -> dict[str, Any]:
        members = [self.describe(arg) for arg in args if arg is not _NoneType]
        if len(members) == 1:
            schema = members[0]
        elif all(
            schema.keys() == {"type"} and isinstance(schema["type"], str) for schema in members
        ):
            schema = {"type": list(dict.fromkeys(schema["type"] for schema in members))}
        else:
            schema = {"anyOf": members}
        return _nullable(schema) if _NoneType in args else schema

    def _array(self, origin: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array", "items": self.describe(args[0] if args else Any)}
        if origin in _SETS and not self.strict:
            schema["uniqueItems"] = True
        return schema

    def _tuple(self, tp: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        if tp is tuple or (len(args) == 2 and args[1] is Ellipsis):
            return {"type": "array", "items": self.describe(args[0] if args else Any)}
        if not args:
            raise _Unsupported(tp, "an empty tuple carries no value")
        if self.strict:
            raise _Unsupported(
                tp,
                "a fixed-length tuple needs prefixItems, which strict mode rejects; "
                "use tuple[T, ...], list[T] or an attrs class",
            )
        return {
            "type": "array",
            "prefixItems": [self.describe(arg) for arg in args],
            "minItems": len(args),
            "maxItems": len(args),
        }

    def _mapping(self, tp: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        key, value = args if args else (str, Any)
        if _unwrap_newtype(_split_annotated(key)[0]) is not str:
            raise _Unsupported(tp, "JSON object keys are strings; use dict[str, T]")
        if self.strict:
            raise _Unsupported(
                tp,
                "strict mode rejects objects with free-form keys (additionalProperties must be "
                "false); use a list of attrs objects, or strict=False",
            )
        return {"type": "object", "additionalProperties": self.describe(value)}

    def _record(self, cls: type) -> dict[str, Any]:
        if cls in self._expanding:
            self._recursive.add(cls)
            return {"$ref": f"#/$defs/{self._def_name(cls)}"}
        self._expanding.append(cls)
        try:
            schema = self._object(cls)
        finally:
            self._expanding.pop()
        if cls in self._recursive:
            self.defs[self._def_name(cls)] = schema
        return schema

    def _object(self, cls: type) -> dict[str, Any]:
        doc = _class_doc(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in _record_fields(cls):
            try:
                properties[field.name] = self.property(
                    field.type,
                    doc.params.get(field.name),
                    required=field.required,
                    default=field.default,
                )
            except _Unsupported as exc:
                raise exc.inside(f"{cls.__name__}.{field.name}") from None
            if field.required or self.strict:
                required.append(field.name)
        schema: dict[str, Any] = {"type": "object"}
        if doc.description:
            schema["description"] = doc.description
        schema.update(properties=properties, required=required, additionalProperties=False)
        return schema

    def _optional(
        self, schema: dict[str, Any], description: str | None, default: Any
    ) -> tuple[dict[str, Any], str | None]:
        """An optional property: not required; in strict mode required but nullable instead.

        Strict mode rejects the ``default`` keyword, so the default moves into the description.
        """
        value = _json_value(default)
        if not self.strict:
            return (schema if value is _MISSING else {**schema, "default": value}), description
        note = (
            "Optional; null leaves it out"
            if default is _ABSENT
            else "Optional; null means the default"
        )
        if value is not _MISSING:
            note += f" ({json.dumps(value, ensure_ascii=False)})"
        if not description:
            return _nullable(schema), f"{note}."
        stop = "" if description.rstrip().endswith((".", "!", "?")) else "."
        return _nullable(schema), f"{description.rstrip()}{stop} {note}."

    def _def_name(self, cls: type) -> str:
        name = self._def_names.get(cls)
        if name is None:
            taken = set(self._def_names.values())
            name = cls.__name__
            for number in itertools.count(2):
                if name not in taken:
                    break
                name = f"{cls.__name__}{number}"
            self._def_names[cls] = name
        return name


def _enum_schema(cls: type[enum.Enum]) -> dict[str, Any]:
    values = [member.value for member in cls]
    if not values or any(_json_kind(value) not in ("string", "integer") for value in values):
        raise _Unsupported(cls, "enum values must be strings or integers")
    return _values_schema(values)


def _literal_schema(tp: Any) -> dict[str, Any]:
    values = list(get_args(tp))
    if any(
        isinstance(value, enum.Enum)
        or _json_kind(value) not in ("null", "boolean", "integer", "string")
        for value in values
    ):
        raise _Unsupported(tp, "Literal values must be str, int, bool or None")
    return _values_schema(values)


def _values_schema(values: list[Any]) -> dict[str, Any]:
    kinds = list(dict.fromkeys(_json_kind(value) for value in values))
    return {"type": kinds[0] if len(kinds) == 1 else kinds, "enum": values}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null: a list of types for scalars (the form OpenAI documents), else anyOf."""
    if not schema:
        return schema
    if "anyOf" in schema:
        return (
            schema if _NULL in schema["anyOf"] else {**schema, "anyOf": [*schema["anyOf"], _NULL]}
        )
    kinds = schema.get("type")
    if isinstance(kinds, (str, list)) and not _STRUCTURAL_KEYWORDS & schema.keys():
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        if "null" in names:
            return schema
        nullable = {**schema, "type": [*names, "null"]}
        if "enum" in schema:
            nullable["enum"] = [*schema["enum"], None]
        return nullable
    description = schema.get("description")
    inner = {key: value for key, value in schema.items() if key != "description"}
    result: dict[str, Any] = {"anyOf": [inner, _NULL]}
    if description:
        result["description"] = description
    return result


def _with_description(schema: dict[str, Any], description: str) -> dict[str, Any]:
    # Strict mode rejects keywords beside $ref but accepts them beside anyOf.
    if "$ref" in schema:
        return {"anyOf": [schema], "description": description}
    return {**schema, "description": description}


def _json_value(default: Any) -> Any:
    """``default`` as plain JSON, or _MISSING when it has none or JSON cannot hold it."""
    if isinstance(default, _Missing) or default is inspect.Parameter.empty:
        return _MISSING
    try:
        return json.loads(json.dumps(_converter(False).unstructure(default), allow_nan=False))
    except Exception:
        return _MISSING


def _split_annotated(tp: Any) -> tuple[Any, str | None]:
    """The type without ``Annotated``, and the first str in its metadata (the description)."""
    description = None
    while _is_annotated(tp):
        description = description or next((m for m in tp.__metadata__ if isinstance(m, str)), None)
        tp = tp.__origin__
    return tp, description


def _unwrap_newtype(tp: Any) -> Any:
    while hasattr(tp, "__supertype__"):
        tp = tp.__supertype__
    return tp


def _strip_qualifiers(tp: Any) -> Any:
    """The type without TypedDict's Required/NotRequired, which only say whether a key is needed."""
    origin = get_origin(tp)
    if origin is Required or origin is NotRequired:
        return _strip_qualifiers(get_args(tp)[0])
    if _is_annotated(tp):
        inner = _strip_qualifiers(tp.__origin__)
        if inner is tp.__origin__:
            return tp
        annotated: Any = Annotated
        parameters = (inner, *tp.__metadata__)
        return annotated[parameters]
    return tp


def _is_annotated(tp: Any) -> bool:
    origin: Any = get_origin(tp)
    return origin is Annotated


def _is_literal(tp: Any) -> bool:
    origin: Any = get_origin(tp)
    return origin is Literal


def _is_union(tp: Any) -> bool:
    origin = get_origin(tp)
    return origin in (typing.Union, types.UnionType)


def _is_array(tp: Any) -> bool:
    origin = get_origin(tp) or tp
    return origin in _ARRAYS or origin is tuple


def _is_mapping(tp: Any) -> bool:
    return (get_origin(tp) or tp) in _MAPPINGS


def _is_record(tp: Any) -> bool:
    return isinstance(tp, type) and (
        attrs.has(tp) or dataclasses.is_dataclass(tp) or is_typeddict(tp)
    )


def _record_fields(cls: type) -> list[_Field]:
    """The fields a JSON object for ``cls`` has, as cattrs reads them (by attribute name)."""
    try:
        hints = get_type_hints(cls, include_extras=True)
    except NameError as exc:
        raise _Unsupported(cls, f"cannot resolve its annotations: {exc}") from None
    if attrs.has(cls):
        return [
            _Field(
                a.name,
                hints.get(a.name, a.type),
                a.default is attrs.NOTHING,
                _MISSING
                if a.default is attrs.NOTHING or isinstance(a.default, _ATTRS_FACTORY)
                else a.default,
            )
            for a in attrs.fields(cls)
            if a.init
        ]
    if dataclasses.is_dataclass(cls):
        return [
            _Field(
                f.name,
                hints.get(f.name, f.type),
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
                _MISSING if f.default is dataclasses.MISSING else f.default,
            )
            for f in dataclasses.fields(cls)
            if f.init
        ]
    return [
        _Field(key, _strip_qualifiers(tp), _typeddict_key_required(cls, key, tp), _ABSENT)
        for key, tp in hints.items()
    ]


def _typeddict_key_required(cls: type, key: str, tp: Any) -> bool:
    # The resolved annotation decides first: under `from __future__ import annotations` the
    # class cannot see Required/NotRequired and files every key under its totality.
    while _is_annotated(tp):
        tp = tp.__origin__
    if get_origin(tp) is NotRequired:
        return False
    if get_origin(tp) is Required:
        return True
    return key in getattr(cls, "__required_keys__", frozenset())


def _class_doc(cls: type) -> _Doc:
    text = cls.__dict__.get("__doc__")
    # dataclasses invent a docstring (the class signature) for classes without one.
    if not isinstance(text, str) or (
        dataclasses.is_dataclass(cls) and text.startswith(f"{cls.__name__}(")
    ):
        return _Doc("", {})
    return _parse_doc(inspect.cleandoc(text))


def _parse_doc(text: str | None) -> _Doc:
    """Description and per-parameter descriptions of a Google, NumPy or reST docstring."""
    if not text:
        return _Doc("", {})
    try:
        parsed = docstring_parser.parse(text)
    except docstring_parser.ParseError:
        return _Doc(text.strip(), {})
    params = {p.arg_name: p.description.strip() for p in parsed.params if p.description}
    return _Doc((parsed.description or "").strip(), params)


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


def _is_context(annotation: Any, context_types: tuple[type, ...]) -> bool:
    bare = _split_annotated(annotation)[0]
    origin = get_origin(bare) or bare
    return bool(context_types) and isinstance(origin, type) and issubclass(origin, context_types)


def _param(parameter: inspect.Parameter, annotation: Any, *, context: bool) -> _Param:
    return _Param(
        name=parameter.name,
        type=_split_annotated(annotation)[0],
        kind=parameter.kind,
        default=parameter.default,
        context=context,
    )


# --- structuring ----------------------------------------------------------------------------------


class _Invalid(Exception):
    """Problems found while structuring a value, each with a path relative to that value."""

    def __init__(self, problems: list[tuple[_Path, str]]) -> None:
        super().__init__(problems)
        self.problems = problems

    def __str__(self) -> str:
        return _format_problems(tuple((_render_path(p), m) for p, m in self.problems))


def _mismatch(expected: str, value: Any) -> _Invalid:
    return _Invalid([((), f"expected {expected}, got {_show(value)}")])


def _structure_scalar(value: Any, tp: type) -> Any:
    if issubclass(tp, enum.Enum):
        return _structure_choice(value, [member.value for member in tp], list(tp))
    kind = next(kind for scalar, kind in _SCALAR_KINDS.items() if issubclass(tp, scalar))
    actual = _json_kind(value)
    if actual != kind and not (kind == "number" and actual == "integer"):
        raise _mismatch(_KIND_TEXT[kind], value)
    return value if type(value) is tp else cast(Callable[[Any], Any], tp)(value)


def _structure_none(value: Any, _: Any) -> None:
    if value is not None:
        raise _mismatch("null", value)


def _structure_literal(value: Any, tp: Any) -> Any:
    values = list(get_args(tp))
    return _structure_choice(value, values, values)


def _structure_choice(value: Any, values: list[Any], results: list[Any]) -> Any:
    kind = _json_kind(value)
    for candidate, result in zip(values, results, strict=True):
        if _json_kind(candidate) == kind and candidate == value:
            return result
    raise _mismatch(_one_of(values), value)


def _union_hook(tp: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """Tries the members that can take the value's JSON kind, exact kinds first (an int before a
    float for 3), so that the errors reported are those of a member the model could have meant."""
    members = get_args(tp)
    kinds = {member: _schema_kinds(member) for member in members}
    expected = _expected(tp)

    def structure(value: Any, _: Any) -> Any:
        kind = _json_kind(value)
        candidates = [m for m in members if _kind_fits(kind, kinds[m])]
        candidates.sort(key=lambda member: kind not in (kinds[member] or ()))
        errors: list[Exception] = []
        for member in candidates:
            try:
                return converter.structure(value, member)
            except Exception as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        # Several members could have taken this kind of value: the one that failed deeper in the
        # value with the fewest problems is most likely the one the model meant.
        reports = [_collect(error, ()) for error in errors]
        nested = [report for report in reports if any(path for path, _ in report)]
        if nested:
            raise _Invalid(min(nested, key=len))
        raise _mismatch(expected, value)

    return structure


def _annotated_hook(tp: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    bare = _split_annotated(tp)[0]
    return lambda value, _: converter.structure(value, bare)


def _array_hook(tp: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    origin = get_origin(tp) or tp
    args = get_args(tp)
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        return _fixed_tuple_hook(args, converter)
    item = args[0] if args else Any
    build = tuple if origin is tuple else _ARRAYS[origin]

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            raise _mismatch("an array", value)
        return build(_structure_items(converter, value, itertools.repeat(item)))

    return structure


def _fixed_tuple_hook(
    args: tuple[Any, ...], converter: cattrs.Converter
) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            raise _mismatch(f"an array of {len(args)} items", value)
        if len(value) != len(args):
            raise _Invalid(
                [((), f"expected an array of {len(args)} items, got {len(value)} items")]
            )
        return tuple(_structure_items(converter, value, args))

    return structure


def _structure_items(
    converter: cattrs.Converter, values: Iterable[Any], types_: Iterable[Any]
) -> list[Any]:
    items: list[Any] = []
    problems: list[tuple[_Path, str]] = []
    for index, (value, tp) in enumerate(zip(values, types_, strict=False)):
        try:
            items.append(converter.structure(value, tp))
        except Exception as exc:
            problems.extend(_collect(exc, (index,)))
    if problems:
        raise _Invalid(problems)
    return items


def _mapping_hook(tp: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    args = get_args(tp)
    value_type = args[1] if args else Any

    def structure(value: Any, _: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise _mismatch("an object", value)
        result: dict[str, Any] = {}
        problems: list[tuple[_Path, str]] = []
        for key, item in value.items():
            try:
                result[key] = converter.structure(item, value_type)
            except Exception as exc:
                problems.extend(_collect(exc, (key,)))
        if problems:
            raise _Invalid(problems)
        return result

    return structure


def _record_hook(
    cls: Any, converter: cattrs.Converter, *, strict: bool
) -> Callable[[Any, Any], Any]:
    """cattrs' own structuring for attrs classes and dataclasses (it knows their converters,
    validators and aliases), behind a check that the value is a JSON object; with ``strict``,
    null for a field that has a default is dropped so that the default applies."""
    fields = _record_fields(cls)
    if is_typeddict(cls):
        return _typeddict_hook(cls, fields, converter, strict=strict)
    if attrs.has(cls) and any(isinstance(a.type, str) for a in attrs.fields(cls)):
        attrs.resolve_types(cls)
    inner = cattrs.gen.make_dict_structure_fn(
        cls, converter, _cattrs_forbid_extra_keys=True, _cattrs_detailed_validation=True
    )
    optional = frozenset(field.name for field in fields if strict and not field.required)

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, Mapping):
            raise _mismatch("an object", value)
        if optional:
            value = {k: v for k, v in value.items() if v is not None or k not in optional}
        return inner(value, cls)

    return structure


def _typeddict_hook(
    cls: Any, fields: list[_Field], converter: cattrs.Converter, *, strict: bool
) -> Callable[[Any, Any], Any]:
    """Our own TypedDict structuring: cattrs reads required keys from ``__required_keys__``,
    which is wrong for ``NotRequired`` under ``from __future__ import annotations``."""
    names = {field.name for field in fields}

    def structure(value: Any, _: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise _mismatch("an object", value)
        result: dict[str, Any] = {}
        problems: list[tuple[_Path, str]] = []
        for field in fields:
            given = value.get(field.name)
            if field.name not in value or (strict and given is None and not field.required):
                if field.required:
                    problems.append(((field.name,), "missing required field"))
                continue
            try:
                result[field.name] = converter.structure(given, field.type)
            except Exception as exc:
                problems.extend(_collect(exc, (field.name,)))
        problems.extend(((key,), "unknown field") for key in value if key not in names)
        if problems:
            raise _Invalid(problems)
        return result

    return structure


def _collect(exc: BaseException, path: _Path) -> list[tuple[_Path, str]]:
    """Flatten an exception raised while structuring into (path, message) problems."""
    if isinstance(exc, _Invalid):
        return [(path + sub, message) for sub, message in exc.problems]
    if isinstance(exc, (ClassValidationError, IterableValidationError)):
        problems: list[tuple[_Path, str]] = []
        if isinstance(exc, ClassValidationError):
            fields, others = exc.group_exceptions()
            for sub, field_note in fields:
                problems.extend(_collect(sub, (*path, field_note.name)))
        else:
            items, others = exc.group_exceptions()
            for sub, item_note in items:
                problems.extend(_collect(sub, (*path, item_note.index)))
        for sub in others:
            problems.extend(_collect(sub, path))
        return problems
    if isinstance(exc, ForbiddenExtraKeysError):
        return [((*path, key), "unknown field") for key in sorted(exc.extra_fields)]
    if isinstance(exc, KeyError):
        # cattrs' generated structure functions raise KeyError for a missing required key.
        return [(path, "missing required field")]
    return [(path, str(exc) or type(exc).__name__)]


def _schema_kinds(tp: Any) -> frozenset[str] | None:
    """The JSON kinds ``tp`` can be structured from; None for any."""
    try:
        schema = _SchemaBuilder(strict=False).describe(tp)
    except _Unsupported:
        return None
    return _kinds_of(schema)


def _kinds_of(schema: Mapping[str, Any]) -> frozenset[str] | None:
    if "anyOf" in schema:
        parts = [_kinds_of(part) for part in schema["anyOf"]]
        return None if None in parts else frozenset().union(*parts)  # type: ignore[arg-type]
    if "$ref" in schema:
        return frozenset({"object"})
    kinds = schema.get("type")
    if kinds is None:
        return None
    return frozenset([kinds] if isinstance(kinds, str) else kinds)


def _kind_fits(kind: str, kinds: frozenset[str] | None) -> bool:
    return kinds is None or kind in kinds or (kind == "integer" and "number" in kinds)


def _expected(tp: Any) -> str:
    """How an error message names the values of ``tp``: 'an integer', "one of 'a', 'b'"."""
    try:
        schema = _SchemaBuilder(strict=False).describe(tp)
    except _Unsupported:
        return repr(tp)
    options = schema.get("anyOf", [schema])
    if all("enum" in option for option in options):
        return _one_of(dict.fromkeys(value for option in options for value in option["enum"]))
    return " or ".join(dict.fromkeys(_expected_of(option) for option in options))


def _expected_of(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return _one_of(schema["enum"])
    if "$ref" in schema:
        return "an object"
    kinds = schema.get("type")
    if kinds is None:
        return "any value"
    return " or ".join(_KIND_TEXT[kind] for kind in ([kinds] if isinstance(kinds, str) else kinds))


def _one_of(values: Iterable[Any]) -> str:
    return "one of " + ", ".join(_show(value) for value in values)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "other"


def _show(value: Any) -> str:
    """A value as an error message quotes it: short, in the terms the model wrote it."""
    kind = _json_kind(value)
    if kind in ("array", "object"):
        return _KIND_TEXT[kind]
    if kind == "string":
        if len(value) > _SHOWN_STRING_LENGTH:
            return repr(value[: _SHOWN_STRING_LENGTH - 3] + "...")
        return repr(value)
    if kind == "other":
        return f"a {type(value).__name__}"
    return json.dumps(value)


def _render_path(path: _Path) -> str:
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        elif step.isidentifier():
            text += f".{step}" if text else step
        else:
            text += f"[{json.dumps(step, ensure_ascii=False)}]"
    return text


def _format_problems(problems: tuple[tuple[str, str], ...]) -> str:
    lines = [
        f"argument {path!r}: {message}" if path else f"arguments: {message}"
        for path, message in problems[:_MAX_PROBLEMS]
    ]
    if len(problems) > _MAX_PROBLEMS:
        lines.append(f"... and {len(problems) - _MAX_PROBLEMS} more problems")
    return "\n".join(lines)
