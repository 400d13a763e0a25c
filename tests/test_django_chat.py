"""``examples/django_chat``: a Django project streaming agentools' events to a page.

The same turns are taken through the sync view (``Assistant.response_events()``, Django's test
``Client``) and the async view (``aresponse_events()``, ``AsyncClient``), then under real servers
(uvicorn for ASGI, ``runserver`` for WSGI, in subprocesses on 127.0.0.1) with a real HTTP client,
and last in headless Chromium. The model is always the loopback ``FakeOpenAIServer`` with
scripted turns.

``AGENTOOLS_DJANGO_SCREENSHOT=docs/django_chat.png python -m pytest tests/test_django_chat.py -k
browser`` writes the page's screenshot, taken mid-stream, for the docs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx2
import pytest

from agentools import validate_history
from agentools.testing import (
    Chunking,
    FakeOpenAIServer,
    HTTPStatus,
    RecordedRequest,
    StallAfter,
    ToolCallSpec,
    Turn,
    render_chunks,
)

from .django_chat_support import (
    FrameReader,
    clean_environment,
    csrf_headers,
    kinds,
    parse_frames,
    runserver_command,
    serving_the_example,
    set_up_django,
    text_of,
    uvicorn_command,
    wait_for,
)
from .support import serving

for needed in ("django", "uvicorn"):
    pytest.importorskip(needed, reason="the Django example's tests need: pip install -e '.[test]'")

Frame = tuple[str, Any]

NOTE = {
    "title": "Trip to Rome",
    "body": "Pack the passport, the charger and two books for the train.",
}
PROMPT = 'Save a note: "Pack the passport..." under the title "Trip to Rome"'
ANSWER = "Saved your note “Trip to Rome”."


def note_turns() -> list[Turn]:
    """The model calls ``write_note``, its arguments in pieces of 7 characters, then answers."""
    return [
        Turn(
            tool_calls=[ToolCallSpec(name="write_note", arguments=NOTE)],
            chunking=Chunking(arguments=7),
        ),
        Turn(text=ANSWER, chunking=Chunking(text=4)),
    ]


@pytest.fixture(scope="session")
def chat_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    database = tmp_path_factory.mktemp("django_chat") / "chat.sqlite3"
    set_up_django(database)
    from django.conf import settings

    return Path(settings.DATABASES["default"]["NAME"])


@contextlib.contextmanager
def model_of_the_views(
    turns: list[Turn] | None = None, responder: Any = None
) -> Iterator[FakeOpenAIServer]:
    """The views of this process talk to a loopback server with these turns."""
    from chat import llm

    with serving(turns or (), responder=responder) as server:
        client = server.client()
        endpoint = llm.Endpoint(
            model="fake-model", client=client, new_async_client=server.async_client
        )
        previous = llm.use(endpoint)
        try:
            yield server
        finally:
            llm.use(previous)
            client.close()


@pytest.fixture
def model(chat_project: Path) -> Iterator[FakeOpenAIServer]:
    with model_of_the_views() as server:
        yield server
        assert server.pending == 0, "a scripted turn was not used"


@pytest.fixture(params=["sync", "async"])
def view(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def new_conversation(messages: list[dict[str, Any]] | None = None) -> uuid.UUID:
    from chat.models import Conversation

    conversation = Conversation.objects.create(messages=messages or [])
    return uuid.UUID(str(conversation.pk))


def stored(conversation_id: uuid.UUID) -> list[dict[str, Any]]:
    from chat.models import Conversation

    messages: list[dict[str, Any]] = Conversation.objects.get(pk=conversation_id).messages
    return messages


def notes_of(conversation_id: uuid.UUID) -> list[tuple[str, str]]:
    from chat.models import Note

    return list(Note.objects.filter(conversation_id=conversation_id).values_list("title", "body"))


def stream_url(view: str, conversation_id: uuid.UUID) -> str:
    return f"/c/{conversation_id}/{'astream' if view == 'async' else 'stream'}"


def take_turn(view: str, conversation_id: uuid.UUID, prompt: str) -> list[Frame]:
    """One turn through the test client: the sync view with ``Client``, the async view with
    ``AsyncClient`` (each in the style of server it streams under)."""
    if view == "async":
        return asyncio.run(take_async_turn(conversation_id, prompt))
    from django.test import Client

    response = Client().post(stream_url("sync", conversation_id), {"prompt": prompt})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    return parse_frames(b"".join(response.streaming_content))


async def take_async_turn(conversation_id: uuid.UUID, prompt: str) -> list[Frame]:
    from django.test import AsyncClient

    response = await AsyncClient().post(stream_url("async", conversation_id), {"prompt": prompt})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    return parse_frames(b"".join([chunk async for chunk in response.streaming_content]))


def assert_the_note_turn(frames: list[Frame]) -> None:
    """The frames of ``note_turns()``, in order: the call growing, whole, its result, the text."""
    assert kinds(frames) == ["tool_call", "tool_call_done", "tool_result", "text", "done"]
    partial = [data for kind, data in frames if kind == "tool_call"]
    assert {(data["index"], data["name"]) for data in partial} == {(0, "write_note")}
    bodies = [data["parsed"]["body"] for data in partial if "body" in (data["parsed"] or {})]
    assert len(set(bodies)) > 2, "the body did not grow in steps"
    assert all(NOTE["body"].startswith(body) for body in bodies)
    assert bodies[-1] == NOTE["body"]
    # The title is known finished while the body still streams.
    assert any(data["complete"] == ["title"] for data in partial)
    ((_, done),) = [frame for frame in frames if frame[0] == "tool_call_done"]
    assert done["parsed"] == NOTE
    ((_, result),) = [frame for frame in frames if frame[0] == "tool_result"]
    assert result["error"] is None
    assert json.loads(result["content"])["words"] == len(NOTE["body"].split())
    assert text_of(frames) == ANSWER
    assert frames[-1] == ("done", {"text": ANSWER})


def assert_the_note_turn_stored(conversation_id: uuid.UUID, prompt: str) -> None:
    messages = stored(conversation_id)
    assert validate_history(messages) == []
    assert [message["role"] for message in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[0] == {"role": "user", "content": prompt}
    assert json.loads(messages[1]["tool_calls"][0]["function"]["arguments"]) == NOTE
    assert messages[-1] == {"role": "assistant", "content": ANSWER}
    assert notes_of(conversation_id) == [(NOTE["title"], NOTE["body"])]


# -- Django's test client -----------------------------------------------------------------------


def test_a_turn_streams_its_events_in_order_and_is_stored(
    model: FakeOpenAIServer, view: str
) -> None:
    model.add(*note_turns())
    conversation = new_conversation()

    frames = take_turn(view, conversation, PROMPT)

    assert_the_note_turn(frames)
    assert_the_note_turn_stored(conversation, PROMPT)


def test_the_next_request_continues_the_stored_conversation(
    model: FakeOpenAIServer, view: str
) -> None:
    model.add(*note_turns(), Turn(text="Two books.", chunking=Chunking(text=None)))
    conversation = new_conversation()
    take_turn(view, conversation, PROMPT)
    first = stored(conversation)

    frames = take_turn(view, conversation, "How many books?")

    assert frames == [("text", {"delta": "Two books."}), ("done", {"text": "Two books."})]
    request = model.requests[-1]
    assert request.messages[0]["role"] == "system"
    assert request.messages[1:] == [*first, {"role": "user", "content": "How many books?"}]
    assert stored(conversation) == [
        *first,
        {"role": "user", "content": "How many books?"},
        {"role": "assistant", "content": "Two books."},
    ]


def echo(request: RecordedRequest) -> Turn:
    """A model that repeats the last prompt, in pieces of 2 characters."""
    return Turn(text=f"You said {request.messages[-1]['content']}.", chunking=Chunking(text=2))


def test_two_conversations_at_once_are_kept_apart(chat_project: Path, view: str) -> None:
    first, second = new_conversation(), new_conversation()
    with model_of_the_views(responder=echo) as model:
        if view == "async":

            async def both() -> list[list[Frame]]:
                return await asyncio.gather(
                    take_async_turn(first, "alpha"), take_async_turn(second, "beta")
                )

            alpha, beta = asyncio.run(both())
        else:
            from django.test import Client

            responses = [
                Client().post(stream_url("sync", conversation), {"prompt": prompt})
                for conversation, prompt in [(first, "alpha"), (second, "beta")]
            ]
            streams = [iter(response.streaming_content) for response in responses]
            # Both runs are open at once: a frame of each, then the rest of each.
            heads = [next(stream) for stream in streams]
            alpha, beta = (
                parse_frames(head + b"".join(stream))
                for head, stream in zip(heads, streams, strict=True)
            )
        requests = model.requests

    assert text_of(alpha) == "You said alpha."
    assert text_of(beta) == "You said beta."
    assert stored(first) == [
        {"role": "user", "content": "alpha"},
        {"role": "assistant", "content": "You said alpha."},
    ]
    assert stored(second) == [
        {"role": "user", "content": "beta"},
        {"role": "assistant", "content": "You said beta."},
    ]
    sent = sorted(json.dumps(request.messages[1:]) for request in requests)
    assert sent == [
        json.dumps([{"role": "user", "content": "alpha"}]),
        json.dumps([{"role": "user", "content": "beta"}]),
    ]


def test_a_client_leaving_mid_stream_cancels_the_run_and_keeps_a_valid_history(
    model: FakeOpenAIServer,
) -> None:
    """What a WSGI server does when the client is gone: it closes the response's iterator."""
    from django.test import Client

    model.add(note_turns()[0])
    conversation = new_conversation()
    response = Client().post(stream_url("sync", conversation), {"prompt": PROMPT})
    reader, seen = FrameReader(), []
    for chunk in response.streaming_content:
        seen += reader.feed(chunk)
        if any(kind == "tool_call" and "body" in (data["parsed"] or {}) for kind, data in seen):
            break  # the note's body is streaming

    response.close()

    assert stored(conversation) == [{"role": "user", "content": PROMPT}]
    assert validate_history(stored(conversation)) == []
    assert notes_of(conversation) == []  # the half-streamed call never ran
    assert len(model.requests) == 1


