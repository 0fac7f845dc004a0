"""WebSockets through the data plane: messages, close codes and the watchdog."""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Iterator

import pytest
import websocket

from localai.models import NotebookState
from tests.unit.test_proxy_support import (
    CALL_DEADLINE_SECONDS,
    LoopThread,
    Proxy,
    running_proxy,
    wait_until,
)


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


@pytest.fixture
def proxy(loop_thread: LoopThread) -> Iterator[Proxy]:
    with running_proxy(loop_thread) as running:
        yield running


def connect(
    proxy: Proxy, *, notebook_id: str | None = None, token: str | None = None,
    **options: object,
) -> websocket.WebSocket:
    """Open a WebSocket to ``/ws`` of a notebook through the front door."""
    headers = [f"Authorization: Bearer {token or proxy.credentials.api_token}"]
    return websocket.create_connection(
        f"ws://127.0.0.1:{proxy.port}/ws?room=1",
        host=proxy.host(notebook_id),
        origin=f"http://{proxy.host(notebook_id)}",
        header=headers,
        timeout=CALL_DEADLINE_SECONDS,
        **options,
    )


def finish(socket: websocket.WebSocket) -> None:
    """Close ``socket`` and its TCP connection, even when the server closed first."""
    try:
        with contextlib.suppress(websocket.WebSocketException, OSError):
            socket.close(timeout=1)
    finally:
        socket.shutdown()


def receive_close(socket: websocket.WebSocket) -> tuple[int, bytes]:
    """Read frames until the close frame; return its code and reason."""
    while True:
        opcode, frame = socket.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            (code,) = struct.unpack("!H", frame.data[:2])
            return code, frame.data[2:]


def test_text_and_binary_echo(proxy: Proxy) -> None:
    socket = connect(proxy)
    try:
        socket.send("hello")
        text = socket.recv()
        socket.send_binary(b"\x00\x01\xff")
        binary = socket.recv()
    finally:
        finish(socket)

    assert text == "echo:hello"
    assert binary == b"echo:\x00\x01\xff"


def test_handshake_keeps_host_and_origin(proxy: Proxy) -> None:
    socket = connect(proxy)
    finish(socket)

    seen = proxy.editor.seen[-1]
    assert seen.target == "/ws?room=1"
    assert seen.headers["Host"] == proxy.host()
    assert seen.headers["Origin"] == f"http://{proxy.host()}"
    assert "Authorization" not in seen.headers


def test_session_cookie_not_forwarded(proxy: Proxy) -> None:
    session = proxy.login()
    socket = websocket.create_connection(
        f"ws://127.0.0.1:{proxy.port}/ws",
        host=proxy.host(),
        cookie=f"_xsrf=abc; localai_session={session}",
        timeout=CALL_DEADLINE_SECONDS,
    )
    finish(socket)

    assert proxy.editor.seen[-1].headers["Cookie"] == "_xsrf=abc"


def test_subprotocol_negotiated(proxy: Proxy) -> None:
    socket = connect(proxy, subprotocols=["chat.v1", "chat.v0"])
    protocol = socket.getsubprotocol()
    finish(socket)

    assert protocol == "chat.v1"


def test_ping_answered_by_editor(proxy: Proxy) -> None:
    socket = connect(proxy)
    try:
        socket.ping(b"are you there")
        opcode, frame = socket.recv_data_frame(control_frame=True)
    finally:
        finish(socket)

    assert opcode == websocket.ABNF.OPCODE_PONG
    assert frame.data == b"are you there"


def test_client_close_code_reaches_editor(proxy: Proxy) -> None:
    socket = connect(proxy)
    socket.close(status=4000, reason=b"tab closed")

    wait_until(lambda: proxy.editor.websocket_close_codes != [], "the editor to see the close")
    assert proxy.editor.websocket_close_codes == [4000]


def test_editor_close_code_reaches_client(proxy: Proxy) -> None:
    socket = connect(proxy)
    try:
        socket.send("close-me")
        code, reason = receive_close(socket)
    finally:
        finish(socket)

    assert code == 4321
    assert reason == b"editor says bye"


def test_unauthenticated_handshake_refused(proxy: Proxy) -> None:
    with pytest.raises(websocket.WebSocketBadStatusException) as caught:
        websocket.create_connection(
            f"ws://127.0.0.1:{proxy.port}/ws", host=proxy.host(), timeout=CALL_DEADLINE_SECONDS
        )

    assert caught.value.status_code == 401


def test_editor_refusing_upgrade_gives_502(proxy: Proxy) -> None:
    with pytest.raises(websocket.WebSocketBadStatusException) as caught:
        websocket.create_connection(
            f"ws://127.0.0.1:{proxy.port}/echo", host=proxy.host(),
            header=[f"Authorization: Bearer {proxy.credentials.api_token}"],
            timeout=CALL_DEADLINE_SECONDS,
        )

    assert caught.value.status_code == 502


def test_closed_when_notebook_stops(proxy: Proxy) -> None:
    socket = connect(proxy)
    try:
        socket.send("hello")
        socket.recv()
        proxy.router.set_state(proxy.notebook_id, NotebookState.STOPPING)
        code, _ = receive_close(socket)
    finally:
        finish(socket)

    assert code == 1001
    wait_until(lambda: proxy.door.data_plane.open_websockets == 0, "the pair to be released")


def test_closed_when_token_revoked(proxy: Proxy) -> None:
    token = proxy.tokens.issue()
    socket = connect(proxy, token=token)
    try:
        socket.send("hello")
        socket.recv()
        proxy.tokens.revoke(token)
        code, _ = receive_close(socket)
    finally:
        finish(socket)

    assert code == 4401


def test_closed_when_labels_leave_scope(proxy: Proxy) -> None:
    notebook_id = proxy.router.add(proxy.editor.address, labels={"team": "a"})
    token = proxy.tokens.issue(selector=(("team", "a"),))
    socket = connect(proxy, notebook_id=notebook_id, token=token)
    try:
        socket.send("hello")
        socket.recv()
        route = proxy.router.routes[notebook_id]
        proxy.router.routes[notebook_id] = type(route)(
            notebook_id, route.state, route.upstream, route.unsecure_http, {"team": "b"}
        )
        code, _ = receive_close(socket)
    finally:
        finish(socket)

    assert code == 4401


def test_unsecure_notebook_stays_open_without_credentials(proxy: Proxy) -> None:
    notebook_id = proxy.router.add(proxy.editor.address, unsecure_http=True)
    socket = websocket.create_connection(
        f"ws://127.0.0.1:{proxy.port}/ws", host=proxy.host(notebook_id),
        timeout=CALL_DEADLINE_SECONDS,
    )
    try:
        # Several watchdog rounds pass while these messages go back and forth.
        replies = []
        for number in range(20):
            socket.send(f"message {number}")
            replies.append(socket.recv())
            socket.ping(b"wait")
            socket.recv_data_frame(control_frame=True)
        proxy.router.set_state(notebook_id, NotebookState.STOPPED)
        code, _ = receive_close(socket)
    finally:
        finish(socket)

    assert replies[-1] == "echo:message 19"
    assert code == 1001


def test_stop_closes_with_1001(proxy: Proxy) -> None:
    socket = connect(proxy)
    try:
        socket.send("hello")
        socket.recv()
        # The front door waits for the browser's close frame, so stop runs meanwhile.
        stopping = proxy.loop.submit(proxy.door.stop())
        code, reason = receive_close(socket)
    finally:
        finish(socket)
    stopping.result(CALL_DEADLINE_SECONDS)

    assert code == 1001
    assert reason == b"Server shutting down"
