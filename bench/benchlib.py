"""Shared parts of the benchmarks: a daemon in a temporary data dir, statistics, output.

Every Docker object a benchmark creates carries ``ai.localai.bench=true``,
and the daemon's objects carry ``ai.localai.data-dir=<its data dir>``;
cleanup removes only objects with one of these labels and the right value.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # The benchmarks reuse the image builders of tests/support.
    sys.path.insert(0, str(REPO_ROOT))

from localai import catalog  # noqa: E402
from localai.runtime import DATA_DIR_LABEL  # noqa: E402

log = logging.getLogger(__name__)

BENCH_LABEL = "ai.localai.bench"
"""Label on every container and image a benchmark creates outside the daemon."""

DAEMON_START_TIMEOUT = 30.0
HTTP_TIMEOUT = 30.0


class BenchError(Exception):
    """A benchmark cannot run or a measured path returned something unexpected."""


def default_image_tag(prefix: str, framework: str = "pytorch", editor: str = "jupyterlab") -> str:
    """Return the tag the daemon runs for ``framework`` + ``editor`` at the default version."""
    version = catalog.get_framework(framework).default_version
    return catalog.image_tag(prefix, framework, editor, version)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: Callable[[], Any], timeout: float, what: str,
               interval: float = 0.05) -> Any:
    """Call ``condition`` until it returns a true value and return that value.

    Raises BenchError naming ``what`` after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise BenchError(f"Timed out after {timeout:g} s waiting for {what}.")
        time.sleep(interval)


def http_responds(port: int, timeout: float = 1.0) -> bool:
    """Return whether an HTTP server on 127.0.0.1:``port`` responds to ``GET /``, any status."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return sock.recv(12).startswith(b"HTTP/")
    except OSError:
        return False


def rss_bytes(pid: int) -> int:
    """Return the resident set size of process ``pid`` (VmRSS in /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise BenchError(f"/proc/{pid}/status has no VmRSS line; is process {pid} a zombie?")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """Return the user and the system CPU time process ``pid`` has used so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # After the command name: state is field 3, utime field 14 and stime field 15.
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


# Runs ``python -m localai.daemon`` on uvloop's event loop, which asyncio.run()
# takes from the event loop policy. The daemon's own options follow in sys.argv.
_UVLOOP_LAUNCHER = (
    "import asyncio, runpy, uvloop; "
    "asyncio.set_event_loop_policy(uvloop.EventLoopPolicy()); "
    "runpy.run_module('localai.daemon', run_name='__main__', alter_sys=True)"
)


class Daemon:
    """A ``python -m localai.daemon`` process on a temporary data dir and a free port.

    With ``uvloop=True`` the daemon runs on uvloop's event loop instead of
    asyncio's, an experiment that needs ``.venv/bin/pip install uvloop``.
    """

    def __init__(self, work_dir: Path, image_prefix: str, start_timeout: float = 180.0,
                 uvloop: bool = False) -> None:
        self.data_dir = (work_dir / f"data-{secrets.token_hex(4)}").resolve()
        self.port = free_port()
        self.log_path = work_dir / f"daemon-{self.port}.log"
        self._image_prefix = image_prefix
        self._start_timeout = start_timeout
        self._uvloop = uvloop
        self._process: subprocess.Popen[bytes] | None = None
        self.session = requests.Session()

    @property
    def pid(self) -> int:
        if self._process is None:
            raise BenchError("The daemon has not been started.")
        return self._process.pid

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        credentials = json.loads((self.data_dir / "credentials.json").read_text())
        token: str = credentials["api_token"]
        return token

    def notebook_host(self, notebook_id: str) -> str:
        return f"{notebook_id}.notebook.localhost:{self.port}"

    def start(self) -> None:
        """Start the daemon and wait until ``/health`` returns 200."""
        env = {**os.environ, "LOCALAI_IMAGE_PREFIX": self._image_prefix,
               "LOCALAI_START_TIMEOUT": f"{self._start_timeout:g}"}
        for name in ("LOCALAI_DATA_DIR", "LOCALAI_PORT", "LOCALAI_BIND"):
            env.pop(name, None)
        module = ["-c", _UVLOOP_LAUNCHER] if self._uvloop else ["-m", "localai.daemon"]
        with open(self.log_path, "ab") as log_file:
            self._process = subprocess.Popen(
                [sys.executable, *module, "--data-dir", str(self.data_dir),
                 "--port", str(self.port)],
                env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=REPO_ROOT,
            )
        wait_until(self._healthy, DAEMON_START_TIMEOUT, f"the daemon on port {self.port}")
        self.session.headers["Authorization"] = f"Bearer {self.token}"
        log.info("daemon pid %d listening on port %d", self.pid, self.port)

    def _healthy(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            raise BenchError(f"The daemon exited with status {self._process.returncode}; "
                             f"see {self.log_path}.")
        try:
            return requests.get(f"{self.api}/health", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def create_notebook(self) -> str:
        """Create a pytorch + jupyterlab notebook with 1 CPU; return its id."""
        body = {"env": {"frameworkId": "pytorch", "editorId": "jupyterlab"},
                "resources": {"cpu": 1}}
        response = self.session.post(f"{self.api}/v1/notebook", json=body, timeout=HTTP_TIMEOUT)
        if response.status_code != 200:
            raise BenchError(f"POST /v1/notebook returned {response.status_code}: "
                             f"{response.text[:500]}")
        notebook_id: str = response.json()["id"]
        return notebook_id

    def state(self, notebook_id: str) -> dict[str, Any]:
        response = self.session.get(f"{self.api}/v1/notebook/{notebook_id}",
                                    timeout=HTTP_TIMEOUT)
        if response.status_code != 200:
            raise BenchError(f"GET /v1/notebook/{notebook_id} returned {response.status_code}: "
                             f"{response.text[:500]}")
        status: dict[str, Any] = response.json()["status"]
        return status

    def wait_running(self, notebook_id: str, timeout: float, interval: float) -> None:
        """Poll the notebook every ``interval`` seconds until it is RUNNING.

        Raises BenchError when it becomes FAILED or ERROR, or after ``timeout`` seconds.
        """
        def running() -> bool:
            status = self.state(notebook_id)
            if status["state"] in ("FAILED", "ERROR"):
                raise BenchError(f"Notebook {notebook_id} became {status['state']}: "
                                 f"{status.get('infos')}")
            return bool(status["state"] == "RUNNING")

        wait_until(running, timeout, f"notebook {notebook_id} to become RUNNING", interval)

    def delete_notebook(self, notebook_id: str) -> None:
        """Delete a notebook with ``force=true`` and wait until its container is gone."""
        response = self.session.delete(f"{self.api}/v1/notebook/{notebook_id}",
                                       params={"force": "true"}, timeout=HTTP_TIMEOUT)
        if response.status_code != 204:
            raise BenchError(f"DELETE /v1/notebook/{notebook_id} returned "
                             f"{response.status_code}: {response.text[:500]}")

        client = docker.from_env()
        try:
            def gone() -> bool:
                try:
                    client.containers.get(f"localai-{notebook_id}")
                except docker.errors.NotFound:
                    return True
                return False

            wait_until(gone, 60, f"the container of notebook {notebook_id} to be removed")
        finally:
            client.close()

    def stop(self) -> None:
        """Stop the daemon with SIGTERM (SIGKILL after 30 s) and remove its Docker objects."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=30)
        self.session.close()
        remove_daemon_objects(self.data_dir)


def remove_daemon_objects(data_dir: Path) -> None:
    """Remove the containers, volumes and networks labelled with this daemon's data dir."""
    client = docker.from_env()
    selector = {"label": f"{DATA_DIR_LABEL}={data_dir.resolve()}"}
    try:
        for container in client.containers.list(all=True, filters=selector):
            container.remove(force=True)
        for volume in client.volumes.list(filters=selector):
            volume.remove(force=True)
        for network in client.networks.list(filters=selector):
            network.remove()
    finally:
        client.close()


def remove_bench_containers(client: docker.DockerClient, run_id: str) -> None:
    """Remove the containers this benchmark run started outside the daemon."""
    selector = {"label": f"{BENCH_LABEL}={run_id}"}
    for container in client.containers.list(all=True, filters=selector):
        container.remove(force=True)


def published_port(container: Any) -> int:
    """Return the host port that ``container``'s port 8080 is published on."""
    container.reload()
    bindings = container.attrs["NetworkSettings"]["Ports"].get("8080/tcp") or []
    for binding in bindings:
        if binding.get("HostPort"):
            return int(binding["HostPort"])
    raise BenchError(f"Container {container.name} publishes no host port for 8080/tcp.")


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the ``fraction`` quantile of ``values`` by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        raise BenchError("No samples to compute a percentile of.")
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Return the median, minimum, maximum and mean of ``values``."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "mean": statistics.fmean(values),
    }


