"""``localai notebook``: run, inspect, stop, start, delete notebooks and read their logs.

Outputs follow the 2021 ``ovhai`` CLI: ``run`` prints the created notebook
as YAML, ``get`` the human view, ``list`` a table. ``-o json`` of ``list``
prints one JSON object per notebook, one after the other, as ``jq`` reads
them. ``stop``, ``start`` and ``delete`` print one line each:
``Notebook <id> is stopping.``, ``Notebook <id> is starting.`` and
``Notebook <id> deleted.``
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from localai.cli import (
    AliasedGroup,
    CliState,
    api_options,
    echo_object,
    output_option,
    pass_state,
    render,
)
from localai.cli.images import ensure_image_built
from localai.errors import InvalidState

log = logging.getLogger(__name__)

# States in which the notebook's container runs, so that DELETE needs force=true.
ACTIVE_STATES = frozenset({"STARTING", "RUNNING", "RESTARTING"})

_PAIR_EXAMPLES = {
    "labels": "--label subject=image-recognition",
    "envvars": "--envvar MY_VARIABLE=value",
}


def _parse_pairs(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> list[tuple[str, str]]:
    """Split each ``NAME=VALUE`` at the first ``=``; the name must not be empty."""
    pairs = []
    for text in values:
        name, separator, value = text.partition("=")
        if not separator or not name:
            example = _PAIR_EXAMPLES.get(param.name or "", "")
            raise click.BadParameter(
                f"{text!r} is not NAME=VALUE. Example: {example}", ctx=ctx, param=param
            )
        pairs.append((name, value))
    return pairs


def build_spec(
    framework: str,
    editor: str,
    *,
    gpu: int | None = None,
    cpu: int | None = None,
    flavor: str | None = None,
    framework_version: str | None = None,
    name: str | None = None,
    labels: list[tuple[str, str]] | None = None,
    envvars: list[tuple[str, str]] | None = None,
    unsecure_http: bool = False,
) -> dict[str, Any]:
    """Return the ``POST /v1/notebook`` body for the options of ``notebook run``.

    Resource keys and the framework version are sent only when given, so the
    server applies its defaults. ``cpu`` is dropped when ``gpu`` is given, as
    the cloud ignores ``--cpu`` next to ``--gpu``.
    """
    resources: dict[str, Any] = {}
    if flavor is not None:
        resources["flavor"] = flavor
    if gpu is not None:
        resources["gpu"] = gpu
    if cpu is not None and not gpu:
        resources["cpu"] = cpu

    env: dict[str, Any] = {"frameworkId": framework}
    if framework_version is not None:
        env["frameworkVersion"] = framework_version
    env["editorId"] = editor

    return {
        "name": name or "",
        "labels": dict(labels or []),
        "resources": resources,
        "unsecureHttp": unsecure_http,
        "env": env,
        "envVars": [{"name": key, "value": value} for key, value in envvars or []],
    }


@click.group("notebook", cls=AliasedGroup)
def notebook_group() -> None:
    """Run and manage notebooks."""


@notebook_group.command("run")
@click.argument("framework")
@click.argument("editor")
@click.option("-g", "--gpu", type=click.IntRange(min=0),
              help="Number of GPUs. Without --gpu and --cpu the daemon gives one GPU "
                   "when one is free, else one CPU.")
@click.option("-c", "--cpu", type=click.IntRange(min=1),
              help="Number of CPUs; ignored when --gpu is given.")
@click.option("-f", "--flavor", metavar="FLAVOR_ID",
              help="Flavor id, such as ai1-1-gpu or ai1-1-cpu.")
@click.option("--framework-version", metavar="VERSION",
              help="Framework version. [default: the framework's first version]")
@click.option("-n", "--name", help="Name of the notebook, for your information only.")
@click.option("-l", "--label", "labels", multiple=True, metavar="NAME=VALUE",
              callback=_parse_pairs, help="Label of the notebook; repeat for several.")
@click.option("-e", "--envvar", "envvars", multiple=True, metavar="NAME=VALUE",
              callback=_parse_pairs,
              help="Environment variable of the notebook; repeat for several.")
@click.option("--unsecure-http", is_flag=True,
              help="Serve the notebook URL to anyone, without authentication.")
@click.option("--build", "build_image", is_flag=True,
              help="First build the notebook image in the local Docker engine if it is "
                   "missing, printing the build progress on stderr. The build trusts the "
                   "CA bundle named by $LOCALAI_CA_BUNDLE.")
@output_option("Print the notebook as JSON or YAML. [default: yaml]")
@api_options
@pass_state
def run_command(
    state: CliState,
    framework: str,
    editor: str,
    gpu: int | None,
    cpu: int | None,
    flavor: str | None,
    framework_version: str | None,
    name: str | None,
    labels: list[tuple[str, str]],
    envvars: list[tuple[str, str]],
    unsecure_http: bool,
    build_image: bool,
    output: str | None,
) -> None:
    """Run a notebook of FRAMEWORK with EDITOR and print it.

    FRAMEWORK and EDITOR are ids from 'localai capabilities framework list'
    and 'localai capabilities editor list'. The notebook starts in the
    background: 'localai notebook get ID' shows when it is RUNNING.
    """
    spec = build_spec(
        framework,
        editor,
        gpu=gpu,
        cpu=cpu,
        flavor=flavor,
        framework_version=framework_version,
        name=name,
        labels=labels,
        envvars=envvars,
        unsecure_http=unsecure_http,
    )
    if build_image:
        ensure_image_built(state.settings, framework, editor, framework_version,
                           echo=lambda line: click.echo(line, err=True))
    notebook = state.client().notebooks_create(spec)
    echo_object(notebook, output)


@notebook_group.command("get")
@click.argument("notebook_id", metavar="ID")
@output_option("Print the notebook as JSON or YAML instead of the human view.")
@api_options
@pass_state
def get_command(state: CliState, notebook_id: str, output: str | None) -> None:
    """Show a notebook."""
    notebook = state.client().notebook_get(notebook_id)
    if output is None:
        click.echo(render.notebook_view(notebook), nl=False)
    else:
        echo_object(notebook, output)


@notebook_group.command("list")
@output_option("Print each notebook as a JSON object or YAML document instead of the table.")
@api_options
@pass_state
def list_command(state: CliState, output: str | None) -> None:
    """List notebooks (alias: ls)."""
    notebooks = state.client().notebooks_list()
    if output is None:
        click.echo(render.notebook_table(notebooks), nl=False)
        return
    for notebook in notebooks:
        echo_object(notebook, output)


@notebook_group.command("stop")
@click.argument("notebook_id", metavar="ID")
@api_options
@pass_state
def stop_command(state: CliState, notebook_id: str) -> None:
    """Stop a notebook; its /workspace is kept for the next start."""
    state.client().notebook_stop(notebook_id)
    click.echo(f"Notebook {notebook_id} is stopping.")


@notebook_group.command("start")
@click.argument("notebook_id", metavar="ID")
@api_options
@pass_state
def start_command(state: CliState, notebook_id: str) -> None:
    """Start a stopped notebook again, with the same id and URL."""
    state.client().notebook_start(notebook_id)
    click.echo(f"Notebook {notebook_id} is starting.")


def stdin_is_interactive() -> bool:
    """Return whether a person can answer a prompt on stdin."""
    return sys.stdin.isatty()


def _confirm_forced_delete(notebook_id: str, notebook_state: str) -> None:
    """Ask before deleting a running notebook; raise InvalidState when stdin is not a terminal."""
    if not stdin_is_interactive():
        raise InvalidState(
            f"Notebook {notebook_id} is {notebook_state}. Stop it first with "
            f"'localai notebook stop {notebook_id}', or pass --force to delete it running.",
            notebook_state,
        )
    click.confirm(
        f"Notebook {notebook_id} is {notebook_state}. Delete it and its /workspace data?",
        abort=True,
    )


@notebook_group.command("delete")
@click.argument("notebook_id", metavar="ID")
@click.option("--force", is_flag=True,
              help="Delete the notebook even if it runs, without asking.")
@api_options
@pass_state
def delete_command(state: CliState, notebook_id: str, force: bool) -> None:
    """Delete a notebook and its /workspace data.

    A running notebook is deleted only after confirmation, or with --force.
    """
    client = state.client()
    if not force:
        notebook_state = str((client.notebook_get(notebook_id).get("status") or {}).get("state"))
        if notebook_state in ACTIVE_STATES:
            _confirm_forced_delete(notebook_id, notebook_state)
            force = True

    client.notebook_delete(notebook_id, force=force)
    click.echo(f"Notebook {notebook_id} deleted.")


@notebook_group.command("logs")
@click.argument("notebook_id", metavar="ID")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new output until Ctrl-C.")
@click.option("--tail", type=click.IntRange(min=0), metavar="N",
              help="Print only the last N lines. [default: all]")
@api_options
@pass_state
def logs_command(state: CliState, notebook_id: str, follow: bool, tail: int | None) -> None:
    """Print the output of a notebook's container."""
    for chunk in state.client().notebook_logs(notebook_id, follow=follow, tail=tail):
        click.echo(chunk, nl=False)
