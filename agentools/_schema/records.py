"""The fields of a record: an attrs class, a dataclass or a TypedDict, as a JSON object holds it.

Describing a record, structuring one and turning a streaming tool's argument class into
parameters all ask the same questions: which keys, of which types, which of them required, with
which default. They are answered here once, so the three cannot disagree (on a TypedDict's
``NotRequired`` under ``from __future__ import annotations``, say, or a default factory).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Annotated, Any, TypeGuard, cast, get_args, get_origin

import attrs
from typing_extensions import NotRequired, Required, get_type_hints, is_typeddict

__all__ = ["ABSENT", "MISSING", "Missing", "RecordField", "is_record", "record_fields"]

# attrs' stubs declare Factory as a function returning the default's type; it is a class.
_ATTRS_FACTORY = cast(type, type(attrs.Factory(list)))


class Missing(enum.Enum):
    """Defaults a schema cannot show: none, or not a plain value (an attrs ``Factory``, a default
    factory), or, for a TypedDict key, leaving the key out."""

    MISSING = "MISSING"
    ABSENT = "ABSENT"


MISSING = Missing.MISSING
ABSENT = Missing.ABSENT


@attrs.frozen
class RecordField:
    """One key of a record's JSON object, named as cattrs reads it (by attribute name).

    ``default`` is the value a left-out key gets, or ``MISSING`` (no default, or one that is not a
    plain value) or ``ABSENT`` (a TypedDict key that may be left out).
    """

    name: str
    type: Any
    required: bool
    default: Any


def is_record(tp: Any) -> TypeGuard[type]:
    """Is ``tp`` a class whose values are JSON objects with named fields?"""
    return isinstance(tp, type) and (
        attrs.has(tp) or dataclasses.is_dataclass(tp) or is_typeddict(tp)
    )


def record_fields(cls: type) -> list[RecordField]:
    """The fields a JSON object for ``cls`` has, with their resolved annotations (``Annotated``
    kept, TypedDict's ``Required``/``NotRequired`` taken off); ``NameError`` if one does not
    resolve."""
    hints = get_type_hints(cls, include_extras=True)
    if attrs.has(cls):
        if any(isinstance(a.type, str) for a in attrs.fields(cls)):
            # cattrs structures by the types on the attrs fields, strings until resolved.
            attrs.resolve_types(cls)
        return [
            RecordField(
                a.name,
                hints.get(a.name, a.type),
                a.default is attrs.NOTHING,
                MISSING
                if a.default is attrs.NOTHING or isinstance(a.default, _ATTRS_FACTORY)
                else a.default,
            )
            for a in attrs.fields(cls)
            if a.init
        ]
    if dataclasses.is_dataclass(cls):
        return [
            RecordField(
                f.name,
                hints.get(f.name, f.type),
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
                MISSING if f.default is dataclasses.MISSING else f.default,
            )
            for f in dataclasses.fields(cls)
            if f.init
        ]
    return [
        RecordField(key, _strip_qualifiers(tp), _typeddict_key_required(cls, key, tp), ABSENT)
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
