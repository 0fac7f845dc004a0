"""Resolve ``*.localhost`` names to 127.0.0.1 inside the test process.

Notebook URLs look like ``http://<id>.notebook.localhost:<port>``. RFC 6761
lets users assume that names under ``localhost`` resolve to the loopback
address, and browsers resolve them so. glibc, however, resolves such a name
only when /etc/hosts or the configured resolver maps it, which many hosts do
not. While this patch is installed, clients in the test process (requests,
httpx, urllib, aiohttp's default resolver) open the ``status.url`` of a
notebook as they would on the cloud. Other processes, such as a CLI started
with subprocess, are not affected.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

LOOPBACK = "127.0.0.1"
_SUFFIX = ".localhost"


def is_localhost_name(host: object) -> bool:
    """Return whether ``host`` is a name under ``localhost``, such as ``x.notebook.localhost``."""
    if isinstance(host, bytes):
        host = host.decode("ascii", errors="replace")
    if not isinstance(host, str):
        return False
    return host.rstrip(".").lower().endswith(_SUFFIX)


@contextmanager
def resolve_localhost_names() -> Iterator[None]:
    """Make ``socket.getaddrinfo`` return 127.0.0.1 for names under ``localhost``."""
    original = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if is_localhost_name(host):
            host = LOOPBACK
        return original(host, port, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        # Another patch installed after this one stays in place.
        if socket.getaddrinfo is getaddrinfo:
            socket.getaddrinfo = original
