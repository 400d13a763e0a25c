"""Helpers for the tests of ``examples/django_chat``: the project set up on a temporary database,
its Server-Sent Events read back, and the project served by uvicorn or ``runserver`` in a
subprocess.

Kept apart from ``support.py`` so that nothing else imports Django.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx2

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "django_chat"

Frame = tuple[str, Any]
"""One Server-Sent Event of the chat: its kind (``text``, ``tool_call``...) and its data."""


def set_up_django(database: Path) -> None:
    """Configure Django for the example project, once per process, on the SQLite file
    ``database``, and create its tables."""
    import django
    from django.conf import settings
    from django.core.management import call_command

    if not settings.configured:
        sys.path.insert(0, str(EXAMPLE))
        os.environ["DJANGO_SETTINGS_MODULE"] = "chatsite.settings"
        os.environ["DJANGO_CHAT_DB"] = str(database)
        django.setup()
    call_command("migrate", verbosity=0)


def parse_frames(data: bytes) -> list[Frame]:
    """The frames of a whole event stream."""
    reader = FrameReader()
    frames = reader.feed(data)
    assert reader.rest == b"", f"an unfinished frame at the end: {reader.rest!r}"
    return frames


class FrameReader:
    """Cuts an event stream into frames as its bytes arrive, in pieces of any size."""

    def __init__(self) -> None:
        self.rest = b""

    def feed(self, data: bytes) -> list[Frame]:
        self.rest += data
        frames = []
        while b"\n\n" in self.rest:
            block, self.rest = self.rest.split(b"\n\n", 1)
            fields = dict(line.split(": ", 1) for line in block.decode().splitlines())
            frames.append((fields["event"], json.loads(fields["data"])))
        return frames


def kinds(frames: Iterable[Frame]) -> list[str]:
    """The frames' kinds, each run of one kind said once: ``tool_call`` x 7 -> ``tool_call``."""
    said: list[str] = []
    for kind, _ in frames:
        if not said or said[-1] != kind:
            said.append(kind)
    return said


def text_of(frames: Iterable[Frame]) -> str:
    return "".join(data["delta"] for kind, data in frames if kind == "text")


# -- the project under uvicorn ------------------------------------------------------------------


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without OpenAI settings or proxies, plus ``settings``."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OPENAI_", "DJANGO_"))
        and not name.lower().endswith("_proxy")
        and name != "AGENTOOLS_MODEL"
    }
    return {**kept, **settings}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def uvicorn_command(port: int) -> list[str]:
    """The example's ASGI application under uvicorn."""
    return [
        *(sys.executable, "-m", "uvicorn", "chatsite.asgi:application"),
        *("--app-dir", str(EXAMPLE), "--host", "127.0.0.1", "--port", str(port)),
        "--no-access-log",
    ]


def runserver_command(port: int) -> list[str]:
    """The example's WSGI application under Django's ``runserver``, as its README runs it."""
    manage = str(EXAMPLE / "manage.py")
    return [sys.executable, manage, "runserver", "--noreload", f"127.0.0.1:{port}"]


@contextlib.contextmanager
def serving_the_example(
    command: Callable[[int], list[str]], environment: dict[str, str], log: Path
) -> Iterator[str]:
    """The example served on 127.0.0.1 by ``command(port)`` in a subprocess (its output in
    ``log``), stopped whatever happens; yields its base URL once it answers."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command(port), env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_until_answering(base_url, process, log)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_answering(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    with httpx2.Client(base_url=base_url, trust_env=False, timeout=5) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped:\n{log.read_text()}")
            with contextlib.suppress(httpx2.TransportError):
                if client.get("/").status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer within 60 s:\n{log.read_text()}")
            time.sleep(0.1)


def csrf_headers(client: httpx2.Client, page: str) -> dict[str, str]:
    """Load ``page`` as a browser would, for the CSRF cookie; the header that goes with it."""
    client.get(page).raise_for_status()
    return {"X-CSRFToken": client.cookies["csrftoken"]}


def wait_for(condition: Any, what: str, timeout: float = 20.0) -> None:
    """Wait until ``condition()`` is true: for a thing that happens in another process."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not {what} after {timeout} s")
        time.sleep(0.05)
