"""agentools.trimming, agentools.stopping and the hooks of agentools.hooks.trimming.

The properties run over generated valid conversations whose units the generator knows (so the
expected cuts do not come from the code under test): pinned system and developer messages, user
prompts (text or with an image), assistant texts, assistant messages with 1-3 tool calls and
their answers in any order, the user message with the tools' images (built by the loop's own
``media_message``) and the prompts the loop adds (``CONTINUE_PROMPT``, ``EMPTY_ANSWER_PROMPT``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentools import (
    CONTINUE_PROMPT,
    EMPTY_ANSWER_PROMPT,
    History,
    HookError,
    TokenUsage,
    ToolCall,
    ToolResult,
    function_tool,
    validate_history,
)
from agentools._core.tool_calls import media_message
from agentools._dispatch import hook_calls
from agentools.hooks import HOOK_NAMES, Hooks
from agentools.hooks.trimming import KeepLastTurns, KeepWithinTokens, StopWhen
from agentools.messages import (
    AssistantMessage,
    ContentPart,
    DeveloperMessage,
    Message,
    SystemMessage,
    ToolCallRecord,
    ToolMessage,
    UserMessage,
)
from agentools.model_call import ModelCallRequest, StopRun
from agentools.stopping import StopCondition, text_matches, tool_called
from agentools.testing import FakeOpenAIServer, ToolCallSpec, Turn
from agentools.trimming import (
    MEDIA_PART_TOKENS,
    estimate_tokens,
    keep_last_turns,
    keep_within_tokens,
    turns,
    units,
)

if TYPE_CHECKING:
    from .support import Bot, Runner

IMAGE: ContentPart = {
    "type": "image_url",
    "image_url": {"url": "data:image/png;base64," + "A" * 400},
}


# --- generated conversations --------------------------------------------------------------------


@attrs.frozen
class Conversation:
    """Messages and the units they are made of, as the generator built them."""

    pinned: list[Message]
    units: list[list[Message]]

    @property
    def messages(self) -> list[Message]:
        return self.pinned + joined(self.units)

    @property
    def turn_starts(self) -> list[int]:
        """Every prompt's unit, and every unit before the first prompt."""
        first = next((i for i, unit in enumerate(self.units) if is_prompt(unit)), len(self.units))
        return [i for i, unit in enumerate(self.units) if i < first or is_prompt(unit)]


def joined(groups: Sequence[Sequence[Message]]) -> list[Message]:
    return [message for unit in groups for message in unit]


def is_prompt(unit: Sequence[Message]) -> bool:
    return isinstance(unit[0], UserMessage)


texts = st.text(alphabet="abc xyz.", max_size=120)


def reply(draw: st.DrawFn, ids: Iterator[int]) -> list[Message]:
    """An assistant message with all that belongs to it."""
    if not draw(st.booleans()):
        text = draw(texts)
        if text == "":
            return [AssistantMessage(content=""), UserMessage(content=EMPTY_ANSWER_PROMPT)]
        unit: list[Message] = [AssistantMessage(content=text)]
        if draw(st.integers(0, 4)) == 0:
            unit.append(UserMessage(content=CONTINUE_PROMPT))
        return with_system_note(draw, unit)
    names = draw(
        st.lists(st.sampled_from(["search", "get_weather", "draw"]), min_size=1, max_size=3)
    )
    calls = [
        ToolCall(index=i, id=f"call_{next(ids)}", name=name, arguments="{}")
        for i, name in enumerate(names)
    ]
    records = tuple(ToolCallRecord(id=c.id, name=c.name, arguments=c.arguments) for c in calls)
    results = {
        c.id: ToolResult(
            call_id=c.id,
            content=draw(texts),
            parts=(IMAGE,) if c.name == "draw" else (),
        )
        for c in calls
    }
    unit = [AssistantMessage(content=draw(st.none() | texts), tool_calls=records)]
    for c in draw(st.permutations(calls)):
        unit.append(ToolMessage(tool_call_id=c.id, content=results[c.id].content))
    media = media_message(calls, results)
    if media is not None:
        unit.append(media)
    return with_system_note(draw, unit)


