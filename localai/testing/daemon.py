"""A localai daemon started for a test run, on a free port and a fresh data directory."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from localai import daemonctl
from localai.client import Client
from localai.config import GpuMode, Settings
from localai.errors import DaemonError, LocalaiError
from localai.testing import runs

log = logging.getLogger(__name__)

# Log lines of a daemon that failed to start that the error message repeats.
LOG_TAIL_LINES = 20

# Variables the plugin replaces with its own values. Inherited from the test
# run, they could point the test daemon at the user's data directory or port.
_OVERRIDDEN_VARIABLES = ("LOCALAI_DATA_DIR", "LOCALAI_PORT", "LOCALAI_BIND", "LOCALAI_GPU_MODE")

# Daemons spawned by this process and not finished yet, for the exit and signal handlers.
_live: list[LocalaiDaemon] = []


def live_daemons() -> list[LocalaiDaemon]:
    """Return the daemons this process started and has not finished, oldest first."""
    return list(_live)


@dataclass(frozen=True)
class DaemonOptions:
    """Settings of the daemons the plugin starts, from pytest's options and ini values."""

    image_prefix: str = "localai"
    """Repository prefix of the notebook images the daemon runs."""
    gpu_mode: GpuMode = GpuMode.EMULATE
    """GPU mode of the daemon; emulate accepts GPU requests on hosts without GPUs."""
    keep: bool = False
    """Leave the daemon, its notebooks and its data directory in place after the run."""
    root: Path = field(default_factory=runs.default_root)
    """Folder of the run directories."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalaiDaemon:
    """A running test daemon: its URLs, its credentials and its log."""

    def __init__(self, run: runs.RunDirectory, port: int, pid: int, options: DaemonOptions):
        self.run = run
        self.port = port
        self.pid = pid
        self.options = options
        self.settings = Settings(
            data_dir=run.data_dir, port=port, image_prefix=options.image_prefix,
            gpu_mode=options.gpu_mode,
        )
        self.finished = False

    @property
    def data_dir(self) -> Path:
        return self.run.data_dir

    @property
    def base_url(self) -> str:
        """URL of the API, such as ``http://127.0.0.1:41234``."""
        return f"http://127.0.0.1:{self.port}"

    def url_for_notebook(self, notebook_id: str) -> str:
        """Return the notebook URL that the API reports in ``status.url``."""
        return self.settings.notebook_url(notebook_id)

    @property
    def credentials(self) -> dict[str, str]:
        """The project's ``api_token``, ``username``, ``password`` and ``project_id``."""
        data: dict[str, str] = json.loads(self.settings.credentials_file.read_text())
        return data

    @property
    def user_token(self) -> str:
        """API token of the project user, who may do everything."""
        return self.credentials["api_token"]

    def client(self, token: str | None = None) -> Client:
        """Return an API client authenticated with ``token``, else as the project user."""
        return Client(self.base_url, token or self.user_token)

    def create_token(self, role: str, label_selector: str | None = None,
                     name: str | None = None) -> str:
        """Create an app token with ``role`` (read or operator) and return its value."""
        client = self.client()
        try:
            token = client.tokens_create(name or f"localai-testing-{role}", role, label_selector)
        finally:
            client.close()
        value: str = token["status"]["value"]
        return value

    def log(self) -> str:
        """Return everything the daemon wrote to its log."""
        try:
            return self.settings.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def stop(self) -> None:
        """Send SIGTERM and wait for the daemon to exit; SIGKILL it after the deadline."""
        if _exit_code(self.pid) is not None:
            return
        _signal(self.pid, signal.SIGTERM)

        deadline = time.monotonic() + daemonctl.STOP_DEADLINE_SECONDS
        while _exit_code(self.pid) is None:
            if time.monotonic() > deadline:
                log.warning("test daemon pid %d ignored SIGTERM for %g s, killing it",
                            self.pid, daemonctl.STOP_DEADLINE_SECONDS)
                _signal(self.pid, signal.SIGKILL)
                _wait(self.pid)
                return
            time.sleep(daemonctl.POLL_SECONDS)

    def finish(self) -> None:
        """Stop the daemon and remove its Docker objects and run directory.

        With ``keep`` all of them stay for debugging, and the first test run
        after the daemon stops removes them. Raises RuntimeUnavailable or
        RuntimeFailure when Docker objects remain; the run directory then
        stays too, and the next run's sweep retries. A call after a
        successful one does nothing.
        """
        if self.finished:
            return
        try:
            if self.options.keep:
                self.run.release()
            else:
                self.stop()
                runs.remove_docker_objects(self.data_dir)
                self.run.remove()
                log.info("removed test daemon pid %d and data dir %s", self.pid, self.data_dir)
            self.finished = True
        finally:
            if self in _live:
                _live.remove(self)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _exit_code(pid: int) -> int | None:
    """Return the exit code of our child ``pid`` once it exited, reaping it; else None."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return -1  # Already reaped.
    if done == 0:
        return None
    return os.waitstatus_to_exitcode(status)


def _wait(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


# Start -------------------------------------------------------------------------------


def _environment(options: DaemonOptions) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _OVERRIDDEN_VARIABLES}
    env["LOCALAI_IMAGE_PREFIX"] = options.image_prefix
    return env


def _spawn(settings: Settings, env: dict[str, str]) -> int:
    """Start the daemon in its own session, so that Ctrl-C reaches pytest and not the daemon.

    pytest then stops the daemon itself, after the tests' own teardown.
    """
    argv = daemonctl.daemon_command(settings)
    log_fd = os.open(settings.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        pid = os.posix_spawn(
            argv[0], argv, env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, log_fd, 1),
                (os.POSIX_SPAWN_DUP2, log_fd, 2),
            ],
            setsid=True,
        )
    finally:
        os.close(log_fd)
    return pid


def _health_pid(base_url: str) -> int | None:
    """Return the pid that ``/health`` reports, or None when nothing responds yet."""
    try:
        response = requests.get(f"{base_url}/health", timeout=1)
        body = response.json() if response.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None
    pid = body.get("pid") if isinstance(body, dict) else None
    return pid if isinstance(pid, int) else None


def _wait_until_healthy(daemon: LocalaiDaemon) -> None:
    """Poll ``/health`` until our daemon responds; raise DaemonError if it exits or hangs."""
    deadline = time.monotonic() + daemonctl.START_DEADLINE_SECONDS
    while _health_pid(daemon.base_url) != daemon.pid:
        exit_code = _exit_code(daemon.pid)
        if exit_code is not None:
            raise DaemonError(
                f"The test daemon exited with code {exit_code} before responding at "
                f"{daemon.base_url}. Its log {daemon.settings.log_file} ends with:\n"
                f"{daemon.log_tail()}"
            )
        if time.monotonic() > deadline:
            raise DaemonError(
                f"The test daemon (pid {daemon.pid}) did not respond at {daemon.base_url}/health "
                f"within {daemonctl.START_DEADLINE_SECONDS:g} s. Its log "
                f"{daemon.settings.log_file} ends with:\n{daemon.log_tail()}"
            )
        time.sleep(daemonctl.POLL_SECONDS)


def start_daemon(options: DaemonOptions) -> LocalaiDaemon:
    """Remove leftovers of interrupted runs, then start a daemon and wait for ``/health``.

    Raises DaemonError with the end of the daemon's log when it does not start.
    The caller must call ``finish()`` on the result.
    """
    with runs.root_lock(options.root):
        runs.sweep_leftovers(options.root)
        run = runs.RunDirectory.create(options.root)

    port = free_port()
    settings = Settings(data_dir=run.data_dir, port=port, gpu_mode=options.gpu_mode)
    pid = _spawn(settings, _environment(options))
    daemon = LocalaiDaemon(run, port, pid, options)
    _live.append(daemon)
    run.write_marker(daemon_pid=pid, port=port, keep=options.keep)
    log.info("started test daemon pid %d at %s with data dir %s",
             pid, daemon.base_url, run.data_dir)

    try:
        _wait_until_healthy(daemon)
    except LocalaiError:
        # The run directory stays, with the log the error names, until the next sweep.
        daemon.stop()
        run.release()
        _live.remove(daemon)
        raise
    return daemon
