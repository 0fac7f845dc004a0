"""Start, stop and inspect the daemon process that serves one data directory.

A running daemon holds an exclusive ``flock`` on ``settings.lock_file`` and
writes its pid to ``settings.pid_file``. The lock is the source of truth:
the kernel drops it when the process exits, however it exits, so a stale
pid file never makes a dead daemon look alive.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localai.client import Client, DaemonNotRunning
from localai.config import Settings
from localai.errors import DaemonError, LocalaiError

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]

# The daemon opens the state file, checks Docker and binds its port before
# /health responds. 30 s leaves room for a slow Docker engine.
START_DEADLINE_SECONDS = 30.0

# The daemon stops notebook watchers and closes connections on SIGTERM.
STOP_DEADLINE_SECONDS = 20.0

POLL_SECONDS = 0.2

# A daemon takes the lock before it writes the pid file. This is how long a
# caller waits for the pid file while the lock is held.
PID_FILE_WAIT_SECONDS = 2.0


@dataclass(frozen=True)
class StartResult:
    """Outcome of ``start_background``."""

    pid: int | None
    url: str
    already_running: bool


@dataclass(frozen=True)
class DaemonStatus:
    """A running daemon and what its ``/health`` endpoint returned."""

    pid: int | None
    url: str
    data_dir: Path
    health: JsonDict | None
    """The ``/health`` body, or None when the daemon did not respond."""
    error: str | None
    """Reason ``/health`` did not respond, or None when it did."""


# ---------------------------------------------------------------------------
# Lock and pid file
# ---------------------------------------------------------------------------


def lock_is_held(lock_file: Path) -> bool:
    """Return whether a process holds the exclusive lock on ``lock_file``.

    The check takes the lock for an instant and releases it when it is free.
    """
    try:
        fd = os.open(lock_file, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return True
        raise
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def read_pid(pid_file: Path) -> int | None:
    """Return the pid written in ``pid_file``, or None when it is missing or not a number."""
    try:
        text = pid_file.read_text()
    except FileNotFoundError:
        return None
    fields = text.split()
    if not fields or not fields[0].isdigit():
        return None
    return int(fields[0])


def _lock_owner(lock_file: Path) -> int | None:
    """Return the pid that ``/proc/locks`` lists for the flock on ``lock_file``, if any."""
    try:
        info = lock_file.stat()
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    device = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 2264 fe:00:1466544 0 EOF"
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == device:
            pid = int(fields[4])
            return pid if pid > 0 else None
    return None


def _running_pid(settings: Settings) -> int | None:
    """Return the daemon's pid while the lock is held; waits briefly for the pid file."""
    deadline = time.monotonic() + PID_FILE_WAIT_SECONDS
    while True:
        pid = read_pid(settings.pid_file)
        if pid is not None or time.monotonic() > deadline:
            return pid
        time.sleep(POLL_SECONDS)


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap(pid: int) -> int | None:
    """Return the exit code of ``pid`` when it is our exited child, reaping it.

    Returns None while it runs, and also when it is not our child. A daemon
    started by an earlier CLI process is a child of the init process.
    """
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    if done == 0:
        return None
    return os.waitstatus_to_exitcode(status)


# ---------------------------------------------------------------------------
# Health probes
# ---------------------------------------------------------------------------


