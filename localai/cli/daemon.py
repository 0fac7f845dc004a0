"""``localai daemon``: start, stop and inspect the daemon of a data directory.

Each command takes ``--data-dir``, and ``--port`` where it matters, so that a
daemon started with them can be found again. Without them the
``LOCALAI_DATA_DIR`` and ``LOCALAI_PORT`` environment variables apply.

Exit codes of ``daemon status``, like ``systemctl status``: 0 when the daemon
runs and its ``/health`` responds, 1 when it runs but does not respond, 3
when no daemon runs for the data directory.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path
from typing import Any

import click

from localai import daemonctl
from localai.cli import CliState, pass_state, to_json
from localai.cli.render import to_yaml
from localai.config import GpuMode, Settings
from localai.errors import DaemonError
from localai.project import Credentials, read_credentials

log = logging.getLogger(__name__)

EXIT_NOT_RESPONDING = 1
EXIT_NOT_RUNNING = 3

port_option = click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="TCP port of the API and of every notebook URL. [default: LOCALAI_PORT, else 8300]",
)
data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=(
        "Folder with the state file, keys, credentials, pid file and daemon log. "
        "[default: LOCALAI_DATA_DIR, else ~/.local/share/localai]"
    ),
)


def _settings(
    state: CliState, data_dir: Path | None, port: int | None, bind: str | None = None
) -> Settings:
    """Return the CLI's settings with the command's options applied, data dir made absolute."""
    settings = state.settings.with_overrides(data_dir=data_dir, port=port)
    settings = settings.with_overrides(data_dir=settings.data_dir.expanduser().resolve())
    if bind is not None:
        settings = dataclasses.replace(settings, bind=bind)
    return settings


def _not_running(settings: Settings) -> str:
    return f"No localai daemon runs with data dir {settings.data_dir}."


def _already_running(result: daemonctl.StartResult, settings: Settings) -> str:
    pid = "unknown" if result.pid is None else str(result.pid)
    return (
        f"The localai daemon already runs (pid {pid}) at {result.url} "
        f"with data dir {settings.data_dir}."
    )


@click.group("daemon")
def daemon_group() -> None:
    """Start, stop and inspect the localai daemon."""


def _serve_foreground(settings: Settings) -> None:
    # Imported here: the daemon pulls in Flask, aiohttp and the Docker SDK,
    # which the other commands do not need.
    from localai.daemon import serve

    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    serve(settings)


@daemon_group.command("start")
@port_option
@data_dir_option
@click.option(
    "--bind",
    metavar="ADDRESS",
    help=(
        "Address the daemon listens on. Any address but loopback exposes the API "
        "and the notebooks to the network. [default: LOCALAI_BIND, else 127.0.0.1]"
    ),
)
@click.option(
    "--foreground",
    is_flag=True,
    help="Run the daemon in this process, logging to stderr, until Ctrl-C or SIGTERM.",
)
@click.option(
    "--gpu-mode",
    type=click.Choice([mode.value for mode in GpuMode]),
    help=(
        "auto: NVIDIA GPUs when NVML finds some and Docker can attach them; nvidia: require "
        "them; emulate: accept GPU requests without attaching devices (for CI); none: refuse "
        "GPU requests. [default: LOCALAI_GPU_MODE, else auto]"
    ),
)
@pass_state
def start_command(
    state: CliState, port: int | None, data_dir: Path | None, bind: str | None,
    foreground: bool, gpu_mode: str | None,
) -> None:
    """Start the daemon in the background and wait until its API responds.

    The daemon's output goes to daemon.log in the data directory.
    """
    settings = _settings(state, data_dir, port, bind)
    if gpu_mode is not None:
        settings = dataclasses.replace(settings, gpu_mode=GpuMode(gpu_mode))

    running = daemonctl.running_daemon(settings)
    if running is not None:
        click.echo(_already_running(running, settings))
        return

    if foreground:
        _serve_foreground(settings)
        return

    result = daemonctl.start_background(settings)
    if result.already_running:
        click.echo(_already_running(result, settings))
        return
    click.echo(
        f"The localai daemon started (pid {result.pid}) at {result.url} "
        f"with data dir {settings.data_dir}."
    )


@daemon_group.command("stop")
@data_dir_option
@pass_state
def stop_command(state: CliState, data_dir: Path | None) -> None:
    """Stop the daemon: SIGTERM, then wait up to 20 s for it to exit.

    Notebook containers keep running and the next daemon start finds them.
    """
    settings = _settings(state, data_dir, None)

    pid = daemonctl.stop(settings)
    if pid is None:
        click.echo(_not_running(settings))
        return
    click.echo(f"The localai daemon (pid {pid}) stopped.")


def _docker_line(health: dict[str, Any]) -> str:
    docker = health.get("docker") or {}
    if docker.get("reachable"):
        version = docker.get("version")
        line = f"reachable, engine {version}" if version else "reachable"
        if docker.get("gpuSupport") is not None:
            line += ", can attach GPUs" if docker["gpuSupport"] else ", cannot attach GPUs"
        return line
    error = docker.get("error")
    return f"not reachable: {error}" if error else "not reachable"


def _status_json(settings: Settings, result: daemonctl.DaemonStatus | None) -> dict[str, Any]:
    if result is None:
        return {"running": False, "dataDir": str(settings.data_dir)}
    return {
        "running": True,
        "pid": result.pid,
        "url": result.url,
        "dataDir": str(result.data_dir),
        "health": result.health,
        "error": result.error,
    }


def _status_text(settings: Settings, result: daemonctl.DaemonStatus) -> str:
    pid = "unknown" if result.pid is None else str(result.pid)
    lines = [
        f"State:    running (pid {pid})",
        f"URL:      {result.url}",
        f"Data dir: {result.data_dir}",
        f"Log file: {settings.log_file}",
    ]
    if result.health is not None:
        lines.append(f"Version:  {result.health.get('version', '')}")
        lines.append(f"Docker:   {_docker_line(result.health)}")
        gpus = result.health.get("gpus")
        if isinstance(gpus, dict):
            models = ", ".join(gpus.get("models") or []) or "none"
            lines.append(
                f"GPUs:     mode {gpus.get('mode')}, {gpus.get('free')} of {gpus.get('count')} "
                f"free (models: {models})"
            )
    else:
        lines.append(f"Health:   {result.error}")
    return "\n".join(lines)


@daemon_group.command("status")
@port_option
@data_dir_option
@click.option("-o", "--output", "output", type=click.Choice(["json", "yaml"]),
              help="Print the status as JSON or YAML.")
@pass_state
def status_command(
    state: CliState, port: int | None, data_dir: Path | None, output: str | None
) -> None:
    """Show whether the daemon runs, its URL, data dir and Docker engine.

    Exits with 0 when the daemon responds, 1 when it runs but does not
    respond, and 3 when it does not run.
    """
    settings = _settings(state, data_dir, port)
    result = daemonctl.status(settings)

    if output == "json":
        click.echo(to_json(_status_json(settings, result)), nl=False)
    elif output == "yaml":
        click.echo(to_yaml(_status_json(settings, result)), nl=False)
    elif result is None:
        click.echo(_not_running(settings))
    else:
        click.echo(_status_text(settings, result))

    ctx = click.get_current_context()
    if result is None:
        ctx.exit(EXIT_NOT_RUNNING)
    if result.health is None:
        ctx.exit(EXIT_NOT_RESPONDING)


def _read_credentials(settings: Settings) -> Credentials:
    path = settings.credentials_file
    try:
        return read_credentials(path)
    except FileNotFoundError:
        raise DaemonError(
            f"No credentials file at {path}: the daemon creates it on its first start. "
            "Start it with: localai daemon start"
        ) from None
    except PermissionError:
        raise DaemonError(
            f"Cannot read the credentials file {path}: permission denied. "
            "Run this command as the user who started the daemon."
        ) from None


@daemon_group.command("credentials")
@port_option
@data_dir_option
@click.option("-o", "--output", "output", type=click.Choice(["json", "yaml"]),
              help="Print the credentials as JSON or YAML.")
@pass_state
def credentials_command(
    state: CliState, port: int | None, data_dir: Path | None, output: str | None
) -> None:
    """Show the project user's name, password and API token.

    Use the username and password on a notebook's login page, and the API
    token as a Bearer token for the API.
    """
    settings = _settings(state, data_dir, port)
    credentials = _read_credentials(settings)
    data = {
        "username": credentials.username,
        "password": credentials.password,
        "apiToken": credentials.api_token,
        "projectId": credentials.project_id,
        "apiUrl": settings.api_url,
    }

    if output == "json":
        click.echo(to_json(data), nl=False)
    elif output == "yaml":
        click.echo(to_yaml(data), nl=False)
    else:
        click.echo(
            f"Username:   {data['username']}\n"
            f"Password:   {data['password']}\n"
            f"API token:  {data['apiToken']}\n"
            f"Project ID: {data['projectId']}\n"
            f"API URL:    {data['apiUrl']}"
        )
