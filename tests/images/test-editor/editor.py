"""A stand-in editor for lifecycle tests: a small HTTP server on port 8080.

Routes:
- ``GET /`` returns 200 ``test editor``;
- ``PUT /files/<name>`` writes the body to ``/workspace/<name>``;
- ``GET /files/<name>`` returns that file, or 404;
- ``GET /env`` returns the process environment as a JSON object.

Environment:
- ``TEST_EDITOR_EXIT_CODE=N`` exits with status N at once, without serving;
- ``TEST_EDITOR_DELAY=S`` sleeps S seconds before listening.

SIGTERM stops the server and exits with status 0. Standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType

PORT = 8080
WORKSPACE = Path("/workspace")


class Handler(BaseHTTPRequestHandler):
    server_version = "test-editor/1"

    def do_GET(self) -> None:
        if self.path == "/":
            self._reply(200, b"test editor", "text/plain")
        elif self.path == "/env":
            self._reply(200, json.dumps(dict(os.environ)).encode(), "application/json")
        elif self.path.startswith("/files/"):
            self._get_file()
        else:
            self._reply(404, b"not found", "text/plain")

    def do_PUT(self) -> None:
        target = self._file_path()
        if target is None:
            self._reply(404, b"not found", "text/plain")
            return

        length = int(self.headers.get("Content-Length", "0"))
        target.write_bytes(self.rfile.read(length))
        self._reply(201, b"written", "text/plain")

    def _get_file(self) -> None:
        target = self._file_path()
        if target is None or not target.is_file():
            self._reply(404, b"not found", "text/plain")
            return
        self._reply(200, target.read_bytes(), "application/octet-stream")

    def _file_path(self) -> Path | None:
        """Return the workspace file named by /files/<name>; None for other paths."""
        name = self.path.removeprefix("/files/")
        if not self.path.startswith("/files/") or not name or "/" in name or name in (".", ".."):
            return None
        return WORKSPACE / name

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    exit_code = os.environ.get("TEST_EDITOR_EXIT_CODE")
    if exit_code is not None:
        sys.exit(int(exit_code))

    time.sleep(float(os.environ.get("TEST_EDITOR_DELAY", "0")))
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever() to return, so it must run in
        # another thread than the one serving.
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
