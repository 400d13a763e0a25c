"""The chat's views: the pages, and one turn of a conversation streamed as Server-Sent Events.

The turn comes in two styles, which do the same thing:

- ``stream`` is a sync view over ``Assistant.response_events()``: it streams under WSGI
  (``runserver``, gunicorn). Under ASGI Django must read a sync iterator to its end before it
  sends anything (it warns that it does), so the whole answer arrives at once.
- ``astream`` is an async view over ``Assistant.aresponse_events()``: it streams under ASGI
  (uvicorn, Daphne). Under WSGI Django reads it to its end first, the other way round.

The page posts to the one that streams under the server that served it.

Each request loads the conversation's history, runs one turn and stores the history again, in a
``finally``, so what is stored is what agentools committed, also when the run failed or the client
left. A client that leaves mid-stream closes the event stream: under WSGI the server closes the
response's iterator (``GeneratorExit`` at its ``yield``); under ASGI Django cancels the request's
task (``CancelledError`` inside the run). Either way the ``with`` block ends the run: the model's
stream is closed, tools are cancelled or waited for, and the prompt stays in the history.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
from django.core.handlers.asgi import ASGIRequest
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import aget_object_or_404, get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from agentools import AgentoolsError, Assistant, History

from . import llm, sse
from .models import Conversation
from .tools import Notebook

log = logging.getLogger(__name__)

SYSTEM = (
    "You are a helpful, concise assistant. When the user asks you to note something down, call "
    "write_note with the whole note as its body, then say in one sentence what you saved."
)

# What ends a run early and is told to the page; anything else is a bug and goes to Django.
REPORTED = (AgentoolsError, openai.APIError)


def index(request: HttpRequest) -> HttpResponse:
    conversations = Conversation.objects.order_by("-updated")[:20]
    return render(request, "chat/index.html", {"conversations": conversations})


@require_POST
def new(request: HttpRequest) -> HttpResponse:
    conversation = Conversation.objects.create()
    return HttpResponseRedirect(reverse("chat:conversation", args=[conversation.pk]))


def conversation(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    chat = get_object_or_404(Conversation, pk=conversation_id)
    style = request.GET.get("view") or ("async" if isinstance(request, ASGIRequest) else "sync")
    name = "chat:astream" if style == "async" else "chat:stream"
    context = {
        "conversation": chat,
        "transcript": transcript(chat.messages),
        "stream_url": reverse(name, args=[chat.pk]),
        "style": style,
    }
    return render(request, "chat/conversation.html", context)


def assistant_for(chat: Conversation, endpoint: llm.Endpoint, **clients: Any) -> Assistant:
    """An assistant continuing ``chat``: one per request, as an assistant runs one turn at a
    time and holds its history."""
    return Assistant(
        model=endpoint.model,
        tools=[Notebook(chat.pk)],
        system=SYSTEM,
        history=chat.history,
        **clients,
    )


# -- sync: WSGI ---------------------------------------------------------------------------------


@require_POST
def stream(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    chat = get_object_or_404(Conversation, pk=conversation_id)
    prompt = request.POST.get("prompt", "").strip()
    if not prompt:
        return HttpResponseBadRequest("the prompt is empty")
    endpoint = llm.endpoint()
    assistant = assistant_for(chat, endpoint, client=endpoint.client)
    return event_stream(sync_frames(chat, assistant, prompt, endpoint.pace))


def sync_frames(
    chat: Conversation, assistant: Assistant, prompt: str, pace: float
) -> Iterator[bytes]:
    try:
        with assistant.response_events(prompt) as events:
            for event in events:
                data = sse.frame_of(event)
                if data is not None:
                    yield data
                    if pace:
                        time.sleep(pace)
    except REPORTED as error:
        log.warning("the run stopped: %s", type(error).__name__)
        yield sse.error_frame(error)
    finally:
        chat.keep(assistant.history)


# -- async: ASGI --------------------------------------------------------------------------------


@require_POST
async def astream(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    chat = await aget_object_or_404(Conversation, pk=conversation_id)
    prompt = request.POST.get("prompt", "").strip()
    if not prompt:
        return HttpResponseBadRequest("the prompt is empty")
    return event_stream(async_frames(chat, llm.endpoint(), prompt))


async def async_frames(
    chat: Conversation, endpoint: llm.Endpoint, prompt: str
) -> AsyncIterator[bytes]:
    async with endpoint.new_async_client() as client:
        assistant = assistant_for(chat, endpoint, async_client=client)
        try:
            async with assistant.aresponse_events(prompt) as events:
                async for event in events:
                    data = sse.frame_of(event)
                    if data is not None:
                        yield data
                        if endpoint.pace:
                            await asyncio.sleep(endpoint.pace)
        except REPORTED as error:
            log.warning("the run stopped: %s", type(error).__name__)
            yield sse.error_frame(error)
        finally:
            await chat.akeep(assistant.history)


def event_stream(frames: Iterator[bytes] | AsyncIterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(frames, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each frame on at once
    return response


# -- the page's transcript ----------------------------------------------------------------------


def transcript(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored messages as the page shows them: prompts, texts, tool calls and results."""
    names: dict[str, str] = {}
    shown: list[dict[str, Any]] = []
    for message in History.from_openai(messages).to_openai():
        role = message["role"]
        if role == "user":
            shown.append({"kind": "user", "text": message.get("content") or ""})
        elif role == "assistant":
            if message.get("content"):
                shown.append({"kind": "text", "text": message["content"]})
            for call in message.get("tool_calls") or ():
                names[call["id"]] = call["function"]["name"]
                shown.append(
                    {
                        "kind": "tool",
                        "name": call["function"]["name"],
                        "fields": arguments_of(call["function"]["arguments"]),
                    }
                )
        elif role == "tool":
            shown.append({"kind": "result", "text": message.get("content") or ""})
    return shown


def arguments_of(arguments: str) -> list[tuple[str, str]]:
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return [("arguments", arguments)]
    if not isinstance(parsed, dict):
        return [("arguments", arguments)]
    return [
        (name, value if isinstance(value, str) else json.dumps(value))
        for name, value in parsed.items()
    ]
