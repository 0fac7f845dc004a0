"""``localai daemon`` commands, with a small stand-in daemon process.

The stand-in takes the data directory's lock, writes the pid file and
serves ``/health`` like the real daemon, but needs neither Docker nor the
API. ``daemonctl.daemon_command`` is pointed at it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner, Result

from localai import daemonctl
from localai.cli.main import cli
from localai.config import Settings
from tests.unit.test_client import free_port

FAKE_DAEMON = textwrap.dedent(
    """
    import argparse, fcntl, json, os, signal, sys, threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from pathlib import Path

    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--port", type=int)
    parser.add_argument("--bind")
    args = parser.parse_args()

    if os.environ.get("FAKE_DAEMON_CRASH"):
        sys.exit(4)

    lock = open(args.data_dir / "daemon.lock", "a+")
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)

    class Health(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({
                "status": "ok", "version": "9.9.9", "pid": os.getpid(),
                "dataDir": str(args.data_dir), "url": f"http://localhost:{args.port}",
                "docker": {"reachable": False, "version": None,
                           "error": "The Docker engine is not reachable."},
            }).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    try:
        server = ThreadingHTTPServer((args.bind, args.port), Health)
    except OSError:
        print(f"2026-12-04 20:00:00,123 ERROR localai.daemon: Port {args.port} is already "
              "in use. Pass another --port.", file=sys.stderr, flush=True)
        sys.exit(1)

    if os.environ.get("FAKE_DAEMON_IGNORE_TERM"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM,
                      lambda *_: threading.Thread(target=server.shutdown).start())
    (args.data_dir / "daemon.pid").write_text(f"{os.getpid()}\\n")
    server.serve_forever(poll_interval=0.05)
    (args.data_dir / "daemon.pid").unlink()
    """
)


@pytest.fixture
def spawned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Run the stand-in daemon instead of the real one; kill and reap it afterwards."""
    script = tmp_path / "fake_daemon.py"
    script.write_text(FAKE_DAEMON)

    def command(settings: Settings) -> list[str]:
        return [sys.executable, str(script), "--data-dir", str(settings.data_dir),
                "--port", str(settings.port), "--bind", settings.bind]

    pids: list[int] = []
    real_spawn = daemonctl._spawn

    def spawn(settings: Settings) -> int:
        pid = real_spawn(settings)
        pids.append(pid)
        return pid

    monkeypatch.setattr(daemonctl, "daemon_command", command)
    monkeypatch.setattr(daemonctl, "_spawn", spawn)
    yield pids

    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    for name in ("LOCALAI_BIND", "LOCALAI_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOCALAI_DATA_DIR", str(path))
    return path


@pytest.fixture
def port(monkeypatch: pytest.MonkeyPatch) -> int:
    number = free_port()
    monkeypatch.setenv("LOCALAI_PORT", str(number))
    return number


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def started_pid(data_dir: Path) -> int:
    return int((data_dir / "daemon.pid").read_text())


# -- start -------------------------------------------------------------------


def test_start(spawned: list[int], data_dir: Path, port: int) -> None:
    result = run("daemon", "start")

    assert result.exit_code == 0
    assert result.stdout == (
        f"The localai daemon started (pid {spawned[0]}) at http://localhost:{port} "
        f"with data dir {data_dir}.\n"
    )


def test_start_twice(spawned: list[int], data_dir: Path, port: int) -> None:
    run("daemon", "start")

    result = run("daemon", "start")

    assert result.exit_code == 0
    assert result.stdout == (
        f"The localai daemon already runs (pid {spawned[0]}) at http://localhost:{port} "
        f"with data dir {data_dir}.\n"
    )
    assert len(spawned) == 1


def test_start_options(spawned: list[int], tmp_path: Path, data_dir: Path) -> None:
    other_dir = tmp_path / "other"
    other_port = free_port()

    result = run("daemon", "start", "--data-dir", str(other_dir), "--port", str(other_port),
                 "--bind", "127.0.0.1")

    assert result.exit_code == 0
    assert started_pid(other_dir) == spawned[0]
    assert f"at http://localhost:{other_port} with data dir {other_dir}." in result.stdout


def test_start_on_busy_port(spawned: list[int], data_dir: Path, port: int) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()

        result = run("daemon", "start")

    assert result.exit_code == 1
    assert result.stderr == f"Error: Port {port} is already in use. Pass another --port.\n"


def test_start_crash_without_output(
    spawned: list[int], data_dir: Path, port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DAEMON_CRASH", "1")

    result = run("daemon", "start")

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: The localai daemon exited with code 4 before responding at "
        f"http://localhost:{port}. Read {data_dir / 'daemon.log'} for the reason.\n"
    )


def test_start_foreground(
    data_dir: Path, port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[Settings] = []
    fake_module = ModuleType("localai.daemon")
    fake_module.serve = served.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "localai.daemon", fake_module)
    monkeypatch.setattr("logging.basicConfig", lambda **_: None)

    result = run("daemon", "start", "--foreground", "--bind", "0.0.0.0")

    assert result.exit_code == 0
    assert (served[0].data_dir, served[0].port, served[0].bind) == (data_dir, port, "0.0.0.0")


# -- status ------------------------------------------------------------------


def test_status_not_running(data_dir: Path, port: int) -> None:
    result = run("daemon", "status")

    assert result.exit_code == 3
    assert result.stdout == f"No localai daemon runs with data dir {data_dir}.\n"


def test_status_not_running_json(data_dir: Path, port: int) -> None:
    result = run("daemon", "status", "-o", "json")

    assert result.exit_code == 3
    assert json.loads(result.stdout) == {"running": False, "dataDir": str(data_dir)}


def test_status_running(spawned: list[int], data_dir: Path, port: int) -> None:
    run("daemon", "start")

    result = run("daemon", "status")

    assert result.exit_code == 0
    assert result.stdout == (
        f"State:    running (pid {spawned[0]})\n"
        f"URL:      http://localhost:{port}\n"
        f"Data dir: {data_dir}\n"
        f"Log file: {data_dir / 'daemon.log'}\n"
        "Version:  9.9.9\n"
        "Docker:   not reachable: The Docker engine is not reachable.\n"
    )


def test_status_json(spawned: list[int], data_dir: Path, port: int) -> None:
    run("daemon", "start")

    result = run("daemon", "status", "-o", "json")

    status = json.loads(result.stdout)
    assert status["running"] is True
    assert status["pid"] == spawned[0]
    assert status["health"]["docker"]["reachable"] is False


def test_status_on_other_port(spawned: list[int], data_dir: Path, port: int) -> None:
    run("daemon", "start")
    other_port = free_port()

    result = run("daemon", "status", "--port", str(other_port))

    assert result.exit_code == 1
    assert result.stdout.endswith(
        f"Health:   Nothing answers at http://127.0.0.1:{other_port}/health: the daemon may "
        "still be starting, or listen on another port than this command's --port.\n"
    )


# -- stop --------------------------------------------------------------------


def test_stop(spawned: list[int], data_dir: Path, port: int) -> None:
    run("daemon", "start")

    result = run("daemon", "stop")

    assert result.exit_code == 0
    assert result.stdout == f"The localai daemon (pid {spawned[0]}) stopped.\n"
    assert run("daemon", "status").exit_code == 3


def test_stop_not_running(data_dir: Path) -> None:
    result = run("daemon", "stop")

    assert result.exit_code == 0
    assert result.stdout == f"No localai daemon runs with data dir {data_dir}.\n"


def test_stop_timeout(
    spawned: list[int], data_dir: Path, port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DAEMON_IGNORE_TERM", "1")
    monkeypatch.setattr(daemonctl, "STOP_DEADLINE_SECONDS", 0.3)
    run("daemon", "start")

    result = run("daemon", "stop")

    pid = spawned[0]
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: The localai daemon (pid {pid}) did not stop within 0.3 s of SIGTERM. "
        f"Read {data_dir / 'daemon.log'}, then end it with: kill -KILL {pid}\n"
    )


def test_stop_with_stale_pid_file(data_dir: Path, spawned: list[int], port: int) -> None:
    run("daemon", "start")
    os.kill(spawned[0], signal.SIGKILL)
    os.waitpid(spawned[0], 0)

    result = run("daemon", "stop")

    assert result.exit_code == 0
    assert result.stdout == f"No localai daemon runs with data dir {data_dir}.\n"


# -- credentials -------------------------------------------------------------


CREDENTIALS = {
    "project_id": "d0a34dd4-76f8-438d-be24-9bed882b2cde",
    "user_id": "bbfe58f3-83a5-470b-abd5-0f7e88f01b76",
    "username": "user-uY7UNgjpKBPY",
    "password": "p4ssw0rd",
    "api_token": "lai_abc",
}


def test_credentials(data_dir: Path, port: int) -> None:
    data_dir.mkdir()
    (data_dir / "credentials.json").write_text(json.dumps(CREDENTIALS))

    result = run("daemon", "credentials")

    assert result.exit_code == 0
    assert result.stdout == (
        "Username:   user-uY7UNgjpKBPY\n"
        "Password:   p4ssw0rd\n"
        "API token:  lai_abc\n"
        "Project ID: d0a34dd4-76f8-438d-be24-9bed882b2cde\n"
        f"API URL:    http://localhost:{port}\n"
    )


def test_credentials_json(data_dir: Path, port: int) -> None:
    data_dir.mkdir()
    (data_dir / "credentials.json").write_text(json.dumps(CREDENTIALS))

    result = run("daemon", "credentials", "-o", "json")

    assert json.loads(result.stdout) == {
        "username": "user-uY7UNgjpKBPY",
        "password": "p4ssw0rd",
        "apiToken": "lai_abc",
        "projectId": "d0a34dd4-76f8-438d-be24-9bed882b2cde",
        "apiUrl": f"http://localhost:{port}",
    }


def test_credentials_missing(data_dir: Path) -> None:
    result = run("daemon", "credentials")

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: No credentials file at {data_dir / 'credentials.json'}: the daemon creates "
        "it on its first start. Start it with: localai daemon start\n"
    )


# -- helpers of daemonctl ----------------------------------------------------


def test_last_log_line(tmp_path: Path) -> None:
    log_file = tmp_path / "daemon.log"
    log_file.write_text(
        "old line\n"
        "Traceback (most recent call last):\n"
        "localai.errors.DaemonError: Port 8300 is already in use.\n\n"
    )

    assert daemonctl.last_log_line(log_file, len("old line\n")) == "Port 8300 is already in use."


def test_probe_url() -> None:
    assert daemonctl.probe_url(Settings(bind="0.0.0.0", port=9)) == "http://127.0.0.1:9"
    assert daemonctl.probe_url(Settings(bind="::", port=9)) == "http://[::1]:9"
    assert daemonctl.probe_url(Settings(bind="10.0.0.5", port=9)) == "http://10.0.0.5:9"
