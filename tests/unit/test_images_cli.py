"""``localai images`` commands and the build progress display, without Docker."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from localai.cli import images as cli_images
from localai.cli import notebook as cli_notebook
from localai.cli.images import (
    format_clock,
    format_duration,
    format_event,
    format_size,
    images_group,
)
from localai.cli.main import cli
from localai.config import load_settings
from localai.errors import InvalidRequest
from localai.runtime.base import BuildEvent, BuildStage, EventKind
from localai.runtime.images import ImageInfo, PrunedImage

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

IMAGE = ImageInfo(
    tag="localai/pytorch-jupyterlab:2.5.1", id="646414b661c6", framework="pytorch",
    version="2.5.1", editor="jupyterlab", size=1_570_000_000,
    created=datetime(2026, 12, 4, 20, 44, 5, tzinfo=UTC),
    base_image="localai/debian:bookworm", installed_version="1.13.0a0",
)


def event(kind: EventKind, message: str, **fields: Any) -> BuildEvent:
    return BuildEvent(kind=kind, stage=BuildStage.FRAMEWORK, message=message, elapsed=73.4,
                      **fields)


# Formatting ---------------------------------------------------------------------


@pytest.mark.parametrize(("size", "text"), [
    (999, "999 B"),
    (244_372_094, "244 MB"),
    (1_570_000_000, "1.57 GB"),
])
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text


@pytest.mark.parametrize(("seconds", "text"), [(4.24, "4.2 s"), (73.4, "1m 13s"),
                                               (600, "10m 00s")])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_clock() -> None:
    assert format_clock(73.9) == "01:13"


def test_step_line() -> None:
    line = format_event(event(EventKind.STEP, "RUN apt-get update", step=4, total=10), False)
    assert line == "[01:13]   Step 4/10: RUN apt-get update"


def test_long_step_is_cut() -> None:
    line = format_event(event(EventKind.STEP, "RUN " + "x" * 200, step=4, total=10), False)
    assert line is not None
    assert line.endswith("x...")
    assert len(line) == len("[01:13]   Step 4/10: ") + 100


def test_cached_layer_line() -> None:
    line = format_event(event(EventKind.LAYER, "03cf9aae6fca", layer="03cf9aae6fca",
                              cached=True, duration=0.0), False)
    assert line == "[01:13]     ---> 03cf9aae6fca cached"


def test_built_layer_line() -> None:
    line = format_event(event(EventKind.LAYER, "945570c83a00", layer="945570c83a00",
                              duration=72.1), False)
    assert line == "[01:13]     ---> 945570c83a00 in 1m 12s"


def test_output_hidden_unless_verbose() -> None:
    assert format_event(event(EventKind.OUTPUT, "Setting up python3"), False) is None


def test_output_shown_when_verbose() -> None:
    line = format_event(event(EventKind.OUTPUT, "Setting up python3"), True)
    assert line == "[01:13]       | Setting up python3"


def test_done_line() -> None:
    line = format_event(event(EventKind.DONE, "localai/framework-pytorch:2.5.1",
                              layer="8c1b30aa67d2", duration=73.4), False)
    assert line == "[01:13] Built localai/framework-pytorch:2.5.1 (8c1b30aa67d2) in 1m 13s"


def test_notice_line() -> None:
    line = format_event(event(EventKind.NOTICE, "Building on the local Debian base."), False)
    assert line == "[01:13] Building on the local Debian base."


# Commands -----------------------------------------------------------------------


class BuildCall:
    """Replaces build_notebook_image; records its arguments and reports two events."""

    def __init__(self) -> None:
        self.kwargs: dict[str, Any] = {}
        self.args: tuple[Any, ...] = ()

    def __call__(self, *args: Any, **kwargs: Any) -> ImageInfo:
        self.args = args
        self.kwargs = kwargs
        kwargs["progress"](BuildEvent(EventKind.STEP, BuildStage.EDITOR, "USER ovh", 2.0,
                                      step=7, total=19))
        kwargs["progress"](BuildEvent(EventKind.OUTPUT, BuildStage.EDITOR, "pip output", 2.5))
        return IMAGE


@pytest.fixture
def build_call(monkeypatch: pytest.MonkeyPatch) -> BuildCall:
    call = BuildCall()
    monkeypatch.setattr(cli_images, "build_notebook_image", call)
    monkeypatch.setattr(cli_images, "connect", lambda: "client")
    monkeypatch.delenv("LOCALAI_CA_BUNDLE", raising=False)
    monkeypatch.delenv("LOCALAI_IMAGE_PREFIX", raising=False)
    return call


def test_build_prints_steps_and_result(build_call: BuildCall) -> None:
    result = CliRunner().invoke(images_group, ["build", "pytorch", "jupyterlab"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "[00:02]   Step 7/19: USER ovh"
    assert re.fullmatch(r"Built localai/pytorch-jupyterlab:2\.5\.1 \(1\.57 GB\) in \d+\.\d s",
                        lines[1])
    assert len(lines) == 2


def test_build_verbose_prints_output(build_call: BuildCall) -> None:
    result = CliRunner().invoke(images_group, ["build", "pytorch", "jupyterlab", "-v"])
    assert "[00:02]       | pip output\n" in result.output


def test_build_uses_default_version_and_prefix(build_call: BuildCall) -> None:
    CliRunner().invoke(images_group, ["build", "pytorch", "jupyterlab"],
                       env={"LOCALAI_IMAGE_PREFIX": "example"})
    assert build_call.args == ("client", "pytorch", "jupyterlab", "2.5.1")
    assert build_call.kwargs["prefix"] == "example"
    assert build_call.kwargs["base_image"] is None
    assert build_call.kwargs["ca_bundle"] is None


def test_build_passes_options(build_call: BuildCall, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.crt"
    bundle.write_text(PEM)
    CliRunner().invoke(images_group, [
        "build", "pytorch", "jupyterlab", "--framework-version", "2.4.1",
        "--base-image", "official", "--ca-bundle", str(bundle),
    ])
    assert build_call.args[3] == "2.4.1"
    assert build_call.kwargs["base_image"] == "official"
    assert build_call.kwargs["ca_bundle"] == bundle


def test_build_reads_ca_bundle_from_environment(build_call: BuildCall, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.crt"
    bundle.write_text(PEM)
    CliRunner().invoke(images_group, ["build", "pytorch", "jupyterlab"],
                       env={"LOCALAI_CA_BUNDLE": str(bundle)})
    assert build_call.kwargs["ca_bundle"] == bundle


def test_build_ignores_empty_ca_bundle_variable(build_call: BuildCall) -> None:
    result = CliRunner().invoke(images_group, ["build", "pytorch", "jupyterlab"],
                                env={"LOCALAI_CA_BUNDLE": ""})
    assert result.exit_code == 0
    assert build_call.kwargs["ca_bundle"] is None


def test_build_missing_ca_bundle_is_usage_error(build_call: BuildCall, tmp_path: Path) -> None:
    result = CliRunner().invoke(images_group, ["build", "pytorch", "jupyterlab", "--ca-bundle",
                                               str(tmp_path / "missing.crt")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_build_unknown_framework(build_call: BuildCall) -> None:
    result = CliRunner().invoke(cli, ["images", "build", "tensorflowx", "jupyterlab"])
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: Unknown framework 'tensorflowx'. Valid frameworks: pytorch, tensorflow, "
        "huggingface, sklearn, conda, one-for-all."
    )
    assert build_call.args == ()


def test_build_unknown_version(build_call: BuildCall) -> None:
    result = CliRunner().invoke(cli, ["images", "build", "pytorch", "jupyterlab",
                                      "--framework-version", "0.1"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: Unknown version '0.1' of framework 'pytorch'. "
        "Valid versions: 2.5.1, 2.4.1, 1.8.1.\n"
    )


def test_build_unknown_editor(build_call: BuildCall) -> None:
    result = CliRunner().invoke(cli, ["images", "build", "pytorch", "emacs"])
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: Unknown editor 'emacs'. Valid editors: jupyterlab, vscode."
    )


def test_list_prints_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_images, "connect", lambda: "client")
    monkeypatch.setattr(cli_images, "list_notebook_images", lambda client, prefix: [IMAGE])
    result = CliRunner().invoke(images_group, ["list"])
    assert result.exit_code == 0
    assert result.output == (
        "IMAGE                            FRAMEWORK VERSION EDITOR     SIZE    CREATED\n"
        "localai/pytorch-jupyterlab:2.5.1 pytorch   2.5.1   jupyterlab 1.57 GB 2026-12-04 20:44\n"
    )


def test_list_ls_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_images, "connect", lambda: "client")
    monkeypatch.setattr(cli_images, "list_notebook_images", lambda client, prefix: [])
    result = CliRunner().invoke(images_group, ["ls"])
    assert result.output == "IMAGE FRAMEWORK VERSION EDITOR SIZE CREATED\n"


def json_stream(text: str) -> list[Any]:
    """Decode concatenated JSON objects, as ``jq`` reads them."""
    decoder = json.JSONDecoder()
    objects, position = [], 0
    while position < len(text.rstrip()):
        obj, position = decoder.raw_decode(text, position)
        objects.append(obj)
        position += len(text[position:]) - len(text[position:].lstrip())
    return objects


def test_list_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_images, "connect", lambda: "client")
    monkeypatch.setattr(cli_images, "list_notebook_images", lambda client, prefix: [IMAGE, IMAGE])
    result = CliRunner().invoke(images_group, ["list", "-o", "json"])
    objects = json_stream(result.output)
    assert len(objects) == 2
    assert objects[0] == {
        "image": "localai/pytorch-jupyterlab:2.5.1", "id": "646414b661c6",
        "framework": "pytorch", "version": "2.5.1", "editor": "jupyterlab",
        "size": 1_570_000_000, "created": "2026-12-04T20:44:05Z",
        "baseImage": "localai/debian:bookworm", "installedVersion": "1.13.0a0",
    }


def test_list_uses_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    prefixes: list[str] = []
    monkeypatch.setattr(cli_images, "connect", lambda: "client")
    monkeypatch.setattr(cli_images, "list_notebook_images",
                        lambda client, prefix: prefixes.append(prefix) or [])
    CliRunner().invoke(images_group, ["list"], env={"LOCALAI_IMAGE_PREFIX": "example"})
    assert prefixes == ["example"]


# Prune ---------------------------------------------------------------------------


class PruneCall:
    """Replaces prune_images; returns ``planned`` and records each call's options."""

    def __init__(self, planned: list[PrunedImage]) -> None:
        self.planned = planned
        self.calls: list[dict[str, Any]] = []

    def __call__(self, client: Any, prefix: str, **options: Any) -> list[PrunedImage]:
        self.calls.append({"prefix": prefix, **options})
        return self.planned


