"""The daemon process: wires the store, Docker, the API and the front door together.

``serve`` runs in the foreground until SIGTERM or SIGINT. It holds an
exclusive lock on the data directory for its whole life, so a second daemon
on the same data directory stops at once with a message naming the first.
Notebook containers keep running when the daemon stops; the next daemon
reconciles them.

Run ``python -m localai.daemon --help`` for the options; ``localai daemon
start`` spawns this module in the background.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import logging
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import IO

from localai import __version__
from localai.access import Authenticator
from localai.api import ApiContext, create_app
from localai.app_tokens import TokenService
from localai.config import GpuMode, Settings, load_settings
from localai.errors import DaemonError, LocalaiError, RuntimeUnavailable
from localai.gpus import GpuAllocator
from localai.models import JsonDict
from localai.notebooks import NotebookService
from localai.project import ensure_project
from localai.proxy.server import FrontDoor
from localai.reconciler import Reconciler
from localai.resources import ResourcePlanner, load_inventory
from localai.runtime import connect
from localai.runtime.containers import ContainerRuntime
from localai.store import Store
from localai.tokens import load_signing_key

log = logging.getLogger(__name__)

# Exit status of `python -m localai.daemon` when another daemon has locked the data directory.
EXIT_ALREADY_RUNNING = 3


class AlreadyRunning(DaemonError):
    """Another daemon holds the lock of this data directory."""

    def __init__(self, settings: Settings, pid: int | None) -> None:
        who = f" (pid {pid})" if pid else ""
        super().__init__(
            f"The localai daemon already runs{who} with data dir {settings.data_dir}."
        )
        self.pid = pid


def read_pid(settings: Settings) -> int | None:
    """Return the pid written by the running daemon, or None."""
    try:
        return int(settings.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def acquire_lock(settings: Settings) -> IO[str]:
    """Take the data directory's exclusive lock; raises AlreadyRunning when it is held."""
    handle = open(settings.lock_file, "a+")  # noqa: SIM115 - held for the daemon's life
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AlreadyRunning(settings, read_pid(settings)) from None
    return handle


def _connect_runtime(settings: Settings) -> ContainerRuntime:
    return ContainerRuntime(connect(), str(settings.data_dir.resolve()))


def serve(settings: Settings) -> None:
    """Run the daemon until SIGTERM or SIGINT; raises DaemonError when it cannot start."""
    credentials = ensure_project(settings)
    lock = acquire_lock(settings)
    store = Store(settings.state_file)
    try:
        try:
            runtime: ContainerRuntime | None = _connect_runtime(settings)
        except RuntimeUnavailable as e:
            log.warning("starting without Docker: %s", e.message)
            runtime = None

        planner = ResourcePlanner(settings, GpuAllocator(load_inventory(settings)))
        service = NotebookService(settings, store, runtime, credentials.username, planner)
        authenticator = Authenticator(credentials, settings.session_key_file.read_bytes())
        token_service = TokenService(
            store, load_signing_key(settings.signing_key_file), credentials
        )
        authenticator.token_verifier = token_service
        reconciler = Reconciler(service, lambda: _connect_runtime(settings))

        def health() -> JsonDict:
            current = service.runtime
            return {
                "status": "ok",
                "version": __version__,
                "pid": os.getpid(),
                "dataDir": str(settings.data_dir),
                "url": settings.api_url,
                "docker": {
                    "reachable": current is not None,
                    "version": current.engine_version if current else None,
                    "error": None if current else "The Docker engine is not reachable.",
                    "gpuSupport": current.gpu_support() if current else None,
                },
                "gpus": {
                    "mode": settings.gpu_mode.value,
                    "count": len(planner.allocator.gpus),
                    "free": len(planner.allocator.free()),
                    "models": planner.allocator.models(),
                },
            }

        context = ApiContext(settings, credentials, authenticator, service, token_service, health)
        front_door = FrontDoor(create_app(context), service, authenticator, settings.port)
        asyncio.run(_run(settings, front_door, reconciler))
    finally:
        store.close()
        settings.pid_file.unlink(missing_ok=True)
        settings.runtime_file.unlink(missing_ok=True)
        lock.close()


async def _run(settings: Settings, front_door: FrontDoor, reconciler: Reconciler) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    await front_door.start(settings.bind, settings.port)
    settings.pid_file.write_text(f"{os.getpid()}\n")
    settings.runtime_file.write_text(json.dumps(
        {"pid": os.getpid(), "port": settings.port, "bind": settings.bind,
         "url": settings.api_url}
    ) + "\n")
    reconciler.start()
    log.info("localai %s serving %s (data dir %s, pid %d)",
             __version__, settings.api_url, settings.data_dir, os.getpid())

    await stop.wait()
    log.info("stopping the daemon; notebook containers keep running")
    reconciler.stop()
    await front_door.stop()


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m localai.daemon",
                                     description="Run the localai daemon in the foreground.")
    parser.add_argument("--data-dir", type=Path, help="data directory (LOCALAI_DATA_DIR)")
    parser.add_argument("--port", type=int, help="public TCP port (LOCALAI_PORT)")
    parser.add_argument("--bind", help="listen address, 127.0.0.1 by default (LOCALAI_BIND)")
    parser.add_argument("--gpu-mode", choices=[m.value for m in GpuMode],
                        help="GPU mode (LOCALAI_GPU_MODE)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m localai.daemon``; returns the exit status."""
    args = _parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings().with_overrides(data_dir=args.data_dir, port=args.port)
    except ValueError as e:
        log.error("%s", e)
        return 2
    if args.bind:
        settings = replace(settings, bind=args.bind)
    if args.gpu_mode:
        settings = replace(settings, gpu_mode=GpuMode(args.gpu_mode))

    try:
        serve(settings)
    except AlreadyRunning as e:
        log.error("%s", e.message)
        return EXIT_ALREADY_RUNNING
    except LocalaiError as e:
        log.error("%s", e.message)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
