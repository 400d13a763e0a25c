"""Tests for agentools._schema: function -> tool schema, model arguments -> typed arguments."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import inspect
import itertools
import json
import operator
import pickle
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal, NewType, Optional, Union, get_args, get_origin

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typing_extensions import NotRequired, TypedDict, is_typeddict

from agentools import AgentoolsError
from agentools._schema import (
    ArgumentsError,
    ContextParameter,
    SchemaError,
    Signature,
    encode_result,
    make_converter,
    signature_of,
)

# --- types used across the tests ------------------------------------------------------------------


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mixed(enum.Enum):
    ONE = 1
    TWO = "two"


class Ratio(enum.Enum):
    HALF = 0.5


UserId = NewType("UserId", int)


@attrs.frozen
class Location:
    """A place on Earth.

    Attributes:
        city: The city name.
    """

    city: str
    country: str = "NL"


@attrs.frozen
class Trip:
    origin: Location
    stops: list[Location] = attrs.Factory(list)


@dataclasses.dataclass
class Window:
    start: int
    end: Annotated[int, "Exclusive end"] = 10


class Options(TypedDict, total=False):
    verbose: bool
    depth: int


class Query(TypedDict):
    text: str
    limit: NotRequired[int]


@attrs.frozen
class Node:
    value: int
    children: list[Node] = attrs.Factory(list)


@attrs.frozen
class Even:
    odd: Odd | None = None


@attrs.frozen
class Odd:
    even: Even | None = None


@attrs.frozen
class HasTimestamp:
    when: dt.datetime


@attrs.frozen
class Tree:
    children: list[Annotated[Tree, "A subtree"]]


T = typing.TypeVar("T")


class RunContext(ContextParameter, typing.Generic[T]):
    pass


class NotAContext(typing.Generic[T]):
    pass


class Ctx(ContextParameter):
    pass


class SubCtx(Ctx):
    pass


def make_tool(annotations: Mapping[str, Any]) -> Any:
    """A function with these parameters, built at run time as a decorator would see it."""

    def tool(*args: Any, **kwargs: Any) -> Any:
        return args, kwargs

    tool.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation)
            for name, annotation in annotations.items()
        ]
    )
    tool.__annotations__ = dict(annotations)
    return tool


def one(annotation: Any) -> Any:
    """A function with one parameter ``x`` of the given annotation."""
    return make_tool({"x": annotation})


def schema_of(annotation: Any, *, strict: bool = False) -> dict[str, Any]:
    return signature_of(one(annotation), strict=strict).parameters["properties"]["x"]


def structure_one(annotation: Any, value: Any, *, strict: bool = False) -> Any:
    _, kwargs = signature_of(one(annotation), strict=strict).structure({"x": value})
    return kwargs["x"]


def error_of(annotation: Any, arguments: Mapping[str, Any], *, strict: bool = False) -> str:
    with pytest.raises(ArgumentsError) as info:
        signature_of(one(annotation), strict=strict).structure(arguments)
    return str(info.value)


# --- a hand-written check of the JSON Schema subset we emit ---------------------------------------

_TYPE_NAMES = {"null", "boolean", "integer", "number", "string", "array", "object"}
_KEYWORDS = {
    "type",
    "description",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "prefixItems",
    "minItems",
    "maxItems",
    "uniqueItems",
    "enum",
    "anyOf",
    "$ref",
    "default",
}
_NOT_IN_STRICT = {"default", "prefixItems", "uniqueItems"}


def assert_well_formed(parameters: dict[str, Any], *, strict: bool) -> None:
    """The schema is JSON, uses only the keywords we mean to emit, and (strict) fits OpenAI's
    strict-mode rules: closed objects with every property required, no $ref siblings."""
    json.dumps(parameters)
    assert parameters["type"] == "object"
    assert "anyOf" not in parameters
    defs = parameters.get("$defs", {})
    root = {key: value for key, value in parameters.items() if key != "$defs"}
    for subschema in [root, *defs.values()]:
        _check(subschema, defs, strict)


def _check(schema: Any, defs: dict[str, Any], strict: bool) -> None:
    assert isinstance(schema, dict)
    assert set(schema) <= _KEYWORDS, set(schema) - _KEYWORDS
    if strict:
        assert not set(schema) & _NOT_IN_STRICT
        assert schema != {}, "strict mode needs a type for every value"
    if "$ref" in schema:
        assert set(schema) == {"$ref"}
        assert schema["$ref"].removeprefix("#/$defs/") in defs
        return
    kinds = schema.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else kinds
    assert set(kinds) <= _TYPE_NAMES
    if "enum" in schema:
        assert schema["enum"]
        assert all(_kind(value) in kinds for value in schema["enum"])
    for option in schema.get("anyOf", []):
        _check(option, defs, strict)
    if "object" in kinds:
        properties = schema.get("properties", {})
        assert set(schema.get("required", [])) <= set(properties)
        for subschema in properties.values():
            _check(subschema, defs, strict)
        extra = schema.get("additionalProperties", False)
        if strict:
            assert schema["required"] == list(properties)
            assert extra is False
        elif extra is not False:
            _check(extra, defs, strict)
    if "array" in kinds:
        if strict:
            assert "items" in schema
        for subschema in [schema.get("items", {}), *schema.get("prefixItems", [])]:
            _check(subschema, defs, strict)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    kinds = {int: "integer", float: "number", str: "string", list: "array", dict: "object"}
    return kinds[type(value)]


# --- schemas of each supported type ---------------------------------------------------------------

ENUM_UNIT = {"type": "string", "enum": ["celsius", "fahrenheit"]}
LOCATION = {
    "type": "object",
    "description": "A place on Earth.",
    "properties": {
        "city": {"type": "string", "description": "The city name."},
        "country": {"type": "string", "default": "NL"},
    },
    "required": ["city"],
    "additionalProperties": False,
}
STRICT_LOCATION = {
    "type": "object",
    "description": "A place on Earth.",
    "properties": {
        "city": {"type": "string", "description": "The city name."},
        "country": {
            "type": ["string", "null"],
            "description": 'Optional; null means the default ("NL").',
        },
    },
    "required": ["city", "country"],
    "additionalProperties": False,
}

# A nullable object keeps its description beside the anyOf.
OPTIONAL_LOCATION = {
    "anyOf": [{k: v for k, v in LOCATION.items() if k != "description"}, {"type": "null"}],
    "description": "A place on Earth.",
}
STRICT_OPTIONAL_LOCATION = {
    "anyOf": [{k: v for k, v in STRICT_LOCATION.items() if k != "description"}, {"type": "null"}],
    "description": "A place on Earth.",
}

SCHEMAS: list[tuple[Any, dict[str, Any], dict[str, Any] | None]] = [
    # annotation, schema, strict schema (None: same as the schema)
    (str, {"type": "string"}, None),
    (int, {"type": "integer"}, None),
    (float, {"type": "number"}, None),
    (bool, {"type": "boolean"}, None),
    (None, {"type": "null"}, None),
    (type(None), {"type": "null"}, None),
    (UserId, {"type": "integer"}, None),
    (Optional[int], {"type": ["integer", "null"]}, None),  # noqa: UP045
    (int | None, {"type": ["integer", "null"]}, None),
    (Union[int, str], {"type": ["integer", "string"]}, None),  # noqa: UP007
    (int | str | None, {"type": ["integer", "string", "null"]}, None),
    (
        int | list[str],
        {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "string"}}]},
        None,
    ),
    (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}, None),
    (Literal[1, 2], {"type": "integer", "enum": [1, 2]}, None),
    (Literal[True], {"type": "boolean", "enum": [True]}, None),
    (Literal["a", None], {"type": ["string", "null"], "enum": ["a", None]}, None),
    (Literal["a", 1], {"type": ["string", "integer"], "enum": ["a", 1]}, None),
    (Literal["a"] | None, {"type": ["string", "null"], "enum": ["a", None]}, None),
    (Unit, ENUM_UNIT, None),
    (Level, {"type": "integer", "enum": [1, 2]}, None),
    (Mixed, {"type": ["integer", "string"], "enum": [1, "two"]}, None),
    (list[int], {"type": "array", "items": {"type": "integer"}}, None),
    (typing.List[int], {"type": "array", "items": {"type": "integer"}}, None),  # noqa: UP006
    (Sequence[str], {"type": "array", "items": {"type": "string"}}, None),
    (tuple[int, ...], {"type": "array", "items": {"type": "integer"}}, None),
    (
        set[str],
        {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        {"type": "array", "items": {"type": "string"}},
    ),
    (
        frozenset[Unit],
        {"type": "array", "items": ENUM_UNIT, "uniqueItems": True},
        {"type": "array", "items": ENUM_UNIT},
    ),
    (Location, LOCATION, STRICT_LOCATION),
    (Location | None, OPTIONAL_LOCATION, STRICT_OPTIONAL_LOCATION),
    (
        list[Location | None],
        {"type": "array", "items": OPTIONAL_LOCATION},
        {"type": "array", "items": STRICT_OPTIONAL_LOCATION},
    ),
    (
        Window,
        {
            "type": "object",
            "properties": {
                "start": {"type": "integer"},
                "end": {"type": "integer", "default": 10, "description": "Exclusive end"},
            },
            "required": ["start"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {
                "start": {"type": "integer"},
                "end": {
                    "type": ["integer", "null"],
                    "description": "Exclusive end. Optional; null means the default (10).",
                },
            },
            "required": ["start", "end"],
            "additionalProperties": False,
        },
    ),
    (
        Query,
        {
            "type": "object",
            "properties": {"text": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["text"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {
                "text": {"type": "string"},
                "limit": {
                    "type": ["integer", "null"],
                    "description": "Optional; null leaves it out.",
                },
            },
            "required": ["text", "limit"],
            "additionalProperties": False,
        },
    ),
    (Annotated[int, "How many"], {"type": "integer", "description": "How many"}, None),
    (
        list[Annotated[str, "A tag"]],
        {"type": "array", "items": {"type": "string", "description": "A tag"}},
        None,
    ),
]


@pytest.mark.parametrize(("annotation", "expected", "strict_expected"), SCHEMAS)
def test_schema_of_each_supported_type(
    annotation: Any, expected: dict[str, Any], strict_expected: dict[str, Any] | None
) -> None:
    assert schema_of(annotation) == expected
    assert schema_of(annotation, strict=True) == (strict_expected or expected)


@pytest.mark.parametrize(("annotation", "expected", "strict_expected"), SCHEMAS)
def test_every_schema_is_well_formed(
    annotation: Any, expected: dict[str, Any], strict_expected: dict[str, Any] | None
) -> None:
    for strict in (False, True):
        assert_well_formed(signature_of(one(annotation), strict=strict).parameters, strict=strict)


NOT_STRICT: list[tuple[Any, dict[str, Any], str]] = [
    # annotation, schema without strict, what the strict-mode SchemaError says
    (Any, {}, "strict mode needs a type for every value"),
    (list[Any], {"type": "array", "items": {}}, "strict mode needs a type"),
    (list, {"type": "array", "items": {}}, "strict mode needs a type"),
    (
        dict[str, int],
        {"type": "object", "additionalProperties": {"type": "integer"}},
        "free-form keys",
    ),
    (dict, {"type": "object", "additionalProperties": {}}, "free-form keys"),
    (
        tuple[int, str],
        {
            "type": "array",
            "prefixItems": [{"type": "integer"}, {"type": "string"}],
            "minItems": 2,
            "maxItems": 2,
        },
        "prefixItems",
    ),
    (
        Mapping[str, list[int]],
        {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "integer"}}},
        "free-form keys",
    ),
]


@pytest.mark.parametrize(("annotation", "expected", "strict_error"), NOT_STRICT)
def test_types_strict_mode_cannot_express(
    annotation: Any, expected: dict[str, Any], strict_error: str
) -> None:
    assert schema_of(annotation) == expected
    assert_well_formed(signature_of(one(annotation)).parameters, strict=False)
    with pytest.raises(SchemaError, match="parameter 'x'") as info:
        signature_of(one(annotation), strict=True)
    assert strict_error in str(info.value)


UNSUPPORTED: list[tuple[Any, str]] = [
    (dt.datetime, "cannot describe type <class 'datetime.datetime'> in a JSON schema"),
    (Decimal, "cannot describe type <class 'decimal.Decimal'>"),
    (bytes, "cannot describe type <class 'bytes'>"),
    (dict[int, str], "JSON object keys are strings"),
    (Ratio, "enum values must be strings or integers"),
    (Literal[1.5], "Literal values must be str, int, bool or None"),
    (Literal[Unit.CELSIUS], "Literal values must be str, int, bool or None"),
    (tuple[()], "an empty tuple"),
    (HasTimestamp, "datetime.datetime'> in a JSON schema (in field HasTimestamp.when)"),
    (list[HasTimestamp], "(in field HasTimestamp.when)"),
]


@pytest.mark.parametrize(("annotation", "message"), UNSUPPORTED)
def test_unsupported_types_raise_schema_error_naming_the_parameter(
    annotation: Any, message: str
) -> None:
    for strict in (False, True):
        with pytest.raises(SchemaError) as info:
            signature_of(one(annotation), strict=strict)
        assert str(info.value).startswith("tool(): parameter 'x': ")
        assert message in str(info.value)


def test_schema_error_message_names_function_parameter_and_type() -> None:
    def get_weather(when: dt.datetime) -> str:
        return ""

    with pytest.raises(SchemaError) as info:
        signature_of(get_weather)
    assert str(info.value) == (
        "get_weather(): parameter 'when': cannot describe type <class 'datetime.datetime'> "
        "in a JSON schema"
    )
    assert isinstance(info.value, TypeError)


def test_parameters_that_cannot_be_described() -> None:
    def unannotated(a: int, b):  # type: ignore[no-untyped-def]
        pass

    def star_args(*names: str) -> None:
        pass

    def star_kwargs(**options: int) -> None:
        pass

    def forward(a: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
        pass

    with pytest.raises(SchemaError, match=r"unannotated\(\): parameter 'b' has no type annotation"):
        signature_of(unannotated)
    with pytest.raises(SchemaError, match=r"star_args\(\): parameter 'names': \*args and \*\*kw"):
        signature_of(star_args)
    with pytest.raises(SchemaError, match=r"star_kwargs\(\): parameter 'options'"):
        signature_of(star_kwargs)
    with pytest.raises(SchemaError, match=r"forward\(\): cannot resolve its annotations"):
        signature_of(forward)


def test_tool_names() -> None:
    assert signature_of(one(int)).name == "tool"
    assert signature_of(one(int), name="other-name_2").name == "other-name_2"
    with pytest.raises(SchemaError, match="tool name '<lambda>' must be"):
        signature_of(lambda: None)
    with pytest.raises(SchemaError, match="tool name 'has space'"):
        signature_of(one(int), name="has space")
    with pytest.raises(SchemaError):
        signature_of(one(int), name="x" * 65)


def test_top_level_schema_and_to_openai() -> None:
    def search(query: str, limit: int = 10) -> list[str]:
        """Search the index."""
        return []

    signature = signature_of(search)
    assert signature.parameters == {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "limit": {"type": "integer", "default": 10},
        },
        "required": ["query"],
        "additionalProperties": False,
    }
    assert signature.to_openai() == {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Search the index.",
            "parameters": signature.parameters,
        },
    }
    strict = signature_of(search, strict=True).to_openai()
    assert strict["function"]["strict"] is True
    assert strict["function"]["parameters"]["required"] == ["query", "limit"]
    assert strict["function"]["parameters"]["properties"]["limit"] == {
        "type": ["integer", "null"],
        "description": "Optional; null means the default (10).",
    }
    strict["function"]["parameters"]["properties"].clear()
    assert signature_of(search, strict=True).parameters["properties"], "to_openai() copies"


def test_no_parameters() -> None:
    def ping() -> str:
        return "pong"

    for strict in (False, True):
        signature = signature_of(ping, strict=strict)
        assert signature.parameters == {
            "type": "object",
            "properties": {},
            "required": [],
            "additionalProperties": False,
        }
        assert signature.description == ""
        assert signature.structure({}) == ((), {})


def test_defaults_in_schema() -> None:
    sentinel = object()

    def f(
        a: Unit = Unit.FAHRENHEIT,
        b: Location = Location("Paris", "FR"),
        c: tuple[int, ...] = (1, 2),
        d: set[int] = frozenset({3}),  # type: ignore[assignment]
        e: int | None = None,
        f: Any = sentinel,
        g: float = float("nan"),
    ) -> None:
        pass

    properties = signature_of(f).parameters["properties"]
    assert properties["a"]["default"] == "fahrenheit"
    assert properties["b"]["default"] == {"city": "Paris", "country": "FR"}
    assert properties["c"]["default"] == [1, 2]
    assert properties["d"]["default"] == [3]
    assert properties["e"] == {"type": ["integer", "null"], "default": None}
    assert properties["f"] == {}, "a default JSON cannot hold is left out"
    assert properties["g"] == {"type": "number"}, "NaN is not JSON"


# --- descriptions ---------------------------------------------------------------------------------


def google(city: str, days: int = 1) -> str:
    """Get the weather forecast.

    Looks the city up first.

    Args:
        city: The city to look up,
            e.g. "Paris".
        days (int): How many days ahead.

    Returns:
        The forecast.
    """
    return ""


def numpy(city: str, days: int = 1) -> str:
    """Get the weather forecast.

    Looks the city up first.

    Parameters
    ----------
    city : str
        The city to look up,
        e.g. "Paris".
    days : int
        How many days ahead.

    Returns
    -------
    str
        The forecast.
    """
    return ""


def rest(city: str, days: int = 1) -> str:
    """Get the weather forecast.

    Looks the city up first.

    :param city: The city to look up,
        e.g. "Paris".
    :param int days: How many days ahead.
    :returns: The forecast.
    """
    return ""


@pytest.mark.parametrize("func", [google, numpy, rest])
def test_docstring_styles(func: Any) -> None:
    signature = signature_of(func)
    assert signature.description == "Get the weather forecast.\n\nLooks the city up first."
    properties = signature.parameters["properties"]
    assert properties["city"]["description"] == 'The city to look up,\ne.g. "Paris".'
    assert properties["days"]["description"] == "How many days ahead."


def test_annotated_description_wins_over_docstring() -> None:
    def f(city: Annotated[str, "From Annotated"], days: Annotated[int, 42] = 1) -> None:
        """Do it.

        Args:
            city: From the docstring.
            days: Days from the docstring
        """

    properties = signature_of(f).parameters["properties"]
    assert properties["city"]["description"] == "From Annotated"
    assert properties["days"]["description"] == "Days from the docstring", "no str metadata"


def test_description_and_name_overrides() -> None:
    signature = signature_of(google, name="forecast", description="Custom.")
    assert (signature.name, signature.description) == ("forecast", "Custom.")
    assert signature_of(google, description="").description == ""


def test_plain_docstring_is_the_description() -> None:
    def f(x: int) -> None:
        """Just one line, no sections."""

    assert signature_of(f).description == "Just one line, no sections."


def test_class_docstrings_describe_objects_and_fields() -> None:
    assert schema_of(Location)["description"] == "A place on Earth."
    assert schema_of(Location)["properties"]["city"]["description"] == "The city name."
    assert "description" not in schema_of(Window), "dataclasses' invented docstring is ignored"
    annotated = schema_of(Annotated[Location, "Where to go"])
    assert annotated["description"] == "Where to go"


# --- callables ------------------------------------------------------------------------------------


class Service:
    def lookup(self, key: str, n: int = 1) -> str:
        """Look a key up."""
        return key * n

    @classmethod
    def build(cls, size: int) -> int:
        return size

    @staticmethod
    def convert(value: float) -> float:
        return value

    def __call__(self, flag: bool) -> bool:
        """Flip a flag."""
        return not flag


async def fetch(url: str, retries: int = 3) -> str:
    """Fetch a page."""
    return url


def combine(a: int, b: str, *, c: float = 1.0) -> str:
    return f"{a}{b}{c}"


def test_methods_have_no_self_or_cls() -> None:
    service = Service()
    lookup = signature_of(service.lookup)
    assert lookup.name == "lookup"
    assert lookup.description == "Look a key up."
    assert list(lookup.parameters["properties"]) == ["key", "n"]
    args, kwargs = lookup.structure({"key": "ab", "n": 2})
    assert service.lookup(*args, **kwargs) == "abab"
    assert list(signature_of(Service.build).parameters["properties"]) == ["size"]
    assert list(signature_of(Service.convert).parameters["properties"]) == ["value"]
    called = signature_of(service)
    assert (called.name, called.description) == ("Service", "Flip a flag.")
    assert list(called.parameters["properties"]) == ["flag"]


def test_async_functions() -> None:
    import asyncio

    signature = signature_of(fetch)
    assert (signature.name, signature.description) == ("fetch", "Fetch a page.")
    args, kwargs = signature.structure({"url": "u"})
    assert asyncio.run(fetch(*args, **kwargs)) == "u"
    assert kwargs == {"url": "u", "retries": 3}


def test_partials_hide_bound_arguments() -> None:
    positional = signature_of(functools.partial(combine, 1))
    assert positional.name == "combine"
    assert list(positional.parameters["properties"]) == ["b", "c"]
    keyword = functools.partial(combine, b="x", c=2.0)
    signature = signature_of(keyword)
    assert list(signature.parameters["properties"]) == ["a"]
    args, kwargs = signature.structure({"a": 5})
    assert keyword(*args, **kwargs) == "5x2.0"
    with pytest.raises(ArgumentsError, match="argument 'b': unknown argument"):
        signature.structure({"a": 5, "b": "y"})


def test_positional_only_parameters_are_passed_positionally() -> None:
    def f(a: int, /, b: int, *, c: int = 3) -> tuple[int, int, int]:
        return a, b, c

    signature = signature_of(f)
    args, kwargs = signature.structure({"a": 1, "b": 2})
    assert (args, kwargs) == ((1,), {"b": 2, "c": 3})
    assert f(*args, **kwargs) == (1, 2, 3)


def test_string_annotations_are_resolved() -> None:
    namespace: dict[str, Any] = {"Location": Location}
    exec(
        "from __future__ import annotations\n"
        "def f(place: Location, n: int | None = None) -> None: pass\n",
        namespace,
    )
    properties = signature_of(namespace["f"]).parameters["properties"]
    assert properties["place"] == LOCATION
    assert properties["n"] == {"type": ["integer", "null"], "default": None}


# --- context parameters ---------------------------------------------------------------------------


def test_context_parameters_are_left_out_and_injected() -> None:
    def f(ctx: SubCtx, /, city: str, deps: Annotated[Ctx, "meta"], days: int = 1) -> None:
        pass

    signature = signature_of(f)
    assert signature.context_parameters == ("ctx", "deps")
    assert list(signature.parameters["properties"]) == ["city", "days"]
    context = SubCtx()
    args, kwargs = signature.structure({"city": "Oslo"}, context=context)
    assert args == (context,)
    assert kwargs == {"city": "Oslo", "deps": context, "days": 1}
    with pytest.raises(ArgumentsError, match="argument 'ctx': unknown argument"):
        signature.structure({"city": "Oslo", "ctx": 1})


def test_generic_context_types_match_their_origin() -> None:
    def f(ctx: RunContext[int], x: int) -> None:
        pass

    def g(ctx: NotAContext[int], x: int) -> None:
        pass

    assert signature_of(f).context_parameters == ("ctx",)
    with pytest.raises(SchemaError, match="parameter 'ctx'"):
        signature_of(g)


# --- recursion ------------------------------------------------------------------------------------


def test_recursive_classes_use_defs() -> None:
    for strict in (False, True):
        parameters = signature_of(one(Node), strict=strict).parameters
        assert_well_formed(parameters, strict=strict)
        node = parameters["$defs"]["Node"]
        assert parameters["properties"]["x"] == node
        children = node["properties"]["children"]
        if strict:
            children = children["anyOf"][0]
        assert children["items"] == {"$ref": "#/$defs/Node"}
    value = structure_one(
        Node, {"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]}
    )
    assert value == Node(1, [Node(2, [Node(3)])])


def test_mutually_recursive_classes() -> None:
    parameters = signature_of(one(Even), strict=True).parameters
    assert_well_formed(parameters, strict=True)
    assert set(parameters["$defs"]) == {"Even"}
    assert structure_one(Even, {"odd": {"even": {"odd": None}}}) == Even(Odd(Even()))


def test_defs_names_do_not_collide(monkeypatch: pytest.MonkeyPatch) -> None:
    def make(module_name: str) -> type:
        module = types.ModuleType(module_name)
        monkeypatch.setitem(sys.modules, module_name, module)
        exec(
            "from __future__ import annotations\n"
            "import attrs\n"
            "@attrs.frozen\n"
            "class Link:\n"
            "    next: Link | None = None\n",
            module.__dict__,
        )
        return typing.cast(type, module.Link)

    first, second = make("links_one"), make("links_two")
    parameters = signature_of(make_tool({"a": first, "b": second})).parameters
    assert_well_formed(parameters, strict=False)
    assert set(parameters["$defs"]) == {"Link", "Link2"}
    assert parameters["properties"]["a"] == parameters["$defs"]["Link"]
    assert parameters["properties"]["b"] == parameters["$defs"]["Link2"]


def test_description_beside_a_ref_moves_into_anyof() -> None:
    parameters = signature_of(one(Tree), strict=True).parameters
    assert_well_formed(parameters, strict=True)
    items = parameters["$defs"]["Tree"]["properties"]["children"]["items"]
    assert items == {"anyOf": [{"$ref": "#/$defs/Tree"}], "description": "A subtree"}


# --- structuring ----------------------------------------------------------------------------------

STRUCTURED: list[tuple[Any, Any, Any]] = [
    # annotation, JSON value, structured value
    (str, "hi", "hi"),
    (int, 3, 3),
    (float, 3, 3.0),
    (float, 2.5, 2.5),
    (bool, False, False),
    (None, None, None),
    (Any, {"a": [1]}, {"a": [1]}),
    (UserId, 7, 7),
    (Optional[int], None, None),  # noqa: UP045
    (int | None, 4, 4),
    (Union[int, str], "x", "x"),  # noqa: UP007
    (float | int, 3, 3),
    (int | list[str], ["a"], ["a"]),
    (Literal["a", "b"], "b", "b"),
    (Literal[1, True], True, True),
    (Literal[1, True], 1, 1),
    (Unit, "celsius", Unit.CELSIUS),
    (Level, 2, Level.HIGH),
    (Mixed, "two", Mixed.TWO),
    (list[int], [1, 2], [1, 2]),
    (Sequence[str], ["a"], ["a"]),
    (tuple[int, ...], [1, 2], (1, 2)),
    (tuple[int, str], [1, "a"], (1, "a")),
    (set[str], ["a", "a", "b"], {"a", "b"}),
    (frozenset[Level], [1], frozenset({Level.LOW})),
    (dict[str, Unit], {"k": "celsius"}, {"k": Unit.CELSIUS}),
    (Location, {"city": "Oslo"}, Location("Oslo")),
    (
        Trip,
        {"origin": {"city": "A"}, "stops": [{"city": "B", "country": "SE"}]},
        Trip(Location("A"), [Location("B", "SE")]),
    ),
    (Window, {"start": 1}, Window(1)),
    (Options, {"depth": 2}, {"depth": 2}),
    (Query, {"text": "q", "limit": 5}, {"text": "q", "limit": 5}),
    (list[Location | None], [None, {"city": "C"}], [None, Location("C")]),
    (Location | Window, {"start": 2}, Window(2)),
    (Annotated[list[Annotated[int, "n"]], "ns"], [1], [1]),
    (list[Annotated[Query, "q"]], [{"text": "t"}], [{"text": "t"}]),
    (Annotated[Location, "l"] | None, {"city": "c"}, Location("c")),
]


@pytest.mark.parametrize(("annotation", "data", "expected"), STRUCTURED)
def test_structure_each_type(annotation: Any, data: Any, expected: Any) -> None:
    for strict in (False, True):
        if strict and annotation in (Any, dict[str, Unit], tuple[int, str]):
            continue
        value = structure_one(annotation, data, strict=strict)
        assert value == expected
        assert type(value) is type(expected)


def test_structure_keeps_union_member_types() -> None:
    assert type(structure_one(float | int, 3)) is int
    assert type(structure_one(float | int, 3.5)) is float
    assert type(structure_one(float, 3)) is float


ERRORS: list[tuple[Any, Any, str]] = [
    # annotation, JSON value of x, the message
    (int, "three", "argument 'x': expected an integer, got 'three'"),
    (int, "3", "argument 'x': expected an integer, got '3'"),
    (int, True, "argument 'x': expected an integer, got true"),
    (int, 3.0, "argument 'x': expected an integer, got 3.0"),
    (int, None, "argument 'x': expected an integer, got null"),
    (float, "1.5", "argument 'x': expected a number, got '1.5'"),
    (str, 5, "argument 'x': expected a string, got 5"),
    (str, ["a"], "argument 'x': expected a string, got an array"),
    (bool, 1, "argument 'x': expected a boolean, got 1"),
    (None, 0, "argument 'x': expected null, got 0"),
    (Unit, "kelvin", "argument 'x': expected one of 'celsius', 'fahrenheit', got 'kelvin'"),
    (Level, True, "argument 'x': expected one of 1, 2, got true"),
    (Level, 3, "argument 'x': expected one of 1, 2, got 3"),
    (Literal["a", "b"], "c", "argument 'x': expected one of 'a', 'b', got 'c'"),
    (Literal[1], True, "argument 'x': expected one of 1, got true"),
    (list[int], "abc", "argument 'x': expected an array, got 'abc'"),
    (
        list[int],
        [1, "2", 3, None],
        "argument 'x[1]': expected an integer, got '2'\n"
        "argument 'x[3]': expected an integer, got null",
    ),
    (tuple[int, str], [1], "argument 'x': expected an array of 2 items, got 1 items"),
    (tuple[int, str], [1, 2], "argument 'x[1]': expected a string, got 2"),
    (set[int], {"a": 1}, "argument 'x': expected an array, got an object"),
    (dict[str, int], [], "argument 'x': expected an object, got an array"),
    (dict[str, int], {"a b": "1"}, "argument 'x[\"a b\"]': expected an integer, got '1'"),
    (Location, "Oslo", "argument 'x': expected an object, got 'Oslo'"),
    (Location, {}, "argument 'x.city': missing required field"),
    (Location, {"city": "A", "zip": 1}, "argument 'x.zip': unknown field"),
    (Trip, {"origin": {"city": 1}}, "argument 'x.origin.city': expected a string, got 1"),
    (
        Trip,
        {"origin": {"city": "A"}, "stops": [{"city": "B"}, {"town": "C"}]},
        "argument 'x.stops[1].city': missing required field\n"
        "argument 'x.stops[1].town': unknown field",
    ),
    (Window, {"start": 1, "end": "2"}, "argument 'x.end': expected an integer, got '2'"),
    (Query, {"limit": 1}, "argument 'x.text': missing required field"),
    (Options, {"depth": 1, "colour": "red"}, "argument 'x.colour': unknown field"),
    (int | str, [], "argument 'x': expected an integer or a string, got an array"),
    (int | Location, {"city": 2}, "argument 'x.city': expected a string, got 2"),
    (Location | Window, {}, "argument 'x.city': missing required field"),
    (Location | Window, {"start": 1, "city": 2}, "argument 'x.city': unknown field"),
    (Level | Literal[5], 7, "argument 'x': expected one of 1, 2, 5, got 7"),
    (int | None, "1", "argument 'x': expected an integer or null, got '1'"),
    (
        Node,
        {"value": 1, "children": [{"value": 2, "children": [{"value": "q"}]}]},
        "argument 'x.children[0].children[0].value': expected an integer, got 'q'",
    ),
    (int, "y" * 100, f"argument 'x': expected an integer, got {'y' * 37 + '...'!r}"),
]


@pytest.mark.parametrize(("annotation", "data", "message"), ERRORS)
def test_structure_errors_name_the_path(annotation: Any, data: Any, message: str) -> None:
    assert error_of(annotation, {"x": data}) == message


def test_arguments_errors() -> None:
    def f(a: int, b: str, c: bool = False) -> None:
        pass

    signature = signature_of(f)
    with pytest.raises(ArgumentsError) as info:
        signature.structure({"a": "1", "d": 1, "e": 2})
    assert str(info.value) == (
        "argument 'a': expected an integer, got '1'\n"
        "argument 'b': missing required argument\n"
        "argument 'd': unknown argument\n"
        "argument 'e': unknown argument"
    )
    assert info.value.problems[0] == ("a", "expected an integer, got '1'")
    assert isinstance(info.value, ValueError)
    with pytest.raises(ArgumentsError, match=r"^arguments: expected a JSON object, got an array$"):
        signature.structure([1, 2])  # type: ignore[arg-type]


def test_errors_are_agentools_errors_and_arguments_errors_pickle() -> None:
    assert issubclass(SchemaError, AgentoolsError)
    assert issubclass(SchemaError, TypeError)
    assert issubclass(ArgumentsError, AgentoolsError)
    assert issubclass(ArgumentsError, ValueError)
    error = ArgumentsError([("a", "expected an integer, got '1'"), ("b", "unknown argument")])
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ArgumentsError
    assert (copy.problems, str(copy)) == (error.problems, str(error))


def test_problem_count_is_bounded() -> None:
    with pytest.raises(ArgumentsError) as info:
        signature_of(one(list[int])).structure({"x": ["a"] * 25})
    lines = str(info.value).splitlines()
    assert len(lines) == 11
    assert lines[-1] == "... and 15 more problems"
    assert len(info.value.problems) == 25


def test_attrs_validators_report_their_message() -> None:
    @attrs.frozen
    class Positive:
        n: int = attrs.field(validator=attrs.validators.gt(0))

    with pytest.raises(ArgumentsError, match=r"^argument 'x': 'n' must be > 0: -1$"):
        signature_of(one(Positive)).structure({"x": {"n": -1}})


def test_missing_optional_arguments_get_defaults() -> None:
    marker: list[int] = []

    def f(a: int, b: list[int] = marker, c: str | None = None) -> None:
        pass

    args, kwargs = signature_of(f).structure({"a": 1})
    assert args == ()
    assert kwargs == {"a": 1, "b": marker, "c": None}
    assert kwargs["b"] is marker


def test_null_for_a_default_is_the_default_only_in_strict_mode() -> None:
    def f(n: int = 5, s: str | None = "x") -> None:
        pass

    assert signature_of(f, strict=True).structure({"n": None, "s": None}) == (
        (),
        {"n": 5, "s": "x"},
    )
    assert signature_of(f).structure({"s": None}) == ((), {"n": 5, "s": None})
    with pytest.raises(ArgumentsError, match="argument 'n': expected an integer, got null"):
        signature_of(f).structure({"n": None})


def test_strict_null_for_nested_fields_means_their_default() -> None:
    value = structure_one(
        Trip, {"origin": {"city": "A", "country": None}, "stops": None}, strict=True
    )
    assert value == Trip(Location("A"))
    assert structure_one(Query, {"text": "q", "limit": None}, strict=True) == {"text": "q"}
    assert structure_one(Window, {"start": 0, "end": None}, strict=True) == Window(0, 10)
    assert error_of(Location, {"x": {"city": "A", "country": None}}) == (
        "argument 'x.country': expected a string, got null"
    )


def test_make_converter_is_strict_about_json_kinds() -> None:
    converter = make_converter()
    assert converter.structure(3, int) == 3
    assert converter.structure(3, float) == 3.0
    for value, tp in [("3", int), (True, int), (1, bool), (1, str), ("x", list[str])]:
        with pytest.raises(Exception, match="expected"):
            converter.structure(value, tp)


# --- return values --------------------------------------------------------------------------------


@attrs.frozen
class Forecast:
    when: dt.date
    unit: Unit
    temps: frozenset[int]


RESULTS: list[tuple[Any, str]] = [
    ("plain text", "plain text"),
    ("", ""),
    (None, ""),
    (3, "3"),
    (2.5, "2.5"),
    (True, "true"),
    ([1, "a", None], '[1, "a", null]'),
    ((1, 2), "[1, 2]"),
    ({"k": "v", "n": [1]}, '{"k": "v", "n": [1]}'),
    ({"ü": "é"}, '{"ü": "é"}'),
    (Unit.CELSIUS, "celsius"),
    (Level.HIGH, "2"),
    (Location("Oslo"), '{"city": "Oslo", "country": "NL"}'),
    (Window(1), '{"start": 1, "end": 10}'),
    (
        Forecast(dt.date(2024, 5, 1), Unit.FAHRENHEIT, frozenset({1})),
        '{"when": "2024-05-01", "unit": "fahrenheit", "temps": [1]}',
    ),
    ({"n": Decimal("1.5")}, '{"n": "1.5"}'),
    (Decimal("1.5"), "1.5"),
]


@pytest.mark.parametrize(("value", "expected"), RESULTS)
def test_encode_result(value: Any, expected: str) -> None:
    assert encode_result(value) == expected


def test_encode_result_never_loses_a_result() -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque!"

    assert encode_result(Opaque()) == "opaque!"
    assert encode_result([Opaque()]) == '["opaque!"]'
    looped: list[Any] = []
    looped.append(looped)
    assert encode_result(looped) == "[[...]]"


# --- property tests: generated signatures ---------------------------------------------------------


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT = _Default()
_names = (f"R{n}" for n in itertools.count())

_SCALARS: list[Any] = [
    int,
    float,
    str,
    bool,
    UserId,
    Literal["a", "b"],
    Literal[1, None],
    Literal[True],
    Unit,
    Level,
    Mixed,
]


@st.composite
def _records(draw: st.DrawFn, fields: st.SearchStrategy[Any]) -> Any:
    kind = draw(st.sampled_from(["attrs", "dataclass", "typeddict"]))
    specs = draw(st.lists(st.tuples(fields, st.booleans()), max_size=3))
    name = next(_names)
    if kind == "attrs":
        return attrs.make_class(
            name,
            {
                f"f{i}": attrs.field(type=tp, **({"default": DEFAULT} if optional else {}))
                for i, (tp, optional) in enumerate(specs)
            },
            kw_only=True,
            frozen=True,
        )
    if kind == "dataclass":
        return dataclasses.make_dataclass(
            name,
            [
                (
                    f"f{i}",
                    tp,
                    dataclasses.field(default=DEFAULT) if optional else dataclasses.MISSING,
                )
                for i, (tp, optional) in enumerate(specs)
            ],
            kw_only=True,
        )
    return TypedDict(  # type: ignore[operator]
        name,
        {f"f{i}": NotRequired[tp] if optional else tp for i, (tp, optional) in enumerate(specs)},
    )


def annotations(*, strict: bool) -> st.SearchStrategy[Any]:
    """Types the schema supports (in strict mode, or not)."""
    hashable = st.sampled_from(_SCALARS)
    leaves = st.sampled_from(_SCALARS if strict else [*_SCALARS, Any])

    def extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        options = [
            inner.map(lambda t: list[t]),  # type: ignore[valid-type]
            inner.map(lambda t: tuple[t, ...]),  # type: ignore[valid-type]
            inner.map(lambda t: Sequence[t]),  # type: ignore[valid-type]
            hashable.map(lambda t: set[t]),  # type: ignore[valid-type]
            hashable.map(lambda t: frozenset[t]),  # type: ignore[valid-type]
            inner.map(lambda t: t | None),
            st.lists(inner, min_size=2, max_size=3).map(
                lambda ts: functools.reduce(operator.or_, ts)
            ),
            inner.map(lambda t: Annotated[t, "described"]),
            _records(inner),
        ]
        if not strict:
            options.append(inner.map(lambda t: dict[str, t]))  # type: ignore[valid-type]
            options.append(st.lists(inner, min_size=1, max_size=3).map(lambda ts: tuple[tuple(ts)]))
        return st.one_of(options)

    return st.recursive(leaves, extend, max_leaves=6)


@st.composite
def functions(draw: st.DrawFn, *, strict: bool) -> Any:
    """Functions of generated parameters: positional-only, positional-or-keyword, and
    keyword-only ones with a DEFAULT."""
    specs = draw(
        st.lists(
            st.tuples(
                annotations(strict=strict),
                st.sampled_from(
                    [
                        inspect.Parameter.POSITIONAL_ONLY,
                        inspect.Parameter.POSITIONAL_OR_KEYWORD,
                        inspect.Parameter.KEYWORD_ONLY,
                    ]
                ),
            ),
            max_size=4,
        )
    )
    parameters = sorted(
        (
            inspect.Parameter(
                f"p{i}",
                kind,
                annotation=tp,
                default=DEFAULT
                if kind is inspect.Parameter.KEYWORD_ONLY
                else inspect.Parameter.empty,
            )
            for i, (tp, kind) in enumerate(specs)
        ),
        key=lambda parameter: parameter.kind,
    )

    def tool(*args: Any, **kwargs: Any) -> Any:
        return args, kwargs

    tool.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    tool.__annotations__ = {p.name: p.annotation for p in parameters}
    return tool


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=5,
)


def values(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """JSON values valid for a schema of the subset assert_well_formed() checks."""
    if "$ref" in schema:
        return st.deferred(lambda: values(defs[schema["$ref"].removeprefix("#/$defs/")], defs))
    if "anyOf" in schema:
        return st.one_of([values(option, defs) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "type" not in schema:
        return _JSON
    kinds = schema["type"]
    if isinstance(kinds, list):
        return st.one_of([values({**schema, "type": kind}, defs) for kind in kinds])
    if kinds == "array":
        if "prefixItems" in schema:
            items = [values(item, defs) for item in schema["prefixItems"]]
            return st.tuples(*items).map(list)
        unique = (lambda v: json.dumps(v, sort_keys=True)) if schema.get("uniqueItems") else None
        return st.lists(values(schema["items"], defs), max_size=3, unique_by=unique)
    if kinds == "object":
        extra = schema.get("additionalProperties", False)
        if extra is not False:
            return st.dictionaries(st.text(max_size=3), values(extra, defs), max_size=3)
        properties = {name: values(sub, defs) for name, sub in schema["properties"].items()}
        required = set(schema["required"])
        return st.fixed_dictionaries(
            {name: s for name, s in properties.items() if name in required},
            optional={name: s for name, s in properties.items() if name not in required},
        )
    return {
        "null": st.none(),
        "boolean": st.booleans(),
        "integer": st.integers(),
        "number": st.floats(allow_nan=False, allow_infinity=False) | st.integers(),
        "string": st.text(max_size=5),
    }[kinds]


def matches(data: Any, value: Any, tp: Any, *, strict: bool) -> bool:
    """Whether ``value`` is what structuring the JSON ``data`` as ``tp`` must give."""
    while get_origin(tp) is Annotated:
        tp = tp.__origin__
    tp = getattr(tp, "__supertype__", tp)
    origin, args = get_origin(tp) or tp, get_args(tp)
    if tp is Any:
        return value is data
    if tp is None or tp is type(None):
        return value is None and data is None
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return isinstance(value, tp) and value.value == data and _kind(data) == _kind(value.value)
    if tp in (int, float, str, bool):
        kinds = {int: ["integer"], float: ["integer", "number"], str: ["string"], bool: ["boolean"]}
        expected = float(data) if tp is float and _kind(data) == "integer" else data
        return type(value) is tp and value == expected and _kind(data) in kinds[tp]
    if origin is Literal:
        return any(value == a and type(value) is type(a) is type(data) for a in args)
    if origin in (Union, types.UnionType):
        return any(matches(data, value, member, strict=strict) for member in args)
    if origin in (list, Sequence, tuple, set, frozenset) and not isinstance(data, list):
        return False
    is_object = origin is dict or is_typeddict(tp) or attrs.has(tp) or dataclasses.is_dataclass(tp)
    if is_object and not isinstance(data, dict):
        return False
    if origin in (list, Sequence, tuple):
        expected = tuple if origin is tuple else list
        item_types = args if origin is tuple and args[-1:] != (...,) else [args[0]] * len(data)
        return (
            type(value) is expected
            and len(value) == len(data) == len(item_types)
            and all(
                matches(d, v, t, strict=strict)
                for d, v, t in zip(data, value, item_types, strict=True)
            )
        )
    if origin in (set, frozenset):
        return type(value) is origin and all(
            any(matches(d, v, args[0], strict=strict) for v in value) for d in data
        )
    if origin is dict:
        return (
            type(value) is dict
            and value.keys() == data.keys()
            and all(matches(data[k], value[k], args[1], strict=strict) for k in data)
        )
    return _record_matches(data, value, tp, strict=strict)


def _record_matches(data: Any, value: Any, tp: Any, *, strict: bool) -> bool:
    if is_typeddict(tp):
        if type(value) is not dict:
            return False
        for name, hint in typing.get_type_hints(tp, include_extras=True).items():
            optional = name not in tp.__required_keys__
            if name not in data or (strict and optional and data[name] is None):
                if name in value:
                    return False
            elif not matches(data[name], value[name], _required(hint), strict=strict):
                return False
        return True
    if type(value) is not tp:
        return False
    fields = attrs.fields(tp) if attrs.has(tp) else dataclasses.fields(tp)
    for field in fields:
        field_value = getattr(value, field.name)
        optional = field.default is DEFAULT
        if field.name not in data or (strict and optional and data[field.name] is None):
            if field_value is not DEFAULT:
                return False
        elif not matches(data[field.name], field_value, field.type, strict=strict):
            return False
    return True


def _required(hint: Any) -> Any:
    return get_args(hint)[0] if get_origin(hint) is NotRequired else hint


def assert_structures(
    signature: Signature, tool: Any, data: dict[str, Any], *, strict: bool
) -> None:
    args, kwargs = signature.structure(data)
    bound = inspect.signature(tool).bind(*args, **kwargs).arguments
    for parameter in inspect.signature(tool).parameters.values():
        value = bound[parameter.name]
        given_value = data.get(parameter.name)
        if parameter.name not in data or (strict and given_value is None and value is DEFAULT):
            assert value is DEFAULT, parameter
        else:
            assert matches(given_value, value, parameter.annotation, strict=strict), (
                parameter,
                given_value,
                value,
            )


@given(st.data())
def test_generated_signatures_structure_generated_arguments(data: st.DataObject) -> None:
    tool = data.draw(functions(strict=False))
    signature = signature_of(tool)
    assert_well_formed(signature.parameters, strict=False)
    arguments = data.draw(values(signature.parameters, signature.parameters.get("$defs", {})))
    assert_structures(signature, tool, arguments, strict=False)


@given(st.data())
def test_generated_strict_signatures_structure_generated_arguments(data: st.DataObject) -> None:
    tool = data.draw(functions(strict=True))
    signature = signature_of(tool, strict=True)
    assert_well_formed(signature.parameters, strict=True)
    arguments = data.draw(values(signature.parameters, signature.parameters.get("$defs", {})))
    assert_structures(signature, tool, arguments, strict=True)


@given(st.data())
def test_strict_nulls_for_optional_parameters_give_the_defaults(data: st.DataObject) -> None:
    tool = data.draw(functions(strict=True))
    signature = signature_of(tool, strict=True)
    arguments = data.draw(values(signature.parameters, signature.parameters.get("$defs", {})))
    optional = [p.name for p in inspect.signature(tool).parameters.values() if p.default is DEFAULT]
    arguments.update(dict.fromkeys(optional, None))
    _, kwargs = signature.structure(arguments)
    assert all(kwargs[name] is DEFAULT for name in optional)


@given(annotations(strict=False), st.data())
def test_values_outside_the_schema_raise_arguments_error(tp: Any, data: st.DataObject) -> None:
    signature = signature_of(one(tp))
    wrong = data.draw(_JSON)
    try:
        signature.structure({"x": wrong})
    except ArgumentsError as exc:
        error = exc
    else:
        return
    assert str(error)
    assert all(path.startswith("x") for path, _ in error.problems)
    assert len(str(error).splitlines()) <= 11