def probe_url(settings: Settings) -> str:
    """Return the URL that reaches the daemon's port on the address it binds."""
    host = settings.bind
    if host in ("", "0.0.0.0", "localhost"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def fetch_health(settings: Settings, timeout: float = 2.0) -> JsonDict:
    """Return the daemon's ``/health`` body; raises LocalaiError when it does not respond."""
    client = Client(probe_url(settings), None, timeout=timeout)
    try:
        return client.health()
    finally:
        client.close()


def _health_or_none(settings: Settings) -> JsonDict | None:
    try:
        return fetch_health(settings, timeout=1.0)
    except LocalaiError:
        return None


def running_port(settings: Settings) -> int | None:
    """Return the port of the daemon that holds the data directory's lock, or None."""
    if not lock_is_held(settings.lock_file):
        return None
    try:
        port = json.loads(settings.runtime_file.read_text()).get("port")
    except (OSError, ValueError, AttributeError):
        return None
    return port if isinstance(port, int) else None


def _daemon_url(settings: Settings, pid: int | None) -> str:
    """Return the URL of the daemon with ``pid``, from its ``/health`` when it responds."""
    port = running_port(settings)
    if port is not None and port != settings.port:
        settings = settings.with_overrides(port=port)
    health = _health_or_none(settings)
    if health is not None and health.get("pid") == pid and isinstance(health.get("url"), str):
        return str(health["url"])
    return settings.api_url


# ---------------------------------------------------------------------------
# Start
# ---------------------------------------------------------------------------


def daemon_command(settings: Settings) -> list[str]:
    """Return the argv that runs the daemon for ``settings`` in a new process."""
    return [
        sys.executable, "-m", "localai.daemon",
        "--data-dir", str(settings.data_dir),
        "--port", str(settings.port),
        "--bind", settings.bind,
        "--gpu-mode", settings.gpu_mode.value,
    ]


def _spawn(settings: Settings) -> int:
    """Start the daemon in its own session, stdin from /dev/null, output to the log file.

    ``posix_spawn`` leaves no ``Popen`` object behind, so the CLI can exit
    while the daemon keeps running and the init process adopts it.
    """
    argv = daemon_command(settings)
    log_fd = os.open(settings.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        pid = os.posix_spawn(
            argv[0],
            argv,
            dict(os.environ),
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, log_fd, 1),
                (os.POSIX_SPAWN_DUP2, log_fd, 2),
            ],
            setsid=True,
        )
    finally:
        os.close(log_fd)
    log.info("spawned daemon pid %d: %s", pid, " ".join(argv))
    return pid


# Prefixes that come before the message itself: the daemon's log format
# ("2026-01-02 03:04:05,678 ERROR localai.daemon: "), "Error: ", or the
# exception class of a traceback's last line ("localai.errors.DaemonError: ").
_MESSAGE_PREFIXES = (
    re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} [A-Z]+ [\w.]+: "),
    re.compile(r"^(?:Error|[A-Za-z_][\w.]*(?:Error|Exception)):\s*"),
)


def _strip_prefixes(line: str) -> str:
    for pattern in _MESSAGE_PREFIXES:
        line = pattern.sub("", line, count=1)
    return line


def last_log_line(log_file: Path, offset: int) -> str | None:
    """Return the last non-empty line written to ``log_file`` after ``offset``.

    The log format's time, level and logger name, and a leading ``Error:`` or
    exception class name, are removed, so the line reads as a message.
    """
    try:
        with log_file.open("rb") as stream:
            stream.seek(offset)
            text = stream.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line:
            return _strip_prefixes(line)
    return None


def _start_failure(settings: Settings, log_offset: int, exit_code: int) -> DaemonError:
    line = last_log_line(settings.log_file, log_offset)
    if line:
        return DaemonError(line)
    return DaemonError(
        f"The localai daemon exited with code {exit_code} before responding at "
        f"{settings.api_url}. Read {settings.log_file} for the reason."
    )


def _wait_until_healthy(settings: Settings, pid: int, log_offset: int) -> JsonDict:
    """Poll ``/health`` until the daemon with ``pid`` responds; raise DaemonError if it exits."""
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while True:
        exit_code = _reap(pid)
        if exit_code is not None:
            raise _start_failure(settings, log_offset, exit_code)

        # Another daemon may respond on this port, so only our pid counts.
        health = _health_or_none(settings)
        if health is not None and health.get("pid", pid) == pid:
            return health

        if time.monotonic() > deadline:
            raise DaemonError(
                f"The localai daemon (pid {pid}) did not respond at {settings.api_url} within "
                f"{START_DEADLINE_SECONDS:g} s. It may still be starting: check it with "
                f"'localai daemon status' and read {settings.log_file}."
            )
        time.sleep(POLL_SECONDS)