def with_system_note(draw: st.DrawFn, unit: list[Message]) -> list[Message]:
    """Sometimes a system message after the unit (the API takes one anywhere)."""
    if draw(st.integers(0, 9)) == 0:
        return [*unit, SystemMessage(content=draw(texts))]
    return unit


@st.composite
def conversations(draw: st.DrawFn) -> Conversation:
    ids = itertools.count()
    pinned: list[Message] = [
        SystemMessage(content=draw(texts)) if draw(st.booleans()) else DeveloperMessage(content="d")
        for _ in range(draw(st.integers(0, 2)))
    ]
    groups = [reply(draw, ids) for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2])))]
    for _ in range(draw(st.integers(0, 5))):
        with_image = texts.map(lambda t: [{"type": "text", "text": t}, IMAGE])
        content: str | list[ContentPart] = draw(st.one_of(texts, with_image))
        groups.append(with_system_note(draw, [UserMessage(content=content)]))
        groups.extend(reply(draw, ids) for _ in range(draw(st.integers(0, 3))))
    return Conversation(pinned, groups)


def last_prompt(conversation: Conversation) -> Message | None:
    return next((unit[0] for unit in reversed(conversation.units) if is_prompt(unit)), None)


def check_well_cut(conversation: Conversation, result: list[Message]) -> None:
    """What holds for every trimmed list: valid, pinned kept, no tool message first, the
    newest prompt and the newest message kept. (A user message the loop added, with a tool's
    images, goes with its tool unit.)"""
    assert validate_history(History(result)) == []
    assert result[: len(conversation.pinned)] == conversation.pinned
    rest = result[len(conversation.pinned) :]
    assert not (rest and isinstance(rest[0], ToolMessage))
    prompt = last_prompt(conversation)
    if prompt is not None:
        assert any(message is prompt for message in result)
    if conversation.units:
        assert result[-1] is conversation.messages[-1]


# --- properties ----------------------------------------------------------------------------------


@given(conversations())
def test_units_and_turns_are_those_the_conversation_is_made_of(conversation: Conversation) -> None:
    assert units(conversation.messages) == conversation.units
    bounds = [*conversation.turn_starts, len(conversation.units)]
    expected = [joined(conversation.units[a:b]) for a, b in itertools.pairwise(bounds)]
    assert turns(conversation.messages) == expected


@given(conversations(), st.integers(1, 8))
def test_keep_last_turns_keeps_whole_turns(conversation: Conversation, count: int) -> None:
    messages = conversation.messages
    before = list(messages)
    result = keep_last_turns(messages, count)
    assert messages == before
    assert result is not messages
    check_well_cut(conversation, result)
    starts = conversation.turn_starts
    first = starts[-count] if len(starts) > count else 0
    assert result == conversation.pinned + joined(conversation.units[first:])
    prompts = [unit for unit in conversation.units[first:] if is_prompt(unit)]
    assert len(prompts) <= count
    assert len(prompts) == min(count, sum(map(is_prompt, conversation.units)))


@given(st.data())
def test_keep_within_tokens_drops_only_whole_units_and_only_what_it_must(
    data: st.DataObject,
) -> None:
    conversation = data.draw(conversations())
    messages = conversation.messages
    budget = data.draw(st.integers(0, estimate_tokens(messages) + 20))
    before = list(messages)
    result = keep_within_tokens(messages, budget)
    assert messages == before
    assert result is not messages
    check_well_cut(conversation, result)

    pinned, groups, starts = conversation.pinned, conversation.units, conversation.turn_starts

    def fits(kept: list[Message]) -> bool:
        return estimate_tokens(kept) <= budget

    if not groups:
        assert result == pinned
        return
    # The result: whole turns from the oldest kept one, or the last turn's prompt and its last
    # units.
    whole_turns = [pinned + joined(groups[start:]) for start in starts]
    last = starts[-1]
    inside_last = [pinned + groups[last] + joined(groups[i:]) for i in range(last + 2, len(groups))]
    assert result in whole_turns + inside_last
    if fits(messages):
        assert result == messages
    # Any suffix of whole units that keeps the newest prompt fits -> the result fits.
    if any(fits(pinned + joined(groups[i:])) for i in range(last + 1)):
        assert fits(result)
    smallest = pinned + groups[last] + (groups[-1] if last < len(groups) - 1 else [])
    if fits(smallest):
        assert fits(result)
    # Nothing is dropped that would have fitted.
    if result in whole_turns and result != messages:
        dropped = whole_turns.index(result)
        assert not fits(whole_turns[dropped - 1])
    if result in inside_last:
        position = inside_last.index(result)
        bigger = inside_last[position - 1] if position else whole_turns[-1]
        assert not fits(bigger)


