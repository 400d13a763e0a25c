"""The test MCP server over stdio: ``python stdio_server.py [name]``."""

from __future__ import annotations

import sys

from tools import make_server

if __name__ == "__main__":
    make_server(sys.argv[1] if len(sys.argv) > 1 else "stdio").run("stdio")
