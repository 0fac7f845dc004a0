"""The API client against a scripted HTTP server on 127.0.0.1.

The CLI tests use ``FakeApi`` too. It returns a scripted status and body for
each (method, path) and records every request it receives.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from localai.client import ApiError, Client, DaemonNotRunning
from localai.errors import InvalidRequest


@dataclass
class Recorded:
    """A request the fake API received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    text: str | None = None
    """Plain-text body sent instead of JSON."""


Responder = Callable[[Recorded], Reply]


class FakeApi:
    """A scripted API server on 127.0.0.1 with a free port."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Responder] = {}
        self.requests: list[Recorded] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        # A short poll interval makes shutdown() return quickly.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reply(self, method: str, path: str, status: int = 200, body: Any = None,
              text: str | None = None) -> None:
        """Return this status and body for every ``method path`` request."""
        self.routes[(method, path)] = lambda _request: Reply(status, body, text)

    def respond(self, method: str, path: str, responder: Responder) -> None:
        """Return what ``responder`` builds for each ``method path`` request."""
        self.routes[(method, path)] = responder

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if (r.method, r.path) == (method, path)]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        request = Recorded(
            method=handler.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={key.lower(): value for key, value in handler.headers.items()},
            body=json.loads(raw) if raw else None,
        )
        self.requests.append(request)

        responder = self.routes.get((request.method, request.path))
        if responder is None:
            reply = Reply(404, {"message": f"No route {request.method} {request.path}"})
        else:
            reply = responder(request)

        if reply.text is not None:
            payload, content_type = reply.text.encode(), "text/plain; charset=utf-8"
        elif reply.body is None and reply.status == 204:
            payload, content_type = b"", None
        else:
            payload, content_type = json.dumps(reply.body).encode(), "application/json"
        handler.send_response(reply.status)
        if content_type:
            handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                api._handle(self)

            do_POST = do_PUT = do_DELETE = do_GET  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    api = FakeApi()
    api.start()
    yield api
    api.stop()


@pytest.fixture
def client(fake_api: FakeApi) -> Iterator[Client]:
    api_client = Client(fake_api.url, "lai_secret")
    yield api_client
    api_client.close()


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that nothing listens on (as of this call)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def page(items: list[Any], current: int, count: int) -> dict[str, Any]:
    return {
        "items": items,
        "metadata": {"currentPage": current, "pageCount": count, "total": 3, "links": {}},
    }


# -- requests ----------------------------------------------------------------


def test_sends_bearer_token(fake_api: FakeApi, client: Client) -> None:
    fake_api.reply("GET", "/v1/me", body={"name": "user-abc"})

    assert client.me() == {"name": "user-abc"}
    assert fake_api.requests[0].headers["authorization"] == "Bearer lai_secret"


def test_no_token_sends_no_header(fake_api: FakeApi) -> None:
    fake_api.reply("GET", "/health", body={"status": "ok"})
    anonymous = Client(fake_api.url, None)

    anonymous.health()
    anonymous.close()

    assert "authorization" not in fake_api.requests[0].headers


def test_create_posts_spec(fake_api: FakeApi, client: Client) -> None:
    fake_api.reply("POST", "/v1/notebook", body={"id": "n1"})
    spec = {"name": "", "env": {"frameworkId": "pytorch", "editorId": "jupyterlab"}}

    assert client.notebooks_create(spec) == {"id": "n1"}
    assert fake_api.requests[0].body == spec


def test_delete_sends_force(fake_api: FakeApi, client: Client) -> None:
    fake_api.reply("DELETE", "/v1/notebook/n1", status=204)

    client.notebook_delete("n1", force=True)
    client.notebook_delete("n1")

    assert fake_api.requests[0].query == {"force": ["true"]}
    assert fake_api.requests[1].query == {}


def test_start_and_stop_use_put(fake_api: FakeApi, client: Client) -> None:
    fake_api.reply("PUT", "/v1/notebook/n1/start", status=204)
    fake_api.reply("PUT", "/v1/notebook/n1/stop", status=204)

    client.notebook_start("n1")
    client.notebook_stop("n1")

    assert [r.path for r in fake_api.requests] == ["/v1/notebook/n1/start", "/v1/notebook/n1/stop"]


def test_label_body(fake_api: FakeApi, client: Client) -> None:
    fake_api.reply("PUT", "/v1/notebook/n1/label", status=204)

    client.notebook_label("n1", "team", None)

    assert fake_api.requests[0].body == {"name": "team", "value": None}


def test_list_walks_every_page(fake_api: FakeApi, client: Client) -> None:
    pages = {"": page([{"id": "a"}, {"id": "b"}], 1, 2), "2": page([{"id": "c"}], 2, 2)}
    fake_api.respond(
        "GET", "/v1/notebook",
        lambda request: Reply(body=pages[request.query.get("page", [""])[0]]),
    )

    notebooks = client.notebooks_list(statusState=["RUNNING", "STOPPED"], withSpark=False)

    assert [nb["id"] for nb in notebooks] == ["a", "b", "c"]
    assert fake_api.requests[0].query == {
        "statusState": ["RUNNING", "STOPPED"], "withSpark": ["false"],
    }
    assert fake_api.requests[1].query["page"] == ["2"]


def test_list_stops_on_empty_page(fake_api: FakeApi, client: Client) -> None:
    fake_api.reply("GET", "/v1/notebook", body=page([], 1, 5))

    assert client.notebooks_list() == []
    assert len(fake_api.requests) == 1


def test_token_create_body(fake_api: FakeApi, client: Client) -> None:
    fake_api.reply("POST", "/v1/token", body={"id": "t1"})

    client.tokens_create("my-token", "ai_training_read", "subject=image-recognition")

    assert fake_api.requests[0].body == {
        "name": "my-token", "role": "ai_training_read",
        "labelSelector": "subject=image-recognition",
    }


def test_token_renew_and_delete(fake_api: FakeApi, client: Client) -> None:
    fake_api.reply("POST", "/v1/token/t1/renew", body={"id": "t1"})
    fake_api.reply("DELETE", "/v1/token/t1", status=204)

    assert client.token_renew("t1") == {"id": "t1"}
    client.token_delete("t1")
    assert [r.method for r in fake_api.requests] == ["POST", "DELETE"]


def test_logs_stream_text(fake_api: FakeApi, client: Client) -> None:
    fake_api.reply("GET", "/v1/notebook/n1/log", text="line 1\nligne 2 é\n")

    text = "".join(client.notebook_logs("n1", follow=False, tail=10))

    assert text == "line 1\nligne 2 é\n"
    assert fake_api.requests[0].query == {"follow": ["false"], "tail": ["10"]}


# -- errors ------------------------------------------------------------------


def test_error_carries_server_message(fake_api: FakeApi, client: Client) -> None:
    fake_api.reply("POST", "/v1/notebook", status=400,
                   body={"message": "Unknown framework 'pytorhc'."})

    with pytest.raises(ApiError) as caught:
        client.notebooks_create({})

    assert caught.value.status == 400
    assert caught.value.message == "Unknown framework 'pytorhc'."


def test_error_without_json_body(fake_api: FakeApi, client: Client) -> None:
    fake_api.reply("GET", "/v1/me", status=502, text="bad gateway")

    with pytest.raises(ApiError) as caught:
        client.me()

    assert caught.value.status == 502
    assert caught.value.message == (
        f"The API returned HTTP 502 Bad Gateway to GET {fake_api.url}/v1/me: bad gateway"
    )


def test_refused_connection_names_url() -> None:
    url = f"http://localhost:{free_port()}"
    offline = Client(url, "lai_secret")

    with pytest.raises(DaemonNotRunning) as caught:
        offline.me()
    offline.close()

    assert caught.value.message == (
        f"No localai daemon answers at {url}. Start it with: localai daemon start"
    )


@pytest.mark.parametrize("bad_id", ["", ".", ".."])
def test_ids_that_are_no_path_segment_are_rejected(fake_api: FakeApi, client: Client,
                                                   bad_id: str) -> None:
    with pytest.raises(InvalidRequest, match="Invalid id"):
        client.notebook_get(bad_id)
    assert fake_api.requests == []


def test_ids_are_encoded_as_one_segment(fake_api: FakeApi, client: Client) -> None:
    fake_api.reply("DELETE", "/v1/notebook/..%2Ftoken%2Fabc", status=404,
                   body={"message": "not found"})
    with pytest.raises(ApiError):
        client.notebook_delete("../token/abc")
    assert fake_api.requests[0].path == "/v1/notebook/..%2Ftoken%2Fabc"