@given(conversations(), st.integers(0, 30))
def test_a_counter_of_our_own_is_used(conversation: Conversation, budget: int) -> None:
    """Counting messages, not tokens."""
    result = keep_within_tokens(conversation.messages, budget, count=len)
    check_well_cut(conversation, result)
    groups = conversation.units
    if groups:
        last = conversation.turn_starts[-1]
        smallest = len(conversation.pinned) + len(groups[last])
        smallest += len(groups[-1]) if last < len(groups) - 1 else 0
        if smallest <= budget:
            assert len(result) <= budget


@given(conversations())
def test_the_estimate_adds_up_message_by_message(conversation: Conversation) -> None:
    messages = conversation.messages
    assert estimate_tokens(messages) == sum(estimate_tokens([m]) for m in messages)


# --- examples ------------------------------------------------------------------------------------


def asks(*names: str, first: int = 0) -> AssistantMessage:
    return AssistantMessage(
        tool_calls=tuple(
            ToolCallRecord(id=f"call_{first + i}", name=name, arguments="{}")
            for i, name in enumerate(names)
        )
    )


def answer(number: int, content: str = "ok") -> ToolMessage:
    return ToolMessage(tool_call_id=f"call_{number}", content=content)


SYSTEM = SystemMessage(content="Be brief.")
U1, U2, U3 = (UserMessage(content=f"question {n}") for n in (1, 2, 3))


def test_no_tool_pair_is_split_and_the_tools_media_stay_with_them() -> None:
    calls = [ToolCall(index=0, id="call_3", name="draw", arguments="{}")]
    media = media_message(
        calls, {"call_3": ToolResult(call_id="call_3", content="", parts=(IMAGE,))}
    )
    assert media is not None
    history: list[Message] = [
        SYSTEM,
        U1,
        asks("search", "get_weather", first=1),
        answer(2),
        answer(1),
        AssistantMessage(content="first answer"),
        U2,
        asks("draw", first=3),
        answer(3),
        media,
        U3,
    ]
    assert keep_last_turns(history, 1) == [SYSTEM, U3]
    assert keep_last_turns(history, 2) == [SYSTEM, U2, asks("draw", first=3), answer(3), media, U3]
    assert keep_last_turns(history, 3) == history
    assert keep_last_turns(history, 30) == history
    for budget in range(estimate_tokens(history) + 2):
        result = keep_within_tokens(history, budget)
        assert validate_history(History(result)) == []
        assert result[-1] is U3


def test_a_long_tool_loop_keeps_its_prompt_and_its_latest_steps() -> None:
    history: list[Message] = [SYSTEM, U1, AssistantMessage(content="earlier"), U2]
    for n in range(5):
        history += [asks("search", first=n), answer(n, "x" * 400)]
    last_step: list[Message] = [asks("search", first=4), answer(4, "x" * 400)]
    smallest: list[Message] = [SYSTEM, U2, *last_step]
    assert keep_within_tokens(history, estimate_tokens(smallest)) == smallest
    two_steps: list[Message] = [
        SYSTEM,
        U2,
        asks("search", first=3),
        answer(3, "x" * 400),
        *last_step,
    ]
    assert keep_within_tokens(history, estimate_tokens(two_steps)) == two_steps
    # Too small for even that: what is left, for max_request_tokens to refuse.
    assert keep_within_tokens(history, 10) == smallest
    assert keep_within_tokens(history, 0) == smallest


