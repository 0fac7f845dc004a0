"""WebSocket forwarding between browsers and notebook editors.

Each browser WebSocket is paired with one WebSocket to the editor, and two
tasks copy messages both ways: text, binary, ping, pong and the close code.
A WebSocket outlives the request that authenticated it, so a watchdog checks
every open pair again every few seconds. It closes a pair when its credential
was revoked, when its notebook left RUNNING, or when the notebook's labels no
longer match the credential's selector.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from aiohttp import ClientWebSocketResponse, WSCloseCode, WSMsgType, web

from localai.access import Authenticator, Principal
from localai.proxy.routing import NotebookRouter

log = logging.getLogger(__name__)

CHECK_INTERVAL_SECONDS = 2.0
"""Seconds between two checks of every open WebSocket."""

CLOSE_UNAUTHORIZED = 4401
"""Close code sent when the credential behind a WebSocket no longer opens its notebook."""

CLOSE_TIMEOUT_SECONDS = 5.0
"""Seconds to wait for the other end's close frame after sending ours."""

# Codes that describe a closure but must not be sent in a close frame (RFC 6455, 7.4.1).
_UNSENDABLE_CLOSE_CODES = frozenset({1005, 1006, 1015})

WebSocket = web.WebSocketResponse | ClientWebSocketResponse


@dataclass(frozen=True)
class CloseReason:
    """A close code and its reason text, as sent in a close frame."""

    code: int
    message: str = ""


def sendable(reason: CloseReason | None) -> CloseReason:
    """Return a close reason that may be sent on, for one received from the other end.

    No close frame (the peer vanished) becomes 1001 Going Away; a close frame
    without a status code (1005) becomes 1000.
    """
    if reason is None or reason.code == WSCloseCode.ABNORMAL_CLOSURE:
        return CloseReason(WSCloseCode.GOING_AWAY)
    if reason.code in _UNSENDABLE_CLOSE_CODES:
        return CloseReason(WSCloseCode.OK)
    return reason


async def pump(source: WebSocket, target: WebSocket) -> CloseReason | None:
    """Copy messages from ``source`` to ``target`` until ``source`` closes.

    Returns the close code and reason that ``source`` sent, or None when its
    connection ended without a close frame.
    """
    while True:
        message = await source.receive()
        kind = message.type
        if kind is WSMsgType.TEXT:
            await target.send_str(message.data)
        elif kind is WSMsgType.BINARY:
            await target.send_bytes(message.data)
        elif kind is WSMsgType.PING:
            await target.ping(message.data)
        elif kind is WSMsgType.PONG:
            await target.pong(message.data)
        elif kind is WSMsgType.CLOSE:
            return CloseReason(int(message.data), message.extra or "")
        else:
            # CLOSING, CLOSED or ERROR: the connection is gone without a close frame.
            return None


