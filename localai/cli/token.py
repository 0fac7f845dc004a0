"""``localai token``: create, list, show, renew and delete app tokens.

``create`` and ``renew`` print the 2021 ``ovhai`` description layout, whose
last line shows the token value. The API returns the value only in these
two responses, so it cannot be shown again later. ``get`` prints the same
layout without that line and ``list`` prints a table. ``-o json`` of
``list`` prints one JSON object per token, one after the other, as ``jq``
reads them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import click

from localai.access import Role
from localai.cli import (
    AliasedGroup,
    CliState,
    api_options,
    echo_object,
    output_option,
    pass_state,
    render,
)
from localai.client import JsonDict
from localai.validation import parse_selector

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

# ``--role`` values of the CLI and the API roles they map to.
CLI_ROLES = {"read": Role.READ.value, "operator": Role.OPERATOR.value}

DESCRIPTION_OUTPUT_HELP = (
    "Print the token as JSON, YAML or the description layout. [default: description]"
)


def _description_output_option(command: F) -> F:
    """Add ``-o/--output json|yaml|description``, as ``token create`` takes in ovhai."""
    return click.option(
        "-o", "--output", "output",
        type=click.Choice(["json", "yaml", "description"]),
        default="description", show_default=False, help=DESCRIPTION_OUTPUT_HELP,
    )(command)


def _print_token(token: JsonDict, output: str | None) -> None:
    """Print ``token`` as JSON, YAML, or the description layout when ``output`` is None."""
    echo_object(token, output, render.token_view(token))


def check_selector(text: str | None) -> str | None:
    """Return the selector to send, or None for an unscoped token.

    The check is the server's own, so a malformed selector such as
    ``team=vision,`` raises InvalidRequest before any request is sent. An
    empty string means no selector, as it does for the API.
    """
    if not text:
        return None
    parse_selector(text)
    return text


@click.group("token", cls=AliasedGroup)
def token_group() -> None:
    """Create and manage app tokens that share notebooks."""


@token_group.command("create")
@click.argument("name")
@click.option("-r", "--role", type=click.Choice(sorted(CLI_ROLES)), required=True,
              help="read: view the notebooks in scope and open their URLs. "
                   "operator: also run, start, stop and delete them.")
@click.option("-l", "--label-selector", "label_selectors", metavar="NAME=VALUE[,NAME=VALUE...]",
              multiple=True,
              help="Limit the token to notebooks carrying all these labels; repeating the "
                   "option adds pairs. [default: every notebook of the project]")
@_description_output_option
@api_options
@pass_state
def create_command(
    state: CliState, name: str, role: str, label_selectors: tuple[str, ...], output: str
) -> None:
    """Create an app token named NAME and print it with its value.

    The value is printed once: save it, as it cannot be shown again.
    'localai token renew ID' issues a new value if it is lost.
    """
    # Every repeated --label-selector narrows the scope, as the pairs of one value do.
    selector = check_selector(",".join(label_selectors) if label_selectors else None)
    token = state.client().tokens_create(name, CLI_ROLES[role], selector)
    _print_token(token, None if output == "description" else output)


@token_group.command("list")
@output_option("Print each token as a JSON object or YAML document instead of the table.")
@api_options
@pass_state
def list_command(state: CliState, output: str | None) -> None:
    """List app tokens, without their values (alias: ls)."""
    tokens = state.client().tokens_list()
    if output is None:
        click.echo(render.token_table(tokens), nl=False)
        return
    for token in tokens:
        _print_token(token, output)


@token_group.command("get")
@click.argument("token_id", metavar="ID")
@output_option("Print the token as JSON or YAML instead of the description layout.")
@api_options
@pass_state
def get_command(state: CliState, token_id: str, output: str | None) -> None:
    """Show an app token, without its value."""
    _print_token(state.client().token_get(token_id), output)


@token_group.command("renew")
@click.argument("token_id", metavar="ID")
@_description_output_option
@api_options
@pass_state
def renew_command(state: CliState, token_id: str, output: str) -> None:
    """Issue a new value for an app token and print it.

    The token keeps its id, name, role and label selector, and its
    previous value stops working at once.
    """
    token = state.client().token_renew(token_id)
    _print_token(token, None if output == "description" else output)


@token_group.command("delete")
@click.argument("token_id", metavar="ID")
@api_options
@pass_state
def delete_command(state: CliState, token_id: str) -> None:
    """Delete an app token. Its value stops working at once."""
    state.client().token_delete(token_id)
    click.echo(f"Token {token_id} deleted.")
