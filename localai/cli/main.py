"""Entry point of the ``localai`` command.

``RootGroup.invoke`` is the one place where errors become exit codes: a
``LocalaiError`` (an API error, a daemon that does not respond...) prints
``Error: <message>`` on stderr and exits with 1. Usage errors exit with 2,
as Click does.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import click

from localai import __version__, daemonctl
from localai.cli import (
    NO_COLOR_HELP,
    TOKEN_HELP,
    AliasedGroup,
    CliState,
    api_options,
    output_option,
    pass_state,
    render,
    to_json,
)
from localai.cli.capabilities import capabilities_group
from localai.cli.daemon import daemon_group
from localai.cli.images import images_group
from localai.cli.notebook import notebook_group
from localai.cli.token import token_group
from localai.config import load_settings
from localai.errors import LocalaiError

log = logging.getLogger(__name__)


class RootGroup(AliasedGroup):
    """The ``localai`` group; converts LocalaiError into ``Error: <message>`` and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LocalaiError as e:
            raise click.ClickException(e.message) from e


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="localai")
@click.option("--token", metavar="TOKEN", help=TOKEN_HELP)
@click.option("--no-color", is_flag=True, help=NO_COLOR_HELP)
@click.pass_context
def cli(ctx: click.Context, token: str | None, no_color: bool) -> None:
    """Run cloud-style AI notebooks (JupyterLab, VS Code) on this machine with Docker.

    Start the daemon once with 'localai daemon start', then run a notebook
    with 'localai notebook run pytorch jupyterlab'. LOCALAI_DATA_DIR and
    LOCALAI_PORT choose the daemon the commands talk to.
    """
    try:
        settings = load_settings()
    except ValueError as e:
        raise LocalaiError(f"{e}. Fix the environment variable or unset it.") from e
    if not os.environ.get("LOCALAI_PORT"):
        # Without LOCALAI_PORT, talk to the daemon of this data dir on whatever port it uses.
        port = daemonctl.running_port(settings)
        if port is not None:
            settings = settings.with_overrides(port=port)
    ctx.obj = CliState(settings=settings, token=token, no_color=no_color)
    ctx.call_on_close(ctx.obj.close)


@cli.command("me")
@output_option("Print the user as JSON or YAML.")
@api_options
@pass_state
def me_command(state: CliState, output: str | None) -> None:
    """Show who the CLI authenticates as: user, project, role and quotas."""
    me = state.client().me()
    if output == "json":
        click.echo(to_json(me), nl=False)
    elif output == "yaml":
        click.echo(render.to_yaml(me), nl=False)
    else:
        click.echo(render.me_view(me), nl=False)


cli.add_command(notebook_group)
cli.add_command(capabilities_group)
cli.add_command(daemon_group)
cli.add_command(images_group)
cli.add_command(token_group)


def main() -> None:
    """Run the ``localai`` command line and exit with its status."""
    cli.main(prog_name="localai")
