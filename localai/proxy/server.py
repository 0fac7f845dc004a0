"""The daemon's front door: one public port, routed by the Host header.

``<id>.notebook.localhost`` goes to the data plane; every other host
(``localhost``, ``127.0.0.1``, ``monitoring.localhost``) goes to the WSGI
control plane.
"""

from __future__ import annotations

import errno
import logging
from wsgiref.types import WSGIApplication

from aiohttp import web

from localai.access import Authenticator
from localai.errors import DaemonError
from localai.proxy.dataplane import DataPlane
from localai.proxy.hosts import parse_notebook_host
from localai.proxy.routing import NotebookRouter
from localai.proxy.websockets import CHECK_INTERVAL_SECONDS
from localai.proxy.wsgi import DEFAULT_THREADS, WsgiBridge

log = logging.getLogger(__name__)

# Seconds that stop() lets control-plane requests finish before it cancels them.
# aiohttp waits this long twice for a handler that does not return: once for it
# to finish and once more after cancelling its request body.
SHUTDOWN_TIMEOUT_SECONDS = 2.0

LISTEN_BACKLOG = 1024
"""Connections the kernel queues before the front door accepts them."""


class FrontDoor:
    """The aiohttp server behind the daemon's public port."""

    def __init__(
        self,
        wsgi_app: WSGIApplication,
        router: NotebookRouter,
        authenticator: Authenticator,
        public_port: int,
        *,
        websocket_check_interval: float = CHECK_INTERVAL_SECONDS,
        wsgi_threads: int = DEFAULT_THREADS,
    ) -> None:
        self._control_plane = WsgiBridge(wsgi_app, server_port=public_port, threads=wsgi_threads)
        self._data_plane = DataPlane(
            router, authenticator, websocket_check_interval=websocket_check_interval
        )
        self._runner: web.ServerRunner | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The TCP port the front door listens on; useful after starting on port 0."""
        if self._port is None:
            raise RuntimeError("FrontDoor.start() has not completed")
        return self._port

    @property
    def data_plane(self) -> DataPlane:
        return self._data_plane

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host``:``port``.

        Raises DaemonError naming the port when it is in use or cannot be bound.
        """
        await self._data_plane.start()
        # access_log=None: a log line per request would cost more than forwarding it.
        server = web.Server(
            self._dispatch,
            handler_cancellation=True,
            access_log=None,
            auto_decompress=False,
        )
        runner = web.ServerRunner(server, shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS)
        await runner.setup()
        site = web.TCPSite(runner, host, port, backlog=LISTEN_BACKLOG)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            await self._data_plane.stop()
            raise DaemonError(_bind_error_message(exc, host, port)) from exc

        self._runner = runner
        self._port = _bound_port(runner, port)
        log.info("front door listening on %s:%d", host, self._port)

    async def stop(self) -> None:
        """Close WebSockets and editor connections, stop listening, then finish other requests.

        Stopping the data plane first ends forwarded WebSockets and streams at
        once, so the graceful wait is spent on control-plane requests only.
        """
        await self._data_plane.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._control_plane.shutdown()
        log.info("front door stopped")

    async def _dispatch(self, request: web.BaseRequest) -> web.StreamResponse:
        # aiohttp's parser rejects a request with two Host headers (400), so the
        # front door and the editor always get the same one.
        notebook_id = parse_notebook_host(request.headers.get("Host", ""))
        if notebook_id is None:
            return await self._control_plane.handle(request)
        return await self._data_plane.handle(request, notebook_id)


def _bind_error_message(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"Port {port} on {host} is already in use. "
            "Stop what uses it or pick another port with --port or LOCALAI_PORT."
        )
    if exc.errno == errno.EACCES:
        return (
            f"Permission denied to listen on port {port} on {host}. "
            "Pick a port above 1023 with --port or LOCALAI_PORT."
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"Cannot listen on port {port} on {host}: the address does not belong to this "
            "machine. Pick another address with --bind or LOCALAI_BIND."
        )
    reason = exc.strerror or str(exc)
    return f"Cannot listen on port {port} on {host}: {reason}."


def _bound_port(runner: web.ServerRunner, requested: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return requested
