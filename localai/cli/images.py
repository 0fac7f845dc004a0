"""``localai images``: build, list and prune notebook images in the local Docker engine.

These commands talk to Docker directly through ``localai.runtime``, not
through the daemon, so they work before the daemon is started.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import click

from localai import catalog
from localai.cli import AliasedGroup, CliState, to_json
from localai.cli.render import table
from localai.config import Settings, load_settings
from localai.runtime import connect
from localai.runtime.base import BASE_IMAGE
from localai.runtime.images import (
    LOCAL_BASE,
    OFFICIAL_BASE,
    BuildEvent,
    EventKind,
    ImageInfo,
    PrunedImage,
    build_notebook_image,
    image_exists,
    list_notebook_images,
    prune_images,
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
CA_BUNDLE_VARIABLE = "LOCALAI_CA_BUNDLE"


@click.group("images", cls=AliasedGroup)
def images_group() -> None:
    """Build, list and prune notebook images in the local Docker engine."""


@images_group.command("build")
@click.argument("framework_id", metavar="FRAMEWORK")
@click.argument("editor_id", metavar="EDITOR")
@click.option("--framework-version", "version", metavar="VERSION",
              help="Framework version to build. Default: the framework's default version.")
@click.option("--base-image", metavar="IMAGE|official|local", help=BASE_IMAGE_HELP)
@click.option("--ca-bundle", metavar="FILE", envvar=CA_BUNDLE_VARIABLE,
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


@images_group.command("prune")
@click.option("--base", "include_base", is_flag=True,
              help=f"Also delete the local Debian base image {BASE_IMAGE}, which the next "
                   "build on it recreates with debootstrap.")
@click.option("--dry-run", is_flag=True, help="List the images that would be deleted.")
@click.option("-f", "--force", is_flag=True, help="Delete without asking for confirmation.")
@click.pass_context
def prune_command(ctx: click.Context, include_base: bool, dry_run: bool, force: bool) -> None:
    """Delete the localai images that no container uses.

    Deletes the notebook and framework images tagged under the image prefix
    and the untagged images that builds left behind, all carrying the label
    ai.localai.managed=true; images without that label are never touched.
    Images of existing containers stay, stopped ones included. A stopped
    notebook whose container is gone needs its image built again to start.
    """
    settings = _settings(ctx)
    client = connect()
    planned = prune_images(client, settings.image_prefix, include_base=include_base,
                           dry_run=True)
    if not planned:
        click.echo(f"No unused localai images under the prefix {settings.image_prefix}.")
        return

    click.echo("Unused localai images:")
    for image in planned:
        click.echo(f"  {image.reference}")
    if dry_run:
        return
    if not force:
        click.confirm(f"Delete these {len(planned)} images?", abort=True)

    removed = prune_images(client, settings.image_prefix, include_base=include_base)
    for image in removed:
        click.echo(_pruned_line(image))
    refused = len(planned) - len(removed)
    if refused:
        click.echo(f"Kept {refused} images that the Docker engine refused to delete, because a "
                   "container or another image started using them.")


def _pruned_line(image: PrunedImage) -> str:
    if image.deleted:
        return f"Deleted {image.reference} ({image.id})"
    return f"Untagged {image.reference} ({image.id}); another image still uses its layers"


def ensure_image_built(settings: Settings, framework_id: str, editor_id: str,
                       version: str | None, echo: Callable[[str], object]) -> str:
    """Build the notebook image of a combination unless the engine has it; return its tag.

    The build uses the automatic base choice and the CA bundle named by
    ``$LOCALAI_CA_BUNDLE``, and reports progress through ``echo``.
    """
    framework = catalog.get_framework(framework_id)
    catalog.get_editor(editor_id)
    version = version or framework.default_version
    framework.find_version(version)
    tag = catalog.image_tag(settings.image_prefix, framework.id, editor_id, version)

    client = connect()
    if image_exists(client, tag):
        return tag

    echo(f"The image {tag} is not built; building it first.")
    ca_bundle = os.environ.get(CA_BUNDLE_VARIABLE) or None
    started = time.monotonic()
    info = build_notebook_image(
        client, framework.id, editor_id, version,
        prefix=settings.image_prefix, base_image=None,
        ca_bundle=Path(ca_bundle) if ca_bundle else None,
        progress=ProgressDisplay(echo, verbose=False),
    )
    echo(f"Built {info.tag} ({format_size(info.size)}) in "
         f"{format_duration(time.monotonic() - started)}")
    return info.tag


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
