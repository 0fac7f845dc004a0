"""The data plane over real sockets: a front door, a fake editor and blocking clients."""

from __future__ import annotations

import gzip
import socket
from collections.abc import Iterator
from http.client import HTTPConnection

import pytest
import requests

from localai.models import NotebookState
from tests.unit.test_proxy_support import (
    CALL_DEADLINE_SECONDS,
    LARGE_BODY,
    LoopThread,
    Proxy,
    running_proxy,
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


def last_seen_headers(proxy: Proxy) -> dict[str, list[str]]:
    headers = proxy.editor.seen[-1].headers
    return {name.lower(): headers.getall(name) for name in headers}


# Forwarding of HTTP


def test_get_reaches_editor(proxy: Proxy) -> None:
    response = proxy.request("GET", "/echo?x=1&y=%2F", headers=proxy.bearer())

    assert response.status_code == 200
    assert response.json() == {"method": "GET", "target": "/echo?x=1&y=%2F", "body": ""}


def test_post_body_reaches_editor(proxy: Proxy) -> None:
    response = proxy.request("POST", "/echo", headers=proxy.bearer(), data=b"hello editor")

    assert response.status_code == 200
    assert response.json()["body"] == "hello editor"


def test_request_body_streamed_upstream(proxy: Proxy) -> None:
    arrived_early: list[bool] = []

    def body() -> Iterator[bytes]:
        yield b"a" * 100_000
        # The editor must get the first chunk before the client sends the rest.
        arrived_early.append(proxy.editor.first_body_chunk.wait(CALL_DEADLINE_SECONDS))
        yield b"b" * 100_000

    response = proxy.request("POST", "/upload", headers=proxy.bearer(), data=body())

    assert arrived_early == [True]
    assert response.json() == {"received": 200_000}


def test_response_streamed_downstream(proxy: Proxy) -> None:
    with proxy.request("GET", "/stream", headers=proxy.bearer(), stream=True) as response:
        chunks = response.iter_content(chunk_size=None)
        first = next(chunks)
        proxy.loop.call(proxy.editor.release.set)
        rest = b"".join(chunks)

    assert first == b"first\n"
    assert rest == b"second\n"


def test_server_sent_events_one_by_one(proxy: Proxy) -> None:
    with proxy.request("GET", "/events", headers=proxy.bearer(), stream=True) as response:
        chunks = response.iter_content(chunk_size=None)
        first = next(chunks)
        proxy.loop.call(proxy.editor.release.set)
        rest = b"".join(chunks)

    assert response.headers["Content-Type"] == "text/event-stream"
    assert first == b"data: one\n\n"
    assert rest == b"data: two\n\n"


def test_redirect_and_cookies_passed_through(proxy: Proxy) -> None:
    response = proxy.request("GET", "/redirect", headers=proxy.bearer())

    assert response.status_code == 302
    assert response.headers["Location"] == "/elsewhere"
    assert response.raw.headers.getlist("Set-Cookie") == [
        "_xsrf=abc; Path=/",
        "editor-session=xyz; Path=/; HttpOnly",
    ]


def test_content_encoding_passed_through(proxy: Proxy) -> None:
    with proxy.request("GET", "/gzip", headers=proxy.bearer(), stream=True) as response:
        raw = response.raw.read(decode_content=False)

    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(raw) == b"compressed body"


def test_large_body_forwarded(proxy: Proxy) -> None:
    response = proxy.request("GET", "/large", headers=proxy.bearer())

    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(LARGE_BODY))
    assert response.content == LARGE_BODY


def test_head_keeps_content_length(proxy: Proxy) -> None:
    response = proxy.request("HEAD", "/large", headers=proxy.bearer())

    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(LARGE_BODY))
    assert response.content == b""


def test_stop_cuts_open_streams(proxy: Proxy) -> None:
    with proxy.request("GET", "/events", headers=proxy.bearer(), stream=True) as response:
        chunks = response.iter_content(chunk_size=None)
        first = next(chunks)
        proxy.loop.run(proxy.door.stop())

        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            b"".join(chunks)

    assert first == b"data: one\n\n"


def test_expect_continue_answered(proxy: Proxy) -> None:
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as connection:
        connection.sendall(
            f"POST /echo HTTP/1.1\r\nHost: {proxy.host()}\r\n"
            f"Authorization: Bearer {proxy.credentials.api_token}\r\n"
            "Content-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n".encode()
        )
        interim = connection.recv(1024)
        connection.sendall(b"hello")
        final = b""
        while chunk := connection.recv(65536):
            final += chunk

    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert final.startswith(b"HTTP/1.1 200 OK\r\n")
    assert final.endswith(b'"body": "hello"}')
    assert "expect" not in last_seen_headers(proxy)


def test_editor_down_gives_502(proxy: Proxy) -> None:
    notebook_id = proxy.router.add(("127.0.0.1", 1))

    response = proxy.request("GET", "/", notebook_id=notebook_id, headers=proxy.bearer())

    assert response.status_code == 502
    assert f"The editor of notebook {notebook_id} is not answering" in response.text


