"""Data plane benchmark: the daemon's proxy against a direct connection and configurable-http-proxy.

One echo server runs as a notebook of a fresh daemon (its image is tagged
``localaibench/pytorch-jupyterlab:<version>``), and three paths lead to it:

- ``direct``: the container's published port, served by Docker's docker-proxy;
- ``localai``: the daemon's port, with the notebook's Host header and the API
  token; the daemon forwards to the published port;
- ``chp``: configurable-http-proxy 5 (JupyterHub's proxy) with a route for ``/``
  to the same published port;
- ``bridge``: the container's own address on its Docker network, port 8080,
  which bypasses docker-proxy (for reference; not a target).

All paths send the same headers. On each path the benchmark measures:

- small GETs per second and their latency, with wrk at 1 and 10 connections;
- WebSocket echo round trips on one connection, one message at a time;
- a download of ``--download-bytes`` with curl, sampling the proxy's resident memory.
The whole sequence runs ``--repeat`` times, and the tables show the median
of the repeats (the maximum for memory growth).

Run: ``.venv/bin/python bench/proxy.py``. It needs wrk (``apt-get install wrk``),
curl, node 20 or later and ``npm ci --prefix bench`` once for configurable-http-proxy.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.util
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import benchlib
import docker
import docker.errors
import requests
from benchlib import BENCH_LABEL, BenchError, Daemon

BENCH_DIR = Path(__file__).resolve().parent
ECHO_SERVER_DIR = BENCH_DIR / "echo-server"
WRK_SCRIPT = BENCH_DIR / "wrk_report.lua"
CHP_EXECUTABLE = BENCH_DIR / "node_modules" / ".bin" / "configurable-http-proxy"

ECHO_PREFIX = "localaibench"
"""Image prefix of the daemon that runs the echo server as its notebook editor."""
SOURCE_HASH_LABEL = "ai.localai.bench-source-sha256"

SMALL_PATH = "/small"
SMALL_BODY = b"ok\n"

TARGET_ADDED_LATENCY_MS = 0.5
TARGET_MEMORY_GROWTH_MB = 50.0
RSS_SAMPLE_INTERVAL = 0.01


@dataclass
class Target:
    """One way to reach the echo server."""

    name: str
    address: str
    port: int
    headers: dict[str, str]
    pid: int | None
    """The proxy process on this path, whose CPU time and memory are sampled."""
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Reports of each measurement kind, one per repeat."""

    @property
    def base_url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def add_run(self, kind: str, report: dict[str, Any]) -> None:
        self.runs.setdefault(kind, []).append(report)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3,
                        help="times the whole sequence of measurements runs (default 3)")
    parser.add_argument("--duration", type=float, default=5.0,
                        help="seconds of each wrk run (default 5)")
    parser.add_argument("--connections", default="1,10",
                        help="comma-separated wrk connection counts (default 1,10)")
    parser.add_argument("--ws-seconds", type=float, default=5.0,
                        help="seconds of WebSocket echo round trips per path (default 5)")
    parser.add_argument("--ws-message-bytes", type=int, default=64,
                        help="size of each WebSocket text message (default 64)")
    parser.add_argument("--download-bytes", type=int, default=10**9,
                        help="size of the download per path, in bytes (default 10^9)")
    parser.add_argument("--skip-chp", action="store_true",
                        help="leave out configurable-http-proxy")
    parser.add_argument("--skip-bridge", action="store_true",
                        help="leave out the path to the container's own network address")
    parser.add_argument("--uvloop", action="store_true",
                        help="run the daemon on uvloop's event loop, an experiment that needs "
                             ".venv/bin/pip install uvloop")
    parser.add_argument("--profile", type=Path,
                        help="also record py-spy profiles of the daemon (collapsed stacks) "
                             "into this folder, in extra runs after the measurements")
    parser.add_argument("--output", type=Path,
                        help="JSON results file (default: proxy.json in a new temp dir)")
    parser.add_argument("--verbose", action="store_true", help="log progress")
    args = parser.parse_args(argv)
    try:
        args.connection_counts = [int(c) for c in args.connections.split(",")]
    except ValueError:
        parser.error(f"--connections must be integers separated by commas: {args.connections}")
    if any(c < 1 for c in args.connection_counts):
        parser.error("--connections values must be at least 1")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def check_tools(args: argparse.Namespace) -> None:
    """Raise BenchError naming the install command of the first missing tool."""
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed. Install it with: apt-get install wrk")
    if shutil.which("curl") is None:
        raise BenchError("curl is not installed. Install it with: apt-get install curl")
    if not args.skip_chp and not CHP_EXECUTABLE.exists():
        raise BenchError(f"{CHP_EXECUTABLE} is missing. Install configurable-http-proxy with: "
                         "npm ci --prefix bench (or pass --skip-chp)")
    if args.uvloop and importlib.util.find_spec("uvloop") is None:
        raise BenchError("uvloop is not installed. Install it with: .venv/bin/pip install uvloop")
    if args.profile is not None and shutil.which("py-spy", path=_venv_path()) is None:
        raise BenchError("py-spy is not installed. Install it with: .venv/bin/pip install py-spy")


