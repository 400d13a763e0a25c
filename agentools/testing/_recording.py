"""What the fake server received, kept so tests can assert on what their client sent."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["RecordedRequest"]

# Headers that carry a credential: their values are hidden in reprs (tests print them).
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "api-key", "x-api-key"})


def _hide_secrets(headers: dict[str, str]) -> str:
    """The headers' repr with each credential hidden; an auth scheme (``Bearer``) is kept."""
    shown = {}
    for name, value in headers.items():
        if name.lower() in _SECRET_HEADERS:
            scheme, _, secret = value.partition(" ")
            value = f"{scheme} ***" if secret else "***"
        shown[name] = value
    return repr(shown)


@attrs.frozen
class RecordedRequest:
    """One HTTP request as the server read it.

    ``headers`` has lower-case names; the repr hides credentials (``Authorization: Bearer ***``),
    the dict keeps them. ``body`` is the parsed JSON object, or empty when the body was empty, not
    JSON or not an object (``raw_body`` keeps the bytes either way).
    """

    method: str
    path: str
    headers: dict[str, str] = attrs.field(factory=dict, repr=_hide_secrets)
    body: dict[str, Any] = attrs.field(factory=dict)
    raw_body: bytes = b""

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The request's ``messages``, as sent (empty if absent or not a list)."""
        messages = self.body.get("messages")
        return messages if isinstance(messages, list) else []

    @property
    def tools(self) -> list[dict[str, Any]]:
        """The request's ``tools`` (empty when it offered none)."""
        tools = self.body.get("tools")
        return tools if isinstance(tools, list) else []

    @property
    def stream(self) -> bool:
        """Whether the client asked for an SSE stream."""
        return self.body.get("stream") is True

    @property
    def include_usage(self) -> bool:
        """Whether a streaming client asked for the final usage chunk."""
        options = self.body.get("stream_options")
        return isinstance(options, dict) and options.get("include_usage") is True

    @property
    def model(self) -> str | None:
        """The model the client asked for."""
        model = self.body.get("model")
        return model if isinstance(model, str) else None