def start_background(settings: Settings) -> StartResult:
    """Start a detached daemon for ``settings`` and wait until its ``/health`` responds.

    Returns the running daemon with ``already_running`` set when one already
    holds the data directory's lock. Raises DaemonError with the daemon's last
    log line when it exits during start-up (a busy port, for example).
    """
    if lock_is_held(settings.lock_file):
        pid = _running_pid(settings)
        return StartResult(pid=pid, url=_daemon_url(settings, pid), already_running=True)

    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    log_offset = settings.log_file.stat().st_size if settings.log_file.exists() else 0
    pid = _spawn(settings)

    health = _wait_until_healthy(settings, pid, log_offset)
    url = health.get("url")
    return StartResult(
        pid=pid, url=url if isinstance(url, str) else settings.api_url, already_running=False
    )


def running_daemon(settings: Settings) -> StartResult | None:
    """Return the daemon that holds the data directory's lock, or None."""
    if not lock_is_held(settings.lock_file):
        return None
    pid = _running_pid(settings)
    return StartResult(pid=pid, url=_daemon_url(settings, pid), already_running=True)


# ---------------------------------------------------------------------------
# Stop and status
# ---------------------------------------------------------------------------


def _pid_to_signal(settings: Settings) -> int:
    """Return the pid of the daemon holding the lock, checked against ``/proc/locks``."""
    pid = _running_pid(settings)
    if pid is None:
        raise DaemonError(
            f"A process holds the lock {settings.lock_file} but {settings.pid_file} names "
            f"no pid. Find the process with: fuser {settings.lock_file}"
        )

    owner = _lock_owner(settings.lock_file)
    if owner is not None and owner != pid:
        raise DaemonError(
            f"The pid file {settings.pid_file} names pid {pid}, but pid {owner} holds the "
            f"lock {settings.lock_file}. Stop pid {owner} yourself after checking what it is."
        )
    if not _is_alive(pid):
        raise DaemonError(
            f"The pid file {settings.pid_file} names pid {pid}, which does not run, but a "
            f"process holds the lock {settings.lock_file}. Find it with: fuser {settings.lock_file}"
        )
    return pid


def stop(settings: Settings) -> int | None:
    """Send SIGTERM to the daemon and wait until it releases its lock.

    Returns the pid that stopped, or None when no daemon runs for this data
    directory. Raises DaemonError when it still runs after the deadline.
    """
    if not lock_is_held(settings.lock_file):
        return None

    pid = _pid_to_signal(settings)
    os.kill(pid, signal.SIGTERM)
    log.info("sent SIGTERM to daemon pid %d", pid)

    deadline = time.monotonic() + STOP_DEADLINE_SECONDS
    while lock_is_held(settings.lock_file):
        _reap(pid)
        if time.monotonic() > deadline:
            raise DaemonError(
                f"The localai daemon (pid {pid}) did not stop within "
                f"{STOP_DEADLINE_SECONDS:g} s of SIGTERM. Read {settings.log_file}, "
                f"then end it with: kill -KILL {pid}"
            )
        time.sleep(POLL_SECONDS)
    _reap(pid)
    return pid


def status(settings: Settings) -> DaemonStatus | None:
    """Return the running daemon with its ``/health`` body, or None when none runs."""
    if not lock_is_held(settings.lock_file):
        return None

    pid = _running_pid(settings)
    try:
        health: JsonDict | None = fetch_health(settings)
        error = None
    except DaemonNotRunning:
        health = None
        error = (
            f"Nothing answers at {probe_url(settings)}/health: the daemon may still be "
            "starting, or listen on another port than this command's --port."
        )
    except LocalaiError as e:
        health, error = None, e.message

    if health is not None and health.get("pid", pid) != pid:
        error = (
            f"Another process (pid {health.get('pid')}) responds at {settings.api_url}, so "
            "this daemon may listen on another port. Pass the --port it was started with."
        )
        health = None

    url = str(health["url"]) if health and isinstance(health.get("url"), str) else settings.api_url
    return DaemonStatus(pid=pid, url=url, data_dir=settings.data_dir, health=health, error=error)
