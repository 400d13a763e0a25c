"""The workloads' tools, as plain functions every contender wraps in its own way.

Each has a blocking and an ``async def`` form: the blocking contenders run the first, the asyncio
ones the second, so that ``wait`` sleeps without a thread where a loop is at hand.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


def write_file(path: str, content: str) -> str:
    """Write a text file (the suite only counts it)."""
    return f"wrote {len(content)} characters to {path}"


def lookup(key: str) -> str:
    """Look a key up."""
    return f"value of {key}"


def wait(ms: int) -> str:
    """Wait for ``ms`` milliseconds."""
    time.sleep(ms / 1000)
    return "waited"


async def write_file_async(path: str, content: str) -> str:
    """Write a text file (the suite only counts it)."""
    return write_file(path, content)


async def lookup_async(key: str) -> str:
    """Look a key up."""
    return lookup(key)


async def wait_async(ms: int) -> str:
    """Wait for ``ms`` milliseconds."""
    await asyncio.sleep(ms / 1000)
    return "waited"


BLOCKING: dict[str, Callable[..., str]] = {
    "write_file": write_file,
    "lookup": lookup,
    "wait": wait,
}
ASYNCHRONOUS: dict[str, Callable[..., Awaitable[str]]] = {
    "write_file": write_file_async,
    "lookup": lookup_async,
    "wait": wait_async,
}


def _function(name: str, description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": list(properties),
                "additionalProperties": False,
            },
        },
    }


SCHEMAS = [
    _function(
        "write_file",
        "Write a text file.",
        {"path": {"type": "string"}, "content": {"type": "string"}},
    ),
    _function("lookup", "Look a key up.", {"key": {"type": "string"}}),
    _function("wait", "Wait for ms milliseconds.", {"ms": {"type": "integer"}}),
]
"""The tools as the bare SDK contenders send them (the frameworks derive theirs)."""