def _venv_path() -> str:
    return f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


# Echo server image -----------------------------------------------------------

def ensure_echo_image() -> str:
    """Build the echo server image when its sources changed; return its tag."""
    from tests.support.images import ensure_base_image

    tag = benchlib.default_image_tag(ECHO_PREFIX)
    source_hash = _source_hash(ECHO_SERVER_DIR)
    client = docker.from_env()
    try:
        try:
            old = client.images.get(tag)
        except docker.errors.ImageNotFound:
            old = None
        if old is not None and old.labels.get(SOURCE_HASH_LABEL) == source_hash:
            return tag

        ensure_base_image()
        print(f"Building {tag} from {ECHO_SERVER_DIR}", flush=True)
        client.images.build(path=str(ECHO_SERVER_DIR), tag=tag, rm=True, forcerm=True,
                            pull=False,
                            labels={BENCH_LABEL: "echo-server", SOURCE_HASH_LABEL: source_hash})
        if old is not None:
            # The rebuilt image took the tag, so the old one is unnamed now.
            client.images.remove(old.id)
    finally:
        client.close()
    return tag


def _source_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


# The three paths ---------------------------------------------------------------

@dataclass(frozen=True)
class Notebook:
    """The echo server running as a notebook."""

    notebook_id: str
    published_port: int
    container_address: str
    """The container's IP address on its Docker network."""


def start_notebook(daemon: Daemon) -> Notebook:
    """Run the echo server as a notebook and wait until it is RUNNING."""
    notebook_id = daemon.create_notebook()
    daemon.wait_running(notebook_id, timeout=120, interval=0.1)
    client = docker.from_env()
    try:
        container = client.containers.get(f"localai-{notebook_id}")
        port = benchlib.published_port(container)
        networks = container.attrs["NetworkSettings"]["Networks"]
        addresses = [n["IPAddress"] for n in networks.values() if n.get("IPAddress")]
    finally:
        client.close()
    if not addresses:
        raise BenchError(f"Container localai-{notebook_id} has no IP address on any network.")
    return Notebook(notebook_id, port, addresses[0])