def format_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Return a Markdown table, so the output can be pasted into docs/benchmarks.md."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def machine_info() -> dict[str, Any]:
    """Return the facts about this machine that affect the numbers."""
    client = docker.from_env()
    try:
        engine = client.version()
        other_containers = len(client.containers.list())
    finally:
        client.close()
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": round(memory_kib / 1024**2, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "docker_engine": engine.get("Version"),
        "running_containers_at_start": other_containers,
        "load_average_at_start": load_average(),
    }


def load_average() -> list[str]:
    """Return the 1, 5 and 15 minute load averages, as /proc/loadavg writes them."""
    return Path("/proc/loadavg").read_text().split()[:3]


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return "unknown"


def describe_machine(info: dict[str, Any]) -> str:
    return (f"{info['cpu_count']} cores ({info['cpu_model']}), {info['memory_gib']} GiB, "
            f"kernel {info['kernel']}, Docker {info['docker_engine']}, "
            f"Python {info['python']}; {info['running_containers_at_start']} containers "
            f"running at start; load average {' '.join(info['load_average_at_start'])} at start, "
            f"{' '.join(info.get('load_average_at_end', ['?']))} at end")


def make_work_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="localai-bench-"))


def write_results(results: dict[str, Any], output: Path | None, work_dir: Path,
                  name: str) -> Path:
    """Write ``results`` as JSON to ``output``, or into ``work_dir`` when it is None."""
    path = output if output is not None else work_dir / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path


def remove_work_dir(work_dir: Path, keep_files: bool) -> None:
    """Remove the work dir, or only the daemon data dirs in it when ``keep_files`` is true.

    The data dirs hold credentials, so they are removed either way. The
    daemon logs and a results file stay when ``keep_files`` is true.
    """
    if keep_files:
        for child in work_dir.glob("data-*"):
            shutil.rmtree(child, ignore_errors=True)
        return
    shutil.rmtree(work_dir, ignore_errors=True)


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