def test_the_loops_own_prompts_belong_to_the_message_they_follow() -> None:
    cut = AssistantMessage(content="The answer is a long")
    history: list[Message] = [U1, AssistantMessage(content="hi"), U2, cut]
    history.append(UserMessage(content=CONTINUE_PROMPT))
    assert keep_last_turns(history, 1) == history[2:]
    empty: list[Message] = [
        U1,
        AssistantMessage(content=""),
        UserMessage(content=EMPTY_ANSWER_PROMPT),
    ]
    assert units(empty) == [[U1], empty[1:]]


def test_a_prompt_after_tool_answers_starts_a_turn() -> None:
    """A run that failed after its tools leaves the history ending in tool messages; the next
    prompt follows them. Only the loop's media message (its header naming a call) belongs there."""
    history: list[Message] = [U1, asks("search"), answer(0), U2]
    assert keep_last_turns(history, 1) == [U2]
    lookalike = UserMessage(content=[{"type": "text", "text": "Returned by search (call other):"}])
    assert keep_last_turns([U1, asks("search"), answer(0), lookalike], 1) == [lookalike]


def test_without_a_prompt_each_unit_is_a_turn() -> None:
    greeting = AssistantMessage(content="Hello, how can I help?")
    history: list[Message] = [SYSTEM, greeting, asks("search"), answer(0)]
    assert turns(history) == [[greeting], [asks("search"), answer(0)]]
    assert keep_last_turns(history, 1) == [SYSTEM, asks("search"), answer(0)]
    assert keep_within_tokens(history, 0) == [SYSTEM, asks("search"), answer(0)]
    # Before the first prompt too.
    assert keep_last_turns([greeting, U1, AssistantMessage(content="a")], 1)[0] is U1


def test_empty_and_pinned_only() -> None:
    assert keep_last_turns([], 1) == []
    assert keep_within_tokens([], 0) == []
    assert keep_last_turns([SYSTEM], 2) == [SYSTEM]
    assert keep_within_tokens([SYSTEM, DeveloperMessage(content="x")], 0) == [
        SYSTEM,
        DeveloperMessage(content="x"),
    ]
    assert units([SYSTEM]) == turns([SYSTEM]) == []


def test_nonsense_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="turns must be at least 1"):
        keep_last_turns([U1], 0)
    with pytest.raises(ValueError, match="budget must be at least 0"):
        keep_within_tokens([U1], -1)
    with pytest.raises(ValueError, match="turns must be at least 1"):
        KeepLastTurns(0)
    with pytest.raises(ValueError, match="budget must be at least 0"):
        KeepWithinTokens(-5)


def test_the_estimate() -> None:
    short = estimate_tokens([UserMessage(content="hi")])
    # {"role":"user","content":"hi"}: 30 characters, 8 tokens, and the message's 4.
    assert short == 12
    longer = estimate_tokens([UserMessage(content="hi" + "x" * 400)])
    assert longer == short + 100
    small = UserMessage(content=[{"type": "text", "text": "look"}, IMAGE])
    huge_image = {"type": "image_url", "image_url": {"url": "data:," + "A" * 100_000}}
    huge = UserMessage(content=[{"type": "text", "text": "look"}, huge_image])
    assert estimate_tokens([small]) == estimate_tokens([huge])
    text_only = estimate_tokens([UserMessage(content=[{"type": "text", "text": "look"}])])
    assert estimate_tokens([small]) == text_only + MEDIA_PART_TOKENS
    assert estimate_tokens([]) == 0


# --- the hooks -----------------------------------------------------------------------------------


def request(messages: list[Message], system: str | None = None) -> ModelCallRequest:
    return ModelCallRequest(
        messages=messages,
        system=system,
        tools=["search"],
        params={},
        model="m",
        turn=1,
        usage=TokenUsage(),
    )


