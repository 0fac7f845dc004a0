"""Shared pieces of the front door tests: an event loop thread, fakes and a fake editor.

The front door and the fake editors run on an asyncio loop in a background
thread, and the tests talk to them with blocking clients (requests,
websocket-client), as a browser or the CLI would. This module contains no tests.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gzip
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import requests
from aiohttp import WSMsgType, web
from flask import Flask
from multidict import CIMultiDict

from localai.access import Authenticator, Principal, Role, TokenKind, TokenVerifier
from localai.models import NotebookState
from localai.project import Credentials, new_credentials
from localai.proxy.routing import NotebookRoute
from localai.proxy.server import FrontDoor

T = TypeVar("T")

# Larger than the data plane's one-write limit for small bodies.
LARGE_BODY = bytes(range(256)) * 4096

# Deadline for one blocking call into the loop thread; a test that needs
# longer is stuck, and failing beats hanging.
CALL_DEADLINE_SECONDS = 20.0


class LoopThread:
    """An asyncio event loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the loop and return its result."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(CALL_DEADLINE_SECONDS)

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start ``coroutine`` on the loop without waiting for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def call(self, function: Any, *args: Any) -> None:
        """Call ``function(*args)`` on the loop thread, for example ``event.set``."""
        self.loop.call_soon_threadsafe(function, *args)

    def close(self) -> None:
        """Cancel what still runs, stop the loop and close it."""
        self.run(self._cancel_pending())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(CALL_DEADLINE_SECONDS)
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    @staticmethod
    async def _cancel_pending() -> None:
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class FakeRouter:
    """A NotebookRouter over a dict that tests change while requests run."""

    def __init__(self) -> None:
        self.routes: dict[str, NotebookRoute] = {}

    def route(self, notebook_id: str) -> NotebookRoute | None:
        return self.routes.get(notebook_id)

    def add(
        self,
        upstream: tuple[str, int] | None,
        *,
        state: NotebookState = NotebookState.RUNNING,
        unsecure_http: bool = False,
        labels: Mapping[str, str] | None = None,
    ) -> str:
        """Add a notebook with a new id and return the id."""
        notebook_id = str(uuid.uuid4())
        self.routes[notebook_id] = NotebookRoute(
            notebook_id=notebook_id,
            state=state,
            upstream=upstream if state is NotebookState.RUNNING else None,
            unsecure_http=unsecure_http,
            labels=dict(labels or {}),
        )
        return notebook_id

    def set_state(self, notebook_id: str, state: NotebookState) -> None:
        route = self.routes[notebook_id]
        upstream = route.upstream if state is NotebookState.RUNNING else None
        self.routes[notebook_id] = replace(route, state=state, upstream=upstream)


class FakeTokens(TokenVerifier):
    """App tokens kept in a dict: value → principal; deleting one revokes it."""

    def __init__(self) -> None:
        self.by_value: dict[str, Principal] = {}

    def issue(self, selector: tuple[tuple[str, str], ...] = ()) -> str:
        value = "app_" + secrets.token_urlsafe(16)
        self.by_value[value] = Principal(
            name="token-" + value[-6:],
            role=Role.OPERATOR,
            kind=TokenKind.APP,
            credential_id=str(uuid.uuid4()),
            credential_version="1",
            label_selector=selector,
        )
        return value

    def revoke(self, value: str) -> None:
        del self.by_value[value]

    def verify(self, value: str) -> Principal | None:
        return self.by_value.get(value)

    def current(self, token_id: str, version: str) -> Principal | None:
        for principal in self.by_value.values():
            if principal.credential_id == token_id and principal.credential_version == version:
                return principal
        return None


def make_authenticator() -> tuple[Authenticator, Credentials, FakeTokens]:
    credentials = new_credentials()
    authenticator = Authenticator(credentials, secrets.token_bytes(32))
    tokens = FakeTokens()
    authenticator.token_verifier = tokens
    return authenticator, credentials, tokens


@dataclass
class SeenRequest:
    """A request as the fake editor received it."""

    method: str
    target: str
    headers: CIMultiDict[str]
    body: bytes