class ConfigurableHttpProxy:
    """A configurable-http-proxy process with one route, ``/`` to the echo server."""

    def __init__(self, work_dir: Path) -> None:
        self.port = benchlib.free_port()
        self.api_port = benchlib.free_port()
        self._token = secrets.token_hex(16)
        self._log_path = work_dir / "configurable-http-proxy.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise BenchError("configurable-http-proxy has not been started.")
        return self._process.pid

    def start(self, upstream_port: int) -> None:
        env = {**os.environ, "CONFIGPROXY_AUTH_TOKEN": self._token}
        with open(self._log_path, "ab") as log_file:
            self._process = subprocess.Popen(
                [str(CHP_EXECUTABLE), "--ip", "127.0.0.1", "--port", str(self.port),
                 "--api-ip", "127.0.0.1", "--api-port", str(self.api_port),
                 "--log-level", "warn"],
                env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        benchlib.wait_until(self._api_ready, 30,
                            f"configurable-http-proxy's API on port {self.api_port}")
        response = requests.post(
            f"http://127.0.0.1:{self.api_port}/api/routes/",
            headers={"Authorization": f"token {self._token}"},
            json={"target": f"http://127.0.0.1:{upstream_port}"}, timeout=10,
        )
        if response.status_code != 201:
            raise BenchError(f"configurable-http-proxy rejected the route to port {upstream_port}: "
                             f"{response.status_code} {response.text[:300]}")

    def _api_ready(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            raise BenchError(f"configurable-http-proxy exited with status "
                             f"{self._process.returncode}; see {self._log_path}.")
        try:
            response = requests.get(f"http://127.0.0.1:{self.api_port}/api/routes",
                                    headers={"Authorization": f"token {self._token}"}, timeout=1)
        except requests.ConnectionError:
            return False
        return response.status_code == 200

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)


def check_target(target: Target) -> None:
    """Raise BenchError unless ``GET /small`` on ``target`` returns the echo server's body."""
    response = requests.get(f"{target.base_url}{SMALL_PATH}", headers=target.headers,
                            timeout=10, allow_redirects=False)
    if response.status_code != 200 or response.content != SMALL_BODY:
        raise BenchError(f"GET {SMALL_PATH} through {target.name} returned "
                         f"{response.status_code} {response.content[:200]!r}, "
                         f"expected 200 {SMALL_BODY!r}.")


# Measurements ------------------------------------------------------------------

def _cpu_used(pid: int, before: tuple[float, float]) -> tuple[float, float]:
    """Return the user and system CPU seconds ``pid`` used since ``before``."""
    user, system = benchlib.cpu_seconds(pid)
    return user - before[0], system - before[1]


def run_wrk(target: Target, connections: int, duration: float) -> dict[str, Any]:
    """Run wrk with one thread against ``GET /small``; return its report and proxy CPU time."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--timeout", "5s",
               "-s", str(WRK_SCRIPT)]
    for name, value in target.headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"{target.base_url}{SMALL_PATH}")

    cpu_before = benchlib.cpu_seconds(target.pid) if target.pid else None
    completed = subprocess.run(command, capture_output=True, text=True,
                               timeout=duration + 30, check=False)
    if completed.returncode != 0:
        raise BenchError(f"wrk against {target.name} failed with status "
                         f"{completed.returncode}: {completed.stderr.strip()}")
    report: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    errors = report["socket_errors"] + report["status_errors"] + report["timeouts"]
    if errors:
        raise BenchError(f"wrk against {target.name} at {connections} connections saw "
                         f"{errors} errors: {report}")

    seconds = report["duration_us"] / 1e6
    report["requests_per_second"] = report["requests"] / seconds
    if cpu_before is not None and target.pid:
        user, system = _cpu_used(target.pid, cpu_before)
        report["proxy_cpu_us_per_request"] = (user + system) / report["requests"] * 1e6
        report["proxy_cpu_system_fraction"] = system / (user + system) if user + system else 0.0
        report["proxy_cpu_share"] = (user + system) / seconds
    return report


async def _websocket_round_trips(target: Target, seconds: float,
                                 message_bytes: int) -> dict[str, Any]:
    payload = "x" * message_bytes
    latencies: list[float] = []
    timeout = aiohttp.ClientTimeout(total=seconds + 30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.ws_connect(f"{target.base_url}/ws", headers=target.headers,
                                      autoping=False) as socket:
            for _ in range(200):  # warm-up, not counted
                await socket.send_str(payload)
                await socket.receive()
            started = time.perf_counter()
            deadline = started + seconds
            while (sent := time.perf_counter()) < deadline:
                await socket.send_str(payload)
                message = await socket.receive()
                if message.type is not aiohttp.WSMsgType.TEXT or message.data != payload:
                    raise BenchError(f"The WebSocket echo through {target.name} returned "
                                     f"{message.type.name} {str(message.data)[:100]!r}.")
                latencies.append(time.perf_counter() - sent)
            elapsed = time.perf_counter() - started
    return {
        "round_trips": len(latencies),
        "round_trips_per_second": len(latencies) / elapsed,
        "latency_us": {"p50": benchlib.percentile(latencies, 0.5) * 1e6,
                       "p99": benchlib.percentile(latencies, 0.99) * 1e6},
    }


def websocket_round_trips(target: Target, seconds: float, message_bytes: int) -> dict[str, Any]:
    """Send text messages one at a time on one WebSocket and wait for each echo."""
    cpu_before = benchlib.cpu_seconds(target.pid) if target.pid else None
    report = asyncio.run(_websocket_round_trips(target, seconds, message_bytes))
    if cpu_before is not None and target.pid:
        user, system = _cpu_used(target.pid, cpu_before)
        report["proxy_cpu_us_per_round_trip"] = (user + system) / report["round_trips"] * 1e6
        report["proxy_cpu_system_fraction"] = system / (user + system) if user + system else 0.0
    return report


class RssSampler:
    """Samples a process's VmRSS every RSS_SAMPLE_INTERVAL seconds in a thread."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(benchlib.rss_bytes(self._pid))
            self._stop.wait(RSS_SAMPLE_INTERVAL)


def download(target: Target, size: int) -> dict[str, Any]:
    """Download ``size`` bytes with curl into /dev/null; sample the proxy's memory meanwhile."""
    command = ["curl", "--silent", "--show-error", "--output", "/dev/null",
               "--write-out", '{"status": %{http_code}, "bytes": %{size_download}, '
                              '"seconds": %{time_total}}']
    for name, value in target.headers.items():
        command += ["--header", f"{name}: {value}"]
    command.append(f"{target.base_url}/big?size={size}")

    rss_before = benchlib.rss_bytes(target.pid) if target.pid else None
    if target.pid:
        with RssSampler(target.pid) as sampler:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=300,
                                       check=False)
        time.sleep(1.0)
        rss_after: int | None = benchlib.rss_bytes(target.pid)
        rss_peak: int | None = max(sampler.samples, default=rss_before)
    else:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=300,
                                   check=False)
        rss_after = rss_peak = None
    if completed.returncode != 0:
        raise BenchError(f"curl through {target.name} failed with status "
                         f"{completed.returncode}: {completed.stderr.strip()}")

    report: dict[str, Any] = json.loads(completed.stdout)
    if report["status"] != 200 or report["bytes"] != size:
        raise BenchError(f"The download through {target.name} returned status "
                         f"{report['status']} and {report['bytes']} of {size} bytes.")
    report["megabytes_per_second"] = size / report["seconds"] / 1e6
    report["rss_before"] = rss_before
    report["rss_peak"] = rss_peak
    report["rss_after"] = rss_after
    if rss_before is not None and rss_peak is not None:
        report["rss_peak_growth"] = rss_peak - rss_before
    return report


