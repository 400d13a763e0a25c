"""A conversation: the list of messages sent to the model, convertible to and from the API's form.

The JSON form of a history is the Chat Completions message list itself: it is what users already
store, and any other client can read it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, overload

import attrs

from ._converter import HistoryError, message_from_openai, message_to_openai
from ._sendable import escape_surrogates
from .messages import Message
from .partial_json import MAX_JSON_DEPTH

__all__ = ["History", "HistoryError"]


def _message_list(messages: Iterable[Message]) -> list[Message]:
    return list(messages)


def _refuse_what_is_not_a_list(messages: object) -> None:
    if isinstance(messages, (str, bytes)):
        raise HistoryError("expected a list of message dicts, got text: use History.from_json")
    if isinstance(messages, Mapping):
        raise HistoryError("expected a list of message dicts, got one: put it in a list")
    if not isinstance(messages, Iterable):
        raise HistoryError(f"expected a list of message dicts, got {type(messages).__name__}")


@attrs.define(eq=True)
class History:
    """The messages of a conversation, oldest first.

    An ``Assistant`` appends to it only whole units the API accepts (a prompt; an assistant message
    together with the answers to all its tool calls; a final answer), so it can be sent, stored or
    resumed at any time, even after a failure.
    """

    messages: list[Message] = attrs.field(factory=list, converter=_message_list)

    @classmethod
    def from_openai(cls, messages: Iterable[Mapping[str, Any]]) -> History:
        """Read a list of Chat Completions message dicts; ``HistoryError`` names a bad message."""
        _refuse_what_is_not_a_list(messages)
        return cls([message_from_openai(item, index=i) for i, item in enumerate(messages)])

    def to_openai(self) -> list[dict[str, Any]]:
        """The messages as Chat Completions dicts, sendable as they are."""
        return [message_to_openai(message) for message in self.messages]

    @classmethod
    def from_json(cls, text: str | bytes) -> History:
        """Read what ``to_json`` wrote (a JSON list of Chat Completions messages); any problem
        with ``text`` is a ``HistoryError``."""
        if not isinstance(text, str | bytes | bytearray):
            raise HistoryError(f"expected JSON text (str or bytes), got {type(text).__name__}")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise HistoryError(f"not JSON: {exc}") from exc
        except RecursionError as exc:
            # json recurses once per level: nested far deeper than any message may be.
            raise HistoryError(f"nested deeper than {MAX_JSON_DEPTH} levels") from exc
        if not isinstance(data, list):
            raise HistoryError(f"expected a JSON list of messages, got {type(data).__name__}")
        return cls.from_openai(data)

    def to_json(self, **dumps_kwargs: Any) -> str:
        """The messages as JSON text, non-ASCII characters as they are (``ensure_ascii=False``,
        unless ``dumps_kwargs`` say otherwise).

        The text can always be written as UTF-8: a lone surrogate is written as its ``\\uXXXX``
        escape, which ``json.loads`` reads back (two halves of a pair come back joined). No
        request can carry one, so ``from_json`` refuses it, as ``validate_history`` reports it;
        ``History.from_openai(repair_history(json.loads(text)))`` replaces it.
        """
        dumps_kwargs.setdefault("ensure_ascii", False)
        return escape_surrogates(json.dumps(self.to_openai(), **dumps_kwargs))

    def copy(self) -> History:
        return History(self.messages)

    def append(self, message: Message) -> None:
        self.messages.append(message)

    def extend(self, messages: Iterable[Message]) -> None:
        self.messages.extend(messages)

    def __len__(self) -> int:
        return len(self.messages)

    def __iter__(self) -> Iterator[Message]:
        return iter(self.messages)

    @overload
    def __getitem__(self, index: int) -> Message: ...
    @overload
    def __getitem__(self, index: slice) -> list[Message]: ...
    def __getitem__(self, index: int | slice) -> Message | list[Message]:
        return self.messages[index]