def test_a_failed_run_tells_the_page_and_keeps_the_prompt(
    model: FakeOpenAIServer, view: str
) -> None:
    model.add(Turn(fault=HTTPStatus(500)), Turn(text="Back."))
    conversation = new_conversation()

    frames = take_turn(view, conversation, "Hello?")

    assert kinds(frames) == ["error"]
    assert frames[0][1]["error"] == "InternalServerError"
    assert stored(conversation) == [{"role": "user", "content": "Hello?"}]
    # The stored history is one the next request can continue.
    assert take_turn(view, conversation, "Hello again?")[-1] == ("done", {"text": "Back."})
    assert [message["content"] for message in stored(conversation)] == [
        "Hello?",
        "Hello again?",
        "Back.",
    ]


def test_an_empty_prompt_is_refused(model: FakeOpenAIServer, view: str) -> None:
    from django.test import Client

    conversation = new_conversation()
    response = Client().post(stream_url(view, conversation), {"prompt": "  "})

    assert response.status_code == 400
    assert stored(conversation) == []


def test_the_page_shows_the_stored_conversation_and_streams_from_the_right_view(
    model: FakeOpenAIServer,
) -> None:
    from django.test import AsyncClient, Client

    model.add(*note_turns())
    conversation = new_conversation()
    take_turn("sync", conversation, PROMPT)
    page = f"/c/{conversation}/"

    html = Client().get(page).content.decode()

    for shown in ["Save a note:", "write_note", "Pack the passport, the charger", ANSWER]:
        assert shown in html
    assert f'data-stream="/c/{conversation}/stream"' in html  # WSGI: the sync view
    asgi_html = asyncio.run(AsyncClient().get(page)).content.decode()
    assert f'data-stream="/c/{conversation}/astream"' in asgi_html  # ASGI: the async view
    chosen = Client().get(page, {"view": "async"}).content.decode()
    assert f'data-stream="/c/{conversation}/astream"' in chosen