def measure(targets: list[Target], args: argparse.Namespace, repeat: int) -> None:
    """Run every measurement once, path after path within each kind, into ``target.runs``."""
    label = f"[{repeat}/{args.repeat}]"
    for connections in args.connection_counts:
        for target in targets:
            report = run_wrk(target, connections, args.duration)
            target.add_run(f"small_get_c{connections}", report)
            print(f"{label} GET {SMALL_PATH}, {connections} connections, {target.name}: "
                  f"{report['requests_per_second']:.0f} requests/s, "
                  f"p50 {report['latency_us']['p50']} µs", flush=True)

    for target in targets:
        report = websocket_round_trips(target, args.ws_seconds, args.ws_message_bytes)
        target.add_run("websocket", report)
        print(f"{label} WebSocket echo, {target.name}: "
              f"{report['round_trips_per_second']:.0f} round trips/s", flush=True)

    for target in targets:
        report = download(target, args.download_bytes)
        target.add_run("download", report)
        print(f"{label} Download of {args.download_bytes} bytes, {target.name}: "
              f"{report['megabytes_per_second']:.0f} MB/s", flush=True)


def median_of(runs: list[dict[str, Any]], *keys: str) -> float | None:
    """Return the median over ``runs`` of the value at ``keys``, None when a run lacks it."""
    values = []
    for run in runs:
        value: Any = run
        for key in keys:
            if not isinstance(value, dict) or value.get(key) is None:
                return None
            value = value[key]
        values.append(float(value))
    return benchlib.summarize(values)["median"]


