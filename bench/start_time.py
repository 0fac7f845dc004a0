"""Notebook start time: ``POST /v1/notebook`` to RUNNING, against a plain ``docker run``.

Each round starts the same image twice, once through the daemon and once with
the Docker SDK (detached, ``init=True``, port 8080 published on 127.0.0.1),
and alternates which of the two goes first. The daemon path ends when
``GET /v1/notebook/<id>`` reports RUNNING; the ``docker run`` path ends at the
first HTTP response to ``/`` on the published port, which is the check the
daemon itself makes before it reports RUNNING. Both are polled every
``--poll-interval`` seconds. One untimed warm-up round runs first.

Run: ``.venv/bin/python bench/start_time.py [--rounds 5] [--test-editor]``.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import benchlib
import docker
from benchlib import BENCH_LABEL, BenchError, Daemon

TARGET_RATIO = 1.10
"""The daemon's median start time may be at most this multiple of ``docker run``'s."""

TEST_EDITOR_PREFIX = "localaibench-editor"
"""Image prefix under which the test editor image is tagged for the daemon."""

# Memory the daemon gives a 1-CPU notebook (localai.runtime.containers.MEMORY_PER_CPU).
NOTEBOOK_MEMORY_BYTES = 4 * 1024**3


@dataclass(frozen=True)
class Sample:
    """One timed start."""

    path: str
    """``daemon`` or ``docker run``."""
    seconds: float
    """From the request to the first HTTP response (docker run) or to RUNNING (daemon)."""
    phases: dict[str, float]
    """Seconds from the request to the first Docker event of each kind (``container start``)."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5,
                        help="timed rounds per image; each round starts the image twice "
                             "(default 5)")
    parser.add_argument("--image-prefix", default="localai",
                        help="repository prefix of the JupyterLab image; it is built with "
                             "tests/support/images.py when missing (default localai)")
    parser.add_argument("--test-editor", action="store_true",
                        help="also measure the small test editor image of tests/images")
    parser.add_argument("--no-jupyterlab", action="store_true",
                        help="skip the JupyterLab image (use with --test-editor)")
    parser.add_argument("--baseline-limits", action="store_true",
                        help="give the docker run baseline the notebook's limits too "
                             "(1 CPU, 4 GiB)")
    parser.add_argument("--poll-interval", type=float, default=0.02,
                        help="seconds between two polls of either path (default 0.02)")
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="seconds one start may take before the run fails (default 180)")
    parser.add_argument("--output", type=Path,
                        help="JSON results file (default: start_time.json in a new temp dir)")
    parser.add_argument("--verbose", action="store_true", help="log progress")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.no_jupyterlab and not args.test_editor:
        parser.error("--no-jupyterlab leaves nothing to measure without --test-editor")
    return args


def jupyterlab_image(prefix: str) -> str:
    """Return the JupyterLab image tag under ``prefix``, building it when it is missing."""
    tag = benchlib.default_image_tag(prefix)
    client = docker.from_env()
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    finally:
        client.close()

    from tests.support.images import ensure_jupyterlab_image

    print(f"Building {tag} with tests/support/images.py; this takes minutes without "
          "cached layers.", flush=True)
    version = tag.rpartition(":")[2]
    built: str = ensure_jupyterlab_image(prefix, version)
    return built


def test_editor_image() -> str:
    """Tag the test editor image so that a daemon with TEST_EDITOR_PREFIX runs it."""
    from tests.support.images import ensure_test_editor_image

    tag: str = ensure_test_editor_image(benchlib.default_image_tag(TEST_EDITOR_PREFIX))
    return tag


def event_phases(client: docker.DockerClient, wall_start: float,
                 names: set[str]) -> dict[str, float]:
    """Return seconds from ``wall_start`` to the first event of each kind on objects in ``names``.

    Events come from the engine's log, so they show where the time went:
    creating the network and the volume, creating and starting the container.
    """
    phases: dict[str, float] = {}
    for event in client.events(since=wall_start, until=time.time(), decode=True):
        actor = event.get("Actor") or {}
        attributes = actor.get("Attributes") or {}
        if actor.get("ID") not in names and attributes.get("name") not in names:
            continue
        kind = f"{event.get('Type')} {event.get('Action')}"
        phases.setdefault(kind, event["timeNano"] / 1e9 - wall_start)
    return phases


def time_daemon(daemon: Daemon, client: docker.DockerClient, args: argparse.Namespace) -> Sample:
    """Create a notebook, wait for RUNNING, then delete it (the deletion is not timed)."""
    wall_start = time.time()
    start = time.perf_counter()
    notebook_id = daemon.create_notebook()
    daemon.wait_running(notebook_id, args.timeout, args.poll_interval)
    seconds = time.perf_counter() - start

    names = {f"localai-{notebook_id}", f"localai-{notebook_id}-workspace"}
    sample = Sample("daemon", seconds, event_phases(client, wall_start, names))
    daemon.delete_notebook(notebook_id)
    return sample