# Headers seen by the editor


def test_authorization_not_forwarded(proxy: Proxy) -> None:
    proxy.request("GET", "/echo", headers=proxy.bearer())

    assert "authorization" not in last_seen_headers(proxy)


def test_session_cookie_not_forwarded(proxy: Proxy) -> None:
    session = proxy.login()
    cookie = f"_xsrf=abc; localai_session={session}; theme=dark"

    response = proxy.request("GET", "/echo", headers={"Cookie": cookie})

    assert response.status_code == 200
    assert last_seen_headers(proxy)["cookie"] == ["_xsrf=abc; theme=dark"]


def test_host_header_preserved(proxy: Proxy) -> None:
    proxy.request("GET", "/echo", headers=proxy.bearer())

    headers = last_seen_headers(proxy)
    assert headers["host"] == [proxy.host()]
    assert headers["x-forwarded-host"] == [proxy.host()]
    assert headers["x-forwarded-proto"] == ["http"]
    assert headers["x-forwarded-for"] == ["127.0.0.1"]


# Login and credentials


def test_login_page_without_credentials(proxy: Proxy) -> None:
    response = proxy.request("GET", "/lab?reset=1")

    assert response.status_code == 401
    assert "WWW-Authenticate" not in response.headers
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert 'name="username"' in response.text
    assert 'name="password"' in response.text
    assert 'name="token"' in response.text
    assert ">Connect</button>" in response.text
    assert ">Login with token</a>" in response.text
    assert '<input type="hidden" name="next" value="/lab?reset=1">' in response.text


def test_login_page_token_mode(proxy: Proxy) -> None:
    response = proxy.request("GET", "/_localai/login?mode=token&next=%2Flab")

    assert response.status_code == 200
    assert '<form id="token-form" method="post" action="/_localai/login">' in response.text
    assert 'action="/_localai/login" hidden>' in response.text
    assert "Access Token" in response.text
    assert '<input type="hidden" name="next" value="/lab">' in response.text


def test_login_page_escapes_next(proxy: Proxy) -> None:
    # http.client sends the target unencoded, as a hostile link could.
    status, _, body = raw_request(proxy, '/x?a="><script>alert(1)</script>', [proxy.host()])

    assert status == 401
    assert b"<script>alert(1)" not in body
    assert b'value="/x?a=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in body


def test_wrong_password_gives_401(proxy: Proxy) -> None:
    response = proxy.request(
        "POST", "/_localai/login",
        data={"username": proxy.credentials.username, "password": "wrong", "next": "/"},
    )

    assert response.status_code == 401
    assert "Invalid username or password." in response.text
    assert "Set-Cookie" not in response.headers


def test_wrong_token_gives_401(proxy: Proxy) -> None:
    response = proxy.request("POST", "/_localai/login", data={"token": "nope", "next": "/"})

    assert response.status_code == 401
    assert "Invalid token." in response.text


