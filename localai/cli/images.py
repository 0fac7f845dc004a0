"""``localai images``: build and list notebook images in the local Docker engine.

These commands talk to Docker directly through ``localai.runtime``, not
through the daemon, so they work before the daemon is started.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import click

from localai import catalog
from localai.cli import AliasedGroup, CliState, to_json
from localai.cli.render import table
from localai.config import Settings, load_settings
from localai.runtime import connect
from localai.runtime.images import (
    LOCAL_BASE,
    OFFICIAL_BASE,
    BuildEvent,
    EventKind,
    ImageInfo,
    build_notebook_image,
    list_notebook_images,
)

# Instructions longer than this are cut in the progress display.
MAX_INSTRUCTION_CHARS = 100

BASE_IMAGE_HELP = (
    f"Image the framework builds on: '{OFFICIAL_BASE}' for the framework version's official "
    f"image, '{LOCAL_BASE}' for the local Debian base, or an image name. Docker pulls an "
    "official or named image that the engine does not have. Default: the official image if "
    "the engine already has it, else the local Debian base (no registry is contacted)."
)
CA_BUNDLE_HELP = (
    "PEM file of CA certificates that pip and npm trust during the build and in the "
    "notebook, for hosts behind a TLS-inspecting proxy. It must contain every CA needed, "
    "for example /etc/ssl/certs/ca-certificates.crt. Default: $LOCALAI_CA_BUNDLE, else none."
)


@click.group("images", cls=AliasedGroup)
def images_group() -> None:
    """Build and list notebook images in the local Docker engine."""


@images_group.command("build")
@click.argument("framework_id", metavar="FRAMEWORK")
@click.argument("editor_id", metavar="EDITOR")
@click.option("--framework-version", "version", metavar="VERSION",
              help="Framework version to build. Default: the framework's default version.")
@click.option("--base-image", metavar="IMAGE|official|local", help=BASE_IMAGE_HELP)
@click.option("--ca-bundle", metavar="FILE", envvar="LOCALAI_CA_BUNDLE",
              type=click.Path(exists=True, dir_okay=False, path_type=Path), help=CA_BUNDLE_HELP)
@click.option("-v", "--verbose", is_flag=True, help="Print the output of every build step.")
@click.pass_context
def build_command(ctx: click.Context, framework_id: str, editor_id: str, version: str | None,
                  base_image: str | None, ca_bundle: Path | None, verbose: bool) -> None:
    """Build the notebook image of FRAMEWORK and EDITOR."""
    settings = _settings(ctx)
    framework = catalog.get_framework(framework_id)
    catalog.get_editor(editor_id)
    version = version or framework.default_version
    framework.find_version(version)

    started = time.monotonic()
    info = build_notebook_image(
        connect(), framework.id, editor_id, version,
        prefix=settings.image_prefix, base_image=base_image, ca_bundle=ca_bundle,
        progress=ProgressDisplay(click.echo, verbose),
    )
    took = format_duration(time.monotonic() - started)
    click.echo(f"Built {info.tag} ({format_size(info.size)}) in {took}")


@images_group.command("list")
@click.option("-o", "--output", "output", type=click.Choice(["json"]),
              help="Print one JSON object per image instead of a table.")
@click.pass_context
def list_command(ctx: click.Context, output: str | None) -> None:
    """List the notebook images built under the image prefix."""
    settings = _settings(ctx)
    images = list_notebook_images(connect(), settings.image_prefix)

    if output == "json":
        click.echo("".join(to_json(image_json(image)) for image in images), nl=False)
        return
    rows = [
        [image.tag, image.framework, image.version, image.editor, format_size(image.size),
         image.created.strftime("%Y-%m-%d %H:%M")]
        for image in images
    ]
    click.echo(table(["IMAGE", "FRAMEWORK", "VERSION", "EDITOR", "SIZE", "CREATED"], rows),
               nl=False)


def _settings(ctx: click.Context) -> Settings:
    """Return the settings of the root command, or read them when run on its own."""
    state = ctx.find_object(CliState)
    if state is not None:
        return state.settings
    try:
        return load_settings()
    except ValueError as e:
        raise click.UsageError(str(e)) from e


class ProgressDisplay:
    """Prints build events as lines prefixed with the elapsed build time."""

    def __init__(self, echo: Callable[[str], object], verbose: bool) -> None:
        self._echo = echo
        self._verbose = verbose

    def __call__(self, event: BuildEvent) -> None:
        line = format_event(event, self._verbose)
        if line is not None:
            self._echo(line)


def format_event(event: BuildEvent, verbose: bool) -> str | None:
    """Return the display line of a build event; None for output lines unless verbose."""
    if event.kind is EventKind.OUTPUT:
        text = f"      | {event.message}" if verbose else None
    elif event.kind is EventKind.STEP:
        text = f"  Step {event.step}/{event.total}: {_shorten(event.message)}"
    elif event.kind is EventKind.LAYER:
        text = f"    ---> {event.layer} {_step_outcome(event)}"
    elif event.kind is EventKind.DONE:
        text = f"Built {event.message} ({event.layer}) in {format_duration(event.duration or 0)}"
    else:
        text = event.message

    return None if text is None else f"[{format_clock(event.elapsed)}] {text}"


def _step_outcome(event: BuildEvent) -> str:
    if event.cached:
        return "cached"
    return f"in {format_duration(event.duration or 0)}"


def _shorten(instruction: str) -> str:
    if len(instruction) <= MAX_INSTRUCTION_CHARS:
        return instruction
    return instruction[: MAX_INSTRUCTION_CHARS - 3] + "..."


def format_clock(seconds: float) -> str:
    """Return elapsed seconds as ``MM:SS``."""
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes:02d}:{rest:02d}"


def format_duration(seconds: float) -> str:
    """Return a duration as ``4.2 s`` under a minute and ``1m 07s`` from a minute on."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s"


def format_size(size: int) -> str:
    """Return a byte count in decimal units, as ``docker images`` prints sizes."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{value:.3g} {unit}"
        value /= 1000
    return f"{value:.3g} TB"


def image_json(image: ImageInfo) -> dict[str, object]:
    """Return the ``-o json`` form of an image."""
    return {
        "image": image.tag,
        "id": image.id,
        "framework": image.framework,
        "version": image.version,
        "editor": image.editor,
        "size": image.size,
        "created": image.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "baseImage": image.base_image,
        "installedVersion": image.installed_version,
    }
