"""Container start cost of three network layouts, to size the daemon's per-notebook network.

Each round creates and starts the small test editor image three ways, in
turn, and times ``create`` plus ``start`` (not the editor's own start-up):

- ``default bridge``: Docker's default network, as a plain ``docker run``;
- ``new network``: a bridge network created for the container first, as the
  daemon does for every notebook (the network creation is included);
- ``shared network``: one bridge network created before the rounds with
  ``com.docker.network.bridge.enable_icc=false``, so containers on it cannot
  reach each other.

Run: ``.venv/bin/python bench/network_start.py [--rounds 10]``.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import benchlib
import docker
from benchlib import BENCH_LABEL, BenchError

LAYOUTS = ("default bridge", "new network", "shared network")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10,
                        help="timed rounds; each starts one container per layout (default 10)")
    parser.add_argument("--output", type=Path,
                        help="JSON results file (default: network_start.json in a new temp dir)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def time_start(client: docker.DockerClient, image: str, layout: str, shared: str,
               run_id: str) -> float:
    """Create, start and remove one container in ``layout``; return create + start seconds."""
    labels = {BENCH_LABEL: run_id}
    network = None
    start = time.perf_counter()
    options: dict[str, Any] = {}
    if layout == "new network":
        network = client.networks.create(f"localaibench-net-{run_id}-{secrets.token_hex(3)}",
                                         driver="bridge", labels=labels)
        options["network"] = network.name
    elif layout == "shared network":
        options["network"] = shared
    container = client.containers.create(image, init=True, labels=labels,
                                         ports={"8080/tcp": ("127.0.0.1", None)}, **options)
    container.start()
    seconds = time.perf_counter() - start

    container.remove(force=True)
    if network is not None:
        network.remove()
    return seconds


def remove_bench_networks(client: docker.DockerClient, run_id: str) -> None:
    for network in client.networks.list(filters={"label": f"{BENCH_LABEL}={run_id}"}):
        network.remove()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run_id = secrets.token_hex(4)
    work_dir = benchlib.make_work_dir()
    keep_files = False
    client = docker.from_env()
    try:
        from tests.support.images import ensure_test_editor_image

        machine = benchlib.machine_info()
        image: str = ensure_test_editor_image(benchlib.default_image_tag("localaibench-editor"))
        shared = client.networks.create(
            f"localaibench-shared-{run_id}", driver="bridge", labels={BENCH_LABEL: run_id},
            options={"com.docker.network.bridge.enable_icc": "false"},
        )
        # A container that stays on the shared network, as earlier notebooks would.
        client.containers.run(image, detach=True, init=True, network=shared.name,
                              labels={BENCH_LABEL: run_id})
        time_start(client, image, "default bridge", shared.name, run_id)  # warm-up

        samples: dict[str, list[float]] = {layout: [] for layout in LAYOUTS}
        for number in range(1, args.rounds + 1):
            for layout in LAYOUTS:
                samples[layout].append(time_start(client, image, layout, shared.name, run_id))
            print(f"round {number}/{args.rounds}: " + ", ".join(
                f"{layout} {samples[layout][-1]:.3f} s" for layout in LAYOUTS), flush=True)
        machine["load_average_at_end"] = benchlib.load_average()
    except BenchError as e:
        print(f"network_start: {e}", file=sys.stderr)
        return 1
    finally:
        benchlib.remove_bench_containers(client, run_id)
        remove_bench_networks(client, run_id)
        client.close()

    try:
        summaries = {layout: benchlib.summarize(times) for layout, times in samples.items()}
        rows = [[layout, f"{s['median']:.3f}", f"{s['min']:.3f} – {s['max']:.3f}"]
                for layout, s in summaries.items()]
        print()
        print(f"Machine: {benchlib.describe_machine(machine)}")
        print(f"Container create + start, {args.rounds} rounds:")
        print(benchlib.format_table(["network", "median (s)", "min – max (s)"], rows))
        output = benchlib.write_results(
            {"benchmark": "network_start", "machine": machine, "image": image,
             "samples": samples, "summaries": summaries}, args.output, work_dir,
            "network_start")
        print(f"\nResults written to {output}")
        keep_files = args.output is None
    finally:
        benchlib.remove_work_dir(work_dir, keep_files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
