"""The process ``agentools.local.LlamaServer`` starts: llama.cpp's HTTP server (``xllamacpp``).

Run as a script: ``python _llama_process.py``. It reads its options, one line of JSON, from its
standard input, starts the server (which loads the model before it listens), writes one line,
``{"address": "http://127.0.0.1:PORT"}``, to its standard output, and serves until its standard
input closes: the parent closing the pipe, or the parent dying, whatever the cause, stops the
server. Everything llama.cpp writes goes to
standard error, which the parent keeps as the server's log.

A separate process, not ``xllamacpp.Server`` in the caller's: xllamacpp offers no way to stop
its server but dropping the object, and a process can always be stopped.
"""

import sys

if __name__ == "__main__":
    # Running a file puts its folder, agentools/, first on sys.path, where its modules would
    # shadow any other of the same name; nothing is imported from there.
    del sys.path[0]

import json
import os
import signal
from typing import Any

_REASONING_FORMATS = {
    "none": "COMMON_REASONING_FORMAT_NONE",
    "auto": "COMMON_REASONING_FORMAT_AUTO",
    "deepseek": "COMMON_REASONING_FORMAT_DEEPSEEK",
    "deepseek-legacy": "COMMON_REASONING_FORMAT_DEEPSEEK_LEGACY",
}
"""``reasoning_format`` as llama-server's ``--reasoning-format`` spells it, and xllamacpp's
name for it."""


def serve(options: dict[str, Any], reply_fd: int) -> None:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = options["model_path"]
    params.model_alias = {options["model"]}
    params.n_ctx = options["n_ctx"]
    params.cpuparams.n_threads = options["threads"]
    params.cpuparams_batch.n_threads = options["threads"]
    params.use_jinja = True
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the system picks a free port; the server reports it
    if options.get("chat_template") is not None:
        params.chat_template = options["chat_template"]
    if options.get("reasoning_format") is not None:
        name = _REASONING_FORMATS[options["reasoning_format"]]
        params.reasoning_format = getattr(xllamacpp.common_reasoning_format, name)
    server = xllamacpp.Server(params)
    answer = json.dumps({"address": server.listening_address})
    os.write(reply_fd, (answer + "\n").encode())
    os.close(reply_fd)
    sys.stdin.buffer.read()  # until the parent closes the pipe or dies
    os._exit(0)  # at once: the server's threads need no goodbye


if __name__ == "__main__":
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The reply goes to the real standard output; anything else llama.cpp prints there goes to
    # the log, with the rest.
    reply_fd = os.dup(1)
    os.dup2(2, 1)
    serve(json.loads(sys.stdin.buffer.readline()), reply_fd)