def summarize_target(target: Target) -> dict[str, Any]:
    """Return the medians over the repeats of each number the tables show."""
    summary: dict[str, Any] = {}
    for kind, runs in target.runs.items():
        if kind.startswith("small_get_"):
            summary[kind] = {
                "requests_per_second": median_of(runs, "requests_per_second"),
                "p50_us": median_of(runs, "latency_us", "p50"),
                "p99_us": median_of(runs, "latency_us", "p99"),
                "proxy_cpu_us_per_request": median_of(runs, "proxy_cpu_us_per_request"),
                "proxy_cpu_system_fraction": median_of(runs, "proxy_cpu_system_fraction"),
            }
        elif kind == "websocket":
            summary[kind] = {
                "round_trips_per_second": median_of(runs, "round_trips_per_second"),
                "p50_us": median_of(runs, "latency_us", "p50"),
                "p99_us": median_of(runs, "latency_us", "p99"),
                "proxy_cpu_us_per_round_trip": median_of(runs, "proxy_cpu_us_per_round_trip"),
                "proxy_cpu_system_fraction": median_of(runs, "proxy_cpu_system_fraction"),
            }
        elif kind == "download":
            growths = [r["rss_peak_growth"] for r in runs if r.get("rss_peak_growth") is not None]
            summary[kind] = {
                "seconds": median_of(runs, "seconds"),
                "megabytes_per_second": median_of(runs, "megabytes_per_second"),
                "rss_before": runs[0]["rss_before"],
                "rss_peak": max((r["rss_peak"] for r in runs if r["rss_peak"] is not None),
                                default=None),
                "rss_after": runs[-1]["rss_after"],
                "rss_peak_growth_max": max(growths, default=None),
            }
    return summary


