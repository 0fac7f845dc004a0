"""Command-line interface of localai, shaped like the ``ovhai`` CLI.

This module contains what every command group shares: the ``CliState`` kept
on the Click context, the group class that accepts ``ls`` for ``list``, the
``--token``/``--no-color`` options of every API command and the ``-o``
option. As in ``ovhai``, ``--token`` works before or after the subcommand.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from localai.client import Client
from localai.config import Settings
from localai.errors import DaemonError
from localai.project import read_credentials

F = TypeVar("F", bound=Callable[..., Any])

# Short names that groups also accept, as in ``ovhai notebook ls``.
ALIASES = {"ls": "list"}


@dataclass
class CliState:
    """Settings and credentials of one CLI invocation, stored as the Click context's ``obj``."""

    settings: Settings
    token: str | None = None
    """App token given with ``--token``; None means the stored API token."""
    no_color: bool = False
    _client: Client | None = field(default=None, repr=False)

    def api_token(self) -> str:
        """Return the ``--token`` value, else the API token of the credentials file."""
        if self.token is not None:
            return self.token
        path = self.settings.credentials_file
        try:
            return read_credentials(path).api_token
        except FileNotFoundError:
            raise DaemonError(
                f"No credentials file at {path}: the daemon creates it on its first start. "
                "Start the daemon first with: localai daemon start"
            ) from None
        except PermissionError:
            raise DaemonError(
                f"Cannot read the credentials file {path}: permission denied. "
                "Run localai as the user who started the daemon, or pass --token."
            ) from None

    def client(self) -> Client:
        """Return the API client, created on first use."""
        if self._client is None:
            self._client = Client(self.settings.api_url, self.api_token())
        return self._client

    def close(self) -> None:
        """Close the API client's connections, if a command opened any."""
        if self._client is not None:
            self._client.close()
            self._client = None


pass_state = click.make_pass_decorator(CliState)


class AliasedGroup(click.Group):
    """A group that also finds ``list`` under ``ls``."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, ALIASES.get(cmd_name, cmd_name))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        # Report the full name (``list``) in usage lines and errors.
        _, command, rest = super().resolve_command(ctx, args)
        return (command.name if command else None), command, rest


def _store_token(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    # The root group's callback has created the state before subcommands parse options.
    state = ctx.find_object(CliState)
    if state is not None and value is not None:
        state.token = value


def _store_no_color(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    state = ctx.find_object(CliState)
    if state is not None and value:
        state.no_color = True


TOKEN_HELP = "App token to authenticate with, instead of the API token of the local project."
NO_COLOR_HELP = "Print no ANSI colors. localai prints none; accepted so ovhai scripts work."


def api_options(command: F) -> F:
    """Add ``--token`` and ``--no-color`` to a command that calls the API."""
    command = click.option(
        "--token", metavar="TOKEN", expose_value=False, callback=_store_token, help=TOKEN_HELP
    )(command)
    command = click.option(
        "--no-color", is_flag=True, expose_value=False, callback=_store_no_color,
        help=NO_COLOR_HELP,
    )(command)
    return command


def output_option(help_text: str) -> Callable[[F], F]:
    """Add ``-o/--output json|yaml``."""
    return click.option(
        "-o", "--output", "output", type=click.Choice(["json", "yaml"]), help=help_text
    )


def to_json(obj: object) -> str:
    """Return ``obj`` as indented JSON ending with a newline, keys in the API's order."""
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def echo_object(obj: object, output: str | None, human: str | None = None) -> None:
    """Print ``obj`` as JSON or YAML, or print ``human`` when no output format is chosen.

    Without ``human``, YAML is the default, as ``notebook run`` prints it.
    """
    from localai.cli.render import to_yaml

    if output == "json":
        click.echo(to_json(obj), nl=False)
    elif output == "yaml" or human is None:
        click.echo(to_yaml(obj), nl=False)
    else:
        click.echo(human, nl=False)
