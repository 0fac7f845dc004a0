"""Host header normalisation for routing and for the access decision.

The front door decides both where a request goes and which notebook its
credentials must cover from the same normalised host name. Two spellings of
one host (``ID.NOTEBOOK.LOCALHOST.:8300`` and ``id.notebook.localhost``) thus
always reach, and are checked against, the same notebook.
"""

from __future__ import annotations

import re

NOTEBOOK_DOMAIN = "notebook.localhost"
"""Parent domain of notebook URLs: ``http://<id>.notebook.localhost:<port>/``."""

_NOTEBOOK_SUFFIX = "." + NOTEBOOK_DOMAIN
_WHITESPACE = re.compile(r"\s")
_NOTEBOOK_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalize_host(host: str) -> str:
    """Return the host name of a Host header: lowercase, without port and trailing dot.

    An IPv6 literal comes back without its brackets (``[::1]:8300`` → ``::1``).
    Returns an empty string for a value that is not a plain ``name[:port]``:
    a non-numeric port, an unclosed bracket, whitespace or an empty name.
    """
    split = _split_port(host.strip().lower())
    if split is None:
        return ""

    name, port = split
    if port and not port.isdigit():
        return ""
    if name.endswith("."):
        name = name[:-1]
    if not name or _WHITESPACE.search(name) is not None:
        return ""
    return name


def _split_port(value: str) -> tuple[str, str] | None:
    """Split ``name``, ``name:port``, ``[address]`` or ``[address]:port``; None if malformed."""
    if value.startswith("["):
        address, closed, rest = value[1:].partition("]")
        # Brackets hold only IPv6 literals, which always contain a colon.
        if not closed or ":" not in address or (rest and not rest.startswith(":")):
            return None
        return address, rest[1:]
    if value.count(":") == 1:
        name, _, port = value.partition(":")
        return name, port
    # No colon, or a bare IPv6 literal, which cannot carry a port.
    return value, ""


def parse_notebook_host(host: str) -> str | None:
    """Return the notebook id of a ``<id>.notebook.localhost`` Host header, else None.

    The id must be a UUID in its canonical text form. Any other shape, such as an
    extra subdomain (``a.<id>.notebook.localhost``), an empty label or the bare
    ``notebook.localhost``, is not a notebook host.
    """
    name = normalize_host(host)
    if not name.endswith(_NOTEBOOK_SUFFIX):
        return None

    label = name[: -len(_NOTEBOOK_SUFFIX)]
    if _NOTEBOOK_ID.fullmatch(label) is None:
        return None
    return label
