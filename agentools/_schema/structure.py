"""JSON values into typed values, and back, with one cattrs converter that never coerces.

Whatever the model sends (a tool's arguments) or a user brings (a stored history) is checked
against the types it claims to fit, with the same rules and the same error words: an ``int`` is
not ``"3"``, an unknown key is an error, and every problem is reported with the path to it.
``make_converter`` is the one factory; the history converter adds its message hooks to it.
"""

from __future__ import annotations

import collections.abc as abc
import datetime as dt
import enum
import functools
import itertools
import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast, get_args, get_origin

from typing_extensions import is_typeddict

from .._errors import AgentoolsError
from .describe import (
    ARRAYS,
    KIND_TEXT,
    SCALAR_KINDS,
    SchemaBuilder,
    Unsupported,
    expected,
    is_annotated,
    is_array,
    is_literal,
    is_mapping,
    is_union,
    json_kind,
    one_of,
    show,
    split_annotated,
)
from .records import RecordField, is_record, record_fields

if TYPE_CHECKING:
    import cattrs  # imported when the first converter is made: ``import agentools`` stays light

__all__ = [
    "ArgumentsError",
    "Path",
    "argument_converter",
    "encode_result",
    "make_converter",
    "mismatch",
    "problems_of",
    "render_path",
]

_NoneType = type(None)
_MAX_PROBLEMS = 10

Path = tuple[str | int, ...]
"""Where a problem is, from the value that was structured: keys and indexes."""


class ArgumentsError(AgentoolsError, ValueError):
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


