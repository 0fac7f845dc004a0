"""The data plane: serves ``http://<id>.notebook.localhost:<port>/`` from the notebook's editor.

For each request it looks the notebook up, checks the credentials unless
the notebook is served without authentication, and then streams the
request to the editor and the response back, or forwards the WebSocket.
Bodies are never read whole: each chunk is written on as it arrives, so
server-sent events and long downloads reach the browser without delay.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from localai.access import Authenticator, Principal
from localai.proxy import login, pages
from localai.proxy.forwarding import (
    copy_response_headers,
    request_target,
    send_continue_if_expected,
    upstream_request_headers,
)
from localai.proxy.routing import NotebookRoute, NotebookRouter
from localai.proxy.websockets import (
    CHECK_INTERVAL_SECONDS,
    CLOSE_TIMEOUT_SECONDS,
    WebSocketPair,
    WebSocketRegistry,
)

log = logging.getLogger(__name__)

RESERVED_PREFIX = "/_localai/"
"""Paths under this prefix are served by the data plane itself and never forwarded to the editor."""

# Editors run in containers on this machine, so a connection that takes longer
# than this is not going to succeed. There is no read timeout because
# server-sent events, long polls and downloads may stay quiet for a long time.
CONNECT_TIMEOUT_SECONDS = 10.0

# Node.js servers such as code-server close idle keep-alive connections after
# 5 s by default, so pooled connections are dropped before that to avoid
# sending a request on a connection the editor is closing.
POOL_KEEPALIVE_SECONDS = 4.0

READ_CHUNK_BYTES = 256 * 1024
"""Read buffer of each connection to an editor."""

SMALL_BODY_BYTES = 64 * 1024
"""Response bodies of known length up to this size are sent in one write with the headers."""

# Headers aiohttp's client would add by itself; the browser's own are sent instead.
_NO_AUTO_HEADERS = ("Accept", "Accept-Encoding", "Content-Type", "User-Agent")

# Seconds between two warnings about the same unreachable editor.
_WARNING_INTERVAL_SECONDS = 30.0


class DataPlane:
    """Serves notebook hosts: authentication, then HTTP and WebSocket forwarding."""

    def __init__(
        self,
        router: NotebookRouter,
        authenticator: Authenticator,
        *,
        websocket_check_interval: float = CHECK_INTERVAL_SECONDS,
    ) -> None:
        self._router = router
        self._authenticator = authenticator
        self._websockets = WebSocketRegistry(router, authenticator, websocket_check_interval)
        self._session: aiohttp.ClientSession | None = None
        self._last_warning: dict[str, float] = {}
        self._streaming: set[asyncio.Task[Any]] = set()

    @property
    def open_websockets(self) -> int:
        """Number of WebSockets being forwarded now."""
        return len(self._websockets)

    async def start(self) -> None:
        """Create the connection pool to the editors and start the WebSocket watchdog."""
        connector = aiohttp.TCPConnector(
            limit=0, keepalive_timeout=POOL_KEEPALIVE_SECONDS, force_close=False
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT_SECONDS),
            auto_decompress=False,
            # The editors' cookies belong to the browser; the shared session must not keep any.
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=_NO_AUTO_HEADERS,
            read_bufsize=READ_CHUNK_BYTES,
            trust_env=False,
        )
        self._websockets.start()

    async def stop(self) -> None:
        """Close the WebSockets with 1001, cut the bodies being forwarded, close the pool."""
        await self._websockets.stop()
        for task in list(self._streaming):
            task.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def handle(self, request: web.BaseRequest, notebook_id: str) -> web.StreamResponse:
        """Handle a request whose Host names the notebook ``notebook_id``."""
        route = self._router.route(notebook_id)
        if route is None:
            return pages.not_found_page(notebook_id)
        if request.raw_path.startswith(RESERVED_PREFIX):
            return await self._handle_reserved(request, route)

        principal: Principal | None = None
        if not route.unsecure_http:
            decision = login.authenticate(self._authenticator, request, route)
            if isinstance(decision, web.StreamResponse):
                return decision
            principal = decision

        if not route.is_serving or route.upstream is None:
            return pages.unavailable_page(notebook_id, route.state)
        if _is_websocket_upgrade(request):
            return await self._forward_websocket(request, route, route.upstream, principal)
        return await self._forward_http(request, route, route.upstream)

    async def _handle_reserved(
        self, request: web.BaseRequest, route: NotebookRoute
    ) -> web.Response:
        path = request.path
        if path == pages.LOGIN_PATH and request.method == "POST":
            return await login.submit_login(self._authenticator, request, route)
        if path == pages.LOGIN_PATH and request.method in ("GET", "HEAD"):
            return login.show_login(request, route)
        if path == pages.LOGOUT_PATH and request.method in ("GET", "POST"):
            return login.logout()
        return pages.reserved_path_not_found(path)

    async def _forward_http(
        self, request: web.BaseRequest, route: NotebookRoute, upstream: tuple[str, int]
    ) -> web.StreamResponse:
        session = self._client_session()
        url = _upstream_url("http", upstream, request_target(request))
        headers = upstream_request_headers(request)
        await send_continue_if_expected(request)
        body = request.content if request.body_exists else None

        try:
            upstream_response = await session.request(
                request.method, url, headers=headers, data=body, allow_redirects=False
            )
        except aiohttp.ClientError as exc:
            self._warn_unreachable(route.notebook_id, exc)
            return pages.bad_gateway_page(route.notebook_id)

        # Closing the client session does not end a body being read, so stop()
        # cancels the tasks that copy bodies instead.
        task = asyncio.current_task()
        if task is not None:
            self._streaming.add(task)
        try:
            async with upstream_response:
                return await _copy_response(request, upstream_response, route.notebook_id)
        finally:
            if task is not None:
                self._streaming.discard(task)

    async def _forward_websocket(
        self,
        request: web.BaseRequest,
        route: NotebookRoute,
        upstream: tuple[str, int],
        principal: Principal | None,
    ) -> web.StreamResponse:
        session = self._client_session()
        url = _upstream_url("ws", upstream, request_target(request))
        headers = upstream_request_headers(request, websocket=True)
        protocols = _offered_subprotocols(request)

        try:
            upstream_socket = await session.ws_connect(
                url,
                headers=headers,
                protocols=protocols,
                autoclose=False,
                autoping=False,
                max_msg_size=0,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=CLOSE_TIMEOUT_SECONDS),
            )
        except aiohttp.WSServerHandshakeError as exc:
            status = exc.status if 400 <= exc.status < 600 else 502
            return pages.websocket_rejected_page(route.notebook_id, status)
        except aiohttp.ClientError as exc:
            self._warn_unreachable(route.notebook_id, exc)
            return pages.bad_gateway_page(route.notebook_id)

        # Compression is off on the browser side too: both legs usually run over
        # loopback, where compressing costs CPU time and saves nothing.
        client_socket = web.WebSocketResponse(
            protocols=(upstream_socket.protocol,) if upstream_socket.protocol else (),
            autoclose=False,
            autoping=False,
            max_msg_size=0,
            compress=False,
            timeout=CLOSE_TIMEOUT_SECONDS,
        )
        try:
            await client_socket.prepare(request)
        except BaseException:
            await upstream_socket.close()
            raise

        pair = WebSocketPair(
            notebook_id=route.notebook_id,
            upstream_address=upstream,
            principal=principal,
            client=client_socket,
            upstream=upstream_socket,
        )
        await self._websockets.serve(pair)
        return client_socket

    def _client_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("DataPlane.start() must be awaited before serving requests")
        return self._session

    def _warn_unreachable(self, notebook_id: str, exc: Exception) -> None:
        """Log an unreachable editor at WARNING, once per notebook per _WARNING_INTERVAL_SECONDS."""
        now = time.monotonic()
        last = self._last_warning.get(notebook_id)
        if last is not None and now - last < _WARNING_INTERVAL_SECONDS:
            log.debug("editor of notebook %s unreachable: %r", notebook_id, exc)
            return
        self._last_warning[notebook_id] = now
        log.warning("editor of notebook %s unreachable: %r", notebook_id, exc)


async def _copy_response(
    request: web.BaseRequest, upstream: aiohttp.ClientResponse, notebook_id: str
) -> web.StreamResponse:
    """Send the editor's status and headers, then its body chunk by chunk as it arrives."""
    if _is_small_body(request, upstream):
        try:
            body = await upstream.read()
        except aiohttp.ClientError as exc:
            log.debug("editor of notebook %s dropped a response: %r", notebook_id, exc)
            return pages.bad_gateway_page(notebook_id)
        small = web.Response(status=upstream.status, reason=upstream.reason, body=body)
        copy_response_headers(upstream.headers, small.headers)
        return small

    response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
    copy_response_headers(upstream.headers, response.headers)
    await response.prepare(request)
    try:
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
    except (aiohttp.ClientError, ConnectionResetError) as exc:
        # Either side went away mid-body. Closing the browser's connection
        # without the final chunk marks the body as incomplete.
        log.debug("stream of notebook %s ended early: %r", notebook_id, exc)
        if request.transport is not None:
            request.transport.close()
        return response
    await response.write_eof()
    return response


