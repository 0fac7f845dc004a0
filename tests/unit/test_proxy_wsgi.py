"""The control plane through the front door: the WSGI bridge and the listening socket."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from flask import Flask, Response, jsonify, request, stream_with_context

from localai.errors import DaemonError
from localai.proxy.server import FrontDoor
from tests.unit.test_proxy_support import (
    CALL_DEADLINE_SECONDS,
    FakeRouter,
    LoopThread,
    Proxy,
    http,
    make_authenticator,
    running_proxy,
)


class StreamControl:
    """Lets a test hold the streamed Flask response between its two chunks."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.closed = threading.Event()


def make_app(control: StreamControl) -> Flask:
    app = Flask(__name__)

    @app.get("/hello")
    def hello() -> str:
        return "hello from flask"

    @app.post("/echo")
    def echo() -> Response:
        return Response(request.get_data(), content_type=request.content_type)

    @app.get("/environ/<path:rest>")
    def environ(rest: str) -> Response:
        keys = ("PATH_INFO", "QUERY_STRING", "SERVER_PORT", "REMOTE_ADDR", "HTTP_X_CUSTOM",
                "HTTP_HOST", "SCRIPT_NAME", "SERVER_PROTOCOL", "wsgi.url_scheme")
        return jsonify({key: request.environ.get(key) for key in keys})

    @app.get("/stream")
    def stream() -> Response:
        def lines() -> Iterator[bytes]:
            try:
                yield b"first\n"
                # A deadline, not an assertion: the thread must end even if a test fails.
                control.release.wait(CALL_DEADLINE_SECONDS)
                yield b"second\n"
            finally:
                control.closed.set()

        return Response(lines(), content_type="text/plain")

    @app.get("/context-stream")
    def context_stream() -> Response:
        # stream_with_context keeps Flask's request context for the generator,
        # and closing it fails unless it happens in the thread that pushed it.
        def numbers() -> Iterator[bytes]:
            for number in range(40):
                yield f"{number} {request.path}\n".encode()

        return Response(stream_with_context(numbers()), content_type="text/plain")

    return app


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


@pytest.fixture
def control() -> Iterator[StreamControl]:
    control = StreamControl()
    yield control
    control.release.set()


@pytest.fixture
def proxy(loop_thread: LoopThread, control: StreamControl) -> Iterator[Proxy]:
    with running_proxy(loop_thread, make_app(control)) as running:
        yield running


def api_host(proxy: Proxy) -> str:
    return f"localhost:{proxy.port}"


def test_get_served_by_flask(proxy: Proxy) -> None:
    response = http("GET", proxy.port, "/hello", api_host(proxy))

    assert response.status_code == 200
    assert response.text == "hello from flask"


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost", "monitoring.localhost:{port}", "notebook.localhost"]
)
def test_other_hosts_served_by_flask(proxy: Proxy, host: str) -> None:
    response = http("GET", proxy.port, "/hello", host.format(port=proxy.port))

    assert response.text == "hello from flask"


def test_post_body_reaches_flask(proxy: Proxy) -> None:
    response = http("POST", proxy.port, "/echo", api_host(proxy), data=b'{"a": 1}',
                    headers={"Content-Type": "application/json"})

    assert response.status_code == 200
    assert response.content == b'{"a": 1}'
    assert response.headers["Content-Type"] == "application/json"


def test_chunked_post_body_reaches_flask(proxy: Proxy) -> None:
    response = http("POST", proxy.port, "/echo", api_host(proxy),
                    data=iter([b"one ", b"two"]), headers={"Content-Type": "text/plain"})

    assert response.content == b"one two"


def test_environ(proxy: Proxy) -> None:
    response = http("GET", proxy.port, "/environ/a%20b?q=%2F&r=1", api_host(proxy),
                    headers={"X-Custom": "yes"})

    assert response.json() == {
        "PATH_INFO": "/environ/a b",
        "QUERY_STRING": "q=%2F&r=1",
        "SERVER_PORT": str(proxy.port),
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_X_CUSTOM": "yes",
        "HTTP_HOST": api_host(proxy),
        "SCRIPT_NAME": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
    }


def test_streamed_response(proxy: Proxy, control: StreamControl) -> None:
    with http("GET", proxy.port, "/stream", api_host(proxy), stream=True) as response:
        chunks = response.iter_content(chunk_size=None)
        first = next(chunks)
        control.release.set()
        rest = b"".join(chunks)

    assert first == b"first\n"
    assert rest == b"second\n"
    assert control.closed.wait(CALL_DEADLINE_SECONDS)


def test_context_stream_completes_every_time(proxy: Proxy,
                                              caplog: pytest.LogCaptureFixture) -> None:
    expected = "".join(f"{number} /context-stream\n" for number in range(40))
    for _ in range(15):
        with http("GET", proxy.port, "/context-stream", api_host(proxy)) as response:
            assert response.text == expected
    assert [r.message for r in caplog.records if r.levelname == "ERROR"] == []


def test_stream_closed_when_client_leaves(proxy: Proxy, control: StreamControl) -> None:
    with http("GET", proxy.port, "/stream", api_host(proxy), stream=True) as response:
        first = next(response.iter_content(chunk_size=None))
    control.release.set()

    assert first == b"first\n"
    assert control.closed.wait(CALL_DEADLINE_SECONDS)


def test_body_over_limit_gives_413(proxy: Proxy) -> None:
    body = b"x" * (16 * 1024 * 1024 + 1)

    response = http("POST", proxy.port, "/echo", api_host(proxy), data=body)

    assert response.status_code == 413
    assert response.json() == {"message": "The request body is larger than the 16 MiB limit."}


def test_chunked_body_over_limit_gives_413(proxy: Proxy) -> None:
    chunk = b"x" * (1024 * 1024)

    response = http("POST", proxy.port, "/echo", api_host(proxy),
                    data=iter([chunk] * 17))

    assert response.status_code == 413


def test_busy_port_raises_daemon_error(loop_thread: LoopThread) -> None:
    authenticator, _, _ = make_authenticator()
    door = FrontDoor(Flask(__name__), FakeRouter(), authenticator, public_port=0)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]

        with pytest.raises(DaemonError) as caught:
            loop_thread.run(door.start("127.0.0.1", port))

    assert caught.value.message == (
        f"Port {port} on 127.0.0.1 is already in use. "
        "Stop what uses it or pick another port with --port or LOCALAI_PORT."
    )