def time_docker_run(client: docker.DockerClient, image: str, run_id: str, number: int,
                    args: argparse.Namespace) -> Sample:
    """Start ``image`` with the Docker SDK, wait for an HTTP response, then remove it."""
    limits: dict[str, Any] = {}
    if args.baseline_limits:
        limits = {"nano_cpus": 1_000_000_000, "mem_limit": NOTEBOOK_MEMORY_BYTES}

    name = f"localaibench-start-{run_id}-{number}"
    wall_start = time.time()
    start = time.perf_counter()
    container = client.containers.run(
        image, detach=True, init=True, ports={"8080/tcp": ("127.0.0.1", None)},
        labels={BENCH_LABEL: run_id}, name=name, **limits,
    )
    try:
        port = benchlib.published_port(container)
        benchlib.wait_until(lambda: benchlib.http_responds(port), args.timeout,
                            f"{image} to respond to HTTP on port {port}", args.poll_interval)
        seconds = time.perf_counter() - start
        return Sample("docker run", seconds, event_phases(client, wall_start, {name}))
    finally:
        container.remove(force=True)


def measure_image(name: str, prefix: str, image: str, args: argparse.Namespace,
                  work_dir: Path) -> dict[str, Any]:
    """Run the warm-up round and the timed rounds of one image; return its samples."""
    run_id = secrets.token_hex(4)
    daemon = Daemon(work_dir, prefix, start_timeout=args.timeout)
    client = docker.from_env()
    samples: list[Sample] = []
    try:
        daemon.start()
        print(f"{name}: warm-up round", flush=True)
        time_daemon(daemon, client, args)
        time_docker_run(client, image, run_id, 0, args)

        for number in range(1, args.rounds + 1):
            daemon_first = number % 2 == 1
            pair = []
            for step in ("daemon", "docker") if daemon_first else ("docker", "daemon"):
                if step == "daemon":
                    pair.append(time_daemon(daemon, client, args))
                else:
                    pair.append(time_docker_run(client, image, run_id, number, args))
            samples += pair
            timings = ", ".join(f"{s.path} {s.seconds:.3f} s" for s in pair)
            print(f"{name}: round {number}/{args.rounds}: {timings}", flush=True)
    finally:
        benchlib.remove_bench_containers(client, run_id)
        client.close()
        daemon.stop()
    return {"name": name, "image": image, "samples": [asdict(s) for s in samples],
            **summarize_image(samples)}


PHASES = ("network create", "volume create", "container create", "network connect",
          "container start")


def summarize_image(samples: list[Sample]) -> dict[str, Any]:
    by_path: dict[str, Any] = {}
    for path in ("daemon", "docker run"):
        chosen = [s for s in samples if s.path == path]
        phases = {}
        for phase in PHASES:
            times = [s.phases[phase] for s in chosen if phase in s.phases]
            if times:
                phases[phase] = benchlib.summarize(times)["median"]
        by_path[path] = {**benchlib.summarize([s.seconds for s in chosen]),
                         "phase_medians": phases}
    ratio = by_path["daemon"]["median"] / by_path["docker run"]["median"]
    return {"paths": by_path, "ratio": ratio, "target_ratio": TARGET_RATIO,
            "target_met": ratio <= TARGET_RATIO}


def results_table(images: list[dict[str, Any]]) -> str:
    rows = []
    for result in images:
        for path, stats in result["paths"].items():
            rows.append([result["name"], path, f"{stats['median']:.3f}",
                         f"{stats['min']:.3f} – {stats['max']:.3f}"])
        verdict = "met" if result["target_met"] else "missed"
        rows.append([result["name"], "daemon / docker run", f"{result['ratio']:.3f}",
                     f"target ≤ {TARGET_RATIO:.2f}: {verdict}"])
    headers = ["image", "path", "median (s)", "min – max (s)"]
    return benchlib.format_table(headers, rows)


def phases_table(images: list[dict[str, Any]]) -> str:
    """Return the median time from the request to each Docker event, per image and path."""
    rows = []
    for result in images:
        for path, stats in result["paths"].items():
            medians = stats["phase_medians"]
            cells = [f"{medians[p]:.3f}" if p in medians else "–" for p in PHASES]
            rows.append([result["name"], path, *cells, f"{stats['median']:.3f}"])
    headers = ["image", "path", *(f"{p} (s)" for p in PHASES), "responded (s)"]
    return benchlib.format_table(headers, rows)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    benchlib.configure_logging(args.verbose)
    work_dir = benchlib.make_work_dir()
    keep_files = True
    try:
        machine = benchlib.machine_info()
        images: list[tuple[str, str, str]] = []
        if not args.no_jupyterlab:
            images.append(("jupyterlab", args.image_prefix, jupyterlab_image(args.image_prefix)))
        if args.test_editor:
            images.append(("test-editor", TEST_EDITOR_PREFIX, test_editor_image()))

        results = [measure_image(name, prefix, image, args, work_dir)
                   for name, prefix, image in images]
        machine["load_average_at_end"] = benchlib.load_average()
        print()
        print(f"Machine: {benchlib.describe_machine(machine)}")
        print(f"Rounds: {args.rounds} per image, poll interval {args.poll_interval:g} s, "
              f"baseline limits: {'1 CPU, 4 GiB' if args.baseline_limits else 'none'}")
        print(results_table(results))
        print("\nMedian seconds from the request to each Docker event:")
        print(phases_table(results))
        output = benchlib.write_results(
            {"benchmark": "start_time", "machine": machine,
             "arguments": {k: str(v) for k, v in vars(args).items()}, "images": results},
            args.output, work_dir, "start_time")
        print(f"\nResults written to {output}")
        keep_files = args.output is None
    except BenchError as e:
        print(f"start_time: {e}\nDaemon logs are in {work_dir}.", file=sys.stderr)
        return 1
    finally:
        benchlib.remove_work_dir(work_dir, keep_files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