@dataclass
class FakeEditor:
    """An aiohttp server that plays a notebook editor and records what reaches it."""

    seen: list[SeenRequest] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    first_body_chunk: threading.Event = field(default_factory=threading.Event)
    websocket_close_codes: list[int] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/echo", self._echo)
        app.router.add_post("/upload", self._upload)
        app.router.add_get("/stream", self._stream)
        app.router.add_get("/events", self._events)
        app.router.add_get("/redirect", self._redirect)
        app.router.add_get("/gzip", self._gzip)
        app.router.add_get("/large", self._large)
        app.router.add_get("/ws", self._websocket)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    async def _echo(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append(
            SeenRequest(request.method, request.raw_path, CIMultiDict(request.headers), body)
        )
        return web.json_response({"method": request.method, "target": request.raw_path,
                                  "body": body.decode()})

    async def _upload(self, request: web.Request) -> web.Response:
        total = 0
        async for chunk in request.content.iter_any():
            total += len(chunk)
            self.first_body_chunk.set()
        return web.json_response({"received": total})

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_type = "text/plain"
        await response.prepare(request)
        await response.write(b"first\n")
        await self.release.wait()
        await response.write(b"second\n")
        await response.write_eof()
        return response

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: one\n\n")
        await self.release.wait()
        await response.write(b"data: two\n\n")
        await response.write_eof()
        return response

    async def _redirect(self, request: web.Request) -> web.Response:
        response = web.Response(status=302, headers={"Location": "/elsewhere"})
        response.headers.add("Set-Cookie", "_xsrf=abc; Path=/")
        response.headers.add("Set-Cookie", "editor-session=xyz; Path=/; HttpOnly")
        return response

    async def _gzip(self, request: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(b"compressed body"),
            headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"},
        )

    async def _large(self, request: web.Request) -> web.Response:
        return web.Response(body=LARGE_BODY, content_type="application/octet-stream")

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        self.seen.append(SeenRequest(request.method, request.raw_path,
                                     CIMultiDict(request.headers), b""))
        socket = web.WebSocketResponse(protocols=("chat.v1",))
        await socket.prepare(request)
        async for message in socket:
            if message.type is WSMsgType.TEXT and message.data == "close-me":
                await socket.close(code=4321, message=b"editor says bye")
            elif message.type is WSMsgType.TEXT:
                await socket.send_str("echo:" + message.data)
            elif message.type is WSMsgType.BINARY:
                await socket.send_bytes(b"echo:" + message.data)
        if socket.close_code is not None:
            self.websocket_close_codes.append(socket.close_code)
        return socket


def notebook_host(notebook_id: str, port: int) -> str:
    return f"{notebook_id}.notebook.localhost:{port}"


def http(
    method: str, port: int, path: str, host: str, *, headers: dict[str, str] | None = None,
    **options: Any,
) -> requests.Response:
    """Send a request to the front door on 127.0.0.1 with the given Host header."""
    all_headers = {"Host": host, **(headers or {})}
    options.setdefault("timeout", CALL_DEADLINE_SECONDS)
    return requests.request(
        method, f"http://127.0.0.1:{port}{path}", headers=all_headers, allow_redirects=False,
        **options,
    )


@dataclass
class Proxy:
    """A running front door with one RUNNING notebook in front of a fake editor."""

    loop: LoopThread
    door: FrontDoor
    router: FakeRouter
    editor: FakeEditor
    credentials: Credentials
    tokens: FakeTokens
    notebook_id: str

    @property
    def port(self) -> int:
        return self.door.port

    def host(self, notebook_id: str | None = None) -> str:
        return notebook_host(notebook_id or self.notebook_id, self.port)

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credentials.api_token}"}

    def request(
        self, method: str, path: str, *, notebook_id: str | None = None,
        host: str | None = None, **options: Any,
    ) -> requests.Response:
        return http(method, self.port, path, host or self.host(notebook_id), **options)

    def login(self, notebook_id: str | None = None) -> str:
        """Log in with the project user's password and return the session cookie value."""
        response = self.request(
            "POST", "/_localai/login", notebook_id=notebook_id,
            data={"username": self.credentials.username,
                  "password": self.credentials.password, "next": "/"},
        )
        assert response.status_code == 303
        return str(response.cookies["localai_session"])


@contextlib.contextmanager
def running_proxy(loop: LoopThread, wsgi_app: Any = None) -> Iterator[Proxy]:
    """Start a fake editor and a front door in front of it; stop both afterwards."""
    editor = FakeEditor()
    loop.run(editor.start())
    router = FakeRouter()
    notebook_id = router.add(editor.address)
    authenticator, credentials, tokens = make_authenticator()
    door = FrontDoor(
        wsgi_app or Flask(__name__), router, authenticator, public_port=8300,
        websocket_check_interval=0.2,
    )
    loop.run(door.start("127.0.0.1", 0))
    try:
        yield Proxy(loop, door, router, editor, credentials, tokens, notebook_id)
    finally:
        loop.call(editor.release.set)
        loop.run(door.stop())
        loop.run(editor.stop())


def wait_until(condition: Callable[[], bool], description: str) -> None:
    """Poll ``condition()`` until it is true; fail naming ``description`` after the deadline."""
    deadline = time.monotonic() + CALL_DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {description}")
        time.sleep(0.02)
