"""Trimming what one model call sends: the last turns of a conversation, or what fits a budget.

A long conversation outgrows the model's context window, and every call pays for all of it. These
pure functions take a list of messages and return a shorter new one (the input is never changed);
``agentools.hooks.trimming`` applies them to each model call through ``before_model_call``, which
sends the shorter list for that call only and leaves the history whole.

They cut only between **units**, so what they return is a history the API accepts whenever the
input was one. Cutting elsewhere is the classic way to get HTTP 400 from every later request
(pydantic-ai #1470, #2050: a history processor kept tool answers without the assistant message
that called them). The pieces, after the **pinned** messages (the system and developer messages
at the start, always kept):

- a **unit** is a user prompt alone, or an assistant message together with everything that
  belongs to it: the tool messages answering its calls, the user message carrying the images and
  audio those tools returned (``_core.tool_calls.media_message`` builds it), and the prompt the
  loop itself adds after it (``CONTINUE_PROMPT``, ``EMPTY_ANSWER_PROMPT``, the
  ``OUTPUT_RETRY_PROMPT`` that sends an output's problems back). A system or developer
  message further on belongs to the unit before it.
- a **turn** starts at a user prompt and holds the units up to the next one: a question and all
  the model did to answer it. Units before the first prompt (a history that opens with the
  assistant, or has no prompt at all) are a turn each, as nothing groups them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence

from ._core import CONTINUE_PROMPT, EMPTY_ANSWER_PROMPT
from .messages import (
    AssistantMessage,
    DeveloperMessage,
    Message,
    SystemMessage,
    ToolMessage,
    UserMessage,
)
from .output import OUTPUT_RETRY_PROMPT
from .tokens import (
    CHARS_PER_TOKEN,
    MEDIA_PART_TOKENS,
    MESSAGE_TOKENS,
    TokenCounter,
    estimate_tokens,
)

__all__ = [
    "CHARS_PER_TOKEN",
    "MEDIA_PART_TOKENS",
    "MESSAGE_TOKENS",
    "TokenCounter",
    "estimate_tokens",
    "keep_last_turns",
    "keep_within_tokens",
    "turns",
    "units",
]

_PINNED = (SystemMessage, DeveloperMessage)
_LOOP_PROMPTS = frozenset({CONTINUE_PROMPT, EMPTY_ANSWER_PROMPT})
_OUTPUT_RETRY = OUTPUT_RETRY_PROMPT.partition("{problems}")[0]
_MEDIA_HEADER = re.compile(r"Returned by [a-zA-Z0-9_-]+ \(call (?P<id>.*)\):")
"""The first part of ``_core.tool_calls.media_message``'s content, naming the call."""


def units(messages: Sequence[Message]) -> list[list[Message]]:
    """The units of ``messages`` after its pinned ones, oldest first (see the module's
    documentation): the pieces trimming keeps or drops whole."""
    found: list[list[Message]] = []
    for message in messages[_pinned_count(messages) :]:
        if found and _belongs_to(found[-1], message):
            found[-1].append(message)
        else:
            found.append([message])
    return found


def turns(messages: Sequence[Message]) -> list[list[Message]]:
    """The turns of ``messages`` after its pinned ones, oldest first: each a user prompt and the
    units that answer it (a unit before the first prompt is a turn of its own)."""
    groups = units(messages)
    bounds = [*_turn_starts(groups), len(groups)]
    return [_joined(groups[start:end]) for start, end in itertools.pairwise(bounds)]


def keep_last_turns(messages: Sequence[Message], turns: int) -> list[Message]:
    """The pinned messages and the last ``turns`` turns of ``messages`` (all of them if there are
    no more). ``turns`` must be at least 1: the newest prompt is always kept."""
    if turns < 1:
        raise ValueError(f"turns must be at least 1, not {turns}")
    pinned = list(messages[: _pinned_count(messages)])
    groups = units(messages)
    starts = _turn_starts(groups)
    first = starts[-turns] if len(starts) > turns else 0
    return pinned + _joined(groups[first:])