def record_profiles(target: Target, args: argparse.Namespace) -> dict[str, str]:
    """Record py-spy profiles of the daemon under load, after the measurements."""
    assert target.pid is not None
    folder: Path = args.profile
    folder.mkdir(parents=True, exist_ok=True)
    py_spy = shutil.which("py-spy", path=_venv_path())
    assert py_spy is not None
    files = {}
    loads: dict[str, Callable[[], object]] = {
        "small-get": lambda: run_wrk(target, max(args.connection_counts), args.duration),
        "websocket": lambda: websocket_round_trips(target, args.ws_seconds,
                                                   args.ws_message_bytes),
        "download": lambda: download(target, args.download_bytes),
    }
    for name, load in loads.items():
        output = folder / f"daemon-{name}.txt"
        recorder = subprocess.Popen(
            [py_spy, "record", "--pid", str(target.pid), "--format", "raw", "--rate", "250",
             "--nonblocking", "--output", str(output)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)  # py-spy attaches before the load starts
        try:
            load()
        finally:
            recorder.send_signal(signal.SIGINT)
            recorder.wait(timeout=30)
        files[name] = str(output)
        print(f"Profile of the daemon during {name}: {output}", flush=True)
    return files


# Report ------------------------------------------------------------------------

def verdicts(summaries: dict[str, dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """Compare the localai path with the targets: rate, added latency, memory growth."""
    localai, direct = summaries["localai"], summaries["direct"]
    single = min(args.connection_counts)
    added_ms = (localai[f"small_get_c{single}"]["p50_us"]
                - direct[f"small_get_c{single}"]["p50_us"]) / 1000
    growth_mb = localai["download"]["rss_peak_growth_max"] / 1e6
    result: dict[str, Any] = {
        "added_p50_latency_ms": added_ms,
        "added_p50_latency_target_met": added_ms < TARGET_ADDED_LATENCY_MS,
        "download_rss_growth_mb": growth_mb,
        "download_rss_growth_target_met": growth_mb < TARGET_MEMORY_GROWTH_MB,
    }
    if "chp" in summaries:
        for connections in args.connection_counts:
            key = f"small_get_c{connections}"
            ratio = (localai[key]["requests_per_second"]
                     / summaries["chp"][key]["requests_per_second"])
            result[f"requests_per_second_vs_chp_c{connections}"] = ratio
            result[f"requests_per_second_target_met_c{connections}"] = ratio > 1.0
    return result


def _format_number(value: float | None, scale: float = 1.0, digits: int = 0) -> str:
    return "–" if value is None else f"{value / scale:.{digits}f}"


def _format_percent(fraction: float | None) -> str:
    return "–" if fraction is None else f"{fraction * 100:.0f} %"


def results_tables(summaries: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    rows = []
    for connections in args.connection_counts:
        for name, summary in summaries.items():
            report = summary[f"small_get_c{connections}"]
            rows.append([str(connections), name,
                         _format_number(report["requests_per_second"]),
                         _format_number(report["p50_us"], 1000, 3),
                         _format_number(report["p99_us"], 1000, 3),
                         _format_number(report["proxy_cpu_us_per_request"]),
                         _format_percent(report["proxy_cpu_system_fraction"])])
    small = benchlib.format_table(
        ["connections", "path", "requests/s", "p50 (ms)", "p99 (ms)", "proxy CPU µs/request",
         "of which kernel"], rows)

    rows = []
    for name, summary in summaries.items():
        report = summary["websocket"]
        rows.append([name, _format_number(report["round_trips_per_second"]),
                     _format_number(report["p50_us"], 1000, 3),
                     _format_number(report["p99_us"], 1000, 3),
                     _format_number(report["proxy_cpu_us_per_round_trip"]),
                     _format_percent(report["proxy_cpu_system_fraction"])])
    websocket = benchlib.format_table(
        ["path", "round trips/s", "p50 (ms)", "p99 (ms)", "proxy CPU µs/round trip",
         "of which kernel"], rows)

    rows = []
    for name, summary in summaries.items():
        report = summary["download"]
        rows.append([name, _format_number(report["seconds"], digits=2),
                     _format_number(report["megabytes_per_second"]),
                     _format_number(report["rss_before"], 1e6, 1),
                     _format_number(report["rss_peak"], 1e6, 1),
                     _format_number(report["rss_after"], 1e6, 1),
                     _format_number(report["rss_peak_growth_max"], 1e6, 1)])
    transfer = benchlib.format_table(
        ["path", "seconds", "MB/s", "proxy RSS before (MB)", "peak (MB)", "after (MB)",
         "peak growth (MB)"], rows)

    medians = f"median of {args.repeat} runs" if args.repeat > 1 else "one run"
    return (f"Small GETs (wrk, 1 thread, {args.duration:g} s each, {medians}):\n{small}\n\n"
            f"WebSocket echo ({args.ws_message_bytes}-byte text messages, one connection, "
            f"sequential, {args.ws_seconds:g} s, {medians}):\n{websocket}\n\n"
            f"Download of {args.download_bytes} bytes (curl, {medians}; RSS before is from "
            f"the first run, after from the last, peak and growth the maximum):\n{transfer}")


def verdict_lines(result: dict[str, Any], args: argparse.Namespace) -> list[str]:
    def word(met: bool) -> str:
        return "met" if met else "missed"

    lines = [
        f"Added p50 latency at {min(args.connection_counts)} connection(s): "
        f"{result['added_p50_latency_ms']:.3f} ms (target < {TARGET_ADDED_LATENCY_MS} ms: "
        f"{word(result['added_p50_latency_target_met'])})",
        f"Daemon RSS peak growth during the download: {result['download_rss_growth_mb']:.1f} MB "
        f"(target < {TARGET_MEMORY_GROWTH_MB:g} MB: "
        f"{word(result['download_rss_growth_target_met'])})",
    ]
    for connections in args.connection_counts:
        key = f"requests_per_second_vs_chp_c{connections}"
        if key in result:
            met = result[f"requests_per_second_target_met_c{connections}"]
            lines.append(f"Requests/s against configurable-http-proxy at {connections} "
                         f"connection(s): {result[key]:.2f}x (target > 1: {word(met)})")
    return lines


# Main --------------------------------------------------------------------------

def make_targets(daemon: Daemon, notebook: Notebook, chp: ConfigurableHttpProxy | None,
                 args: argparse.Namespace) -> list[Target]:
    headers = {"Host": daemon.notebook_host(notebook.notebook_id),
               "Authorization": f"Bearer {daemon.token}"}
    targets = [Target("direct", "127.0.0.1", notebook.published_port, headers, None),
               Target("localai", "127.0.0.1", daemon.port, headers, daemon.pid)]
    if chp is not None:
        targets.append(Target("chp", "127.0.0.1", chp.port, headers, chp.pid))
    if not args.skip_bridge:
        targets.append(Target("bridge", notebook.container_address, 8080, headers, None))
    return targets


def run(args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    machine = benchlib.machine_info()
    image = ensure_echo_image()
    daemon = Daemon(work_dir, ECHO_PREFIX, uvloop=args.uvloop)
    chp = None if args.skip_chp else ConfigurableHttpProxy(work_dir)
    try:
        daemon.start()
        notebook = start_notebook(daemon)
        if chp is not None:
            chp.start(notebook.published_port)
        targets = make_targets(daemon, notebook, chp, args)
        for target in targets:
            check_target(target)
            run_wrk(target, max(args.connection_counts), 1.0)  # warm-up, not counted

        daemon_rss_start = benchlib.rss_bytes(daemon.pid)
        for repeat in range(1, args.repeat + 1):
            measure(targets, args, repeat)
        daemon_rss_end = benchlib.rss_bytes(daemon.pid)
        profiles = record_profiles(targets[1], args) if args.profile else {}
    finally:
        if chp is not None:
            chp.stop()
        daemon.stop()

    machine["load_average_at_end"] = benchlib.load_average()
    summaries = {t.name: summarize_target(t) for t in targets}
    result = verdicts(summaries, args)
    print()
    print(f"Machine: {benchlib.describe_machine(machine)}; nothing pinned")
    print(results_tables(summaries, args))
    print()
    print("\n".join(verdict_lines(result, args)))
    return {
        "benchmark": "proxy", "machine": machine, "image": image,
        "arguments": {k: str(v) for k, v in vars(args).items()},
        "summaries": summaries, "runs": {t.name: t.runs for t in targets},
        "daemon_rss_start": daemon_rss_start, "daemon_rss_end": daemon_rss_end,
        "verdicts": result, "profiles": profiles,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    benchlib.configure_logging(args.verbose)
    work_dir = benchlib.make_work_dir()
    keep_files = True
    try:
        check_tools(args)
        results = run(args, work_dir)
        output = benchlib.write_results(results, args.output, work_dir, "proxy")
        print(f"\nResults written to {output}")
        keep_files = args.output is None
    except BenchError as e:
        print(f"proxy: {e}\nDaemon logs are in {work_dir}.", file=sys.stderr)
        return 1
    finally:
        benchlib.remove_work_dir(work_dir, keep_files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
