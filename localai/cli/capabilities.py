"""``localai capabilities``: the frameworks and editors notebooks can run."""

from __future__ import annotations

import logging

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

log = logging.getLogger(__name__)


@click.group("capabilities", cls=AliasedGroup)
def capabilities_group() -> None:
    """Show the frameworks and editors notebooks can run."""


@capabilities_group.group("framework", cls=AliasedGroup)
def framework_group() -> None:
    """Frameworks and their versions."""


@framework_group.command("list")
@output_option("Print the frameworks as a JSON array or YAML list instead of the table.")
@api_options
@pass_state
def framework_list(state: CliState, output: str | None) -> None:
    """List frameworks (alias: ls); the first version of each is its default."""
    frameworks = state.client().frameworks()
    echo_object(frameworks, output, render.framework_table(frameworks))


@framework_group.command("get")
@click.argument("framework_id", metavar="ID")
@output_option("Print the framework as JSON or YAML.")
@api_options
@pass_state
def framework_get(state: CliState, framework_id: str, output: str | None) -> None:
    """Show a framework and its versions."""
    framework = state.client().framework(framework_id)
    echo_object(framework, output, render.framework_view(framework))


@capabilities_group.group("editor", cls=AliasedGroup)
def editor_group() -> None:
    """Editors served at the notebook URL."""


@editor_group.command("list")
@output_option("Print the editors as a JSON array or YAML list instead of the table.")
@api_options
@pass_state
def editor_list(state: CliState, output: str | None) -> None:
    """List editors (alias: ls)."""
    editors = state.client().editors()
    echo_object(editors, output, render.editor_table(editors))


@editor_group.command("get")
@click.argument("editor_id", metavar="ID")
@output_option("Print the editor as JSON or YAML.")
@api_options
@pass_state
def editor_get(state: CliState, editor_id: str, output: str | None) -> None:
    """Show an editor."""
    editor = state.client().editor(editor_id)
    echo_object(editor, output, render.editor_view(editor))


@capabilities_group.group("flavor", cls=AliasedGroup)
def flavor_group() -> None:
    """Flavors: units of CPUs, memory and GPUs that notebooks take."""


@flavor_group.command("list")
@output_option("Print the flavors as a JSON array or YAML list instead of the table.")
@api_options
@pass_state
def flavor_list(state: CliState, output: str | None) -> None:
    """List the flavors of this host (alias: ls)."""
    flavors = state.client().flavors()
    echo_object(flavors, output, render.flavor_table(flavors))


@flavor_group.command("get")
@click.argument("flavor_id", metavar="ID")
@output_option("Print the flavor as JSON or YAML.")
@api_options
@pass_state
def flavor_get(state: CliState, flavor_id: str, output: str | None) -> None:
    """Show one flavor."""
    flavor = state.client().flavor(flavor_id)
    echo_object(flavor, output, render.flavor_table([flavor]))


@capabilities_group.command("quota")
@output_option("Print the quotas as JSON or YAML.")
@api_options
@pass_state
def quota_command(state: CliState, output: str | None) -> None:
    """Show the project's quotas: GPUs and CPUs a notebook may use."""
    quotas = state.client().quotas()
    rows = [[q.get("resources", {}).get("GPU"), q.get("resources", {}).get("CPU")] for q in quotas]
    echo_object(quotas, output, render.table(("GPU", "CPU"), rows))
