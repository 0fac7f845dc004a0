"""Header rewriting between browsers and notebook editors.

Requests keep their Host header, because Jupyter and code-server compare
Origin with Host to reject cross-origin WebSockets. The daemon's own
credentials (the Authorization header and the session cookie) are removed
so that an editor, and any code running in the notebook, never receives them.
"""

from __future__ import annotations

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

SESSION_COOKIE = "localai_session"
"""Name of the cookie that carries a notebook session."""

# Headers that describe one connection rather than the message (RFC 9110,
# section 7.6.1), plus the legacy Proxy-Connection and Keep-Alive.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

# Request headers that never reach an editor. The front door handles Expect
# itself before it streams the body, and it rebuilds the X-Forwarded headers.
_DROPPED_REQUEST_HEADERS = _HOP_BY_HOP | {
    "authorization",
    "expect",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
}

# The WebSocket client of the data plane writes its own handshake headers.
_DROPPED_WEBSOCKET_HEADERS = _DROPPED_REQUEST_HEADERS | {
    "sec-websocket-accept",
    "sec-websocket-extensions",
    "sec-websocket-key",
    "sec-websocket-protocol",
    "sec-websocket-version",
}


def _connection_tokens(headers: CIMultiDictProxy[str]) -> frozenset[str]:
    """Return the header names listed in Connection, which are hop-by-hop too."""
    values = headers.getall("Connection", ())
    if not values:
        return frozenset()
    return frozenset(
        token.strip().lower() for value in values for token in value.split(",") if token.strip()
    )


def strip_session_cookie(cookie_header: str) -> str:
    """Return a Cookie header value without the session cookie, other cookies unchanged."""
    if SESSION_COOKIE not in cookie_header:
        return cookie_header
    kept = [
        pair
        for pair in cookie_header.split(";")
        if pair.partition("=")[0].strip() != SESSION_COOKIE
    ]
    return ";".join(kept).strip()


def upstream_request_headers(
    request: web.BaseRequest, *, websocket: bool = False
) -> CIMultiDict[str]:
    """Build the headers sent to an editor for ``request``.

    Host is kept as the browser sent it; X-Forwarded-For gets the client's
    address appended, and X-Forwarded-Proto and X-Forwarded-Host describe the
    request the browser made.
    """
    incoming = request.headers
    dropped = _DROPPED_WEBSOCKET_HEADERS if websocket else _DROPPED_REQUEST_HEADERS
    listed = _connection_tokens(incoming)
    headers: CIMultiDict[str] = CIMultiDict()

    for name, value in incoming.items():
        lowered = name.lower()
        if lowered in dropped or lowered in listed:
            continue
        if lowered == "cookie":
            value = strip_session_cookie(value)
            if not value:
                continue
        headers.add(name, value)

    peer = request.remote or ""
    earlier = ", ".join(incoming.getall("X-Forwarded-For", ()))
    headers["X-Forwarded-For"] = f"{earlier}, {peer}" if earlier else peer
    headers["X-Forwarded-Proto"] = request.scheme
    headers["X-Forwarded-Host"] = incoming.get("Host", "")
    return headers


def copy_response_headers(source: CIMultiDictProxy[str], target: CIMultiDict[str]) -> None:
    """Copy an editor's response headers to the browser's, except hop-by-hop ones.

    Set-Cookie, Content-Encoding and Content-Length pass through unchanged, so
    compressed bodies reach the browser as the editor sent them.
    """
    listed = _connection_tokens(source)
    for name, value in source.items():
        lowered = name.lower()
        if lowered in _HOP_BY_HOP or lowered in listed:
            continue
        target.add(name, value)


def response_hop_by_hop(name: str) -> bool:
    """Return whether a response header names connection details the front door sets itself."""
    return name.lower() in _HOP_BY_HOP


async def send_continue_if_expected(request: web.BaseRequest) -> None:
    """Send ``100 Continue`` when the client waits for it before sending the body.

    aiohttp handles Expect only in routed applications. The front door runs
    aiohttp's low-level server, so it sends the interim response here, after
    the request passed its checks.
    """
    expect = request.headers.get("Expect")
    if expect is None or request.version < (1, 1) or expect.lower() != "100-continue":
        return
    await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")


def request_target(request: web.BaseRequest) -> str:
    """Return the path and query of the request as the client sent them, still encoded."""
    raw = request.raw_path
    if raw.startswith("/"):
        return raw
    # An absolute-form target (``GET http://host/path``): keep its path and query.
    return request.rel_url.raw_path_qs