# -- real servers: uvicorn (ASGI) and runserver (WSGI) -------------------------------------------


@attrs.frozen
class Served:
    """The example under a real server in a subprocess, and the model it talks to."""

    url: str
    model: FakeOpenAIServer
    log: Path


@pytest.fixture(scope="module")
def real_model() -> Iterator[FakeOpenAIServer]:
    """The model of the servers below (one for both: the leak checks of ``serving`` look at
    every fake server's threads)."""
    with serving() as model:
        yield model


@contextlib.contextmanager
def served(
    command: Callable[[int], list[str]], model: FakeOpenAIServer, database: Path, log: Path
) -> Iterator[Served]:
    environment = clean_environment(
        OPENAI_BASE_URL=model.base_url,
        OPENAI_API_KEY="sk-fake",
        AGENTOOLS_MODEL="fake-model",
        DJANGO_CHAT_DB=str(database),
    )
    with serving_the_example(command, environment, log) as url:
        yield Served(url, model, log)


@pytest.fixture(scope="module")
def asgi_server(
    real_model: FakeOpenAIServer, chat_project: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("uvicorn") / "uvicorn.log"
    with served(uvicorn_command, real_model, chat_project, log) as server:
        yield server


@pytest.fixture(scope="module")
def wsgi_server(
    real_model: FakeOpenAIServer, chat_project: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("runserver") / "runserver.log"
    with served(runserver_command, real_model, chat_project, log) as server:
        yield server


@pytest.fixture
def asgi(asgi_server: Served) -> Iterator[Served]:
    yield asgi_server
    assert asgi_server.model.pending == 0, "a scripted turn was not used"


@pytest.fixture
def wsgi(wsgi_server: Served) -> Iterator[Served]:
    yield wsgi_server
    assert wsgi_server.model.pending == 0, "a scripted turn was not used"


def stream_frames(
    client: httpx2.Client, view: str, conversation: uuid.UUID, prompt: str
) -> Iterator[Frame]:
    """The frames of one turn over HTTP, each as soon as its bytes arrive."""
    headers = csrf_headers(client, f"/c/{conversation}/")
    url = stream_url(view, conversation)
    with client.stream("POST", url, data={"prompt": prompt}, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        reader = FrameReader()
        for chunk in response.iter_bytes():
            yield from reader.feed(chunk)


# Django's warning when a view's iterator is not of the server's kind: it then reads the iterator
# to its end before it sends anything, and the answer arrives whole.
READ_WHOLE = {
    "asgi": b"StreamingHttpResponse must consume synchronous iterators",
    "wsgi": b"StreamingHttpResponse must consume asynchronous iterators",
}


@pytest.mark.parametrize("view", ["async", "sync"])
@pytest.mark.parametrize("server", ["asgi", "wsgi"])
def test_a_turn_through_a_real_server(
    request: pytest.FixtureRequest, server: str, view: str
) -> None:
    """Each view works under each server; only the view of the server's kind streams (the page
    uses that one): with the other, Django reads the whole answer first and says so."""
    example: Served = request.getfixturevalue(server)
    example.model.add(*note_turns())
    conversation = new_conversation()
    logged = len(example.log.read_bytes())

    with httpx2.Client(base_url=example.url, trust_env=False, timeout=30) as client:
        frames = list(stream_frames(client, view, conversation, PROMPT))

    assert_the_note_turn(frames)
    assert_the_note_turn_stored(conversation, PROMPT)
    streams = (server, view) in {("asgi", "async"), ("wsgi", "sync")}
    assert (READ_WHOLE[server] in example.log.read_bytes()[logged:]) is not streams


def streaming_call_turn(stall: float, note: dict[str, str] = NOTE) -> Turn:
    """Text, then a ``write_note`` call whose stream stalls ``stall`` seconds once a part of
    the body has been sent (the stall ends early if the client hangs up)."""
    turn = Turn(
        text="I'll note that down.",
        tool_calls=[ToolCallSpec(name="write_note", arguments=note)],
        chunking=Chunking(text=5, arguments=6),
    )
    sent = ""
    for count, chunk in enumerate(render_chunks(turn), start=1):
        for call in chunk["choices"][0]["delta"].get("tool_calls") or ():
            sent += call["function"].get("arguments", "")
        if '"body": "Pack the passport, the ch' in sent:
            return attrs.evolve(turn, fault=StallAfter(chunks=count, seconds=stall, resume=True))
    raise AssertionError("the body never streams")


def first_frames(client: httpx2.Client, view: str, conversation: uuid.UUID) -> list[Frame]:
    """The frames of a ``streaming_call_turn`` up to the stall; then the caller hangs up."""
    seen = []
    for frame in stream_frames(client, view, conversation, PROMPT):
        seen.append(frame)
        if frame[0] == "tool_call" and "body" in (frame[1]["parsed"] or {}):
            # Before the run's end: it stores the history last, and nothing is stored yet.
            assert stored(conversation) == []
            return seen
    raise AssertionError(f"the stream ended before the stall: {kinds(seen)}")


def test_hanging_up_under_asgi_cancels_the_run_and_keeps_a_valid_history(asgi: Served) -> None:
    """The async view sends each event as it comes: the first ones arrive while the model is
    stalled mid-call. Hanging up then cancels the run at once (Django cancels the request's
    task): the model's stream is closed and the stored history is the prompt."""
    asgi.model.add(streaming_call_turn(stall=60))
    conversation = new_conversation()

    with httpx2.Client(base_url=asgi.url, trust_env=False, timeout=30) as client:
        seen = first_frames(client, "async", conversation)
        assert kinds(seen) == ["text", "tool_call"]
        assert text_of(seen) == "I'll note that down."
        # The stalled stream's, and those the sync views' clients keep for their next request.
        during = asgi.model.open_connections

    wait_for(lambda: stored(conversation) != [], "stored")
    assert stored(conversation) == [{"role": "user", "content": PROMPT}]
    assert validate_history(stored(conversation)) == []
    assert notes_of(conversation) == []
    wait_for(lambda: asgi.model.open_connections < during, "closed: the model's stream")


def test_hanging_up_under_wsgi_cancels_the_run_at_the_next_event(wsgi: Served) -> None:
    """The sync view under runserver sends each event as it comes. A WSGI server learns that the
    client is gone only when a write fails: once the model goes on after its stall, the server
    closes the response's iterator, which cancels the run; the stored history is the prompt."""
    long_note = {"title": NOTE["title"], "body": NOTE["body"] * 10}
    wsgi.model.add(streaming_call_turn(stall=2, note=long_note))
    conversation = new_conversation()

    with httpx2.Client(base_url=wsgi.url, trust_env=False, timeout=30) as client:
        seen = first_frames(client, "sync", conversation)
        assert kinds(seen) == ["text", "tool_call"]

    wait_for(lambda: stored(conversation) != [], "stored")
    assert stored(conversation) == [{"role": "user", "content": PROMPT}]
    assert validate_history(stored(conversation)) == []
    assert notes_of(conversation) == []  # the call was cut while its body streamed


# -- a real browser -----------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def test_the_page_streams_the_answer_in_a_browser(asgi: Served) -> None:
    """Headless Chromium loads the page from uvicorn, sends a prompt, and shows the tool call
    while its arguments stream, its result, then the answer."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"no {CHROMIUM} (Debian's chromium package; .ci/run installs it)")
    screenshot = os.environ.get("AGENTOOLS_DJANGO_SCREENSHOT")
    earlier = [
        {"role": "user", "content": "Can you keep notes for me?"},
        {"role": "assistant", "content": "Of course: tell me what to note and I'll save it."},
    ]
    conversation = new_conversation(earlier)
    asgi.model.add(
        streaming_call_turn(stall=4 if screenshot else 1.5),
        Turn(text=ANSWER, chunking=Chunking(text=3)),
    )

    with sync_api.sync_playwright() as playwright:
        # Playwright gives the browser a new empty profile of its own.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 820, "height": 470})
            page.goto(f"{asgi.url}/c/{conversation}/")
            page.fill("#ask input[name=prompt]", PROMPT)
            page.click("#ask button")
            # Mid-stream: the body is still streaming (the model stalls there).
            page.locator(".tool dd:not(.done)").wait_for()
            if screenshot:
                page.screenshot(path=screenshot)
            expect = sync_api.expect
            expect(page.locator(".tool.called .name")).to_have_text("write_note")
            expect(page.locator(".tool.called dd").last).to_have_text(NOTE["body"])
            expect(page.locator(".result")).to_contain_text('"saved": true')
            expect(page.locator("p.text").last).to_have_text(ANSWER)
            expect(page.locator("p.text").first).to_have_text(earlier[1]["content"])
        finally:
            browser.close()

    assert [message["role"] for message in stored(conversation)] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
