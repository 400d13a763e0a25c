"""Test an assistant against a fake OpenAI Chat Completions server that replays scripted turns.

``FakeOpenAIServer`` speaks real HTTP on 127.0.0.1 to the real ``openai`` client, streaming (SSE)
or not, records what it received and can inject faults (``HTTPStatus``, ``DropAfter``,
``GarbageAfter``, ``ErrorAfter``, ``StallAfter``, ``Endless``). ``Turn(raw=[...])`` sends exactly
the chunk objects (or bytes) a test gives instead, to reproduce a real server's quirks (see
``Turn``).
``render_chunks`` and ``render_completion`` give the same wire objects without HTTP, for unit
tests and benchmarks. ``offline_model`` is a rule-based responder that makes the server behave
like a tool-using model, for examples that must run with no network. Standard library only.
"""

from ._faults import DropAfter, Endless, ErrorAfter, Fault, GarbageAfter, HTTPStatus, StallAfter
from ._recording import RecordedRequest
from ._render import count_tokens, render_chunks, render_completion
from ._script import Chunking, ChunkSize, RawItem, ToolCallSpec, Turn, Usage, split, split_at
from ._server import FakeOpenAIServer, Responder
from .offline import offline_model

__all__ = [
    "ChunkSize",
    "Chunking",
    "DropAfter",
    "Endless",
    "ErrorAfter",
    "FakeOpenAIServer",
    "Fault",
    "GarbageAfter",
    "HTTPStatus",
    "RawItem",
    "RecordedRequest",
    "Responder",
    "StallAfter",
    "ToolCallSpec",
    "Turn",
    "Usage",
    "count_tokens",
    "offline_model",
    "render_chunks",
    "render_completion",
    "split",
    "split_at",
]
