"""The test MCP server over streamable HTTP on 127.0.0.1: ``python http_server.py PORT [name]``.

With ``MCP_TEST_TOKEN`` in the environment, a request without the header ``X-Token: <token>`` is
refused (401), to test a toolkit's ``headers=``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import uvicorn
from tools import make_server

if __name__ == "__main__":
    port = int(sys.argv[1])
    name = sys.argv[2] if len(sys.argv) > 2 else "http"
    app = make_server(name).streamable_http_app(host="127.0.0.1")
    token = os.environ.get("MCP_TEST_TOKEN", "").encode()

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if token and scope["type"] == "http" and dict(scope["headers"]).get(b"x-token") != token:
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b"no token"})
            return
        await app(scope, receive, send)

    uvicorn.run(guarded, host="127.0.0.1", port=port, log_level="error")
