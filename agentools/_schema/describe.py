"""Python types as the JSON Schema a model is shown, and the words error messages use for them.

The schema is the promise made to the model: ``structure`` accepts exactly the values it
describes, and asks this module which JSON kinds a type takes (to pick a union member) and how to
name what it expected (``expected an integer or a string, got an array``). The supported types,
and what OpenAI's strict mode cannot express, are listed in ``docs/tools-types.md``.
"""

from __future__ import annotations

import collections.abc as abc
import dataclasses
import enum
import inspect
import itertools
import json
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal, get_args, get_origin

import attrs

from .records import ABSENT, MISSING, Missing, is_record, record_fields

__all__ = [
    "ARRAYS",
    "KIND_TEXT",
    "SCALAR_KINDS",
    "Doc",
    "SchemaBuilder",
    "Unsupported",
    "expected",
    "is_annotated",
    "is_array",
    "is_literal",
    "is_mapping",
    "is_union",
    "json_kind",
    "one_of",
    "parse_doc",
    "show",
    "split_annotated",
]

_NoneType = type(None)
_SHOWN_STRING_LENGTH = 40
_NULL: dict[str, Any] = {"type": "null"}

# bool before int: issubclass(bool, int), and structuring takes the first match.
SCALAR_KINDS: dict[type, str] = {bool: "boolean", str: "string", int: "integer", float: "number"}
KIND_TEXT = {
    "null": "null",
    "boolean": "a boolean",
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "array": "an array",
    "object": "an object",
}
# The container origins described as arrays, each with how it is rebuilt from a list of items.
ARRAYS: dict[Any, Callable[[list[Any]], Any]] = {
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


class Unsupported(Exception):
    """A type the schema cannot describe; becomes a SchemaError naming the parameter."""

    def __init__(self, tp: Any, reason: str | None = None, where: tuple[str, ...] = ()) -> None:
        super().__init__(tp, reason, where)
        self.type = tp
        self.reason = reason
        self.where = where

    def inside(self, field: str) -> Unsupported:
        return Unsupported(self.type, self.reason, (field, *self.where))

    def __str__(self) -> str:
        if self.reason is None:
            text = f"cannot describe type {self.type!r} in a JSON schema"
        else:
            text = f"cannot use type {self.type!r}: {self.reason}"
        if self.where:
            text += " (in " + ", ".join(f"field {field}" for field in self.where) + ")"
        return text


@attrs.frozen
class Doc:
    """A docstring as the schema uses it: the description, and one text per parameter."""

    description: str
    params: dict[str, str]


def _as_is(value: Any) -> Any:
    return value


class SchemaBuilder:
    """Builds the JSON schemas of one tool's parameters.

    Nested classes are inlined, which is what the model reads most easily. A class that contains
    itself (directly or not) is inlined once and its inner occurrences refer to a copy in
    ``$defs``, which both JSON Schema and OpenAI's strict mode accept.

    ``unstructure`` turns a default into plain data for the schema to show (the converter's
    unstructuring, so an enum default shows its value); a default JSON cannot hold is not shown.
    """

    def __init__(self, strict: bool, unstructure: Callable[[Any], Any] = _as_is) -> None:
        self.strict = strict
        self.unstructure = unstructure
        self.defs: dict[str, dict[str, Any]] = {}
        self._def_names: dict[type, str] = {}
        self._expanding: list[type] = []
        self._recursive: set[type] = set()

    def property(self, tp: Any, doc: str | None, *, required: bool, default: Any) -> dict[str, Any]:
        """The schema of a parameter or a field; an ``Annotated`` description wins over ``doc``."""
        bare, annotated = split_annotated(tp)
        schema = self.describe(bare)
        description = annotated or doc
        if not required:
            schema, description = self._optional(schema, description, default)
        return _with_description(schema, description) if description else schema

    def describe(self, tp: Any) -> dict[str, Any]:
        bare, description = split_annotated(tp)
        schema = self._describe_bare(_unwrap_newtype(bare))
        return _with_description(schema, description) if description else schema

    def _describe_bare(self, tp: Any) -> dict[str, Any]:
        origin = get_origin(tp) or tp
        args = get_args(tp)
        if tp is Any:
            if self.strict:
                raise Unsupported(tp, "strict mode needs a type for every value")
            return {}
        if tp is None or tp is _NoneType:
            return dict(_NULL)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return _enum_schema(tp)
        if tp in SCALAR_KINDS:
            return {"type": SCALAR_KINDS[tp]}
        if is_literal(tp):
            return _literal_schema(tp)
        if is_union(tp):
            return self._union(args)
        if origin in ARRAYS:
            return self._array(origin, args)
        if origin is tuple:
            return self._tuple(tp, args)
        if origin in _MAPPINGS:
            return self._mapping(tp, args)
        if is_record(tp):
            return self._record(tp)
        raise Unsupported(tp)

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
            raise Unsupported(tp, "an empty tuple carries no value")
        if self.strict:
            raise Unsupported(
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
        if _unwrap_newtype(split_annotated(key)[0]) is not str:
            raise Unsupported(tp, "JSON object keys are strings; use dict[str, T]")
        if self.strict:
            raise Unsupported(
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
        try:
            fields = record_fields(cls)
        except NameError as exc:
            raise Unsupported(cls, f"cannot resolve its annotations: {exc}") from None
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in fields:
            try:
                properties[field.name] = self.property(
                    field.type,
                    doc.params.get(field.name),
                    required=field.required,
                    default=field.default,
                )
            except Unsupported as exc:
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
        value = self._json_value(default)
        if not self.strict:
            return (schema if value is MISSING else {**schema, "default": value}), description
        note = (
            "Optional; null leaves it out"
            if default is ABSENT
            else "Optional; null means the default"
        )
        if value is not MISSING:
            note += f" ({json.dumps(value, ensure_ascii=False)})"
        if not description:
            return _nullable(schema), f"{note}."
        stop = "" if description.rstrip().endswith((".", "!", "?")) else "."
        return _nullable(schema), f"{description.rstrip()}{stop} {note}."

    def _json_value(self, default: Any) -> Any:
        """``default`` as plain JSON, or MISSING when it has none or JSON cannot hold it."""
        if isinstance(default, Missing) or default is inspect.Parameter.empty:
            return MISSING
        try:
            return json.loads(json.dumps(self.unstructure(default), allow_nan=False))
        except Exception:
            return MISSING

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
    if not values or any(json_kind(value) not in ("string", "integer") for value in values):
        raise Unsupported(cls, "enum values must be strings or integers")
    return _values_schema(values)


def _literal_schema(tp: Any) -> dict[str, Any]:
    values = list(get_args(tp))
    if any(
        isinstance(value, enum.Enum)
        or json_kind(value) not in ("null", "boolean", "integer", "string")
        for value in values
    ):
        raise Unsupported(tp, "Literal values must be str, int, bool or None")
    return _values_schema(values)


def _values_schema(values: list[Any]) -> dict[str, Any]:
    kinds = list(dict.fromkeys(json_kind(value) for value in values))
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


# --- descriptions from docstrings -----------------------------------------------------------------


def parse_doc(text: str | None) -> Doc:
    """Description and per-parameter descriptions of a Google, NumPy or reST docstring."""
    if not text:
        return Doc("", {})
    import docstring_parser  # the first tool's definition pays for it, not ``import agentools``

    try:
        parsed = docstring_parser.parse(text)
    except docstring_parser.ParseError:
        return Doc(text.strip(), {})
    params = {p.arg_name: p.description.strip() for p in parsed.params if p.description}
    return Doc((parsed.description or "").strip(), params)


def _class_doc(cls: type) -> Doc:
    text = cls.__dict__.get("__doc__")
    # dataclasses invent a docstring (the class signature) for classes without one.
    if not isinstance(text, str) or (
        dataclasses.is_dataclass(cls) and text.startswith(f"{cls.__name__}(")
    ):
        return Doc("", {})
    return parse_doc(inspect.cleandoc(text))


# --- kinds of annotations -------------------------------------------------------------------------


def split_annotated(tp: Any) -> tuple[Any, str | None]:
    """The type without ``Annotated``, and the first str in its metadata (the description)."""
    description = None
    while is_annotated(tp):
        description = description or next((m for m in tp.__metadata__ if isinstance(m, str)), None)
        tp = tp.__origin__
    return tp, description


def _unwrap_newtype(tp: Any) -> Any:
    while hasattr(tp, "__supertype__"):
        tp = tp.__supertype__
    return tp


def is_annotated(tp: Any) -> bool:
    origin: Any = get_origin(tp)
    return origin is Annotated


def is_literal(tp: Any) -> bool:
    origin: Any = get_origin(tp)
    return origin is Literal


def is_union(tp: Any) -> bool:
    origin = get_origin(tp)
    return origin in (typing.Union, types.UnionType)


def is_array(tp: Any) -> bool:
    origin = get_origin(tp) or tp
    return origin in ARRAYS or origin is tuple


def is_mapping(tp: Any) -> bool:
    return (get_origin(tp) or tp) in _MAPPINGS


# --- naming values in error messages --------------------------------------------------------------


def expected(tp: Any) -> str:
    """How an error message names the values of ``tp``: 'an integer', "one of 'a', 'b'"."""
    try:
        schema = SchemaBuilder(strict=False).describe(tp)
    except Unsupported:
        return repr(tp)
    options = schema.get("anyOf", [schema])
    if all("enum" in option for option in options):
        return one_of(dict.fromkeys(value for option in options for value in option["enum"]))
    return " or ".join(dict.fromkeys(_expected_of(option) for option in options))


def _expected_of(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return one_of(schema["enum"])
    if "$ref" in schema:
        return "an object"
    kinds = schema.get("type")
    if kinds is None:
        return "any value"
    return " or ".join(KIND_TEXT[kind] for kind in ([kinds] if isinstance(kinds, str) else kinds))


def one_of(values: Iterable[Any]) -> str:
    return "one of " + ", ".join(show(value) for value in values)


def json_kind(value: Any) -> str:
    """The JSON type name of a decoded JSON value ('integer', 'object', ...), 'other' if none."""
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


def show(value: Any) -> str:
    """A value as an error message quotes it: short, in the terms the model wrote it."""
    kind = json_kind(value)
    if kind in ("array", "object"):
        return KIND_TEXT[kind]
    if kind == "string":
        if len(value) > _SHOWN_STRING_LENGTH:
            return repr(value[: _SHOWN_STRING_LENGTH - 3] + "...")
        return repr(value)
    if kind == "other":
        return f"a {type(value).__name__}"
    return json.dumps(value)