def keep_within_tokens(
    messages: Sequence[Message], budget: int, *, count: TokenCounter = estimate_tokens
) -> list[Message]:
    """``messages`` cut to ``budget`` tokens (as ``count`` counts them), dropping the oldest first.

    The pinned messages are always kept. Whole turns are dropped, oldest first, while over budget
    and more than one turn is left. Then, in that last turn (the current question and the work
    done on it so far), whole units after its prompt are dropped, oldest first, while over
    budget; its prompt and its last unit are always kept. If that is still over budget, it is
    returned as it is: the request is too large for the budget, and a limit on the request
    (``Settings.max_request_tokens``) is what refuses it.
    """
    if budget < 0:
        raise ValueError(f"budget must be at least 0, not {budget}")
    pinned = list(messages[: _pinned_count(messages)])
    groups = units(messages)
    if not groups:
        return pinned
    starts = _turn_starts(groups)

    def from_turn(dropped: int) -> list[Message]:
        return pinned + _joined(groups[starts[dropped] :])

    dropped = _fewest_to_drop(lambda n: count(from_turn(n)) <= budget, len(starts) - 1)
    kept = from_turn(dropped)
    last = starts[-1]
    if count(kept) <= budget or not _is_prompt(groups[last]):
        return kept

    def after_prompt(dropped: int) -> list[Message]:
        return pinned + groups[last] + _joined(groups[last + 1 + dropped :])

    droppable = max(len(groups) - last - 2, 0)  # the units between the prompt and the last one
    return after_prompt(_fewest_to_drop(lambda n: count(after_prompt(n)) <= budget, droppable))


def _fewest_to_drop(fits: Callable[[int], bool], most: int) -> int:
    """The smallest number ``n <= most`` of oldest pieces to drop for which ``fits(n)``, or
    ``most``. Bisected (a count per step, not per piece): dropping more never counts more."""
    low, high = 0, most
    while low < high:
        middle = (low + high) // 2
        if fits(middle):
            high = middle
        else:
            low = middle + 1
    return low


def _pinned_count(messages: Sequence[Message]) -> int:
    for index, message in enumerate(messages):
        if not isinstance(message, _PINNED):
            return index
    return len(messages)


def _belongs_to(unit: list[Message], message: Message) -> bool:
    """Does ``message`` belong to ``unit``, the unit before it, rather than start one?"""
    if isinstance(message, AssistantMessage):
        return False
    if isinstance(message, UserMessage):
        return _answers_to(unit, message)
    return True  # a tool answer, or a system or developer message among the others


def _answers_to(unit: list[Message], message: UserMessage) -> bool:
    """Is ``message`` one the loop added to ``unit``'s assistant message: the media its tools
    returned (right after their answers), or a prompt asking the model to go on?"""
    opener = unit[0]
    if not isinstance(opener, AssistantMessage):
        return False
    if isinstance(message.content, str):
        return message.content in _LOOP_PROMPTS or message.content.startswith(_OUTPUT_RETRY)
    if not isinstance(unit[-1], ToolMessage) or not message.content:
        return False
    first = message.content[0]
    if first.get("type") != "text":
        return False
    header = _MEDIA_HEADER.fullmatch(str(first.get("text", "")))
    return header is not None and header["id"] in {call.id for call in opener.tool_calls}


def _is_prompt(unit: list[Message]) -> bool:
    return isinstance(unit[0], UserMessage)


def _turn_starts(groups: list[list[Message]]) -> list[int]:
    """The index of each turn's first unit: every prompt, and every unit before the first one."""
    starts = []
    prompted = False
    for index, unit in enumerate(groups):
        prompted = prompted or _is_prompt(unit)
        if _is_prompt(unit) or not prompted:
            starts.append(index)
    return starts


def _joined(groups: list[list[Message]]) -> list[Message]:
    return [message for unit in groups for message in unit]