def _is_small_body(request: web.BaseRequest, upstream: aiohttp.ClientResponse) -> bool:
    """Return whether the body has a known length of at most SMALL_BODY_BYTES.

    Such a body is read whole and sent together with the headers in one write,
    which saves a system call per request. Responses to HEAD and bodyless
    statuses keep the streaming path, which leaves their Content-Length untouched.
    """
    length = upstream.content_length
    return (
        length is not None
        and length <= SMALL_BODY_BYTES
        and request.method != "HEAD"
        and upstream.status not in (204, 304)
        and upstream.status >= 200
    )


def _is_websocket_upgrade(request: web.BaseRequest) -> bool:
    upgrade = request.headers.get("Upgrade")
    return upgrade is not None and upgrade.lower() == "websocket"


def _offered_subprotocols(request: web.BaseRequest) -> tuple[str, ...]:
    """Return the subprotocols the browser offered in Sec-WebSocket-Protocol."""
    values = request.headers.getall("Sec-WebSocket-Protocol", ())
    return tuple(
        protocol.strip() for value in values for protocol in value.split(",") if protocol.strip()
    )


def _upstream_url(scheme: str, upstream: tuple[str, int], target: str) -> URL:
    host, port = upstream
    authority = f"[{host}]" if ":" in host else host
    # encoded=True keeps the path and query byte for byte as the browser sent them.
    return URL(f"{scheme}://{authority}:{port}{target}", encoded=True)
