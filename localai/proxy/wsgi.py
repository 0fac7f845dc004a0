"""Serves a WSGI application (the Flask control plane) from aiohttp.

The request body is read on the event loop, up to a limit, into the
``wsgi.input`` of a PEP 3333 environ. Each call of the application runs in
one thread of a pool, so that it never blocks the event loop. Its response
body is handed to the loop chunk by chunk and written as it comes, so
streamed endpoints such as ``notebook logs --follow`` reach the client line
by line.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes
from wsgiref.types import WSGIApplication, WSGIEnvironment

from aiohttp import web

from localai.proxy.forwarding import (
    request_target,
    response_hop_by_hop,
    send_continue_if_expected,
)
from localai.proxy.hosts import normalize_host

if TYPE_CHECKING:
    from _typeshed import OptExcInfo

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024 * 1024
"""Largest request body the control plane accepts; larger ones get 413."""

DEFAULT_THREADS = 32
"""Threads that run the WSGI application; a streamed response occupies one while it waits."""


class _ErrorStream:
    """``wsgi.errors``: writes what the application reports to this module's logger."""

    def write(self, text: str) -> int:
        if text.strip():
            log.error("WSGI application: %s", text.rstrip())
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        return None


_ERRORS = _ErrorStream()


class _WsgiResponse:
    """One call of the application: its status, headers, body iterator and result.

    The body iterator is advanced and closed under one lock. The event loop may
    ask the pool to close the result while another pool thread still waits in
    ``next()``, and closing a generator that is running raises ValueError.
    """

    def __init__(self) -> None:
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.written: list[bytes] = []
        self.headers_sent = False
        self.result: Iterable[bytes] = ()
        self.iterator: Iterator[bytes] = iter(())
        self._lock = threading.Lock()
        self._closed = False

    def start_response(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: OptExcInfo | None = None,
        /,
    ) -> Callable[[bytes], object]:
        if exc_info is not None and exc_info[1] is not None:
            if self.headers_sent:
                # PEP 3333: too late to change the status, so the error goes on up.
                raise exc_info[1].with_traceback(exc_info[2])
        elif self.status is not None:
            raise AssertionError("start_response() was called twice without exc_info")
        self.status = status
        self.headers = headers
        return self.written.append

    def next_chunk(self) -> bytes | None:
        """Return the next non-empty body chunk, or None at the end of the body.

        Runs in the thread pool, because the application's iterator may block.
        """
        with self._lock:
            if self._closed:
                return None
            for chunk in self.iterator:
                if self.written:
                    chunk = b"".join([*self.written, chunk])
                    self.written.clear()
                if chunk:
                    return chunk
            if self.written:
                pending = b"".join(self.written)
                self.written.clear()
                return pending
            return None

    def close(self) -> None:
        """Call the result's ``close()`` once, as PEP 3333 requires however the response ends."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            close = getattr(self.result, "close", None)
            if close is None:
                return
            try:
                close()
            except Exception:
                log.exception("closing a WSGI response failed")


class WsgiBridge:
    """An aiohttp handler that runs a WSGI application in a thread pool."""

    def __init__(
        self,
        app: WSGIApplication,
        *,
        server_port: int,
        max_body_bytes: int = MAX_BODY_BYTES,
        threads: int = DEFAULT_THREADS,
    ) -> None:
        self._app = app
        self._server_port = server_port
        self._max_body_bytes = max_body_bytes
        self._executor: Executor = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="localai-wsgi"
        )

    def shutdown(self) -> None:
        """Stop the thread pool; calls still running finish in their threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Handle ``request`` with the WSGI application."""
        declared = request.content_length
        if declared is not None and declared > self._max_body_bytes:
            return self._too_large()
        if request.body_exists:
            await send_continue_if_expected(request)
        body = await self._read_body(request)
        if body is None:
            return self._too_large()

        environ = build_environ(request, body, self._server_port)
        return await self._respond(request, environ)

    async def _read_body(self, request: web.BaseRequest) -> bytes | None:
        """Return the whole request body, or None when it exceeds the limit."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_any():
            size += len(chunk)
            if size > self._max_body_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self) -> web.Response:
        limit_mib = self._max_body_bytes // (1024 * 1024)
        return web.json_response(
            {"message": f"The request body is larger than the {limit_mib} MiB limit."},
            status=413,
        )

    async def _respond(
        self, request: web.BaseRequest, environ: WSGIEnvironment
    ) -> web.StreamResponse:
        """Run the application and stream its body; one pool thread serves the whole call.

        Flask pushes its request context in the thread that calls the
        application and pops it when the result is closed, so calling, iterating
        and closing must all happen in that same thread. Chunks cross to the
        event loop through a small queue, which also slows the application
        down to the client's pace.
        """
        loop = asyncio.get_running_loop()
        handoff = _Handoff(loop)
        call = _WsgiResponse()
        self._executor.submit(self._serve_call, environ, call, handoff)
        try:
            await handoff.headers_ready
        except asyncio.CancelledError:
            handoff.cancel()
            raise
        except Exception:
            log.exception("the WSGI application failed on %s %s", request.method, request.path)
            return web.json_response({"message": "Internal server error."}, status=500)

        try:
            return await self._stream(request, call, handoff)
        finally:
            handoff.cancel()

    def _serve_call(self, environ: WSGIEnvironment, call: _WsgiResponse,
                    handoff: _Handoff) -> None:
        """Call the application, hand its chunks to the event loop, then close its result."""
        try:
            call.result = self._app(environ, call.start_response)
            call.iterator = iter(call.result)
            chunk = call.next_chunk()
            if call.status is None:
                raise AssertionError("the WSGI application did not call start_response()")
            handoff.resolve_headers(None)
            while chunk is not None and handoff.put(chunk):
                chunk = call.next_chunk()
            handoff.put(None)
        except BaseException as error:  # noqa: BLE001 - handed to the event loop to report
            if not handoff.resolve_headers(error):
                handoff.put(error)
        finally:
            call.close()

    async def _stream(self, request: web.BaseRequest, call: _WsgiResponse,
                      handoff: _Handoff) -> web.StreamResponse:
        assert call.status is not None
        code, _, reason = call.status.partition(" ")
        response = web.StreamResponse(status=int(code), reason=reason or None)
        for name, value in call.headers:
            if not response_hop_by_hop(name):
                response.headers.add(name, value)

        call.headers_sent = True
        await response.prepare(request)
        try:
            while True:
                item = await handoff.queue.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                await response.write(item)
        except ConnectionResetError:
            log.debug("client left during %s %s", request.method, request.path)
            return response
        except Exception:
            # The status line is gone already; dropping the connection is the
            # only way left to tell the client that the body is incomplete.
            log.exception("the WSGI application failed while streaming %s", request.path)
            if request.transport is not None:
                request.transport.close()
            return response
        await response.write_eof()
        return response


