"""Which model the chat talks to.

With ``OPENAI_API_KEY`` or ``OPENAI_BASE_URL`` set, that endpoint (model ``AGENTOOLS_MODEL``,
default ``gpt-4o-mini``); a base URL without a key is a local OpenAI-compatible server, which
needs none (the ``openai`` client, which insists on one, gets a placeholder). Otherwise agentools'
loopback server with its rule-based offline model (``agentools.testing``), started once per
process, so the page works with no network and no key, through the real ``openai`` client over
real HTTP and SSE.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable

import attrs
from openai import AsyncOpenAI, OpenAI

from agentools.testing import FakeOpenAIServer, offline_model

# The offline model answers at once; between the events the views forward, they wait this long
# so that a person can see the answer stream. A real model sets its own pace: there is none.
OFFLINE_PACE_SECONDS = 0.04


@attrs.frozen
class Endpoint:
    """A model name and how to reach it.

    ``client`` is shared by all sync requests (it is thread-safe and keeps its connections for the
    next request). Each async request makes its own ``new_async_client()`` and closes it: an
    ``AsyncOpenAI``'s connections belong to the event loop that opened them, and under
    ``runserver`` every async request runs in an event loop of its own.
    """

    model: str
    client: OpenAI
    new_async_client: Callable[[], AsyncOpenAI]
    pace: float = 0.0


_lock = threading.Lock()
_current: Endpoint | None = None


def endpoint() -> Endpoint:
    """This process's endpoint, made on first use."""
    global _current
    with _lock:
        if _current is None:
            _current = _from_environment()
        return _current


def use(new: Endpoint | None) -> Endpoint | None:
    """Talk to ``new`` from now on (``None``: the environment's again, on next use); returns the
    endpoint used until now. For tests, which script the model."""
    global _current
    with _lock:
        old, _current = _current, new
        return old


def _from_environment() -> Endpoint:
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
        key = os.environ.get("OPENAI_API_KEY") or "no-key-needed"
        return Endpoint(
            model=os.environ.get("AGENTOOLS_MODEL", "gpt-4o-mini"),
            client=OpenAI(api_key=key),
            new_async_client=lambda: AsyncOpenAI(api_key=key),
        )
    server = FakeOpenAIServer(responder=offline_model).start()
    atexit.register(server.close)
    return Endpoint(
        model="offline",
        client=server.client(),
        new_async_client=server.async_client,
        pace=OFFLINE_PACE_SECONDS,
    )
