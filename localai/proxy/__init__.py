"""The daemon's front door: Host routing, the WSGI bridge and the notebook data plane."""

from __future__ import annotations

from localai.proxy.hosts import normalize_host, parse_notebook_host
from localai.proxy.routing import NotebookRoute, NotebookRouter
from localai.proxy.server import FrontDoor

__all__ = [
    "FrontDoor",
    "NotebookRoute",
    "NotebookRouter",
    "normalize_host",
    "parse_notebook_host",
]