class _Handoff:
    """Carries a WSGI call's headers signal and body chunks from its thread to the loop."""

    # Seconds a blocked put() waits before it checks again whether the client left.
    POLL_SECONDS = 1.0

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.headers_ready: asyncio.Future[None] = loop.create_future()
        self.queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(maxsize=8)
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        """Tell the application thread that the client stopped reading the body."""
        self._cancelled.set()

    def resolve_headers(self, error: BaseException | None) -> bool:
        """Mark the headers ready (or failed); False if that happened already. Thread-side."""
        done = threading.Event()
        resolved: list[bool] = []

        def resolve() -> None:
            if self.headers_ready.done():
                resolved.append(False)
            elif error is None:
                self.headers_ready.set_result(None)
                resolved.append(True)
            else:
                self.headers_ready.set_exception(error)
                resolved.append(True)
            done.set()

        try:
            self._loop.call_soon_threadsafe(resolve)
        except RuntimeError:
            return True  # the loop is closed: the daemon is stopping
        done.wait()
        return resolved[0]

    def put(self, item: bytes | BaseException | None) -> bool:
        """Queue an item for the loop; False once the client has left. Thread-side."""
        if self._cancelled.is_set():
            return False
        try:
            future = asyncio.run_coroutine_threadsafe(self.queue.put(item), self._loop)
        except RuntimeError:
            return False
        while True:
            try:
                future.result(timeout=self.POLL_SECONDS)
                return True
            except concurrent.futures.TimeoutError:
                if self._cancelled.is_set():
                    future.cancel()
                    return False
            except concurrent.futures.CancelledError:
                return False


def build_environ(request: web.BaseRequest, body: bytes, server_port: int) -> WSGIEnvironment:
    """Build the PEP 3333 environ of ``request`` with ``body`` as ``wsgi.input``."""
    target = request_target(request)
    path, _, query = target.partition("?")
    sockname = _socket_address(request, "sockname")
    peername = _socket_address(request, "peername")
    host_header = request.headers.get("Host", "")

    environ: WSGIEnvironment = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        # PEP 3333 "native strings": the decoded path bytes, one character per byte.
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query,
        "RAW_URI": target,
        "REQUEST_URI": target,
        "SERVER_NAME": normalize_host(host_header) or (sockname[0] if sockname else "localhost"),
        "SERVER_PORT": str(sockname[1] if sockname else server_port),
        "SERVER_PROTOCOL": f"HTTP/{request.version.major}.{request.version.minor}",
        "REMOTE_ADDR": request.remote or "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": _ERRORS,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if peername is not None:
        environ["REMOTE_PORT"] = str(peername[1])
    if body or request.body_exists:
        environ["CONTENT_LENGTH"] = str(len(body))
    if "Content-Type" in request.headers:
        environ["CONTENT_TYPE"] = request.headers["Content-Type"]

    _add_http_headers(request, environ)
    return environ


# Content-Type and Content-Length have their own environ keys. The body is
# already de-chunked and complete, so Transfer-Encoding would only make
# Werkzeug look for a chunked stream that is not there.
_ENVIRON_SKIPPED_HEADERS = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH", "TRANSFER_ENCODING"})


def _add_http_headers(request: web.BaseRequest, environ: WSGIEnvironment) -> None:
    for name in set(request.headers.keys()):
        key = name.upper().replace("-", "_")
        if key in _ENVIRON_SKIPPED_HEADERS:
            continue
        if "_" in name:
            # ``X_Forwarded_For`` would otherwise collide with ``X-Forwarded-For``;
            # dropping such names stops a client from overwriting a trusted header.
            continue
        values = request.headers.getall(name)
        separator = "; " if key == "COOKIE" else ", "
        value = separator.join(values)
        if not value.isascii():
            # aiohttp decodes header bytes as UTF-8; PEP 3333 wants them as latin-1.
            value = value.encode("utf-8", "surrogateescape").decode("latin-1")
        environ["HTTP_" + key] = value


def _socket_address(request: web.BaseRequest, name: str) -> tuple[str, int] | None:
    """Return the host and port of the connection's ``sockname`` or ``peername``."""
    if request.transport is None:
        return None
    address = request.transport.get_extra_info(name)
    if not isinstance(address, tuple) or len(address) < 2:
        return None
    return str(address[0]), int(address[1])
