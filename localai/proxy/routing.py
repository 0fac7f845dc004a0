"""Notebook routes: the facts the data plane needs to serve a notebook URL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from localai.models import NotebookState


@dataclass(frozen=True)
class NotebookRoute:
    """A notebook as the data plane uses it."""

    notebook_id: str
    state: NotebookState
    upstream: tuple[str, int] | None
    """Host and port of the notebook's editor; set only while the notebook is RUNNING."""
    unsecure_http: bool
    """True when the notebook URL is served without authentication."""
    labels: Mapping[str, str]
    """The notebook's labels, which app token label selectors are matched against."""

    @property
    def is_serving(self) -> bool:
        """True when requests can be forwarded to the editor."""
        return self.state is NotebookState.RUNNING and self.upstream is not None


class NotebookRouter(Protocol):
    """Looks up notebooks for the data plane."""

    def route(self, notebook_id: str) -> NotebookRoute | None:
        """Return the notebook's route, or None when no notebook has this id.

        Called on the event loop for every request and every two seconds for
        every open WebSocket, so it must return from memory without blocking.
        """
        ...
