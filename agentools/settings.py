"""An assistant's settings: one frozen value, checked when it is made.

``Assistant(model=..., max_turns=5, temperature=0)`` splits its keywords into the fields below and
the model API's own parameters (``params``: ``temperature=0`` goes to every call as it is).
``assistant.configure(...)`` replaces them; the change applies from the next model call, also in
the middle of a run. A value a setting cannot have raises ``SettingsError`` when it is given, not
when the model is first called.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any, Literal, get_args

import attrs

from ._adapters.base import Decoding
from ._errors import SettingsError
from .output import OutputMode

__all__ = ["ErrorDetail", "Settings", "ToolMode"]

ToolMode = Literal["native", "json"]
"""How the model calls tools: ``"native"``, the API's ``tools`` (the server parses the model's
calls), or ``"json"``, constrained tool calling: no ``tools`` are sent, and each answer is one
JSON step under a ``response_format`` schema (calls to the tools, or an answer), for servers
whose native tool calls cannot be relied on (small local models)."""

ErrorDetail = Literal["message", "type", "none"]
"""What the model is told when a tool raises: ``"Error: Type: message"``, ``"Error: Type"``, or
``"Error: the tool failed."``. Messages may hold paths, addresses or other things a model (and
whoever reads its answers) should not see."""


def _at_least(least: int) -> Callable[[Any, attrs.Attribute[int], Any], None]:
    def check(_: Any, attribute: attrs.Attribute[int], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"{attribute.name} must be an int, not {type(value).__name__}")
        if value < least:
            raise SettingsError(f"{attribute.name} must be at least {least}, not {value}")

    return check


def _model(_: Any, attribute: attrs.Attribute[str], value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise SettingsError(f"model must be a model's name (a non-empty str), not {value!r}")


def _system(_: Any, attribute: attrs.Attribute[str | None], value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise SettingsError(f"system must be a str or None, not {type(value).__name__}")


def _flag(_: Any, attribute: attrs.Attribute[bool], value: Any) -> None:
    if not isinstance(value, bool):
        raise SettingsError(f"{attribute.name} must be True or False, not {value!r}")


def _detail(_: Any, attribute: attrs.Attribute[ErrorDetail], value: Any) -> None:
    if value not in get_args(ErrorDetail):
        raise SettingsError(f"{attribute.name} must be 'message', 'type' or 'none', not {value!r}")


def _decoding(_: Any, attribute: attrs.Attribute[Decoding], value: Any) -> None:
    if value not in get_args(Decoding):
        raise SettingsError(f"decoding must be 'raw' or 'sdk', not {value!r}")


def _tool_mode(_: Any, attribute: attrs.Attribute[ToolMode], value: Any) -> None:
    if value not in get_args(ToolMode):
        raise SettingsError(f"tool_mode must be 'native' or 'json', not {value!r}")


def _output_mode(_: Any, attribute: attrs.Attribute[str], value: Any) -> None:
    if value not in ("json_schema", "tool"):
        raise SettingsError(f"output_mode must be 'json_schema' or 'tool', not {value!r}")


def _optional_at_least(least: int) -> Callable[[Any, attrs.Attribute[int | None], Any], None]:
    check = _at_least(least)

    def optional(instance: Any, attribute: attrs.Attribute[int | None], value: Any) -> None:
        if value is not None:
            check(instance, attribute, value)  # type: ignore[arg-type]

    return optional


def _frozen(params: Mapping[str, Any]) -> Mapping[str, Any]:
    if not isinstance(params, Mapping):
        raise SettingsError(f"params must be a mapping, not {type(params).__name__}")
    return types.MappingProxyType(dict(params))


@attrs.frozen(kw_only=True)
class Settings:
    """What every model call of an assistant uses, and the limits of each run."""

    model: str = attrs.field(validator=_model)
    """The model's name, as the server knows it."""
    system: str | None = attrs.field(default=None, validator=_system)
    """A system prompt, sent first on every request; not stored in the history."""
    stream: bool = attrs.field(default=True, validator=_flag)
    """Stream the model's answers (``False``: each answer comes whole, and there are no partial
    text or partial tool-call events)."""
    max_turns: int = attrs.field(default=10, validator=_at_least(1))
    """Model calls per run (``MaxTurnsExceeded`` past them)."""
    max_tool_errors: int = attrs.field(default=3, validator=_at_least(1))
    """Turns in a row in which every tool call failed, before ``ToolErrorsExceeded``."""
    stream_retries: int = attrs.field(default=0, validator=_at_least(0))
    """How many times a model call that broke (even mid-stream) is made again
    (``Hooks.on_retry`` is told). The SDK's own ``max_retries`` covers failures before a
    response starts."""
    max_text_chars: int = attrs.field(default=1_000_000, validator=_at_least(1))
    """Cap on one answer's text or refusal (``ResponseTooLarge``)."""
    max_argument_chars: int = attrs.field(default=1_000_000, validator=_at_least(1))
    """Cap on one tool call's arguments (``ResponseTooLarge``)."""
    max_tool_calls: int = attrs.field(default=128, validator=_at_least(1))
    """Cap on the tool calls in one answer (``ResponseTooLarge``)."""
    max_concurrent_tools: int = attrs.field(default=16, validator=_at_least(1))
    """How many tool calls of one answer run at once (threads or tasks); the others wait for a
    free place, in call order. Each call's ``timeout`` counts from its own start."""
    tool_error_detail: ErrorDetail = attrs.field(default="message", validator=_detail)
    """What the model is told when a tool raises (``ErrorDetail``); a tool's own
    ``error_detail`` wins. Argument errors and timeouts are always told in full: they say what the
    model did, nothing of the tool's insides."""
    decoding: Decoding = attrs.field(default="raw", validator=_decoding)
    """How a streamed answer is read: ``"raw"`` reads the response's bytes through the SDK's
    raw-response API (``with_streaming_response``) and decodes its events itself, several times
    cheaper than ``"sdk"``, which reads the SDK's typed chunks (``client.chat.completions.create``
    with ``stream=True``): for a client whose ``create()`` is overridden to do more. Either way
    the SDK makes the request (authentication, headers, its retries, its exceptions for an HTTP
    error status) and agentools reads the same wire objects the same way."""
    reset_tool_choice: bool = attrs.field(default=True, validator=_flag)
    """A ``tool_choice`` in the ``params`` applies until tools have run in a run; the model calls
    after that are made without it (the server's default, ``"auto"``), so that
    ``tool_choice="required"`` or a named function cannot make the model call tools forever.
    ``False`` sends it on every call (openai-agents' ``reset_tool_choice`` is the same rule)."""
    tool_mode: ToolMode = attrs.field(default="native", validator=_tool_mode)
    """``"native"`` tool calls, or ``"json"``: constrained tool calling (``ToolMode``; see the
    README's "Constrained tool calling"). Hooks, events, previews, streaming tools and the
    history are the same in both."""
    send_reasoning: bool = attrs.field(default=True, validator=_flag)
    """Send the reasoning kept on assistant messages back to the server, under the key it came
    with (``reasoning_content`` or ``reasoning``), as servers that interleave reasoning with tool
    calls want it (DeepSeek, Qwen, gpt-oss). ``False`` leaves it out of every request (for a
    server that refuses it, such as DeepSeek's older ``deepseek-reasoner``); the history keeps it
    either way."""
    empty_answer_retries: int = attrs.field(default=1, validator=_at_least(0))
    """How many times in a run the model is asked again (``EMPTY_ANSWER_PROMPT``) when it ends
    its turn with no text, no refusal and no tool call, as reasoning models sometimes do (all
    reasoning, no answer). Past them, or with 0, the empty answer is the run's answer (``""``).
    Either way the empty message is kept in the history, with its reasoning, so the history goes
    on alternating as the API wants."""
    output_mode: OutputMode = attrs.field(default="json_schema", validator=_output_mode)
    """How ``run(output=...)`` asks for its typed output: ``"json_schema"``, a strict
    ``response_format``, or ``"tool"``, a forced output tool (``agentools.output``)."""
    output_retries: int = attrs.field(default=2, validator=_at_least(0))
    """How many times an output that does not fit its type is sent back with its problems and
    asked for again, before ``OutputValidationError``."""
    max_total_tokens: int | None = attrs.field(default=None, validator=_optional_at_least(1))
    """Cap on one run's tokens (prompt and completion, all its model calls): the call that would
    go past it is not made (``UsageLimitExceeded``). Checked against the usage the server
    reports and an estimate of what was added since, so approximate (see the error)."""
    max_request_tokens: int | None = attrs.field(default=None, validator=_optional_at_least(1))
    """Cap on one model call's prompt tokens, checked the same way before each call."""
    params: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen, repr=lambda params: repr(dict(params))
    )
    """The model API's own parameters, sent with every call (``temperature``, ``max_tokens``,
    ``tool_choice``, ...)."""

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Settings:
        """Settings from keywords: those named like a field set it, the others are ``params``."""
        fields, params = _split(options)
        params = {**_frozen(fields.pop("params", {})), **params}
        return cls(**fields, params=params)

    @staticmethod
    def names() -> frozenset[str]:
        """The fields' names (any other keyword is a parameter of the API)."""
        return _FIELDS

    def with_options(self, **options: Any) -> Settings:
        """A copy with ``options`` changed: fields by name; any other keyword is added to (or
        replaces one of) the ``params``; ``params=...`` replaces them all."""
        fields, params = _split(options)
        params = {**_frozen(fields.pop("params", self.params)), **params}
        return attrs.evolve(self, **fields, params=params)


_FIELDS = frozenset(field.name for field in attrs.fields(Settings))


def _split(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    fields = {name: value for name, value in options.items() if name in _FIELDS}
    params = {name: value for name, value in options.items() if name not in _FIELDS}
    return fields, params
