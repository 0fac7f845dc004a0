"""Keeps stored notebook states in line with Docker while the daemon runs.

A background thread connects to the engine (again and again while it is
unreachable), reconciles every stored notebook, then follows the engine's
container events. When the event stream breaks it reconnects and
reconciles once more, because events may have been lost in between.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from localai.errors import LocalaiError
from localai.notebooks import NotebookService
from localai.runtime.containers import ContainerRuntime

log = logging.getLogger(__name__)

# Seconds between attempts to reach an unreachable Docker engine.
RECONNECT_DELAY = 3.0


class Reconciler:
    """Runs the connect, reconcile, follow-events loop in a daemon thread."""

    def __init__(
        self,
        service: NotebookService,
        connect: Callable[[], ContainerRuntime],
    ) -> None:
        self._service = service
        self._connect = connect
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reconciler", daemon=True)
        self.synced = threading.Event()
        """Set once the first reconciliation after a connection is done."""

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                runtime = self._service.runtime or self._connect()
            except LocalaiError as e:
                if failures == 0:
                    log.warning("Docker engine unreachable, retrying every %gs: %s",
                                RECONNECT_DELAY, e.message)
                failures += 1
                self._stopping.wait(RECONNECT_DELAY)
                continue

            if failures:
                log.info("Docker engine reachable again after %d attempts", failures)
            failures = 0
            self._service.runtime = runtime
            self._follow(runtime)

    def _follow(self, runtime: ContainerRuntime) -> None:
        try:
            # Open the stream before reconciling so that no event falls in between.
            events = runtime.events()
            self._service.reconcile()
            self.synced.set()
            for event in events:
                if self._stopping.is_set():
                    return
                self._handle(event)
        except LocalaiError as e:
            log.warning("lost the Docker event stream, reconnecting: %s", e.message)
            self._service.runtime = None
            self._stopping.wait(RECONNECT_DELAY)

    def _handle(self, event: dict[str, object]) -> None:
        try:
            self._service.on_container_event(event)
        except LocalaiError as e:
            log.error("could not handle Docker event %s: %s", event.get("Action"), e.message)