def make_converter(*, strict: bool = False) -> cattrs.Converter:
    """A cattrs converter that structures JSON values the way the schemas describe them.

    Unlike cattrs' defaults it never coerces: an ``int`` takes only a JSON integer (not ``"3"``,
    not ``true``), a ``float`` a JSON number, a ``str`` only a string, a list only an array.
    Objects reject unknown fields. With ``strict``, ``null`` for a field that has a default means
    the default, as strict schemas make every field required and such fields nullable.

    Its errors carry the path to each problem: read them with ``problems_of``. A hook added to it
    reports a wrong value by raising ``mismatch(...)``, or any exception whose text says why.
    """
    import cattrs

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
    converter.register_structure_hook_func(is_literal, _structure_literal)

    def record_factory(tp: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
        return _record_hook(tp, conv, strict=strict)

    converter.register_structure_hook_factory(is_union, _union_hook)
    converter.register_structure_hook_factory(is_array, _array_hook)
    converter.register_structure_hook_factory(is_mapping, _mapping_hook)
    converter.register_structure_hook_factory(is_record, record_factory)
    # Last, so it comes first: our hooks, not cattrs' own, for what Annotated wraps.
    converter.register_structure_hook_factory(is_annotated, _annotated_hook)
    for timestamp in (dt.datetime, dt.date, dt.time):
        converter.register_unstructure_hook(timestamp, lambda value: value.isoformat())
    return converter


@functools.cache
def argument_converter(strict: bool) -> cattrs.Converter:
    """The converter tool arguments are structured with (and results unstructured with)."""
    return make_converter(strict=strict)


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
        data = argument_converter(False).unstructure(value)
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


class _Invalid(Exception):
    """Problems found while structuring a value, each with a path relative to that value."""

    def __init__(self, problems: list[tuple[Path, str]]) -> None:
        super().__init__(problems)
        self.problems = problems

    def __str__(self) -> str:
        return _format_problems(tuple((render_path(p), m) for p, m in self.problems))


def mismatch(expected: str, value: Any) -> Exception:
    """The error for a value of the wrong kind: ``expected an integer, got 'three'``."""
    return _Invalid([((), f"expected {expected}, got {show(value)}")])


# --- structure hooks ------------------------------------------------------------------------------


def _structure_scalar(value: Any, tp: type) -> Any:
    if issubclass(tp, enum.Enum):
        return _structure_choice(value, [member.value for member in tp], list(tp))
    kind = next(kind for scalar, kind in SCALAR_KINDS.items() if issubclass(tp, scalar))
    actual = json_kind(value)
    if actual != kind and not (kind == "number" and actual == "integer"):
        raise mismatch(KIND_TEXT[kind], value)
    return value if type(value) is tp else cast(Callable[[Any], Any], tp)(value)


def _structure_none(value: Any, _: Any) -> None:
    if value is not None:
        raise mismatch("null", value)


def _structure_literal(value: Any, tp: Any) -> Any:
    values = list(get_args(tp))
    return _structure_choice(value, values, values)


def _structure_choice(value: Any, values: list[Any], results: list[Any]) -> Any:
    kind = json_kind(value)
    for candidate, result in zip(values, results, strict=True):
        if json_kind(candidate) == kind and candidate == value:
            return result
    raise mismatch(one_of(values), value)


def _union_hook(tp: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """Tries the members that can take the value's JSON kind, exact kinds first (an int before a
    float for 3), so that the errors reported are those of a member the model could have meant."""
    members = get_args(tp)
    kinds = {member: _schema_kinds(member) for member in members}
    expected_text = expected(tp)

    def structure(value: Any, _: Any) -> Any:
        kind = json_kind(value)
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
        reports = [problems_of(error) for error in errors]
        nested = [report for report in reports if any(path for path, _ in report)]
        if nested:
            raise _Invalid(min(nested, key=len))
        raise mismatch(expected_text, value)

    return structure


def _annotated_hook(tp: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    bare = split_annotated(tp)[0]
    return lambda value, _: converter.structure(value, bare)


def _array_hook(tp: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    origin = get_origin(tp) or tp
    args = get_args(tp)
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        return _fixed_tuple_hook(args, converter)
    item = args[0] if args else Any
    build = tuple if origin is tuple else ARRAYS[origin]

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            raise mismatch("an array", value)
        return build(_structure_items(converter, value, itertools.repeat(item)))

    return structure


def _fixed_tuple_hook(
    args: tuple[Any, ...], converter: cattrs.Converter
) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            raise mismatch(f"an array of {len(args)} items", value)
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
    problems: list[tuple[Path, str]] = []
    for index, (value, tp) in enumerate(zip(values, types_, strict=False)):
        try:
            items.append(converter.structure(value, tp))
        except Exception as exc:
            problems.extend(problems_of(exc, (index,)))
    if problems:
        raise _Invalid(problems)
    return items


def _mapping_hook(tp: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    args = get_args(tp)
    value_type = args[1] if args else Any

    def structure(value: Any, _: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise mismatch("an object", value)
        result: dict[str, Any] = {}
        problems: list[tuple[Path, str]] = []
        for key, item in value.items():
            try:
                result[key] = converter.structure(item, value_type)
            except Exception as exc:
                problems.extend(problems_of(exc, (key,)))
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
    fields = record_fields(cls)
    if is_typeddict(cls):
        return _typeddict_hook(cls, fields, converter, strict=strict)
    import cattrs.gen

    inner = cattrs.gen.make_dict_structure_fn(
        cls, converter, _cattrs_forbid_extra_keys=True, _cattrs_detailed_validation=True
    )
    optional = frozenset(field.name for field in fields if strict and not field.required)

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, Mapping):
            raise mismatch("an object", value)
        if optional:
            value = {k: v for k, v in value.items() if v is not None or k not in optional}
        return inner(value, cls)

    return structure


def _typeddict_hook(
    cls: Any, fields: list[RecordField], converter: cattrs.Converter, *, strict: bool
) -> Callable[[Any, Any], Any]:
    """Our own TypedDict structuring: cattrs reads required keys from ``__required_keys__``,
    which is wrong for ``NotRequired`` under ``from __future__ import annotations``."""
    names = {field.name for field in fields}

    def structure(value: Any, _: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise mismatch("an object", value)
        result: dict[str, Any] = {}
        problems: list[tuple[Path, str]] = []
        for field in fields:
            given = value.get(field.name)
            if field.name not in value or (strict and given is None and not field.required):
                if field.required:
                    problems.append(((field.name,), "missing required field"))
                continue
            try:
                result[field.name] = converter.structure(given, field.type)
            except Exception as exc:
                problems.extend(problems_of(exc, (field.name,)))
        problems.extend(((key,), "unknown field") for key in value if key not in names)
        if problems:
            raise _Invalid(problems)
        return result

    return structure


def _schema_kinds(tp: Any) -> frozenset[str] | None:
    """The JSON kinds ``tp`` can be structured from; None for any."""
    try:
        schema = SchemaBuilder(strict=False).describe(tp)
    except Unsupported:
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


# --- problems -------------------------------------------------------------------------------------


def problems_of(exc: BaseException, path: Path = ()) -> list[tuple[Path, str]]:
    """The ``(path, message)`` problems of an exception the converter raised, each path starting
    with ``path``."""
    from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

    if isinstance(exc, _Invalid):
        return [(path + sub, message) for sub, message in exc.problems]
    if isinstance(exc, (ClassValidationError, IterableValidationError)):
        problems: list[tuple[Path, str]] = []
        if isinstance(exc, ClassValidationError):
            fields, others = exc.group_exceptions()
            for sub, field_note in fields:
                problems.extend(problems_of(sub, (*path, field_note.name)))
        else:
            items, others = exc.group_exceptions()
            for sub, item_note in items:
                problems.extend(problems_of(sub, (*path, item_note.index)))
        for sub in others:
            problems.extend(problems_of(sub, path))
        return problems
    if isinstance(exc, ForbiddenExtraKeysError):
        return [((*path, key), "unknown field") for key in sorted(exc.extra_fields)]
    if isinstance(exc, KeyError):
        # cattrs' generated structure functions raise KeyError for a missing required key.
        return [(path, "missing required field")]
    return [(path, str(exc) or type(exc).__name__)]


def render_path(path: Path) -> str:
    """A path as messages write it: ``stops[1].town``, ``tags["a b"]``."""
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
