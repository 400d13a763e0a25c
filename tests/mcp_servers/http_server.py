"""The test MCP server over streamable HTTP on 127.0.0.1: ``python http_server.py PORT [name]``.

A header ``X-Token`` is required when the environment gives ``MCP_TEST_TOKEN`` (to test
``headers=``)."""

from __future__ import annotations

import sys

from tools import make_server

if __name__ == "__main__":
    port = int(sys.argv[1])
    name = sys.argv[2] if len(sys.argv) > 2 else "http"
    make_server(name).run("streamable-http", host="127.0.0.1", port=port)