PLANNED = [PrunedImage("localai/pytorch-vscode:2.5.1", "0123456789ab", True),
           PrunedImage("localai/framework-pytorch:2.5.1", "ba9876543210", False)]


@pytest.fixture
def prune_call(monkeypatch: pytest.MonkeyPatch) -> PruneCall:
    call = PruneCall(PLANNED)
    monkeypatch.setattr(cli_images, "prune_images", call)
    monkeypatch.setattr(cli_images, "connect", lambda: "client")
    monkeypatch.delenv("LOCALAI_IMAGE_PREFIX", raising=False)
    return call


def test_prune_asks_before_deleting(prune_call: PruneCall) -> None:
    result = CliRunner().invoke(images_group, ["prune"], input="n\n")
    assert result.exit_code == 1
    assert result.output == (
        "Unused localai images:\n"
        "  localai/pytorch-vscode:2.5.1\n"
        "  localai/framework-pytorch:2.5.1\n"
        "Delete these 2 images? [y/N]: n\n"
        "Aborted!\n"
    )
    assert [call["dry_run"] for call in prune_call.calls] == [True]


def test_prune_force_deletes(prune_call: PruneCall) -> None:
    result = CliRunner().invoke(images_group, ["prune", "--force"])
    assert result.exit_code == 0
    assert result.output.endswith(
        "Deleted localai/pytorch-vscode:2.5.1 (0123456789ab)\n"
        "Untagged localai/framework-pytorch:2.5.1 (ba9876543210); another image still uses "
        "its layers\n"
    )
    assert prune_call.calls[-1] == {"prefix": "localai", "include_base": False}