def test_keep_last_turns_sets_the_calls_messages_and_leaves_the_list_it_had() -> None:
    history: list[Message] = [U1, AssistantMessage(content="a"), U2]
    sent = request(history)
    hooks: Hooks = KeepLastTurns(1)
    assert hooks.before_model_call(sent) is None
    assert sent.messages == [U2]
    assert history == [U1, AssistantMessage(content="a"), U2]


def test_keep_within_tokens_counts_the_system_prompt() -> None:
    history: list[Message] = [U1, AssistantMessage(content="a" * 200), U2]
    budget = estimate_tokens(history)
    without = request(list(history))
    KeepWithinTokens(budget).before_model_call(without)
    assert without.messages == history
    with_system = request(list(history), system="Be brief. " * 20)
    hooks: Hooks = KeepWithinTokens(budget)
    assert hooks.before_model_call(with_system) is None
    assert with_system.messages == [U2]


def test_keep_within_tokens_takes_a_counter() -> None:
    history: list[Message] = [U1, AssistantMessage(content="a"), U2, AssistantMessage(content="b")]
    sent = request(list(history), system="s")
    KeepWithinTokens(3, count=len).before_model_call(sent)
    assert sent.messages == history[2:]


def search_call(name: str = "search") -> ToolCall:
    return ToolCall(index=0, id="call_0", name=name, arguments="{}")


def test_stop_when_a_tool_has_returned() -> None:
    hooks = StopWhen(tool_called("submit", "finish"))
    hooks.on_response_start("go", "m")
    assert hooks.before_model_call(request([U1])) is None
    hooks.on_tool_result(search_call("search"), ToolResult(call_id="call_0", content="found"))
    assert hooks.before_model_call(request([U1])) is None
    failed = ToolResult(call_id="call_0", content="Error: ValueError", error=ValueError())
    hooks.on_tool_result(search_call("submit"), failed)
    assert hooks.before_model_call(request([U1])) is None
    hooks.on_tool_result(search_call("finish"), ToolResult(call_id="call_0", content="report"))
    assert hooks.before_model_call(request([U1])) == StopRun("report")
    # The first condition to answer is the answer.
    hooks.on_tool_result(search_call("submit"), ToolResult(call_id="call_0", content="later"))
    assert hooks.before_model_call(request([U1])) == StopRun("report")


def test_stop_when_a_text_matches() -> None:
    hooks = StopWhen(text_matches(r"^FINAL:"), tool_called("submit"))
    hooks.on_response_start("go", "m")
    hooks.on_text("thinking about FINAL: no")
    assert hooks.before_model_call(request([U1])) is None
    hooks.on_text("FINAL: 42")
    hooks.on_tool_result(search_call("submit"), ToolResult(call_id="call_0", content="x"))
    assert hooks.before_model_call(request([U1])) == StopRun("FINAL: 42")


def test_stop_when_forgets_between_runs() -> None:
    hooks = StopWhen(text_matches("done"))
    hooks.on_response_start("first", "m")
    hooks.on_text("done")
    assert hooks.before_model_call(request([U1])) == StopRun("done")
    hooks.on_response_start([{"type": "text", "text": "second"}], "m")
    assert hooks.before_model_call(request([U1])) is None
    hooks.on_text("not yet")
    assert hooks.before_model_call(request([U1])) is None


def test_a_condition_of_our_own() -> None:
    class LongText(StopCondition):
        def after_text(self, text: str) -> str | None:
            return text if len(text) > 10 else None

    hooks = StopWhen(LongText())
    hooks.on_response_start("go", "m")
    hooks.on_text("a" * 11)
    assert hooks.before_model_call(request([U1])) == StopRun("a" * 11)


def test_bad_conditions_are_refused() -> None:
    with pytest.raises(HookError, match="at least one condition"):
        StopWhen()
    with pytest.raises(HookError, match="not str"):
        StopWhen("submit")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one tool name"):
        tool_called()
    with pytest.raises(TypeError):
        tool_called(print)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "make",
    [
        lambda: KeepLastTurns(2),
        lambda: KeepWithinTokens(1000),
        lambda: StopWhen(tool_called("submit"), text_matches("x")),
    ],
)
def test_the_runners_take_the_hooks(make: Callable[[], Hooks]) -> None:
    hooks = make()
    hook_calls(hooks, blocking=True)  # no misspelt on_..., every hook takes its event's fields
    own = {name for name in vars(type(hooks)) if not name.startswith("_")}
    assert own <= {*HOOK_NAMES, "before_model_call"}
    assert repr(hooks).startswith(type(hooks).__name__ + "(")