@dataclass(eq=False)
class WebSocketPair:
    """A browser WebSocket and the editor WebSocket it is forwarded to."""

    notebook_id: str
    upstream_address: tuple[str, int]
    principal: Principal | None
    """The principal that opened it, or None on a notebook served without authentication."""
    client: web.WebSocketResponse
    upstream: ClientWebSocketResponse
    _pumps: tuple[asyncio.Task[CloseReason | None], ...] = field(default=(), init=False)
    _termination: CloseReason | None = field(default=None, init=False)

    async def run(self) -> None:
        """Forward messages both ways until one side closes or ``terminate`` is called.

        The side that closed first gets a reply to its close frame, and the
        other side gets the same code. After ``terminate`` the browser gets the
        termination code and the editor 1001.
        """
        to_upstream = asyncio.create_task(pump(self.client, self.upstream))
        to_client = asyncio.create_task(pump(self.upstream, self.client))
        self._pumps = (to_upstream, to_client)
        try:
            await asyncio.wait(self._pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in self._pumps:
                task.cancel()
            results = await asyncio.gather(*self._pumps, return_exceptions=True)
            await self._close(to_upstream, results[0], results[1])

    def terminate(self, reason: CloseReason) -> None:
        """Stop forwarding and close both sides; the browser gets ``reason``."""
        if self._termination is None:
            self._termination = reason
        for task in self._pumps:
            task.cancel()

    async def _close(
        self,
        to_upstream: asyncio.Task[CloseReason | None],
        from_client: CloseReason | BaseException | None,
        from_upstream: CloseReason | BaseException | None,
    ) -> None:
        if self._termination is not None:
            client_reason = self._termination
            upstream_reason = CloseReason(WSCloseCode.GOING_AWAY)
        elif not to_upstream.cancelled() and not isinstance(from_client, BaseException):
            # The browser closed first: echo its code to it and pass it to the editor.
            client_reason = upstream_reason = sendable(from_client)
        else:
            upstream_reason = client_reason = sendable(
                None if isinstance(from_upstream, BaseException) else from_upstream
            )

        await _close_quietly(self.client, client_reason)
        await _close_quietly(self.upstream, upstream_reason)


async def _close_quietly(socket: WebSocket, reason: CloseReason) -> None:
    """Close ``socket``; a peer that is already gone is not an error."""
    if socket.closed:
        return
    try:
        await socket.close(code=reason.code, message=reason.message.encode())
    except (TimeoutError, ConnectionError) as exc:
        log.debug("closing a WebSocket failed: %s", exc)


class WebSocketRegistry:
    """Open WebSocket pairs and the watchdog that re-checks them."""

    def __init__(
        self,
        router: NotebookRouter,
        authenticator: Authenticator,
        interval: float = CHECK_INTERVAL_SECONDS,
    ) -> None:
        self._router = router
        self._authenticator = authenticator
        self._interval = interval
        self._pairs: set[WebSocketPair] = set()
        self._watchdog: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._pairs)

    def start(self) -> None:
        """Start the watchdog task on the running event loop."""
        self._watchdog = asyncio.create_task(self._watch(), name="localai-websocket-watchdog")

    async def stop(self) -> None:
        """Stop the watchdog and close every open pair with 1001."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        for pair in list(self._pairs):
            pair.terminate(CloseReason(WSCloseCode.GOING_AWAY, "Server shutting down"))

    async def serve(self, pair: WebSocketPair) -> None:
        """Run ``pair`` until it closes, watched by the watchdog meanwhile."""
        self._pairs.add(pair)
        try:
            await pair.run()
        finally:
            self._pairs.discard(pair)

    def check_all(self) -> None:
        """Terminate every pair that may no longer stay open."""
        for pair in list(self._pairs):
            reason = self.check(pair)
            if reason is not None:
                log.info(
                    "closing a WebSocket of notebook %s with code %d: %s",
                    pair.notebook_id, reason.code, reason.message,
                )
                pair.terminate(reason)

    def check(self, pair: WebSocketPair) -> CloseReason | None:
        """Return why ``pair`` must close, or None while it may stay open."""
        route = self._router.route(pair.notebook_id)
        if route is None or not route.is_serving or route.upstream != pair.upstream_address:
            return CloseReason(WSCloseCode.GOING_AWAY, "Notebook is not running")
        if route.unsecure_http:
            return None
        if pair.principal is None:
            # Opened while the notebook was served without authentication.
            return CloseReason(CLOSE_UNAUTHORIZED, "Authentication required")

        opener = pair.principal
        current = self._authenticator.principal_for_credential(
            opener.credential_id, opener.credential_version
        )
        if current is None or not current.may_open(route.labels):
            return CloseReason(CLOSE_UNAUTHORIZED, "Credentials no longer valid")
        return None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                self.check_all()
            except Exception:
                # The watchdog must survive a failing router or token check, or
                # revoked credentials would keep their WebSockets open.
                log.exception("checking the open WebSockets failed")