def test_prune_dry_run_deletes_nothing(prune_call: PruneCall) -> None:
    result = CliRunner().invoke(images_group, ["prune", "--dry-run", "--base"])
    assert result.exit_code == 0
    assert prune_call.calls == [{"prefix": "localai", "include_base": True, "dry_run": True}]


def test_prune_nothing_to_do(prune_call: PruneCall) -> None:
    prune_call.planned = []
    result = CliRunner().invoke(images_group, ["prune"], env={"LOCALAI_IMAGE_PREFIX": "mine"})
    assert result.output == "No unused localai images under the prefix mine.\n"


def test_prune_reports_kept_images(prune_call: PruneCall, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([PLANNED, PLANNED[:1]])
    monkeypatch.setattr(cli_images, "prune_images", lambda *args, **kwargs: next(answers))
    result = CliRunner().invoke(images_group, ["prune", "-f"])
    assert result.output.endswith(
        "Kept 1 images that the Docker engine refused to delete, because a container or "
        "another image started using them.\n"
    )


# Build before run ------------------------------------------------------------------


@pytest.fixture
def present(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    images: set[str] = set()
    monkeypatch.setattr(cli_images, "image_exists", lambda client, tag: tag in images)
    return images


def test_ensure_built_skips_present_image(build_call: BuildCall, present: set[str]) -> None:
    present.add("localai/pytorch-vscode:2.5.1")
    lines: list[str] = []
    tag = cli_images.ensure_image_built(load_settings(), "pytorch", "vscode", None, lines.append)
    assert tag == "localai/pytorch-vscode:2.5.1"
    assert lines == []
    assert build_call.args == ()


def test_ensure_built_builds_missing_image(build_call: BuildCall, present: set[str]) -> None:
    lines: list[str] = []
    cli_images.ensure_image_built(load_settings(), "pytorch", "vscode", "2.4.1", lines.append)
    assert build_call.args == ("client", "pytorch", "vscode", "2.4.1")
    assert lines[0] == "The image localai/pytorch-vscode:2.4.1 is not built; building it first."
    assert lines[1] == "[00:02]   Step 7/19: USER ovh"
    assert lines[2].startswith("Built localai/pytorch-jupyterlab:2.5.1 (1.57 GB) in ")


def test_ensure_built_reads_ca_bundle(build_call: BuildCall, present: set[str],
                                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.crt"
    bundle.write_text(PEM)
    monkeypatch.setenv("LOCALAI_CA_BUNDLE", str(bundle))
    cli_images.ensure_image_built(load_settings(), "sklearn", "jupyterlab", None, print)
    assert build_call.kwargs["ca_bundle"] == bundle
    assert build_call.args[3] == "1.5.2"


def test_ensure_built_unknown_version(build_call: BuildCall, present: set[str]) -> None:
    with pytest.raises(InvalidRequest) as raised:
        cli_images.ensure_image_built(load_settings(), "pytorch", "vscode", "9", print)
    assert raised.value.message.startswith("Unknown version '9' of framework 'pytorch'.")


def test_run_build_builds_before_creating(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []

    def ensure(settings: Any, framework: str, editor: str, version: str | None,
               echo: Any) -> str:
        calls.append((framework, editor, version))
        echo("building")
        raise InvalidRequest("stop before the API")

    monkeypatch.setattr(cli_notebook, "ensure_image_built", ensure)
    result = CliRunner().invoke(cli, ["notebook", "run", "sklearn", "vscode", "--build",
                                      "--framework-version", "1.4.2"])
    assert calls == [("sklearn", "vscode", "1.4.2")]
    assert result.exit_code == 1
    assert result.stderr == "building\nError: stop before the API\n"
