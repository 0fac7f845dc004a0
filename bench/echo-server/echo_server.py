"""HTTP and WebSocket echo server used as the upstream of bench/proxy.py.

Routes, all on port 8080:
- ``GET /`` returns 200 ``echo server``, so the daemon's start probe succeeds;
- ``GET /small`` returns 200 with a 3-byte body;
- ``GET /big?size=N`` streams N bytes of zeros in 256 KiB writes, with Content-Length;
- ``GET /ws`` upgrades to a WebSocket that sends every text and binary message back.

It runs on Debian's python3-aiohttp without an access log, so that the
upstream costs as little CPU time per request as aiohttp allows.
"""

from __future__ import annotations

from aiohttp import WSMsgType, web

PORT = 8080
CHUNK = memoryview(bytes(256 * 1024))
SMALL_BODY = b"ok\n"


async def root(_request: web.Request) -> web.Response:
    return web.Response(body=b"echo server\n", content_type="text/plain")


async def small(_request: web.Request) -> web.Response:
    return web.Response(body=SMALL_BODY, content_type="text/plain")


async def big(request: web.Request) -> web.StreamResponse:
    try:
        size = int(request.query.get("size", "0"))
    except ValueError:
        raise web.HTTPBadRequest(text="size must be an integer number of bytes\n") from None
    if size < 0:
        raise web.HTTPBadRequest(text="size must not be negative\n")

    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    response.content_length = size
    await response.prepare(request)
    remaining = size
    while remaining > 0:
        count = min(remaining, len(CHUNK))
        await response.write(CHUNK[:count])
        remaining -= count
    await response.write_eof()
    return response


async def echo(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse(compress=False, max_msg_size=0)
    await socket.prepare(request)
    async for message in socket:
        if message.type is WSMsgType.TEXT:
            await socket.send_str(message.data)
        elif message.type is WSMsgType.BINARY:
            await socket.send_bytes(message.data)
    return socket


def main() -> None:
    app = web.Application()
    app.router.add_get("/", root)
    app.router.add_get("/small", small)
    app.router.add_get("/big", big)
    app.router.add_get("/ws", echo)
    web.run_app(app, host="0.0.0.0", port=PORT, access_log=None, print=None)


if __name__ == "__main__":
    main()