def test_right_password_sets_cookie(proxy: Proxy) -> None:
    response = proxy.request(
        "POST", "/_localai/login",
        data={"username": proxy.credentials.username, "password": proxy.credentials.password,
              "next": "/lab?x=1"},
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/lab?x=1"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("localai_session=")
    assert cookie.endswith("; Path=/; HttpOnly; SameSite=Lax")
    assert "domain" not in cookie.lower()


def test_token_login_sets_cookie(proxy: Proxy) -> None:
    response = proxy.request(
        "POST", "/_localai/login", data={"token": proxy.credentials.api_token, "next": "/"}
    )

    assert response.status_code == 303
    assert response.headers["Set-Cookie"].startswith("localai_session=")


@pytest.mark.parametrize("next_path", ["//evil.example/", "/\\evil.example", "https://evil.example/"])
def test_login_rejects_open_redirect(proxy: Proxy, next_path: str) -> None:
    response = proxy.request(
        "POST", "/_localai/login",
        data={"username": proxy.credentials.username, "password": proxy.credentials.password,
              "next": next_path},
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_cookie_opens_notebook(proxy: Proxy) -> None:
    session = proxy.login()

    response = proxy.request("GET", "/echo", headers={"Cookie": f"localai_session={session}"})

    assert response.status_code == 200


def test_cookie_refused_on_other_notebook(proxy: Proxy) -> None:
    other = proxy.router.add(proxy.editor.address)
    session = proxy.login()

    response = proxy.request(
        "GET", "/echo", notebook_id=other, headers={"Cookie": f"localai_session={session}"}
    )

    assert response.status_code == 401
    assert 'name="password"' in response.text
    assert proxy.editor.seen == []


def test_logout_clears_cookie(proxy: Proxy) -> None:
    response = proxy.request("GET", "/_localai/logout")

    assert response.status_code == 303
    assert response.headers["Location"] == "/_localai/login"
    assert response.headers["Set-Cookie"] == (
        "localai_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
    )


def test_api_token_bearer_opens_notebook(proxy: Proxy) -> None:
    response = proxy.request("GET", "/echo", headers=proxy.bearer())

    assert response.status_code == 200


def test_invalid_bearer_gives_401(proxy: Proxy) -> None:
    response = proxy.request("GET", "/echo", headers={"Authorization": "Bearer nope"})

    assert response.status_code == 401
    assert "Invalid token." in response.text


def test_scoped_token_in_scope(proxy: Proxy) -> None:
    notebook_id = proxy.router.add(proxy.editor.address, labels={"team": "a"})
    token = proxy.tokens.issue(selector=(("team", "a"),))

    response = proxy.request(
        "GET", "/echo", notebook_id=notebook_id, headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 200


def test_scoped_token_out_of_scope_gives_403(proxy: Proxy) -> None:
    notebook_id = proxy.router.add(proxy.editor.address, labels={"team": "b"})
    token = proxy.tokens.issue(selector=(("team", "a"),))

    response = proxy.request(
        "GET", "/echo", notebook_id=notebook_id, headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 403
    assert "Access denied" in response.text


def test_scoped_token_login_out_of_scope_gives_403(proxy: Proxy) -> None:
    token = proxy.tokens.issue(selector=(("team", "a"),))

    response = proxy.request("POST", "/_localai/login", data={"token": token, "next": "/"})

    assert response.status_code == 403
    assert "Set-Cookie" not in response.headers


def test_unknown_reserved_path_gives_404(proxy: Proxy) -> None:
    response = proxy.request("GET", "/_localai/nothing", headers=proxy.bearer())

    assert response.status_code == 404
    assert "No page at /_localai/nothing." in response.text


# Notebook states


def test_unknown_notebook_gives_404(proxy: Proxy) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"

    response = proxy.request("GET", "/", notebook_id=unknown)

    assert response.status_code == 404
    assert f"No notebook {unknown}" in response.text
    assert "http://" not in response.text
    assert "https://" not in response.text


def test_stopped_notebook_gives_503(proxy: Proxy) -> None:
    notebook_id = proxy.router.add(None, state=NotebookState.STOPPED)

    response = proxy.request("GET", "/", notebook_id=notebook_id, headers=proxy.bearer())

    assert response.status_code == 503
    assert f"Notebook {notebook_id} is STOPPED." in response.text
    assert f"Start it with: localai notebook start {notebook_id}" in response.text
    assert "Retry-After" not in response.headers


def test_starting_notebook_asks_retry(proxy: Proxy) -> None:
    notebook_id = proxy.router.add(None, state=NotebookState.STARTING)

    response = proxy.request("GET", "/", notebook_id=notebook_id, headers=proxy.bearer())

    assert response.status_code == 503
    assert f"Notebook {notebook_id} is STARTING." in response.text
    assert response.headers["Retry-After"] == "5"


def test_stopped_notebook_needs_credentials_first(proxy: Proxy) -> None:
    notebook_id = proxy.router.add(None, state=NotebookState.STOPPED)

    response = proxy.request("GET", "/", notebook_id=notebook_id)

    assert response.status_code == 401


def test_unsecure_notebook_without_credentials(proxy: Proxy) -> None:
    notebook_id = proxy.router.add(proxy.editor.address, unsecure_http=True)

    response = proxy.request("GET", "/echo", notebook_id=notebook_id)

    assert response.status_code == 200
    assert response.json()["method"] == "GET"


@pytest.mark.parametrize(
    "spelling",
    ["{id}.notebook.localhost:{port}", "{ID}.NOTEBOOK.LOCALHOST:{port}",
     "{id}.notebook.localhost.:{port}", "{id}.notebook.localhost", "{ID}.Notebook.Localhost."],
)
def test_host_spellings_route_and_authenticate(proxy: Proxy, spelling: str) -> None:
    host = spelling.format(id=proxy.notebook_id, ID=proxy.notebook_id.upper(), port=proxy.port)
    session = proxy.login()

    with_bearer = proxy.request("GET", "/echo", host=host, headers=proxy.bearer())
    with_cookie = proxy.request(
        "GET", "/echo", host=host, headers={"Cookie": f"localai_session={session}"}
    )
    without = proxy.request("GET", "/echo", host=host)

    assert with_bearer.status_code == 200
    assert with_cookie.status_code == 200
    assert without.status_code == 401


def test_two_host_headers_rejected(proxy: Proxy) -> None:
    status, _, _ = raw_request(proxy, "/echo", [proxy.host(), "localhost"])

    assert status == 400
    assert proxy.editor.seen == []


def raw_request(proxy: Proxy, target: str, hosts: list[str]) -> tuple[int, str, bytes]:
    """Send a GET with ``target`` as is and one Host header per entry of ``hosts``."""
    connection = HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    try:
        connection.putrequest("GET", target, skip_host=True)
        for host in hosts:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.reason, response.read()
    finally:
        connection.close()