# --- end to end, under both runners ------------------------------------------------------------

needs_the_hook = pytest.mark.skipif(
    "before_model_call" not in HOOK_NAMES, reason="needs Hooks.before_model_call (the core)"
)


@function_tool
def submit(report: str) -> str:
    """Submit the final report."""
    return f"submitted: {report}"


@function_tool
def search(query: str) -> str:
    """Search the notes."""
    return f"notes about {query}: " + "x" * 300


SUBMIT_TURN = Turn(tool_calls=[ToolCallSpec(name="submit", arguments={"report": "r"})])
SEARCH_TURN = Turn(tool_calls=[ToolCallSpec(name="search", arguments={"query": "q"})])


def sent_roles(server: FakeOpenAIServer) -> list[list[str]]:
    return [[message["role"] for message in r.body["messages"]] for r in server.requests]


@needs_the_hook
def test_each_call_sends_the_last_turn_and_the_history_keeps_all(
    bot: Bot, server: FakeOpenAIServer, runner: Runner
) -> None:
    assistant = bot(system="Be brief.", tools=[search])
    server.add(Turn(text="one"), SEARCH_TURN, Turn(text="two"), Turn(text="three"))
    hooks = KeepLastTurns(1)
    assert [runner.run(assistant, p, hooks=hooks) for p in ("q1", "q2", "q3")] == [
        "one",
        "two",
        "three",
    ]
    assert sent_roles(server) == [
        ["system", "user"],
        ["system", "user"],
        ["system", "user", "assistant", "tool"],
        ["system", "user"],
    ]
    assert [m.role for m in assistant.history] == [
        *("user", "assistant"),
        *("user", "assistant", "tool", "assistant"),
        *("user", "assistant"),
    ]


@needs_the_hook
def test_a_token_budget_sends_valid_requests_in_a_tool_loop(
    bot: Bot, server: FakeOpenAIServer, runner: Runner
) -> None:
    assistant = bot(tools=[search])
    server.add(SEARCH_TURN, SEARCH_TURN, SEARCH_TURN, Turn(text="found"))
    assert runner.run(assistant, "look", hooks=KeepWithinTokens(250)) == "found"
    for r in server.requests:
        assert validate_history(r.body["messages"]) == []
        assert r.body["messages"][0] == {"role": "user", "content": "look"}
    assert sent_roles(server)[-1] == ["user", "assistant", "tool"]
    assert len(assistant.history) == 8


@needs_the_hook
def test_stop_when_a_tool_returned_in_one_run_and_not_in_the_next(
    bot: Bot, server: FakeOpenAIServer, runner: Runner
) -> None:
    assistant = bot(tools=[submit])
    hooks = StopWhen(tool_called("submit"))
    server.add(SUBMIT_TURN, Turn(text="hello"))
    assert runner.run(assistant, "report", hooks=hooks) == "submitted: r"
    assert len(server.requests) == 1
    assert runner.run(assistant, "hi", hooks=hooks) == "hello"
    assert len(server.requests) == 2


@needs_the_hook
def test_stop_when_the_text_matches_after_its_tools_ran(
    bot: Bot, server: FakeOpenAIServer, runner: Runner
) -> None:
    ran: list[str] = []

    @function_tool
    def note(text: str) -> str:
        """Take a note."""
        ran.append(text)
        return "noted"

    assistant = bot(tools=[note])
    calls = [ToolCallSpec(name="note", arguments={"text": "t"})]
    server.add(Turn(text="FINAL: 42", tool_calls=calls))
    hooks = StopWhen(text_matches(r"^FINAL:"))
    assert runner.run(assistant, "go", hooks=hooks) == "FINAL: 42"
    assert ran == ["t"]
    assert len(server.requests) == 1
