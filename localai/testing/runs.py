"""Run directories of test daemons, and removal of what interrupted runs left behind.

Each daemon that the pytest plugin starts gets a run directory under one
temporary root::

    <root>/run-XXXXXXXX/
        owner.lock   flock held by the pytest process while it uses the daemon
        run.json     marker: pids, port, and whether the daemon is kept for debugging
        data/        the daemon's data directory

The kernel releases ``owner.lock`` when the pytest process exits, however it
exits, so a run directory whose lock is free belongs to a finished or killed
run. ``sweep_leftovers`` stops such a run's daemon, removes the Docker objects
labelled with its data directory and deletes the run directory. Creating and
sweeping run directories both take ``<root>/sweep.lock``, so a sweep never finds
a run directory whose owner has not locked it yet.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from localai import daemonctl
from localai.config import Settings
from localai.errors import DaemonError, RuntimeFailure, RuntimeUnavailable

log = logging.getLogger(__name__)

RUN_PREFIX = "run-"
OWNER_LOCK = "owner.lock"
MARKER = "run.json"
SWEEP_LOCK = "sweep.lock"


def default_root() -> Path:
    """Return the default temporary root, one per user: ``<tmp>/localai-testing-<uid>``."""
    return Path(tempfile.gettempdir()) / f"localai-testing-{os.getuid()}"


@contextmanager
def root_lock(root: Path) -> Iterator[None]:
    """Hold the root's sweep lock, waiting for another pytest process that holds it."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(root / SWEEP_LOCK, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@dataclass
class RunDirectory:
    """A run directory and the owner lock that the current process holds on it."""

    path: Path
    _owner: IO[str] | None

    @classmethod
    def create(cls, root: Path) -> RunDirectory:
        """Create a run directory under ``root`` and take its owner lock.

        Call this while holding ``root_lock(root)``.
        """
        path = Path(tempfile.mkdtemp(prefix=RUN_PREFIX, dir=root)).resolve()
        owner = open(path / OWNER_LOCK, "a")  # noqa: SIM115 - held until release()
        fcntl.flock(owner.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        (path / "data").mkdir(mode=0o700)
        return cls(path, owner)

    @property
    def data_dir(self) -> Path:
        return self.path / "data"

    def write_marker(self, *, daemon_pid: int, port: int, keep: bool) -> None:
        marker = {"ownerPid": os.getpid(), "daemonPid": daemon_pid, "port": port, "keep": keep}
        (self.path / MARKER).write_text(json.dumps(marker, indent=2) + "\n")

    def release(self) -> None:
        """Drop the owner lock, so that a later sweep may clean this directory."""
        if self._owner is not None:
            self._owner.close()
            self._owner = None

    def remove(self) -> None:
        self.release()
        shutil.rmtree(self.path, ignore_errors=True)


def read_marker(run_dir: Path) -> dict[str, Any]:
    """Return the run's marker, or an empty dict when it is missing or unreadable."""
    try:
        marker = json.loads((run_dir / MARKER).read_text())
    except (OSError, ValueError):
        return {}
    return marker if isinstance(marker, dict) else {}


# Docker objects ----------------------------------------------------------------


def _remove(kind: str, item: Any, failures: list[str], **options: Any) -> None:
    """Remove one Docker object; a 404 means it is already gone."""
    try:
        item.remove(**options)
    # Best-effort cleanup: the Docker SDK's error classes stay inside localai.runtime,
    # so this catches broadly and reports every failure after the loop.
    except Exception as e:  # noqa: BLE001
        if getattr(e, "status_code", None) != 404:
            failures.append(f"{kind} {getattr(item, 'name', item)}: {e}")


def remove_docker_objects(data_dir: Path) -> int:
    """Remove the containers, volumes and networks labelled with ``data_dir``.

    Returns how many objects were found. Only objects that carry both the
    managed label and this data directory's label are touched. Raises
    RuntimeUnavailable when Docker cannot be reached and RuntimeFailure
    naming every object that could not be removed.
    """
    from localai.runtime import DATA_DIR_LABEL, MANAGED_LABEL, connect

    client = connect()
    selector = {"label": [f"{MANAGED_LABEL}=true", f"{DATA_DIR_LABEL}={data_dir.resolve()}"]}
    failures: list[str] = []
    try:
        containers = client.containers.list(all=True, filters=selector)
        for container in containers:
            _remove("container", container, failures, force=True, v=True)
        volumes = client.volumes.list(filters=selector)
        for volume in volumes:
            _remove("volume", volume, failures, force=True)
        networks = client.networks.list(filters=selector)
        for network in networks:
            _remove("network", network, failures)
    finally:
        client.close()

    if failures:
        raise RuntimeFailure(
            f"Could not remove Docker objects of the test daemon with data dir {data_dir}: "
            + "; ".join(failures)
            + f". Remove them with: docker ps -a --filter label={DATA_DIR_LABEL}={data_dir}"
        )
    found = len(containers) + len(volumes) + len(networks)
    if found:
        log.info("removed %d Docker objects of data dir %s", found, data_dir)
    return found


# Leftovers of interrupted runs ---------------------------------------------------


def _stop_leftover_daemon(data_dir: Path) -> bool:
    """Stop the daemon that still serves ``data_dir``; return False when it would not stop."""
    settings = Settings(data_dir=data_dir)
    try:
        pid = daemonctl.stop(settings)
    except DaemonError as e:
        log.warning("left the run of data dir %s in place: %s", data_dir, e.message)
        return False
    if pid is not None:
        log.info("stopped leftover test daemon pid %d of data dir %s", pid, data_dir)
    return True


def sweep_run(run_dir: Path) -> bool:
    """Clean one run directory if its owner is gone; return whether it was removed.

    A kept daemon (``--localai-keep``) is left alone while it runs.
    """
    if daemonctl.lock_is_held(run_dir / OWNER_LOCK):
        return False

    data_dir = run_dir / "data"
    daemon_runs = daemonctl.lock_is_held(Settings(data_dir=data_dir).lock_file)
    if daemon_runs and read_marker(run_dir).get("keep") is True:
        return False
    if daemon_runs and not _stop_leftover_daemon(data_dir):
        return False

    try:
        remove_docker_objects(data_dir)
    except (RuntimeUnavailable, RuntimeFailure) as e:
        log.warning("left the run directory %s in place: %s", run_dir, e.message)
        return False

    shutil.rmtree(run_dir, ignore_errors=True)
    log.info("removed the leftovers of the interrupted test run %s", run_dir)
    return True


def sweep_leftovers(root: Path) -> list[Path]:
    """Clean every run directory under ``root`` whose owner is gone; return those removed.

    Call this while holding ``root_lock(root)``.
    """
    removed = []
    for run_dir in sorted(root.glob(f"{RUN_PREFIX}*")):
        if run_dir.is_dir() and sweep_run(run_dir):
            removed.append(run_dir)
    return removed
