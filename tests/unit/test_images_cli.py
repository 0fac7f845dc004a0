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
from localai.cli.images import (
    format_clock,
    format_duration,
    format_event,
    format_size,
    images_group,
)
from localai.cli.main import cli
from localai.runtime.base import BuildEvent, BuildStage, EventKind
from localai.runtime.images import ImageInfo

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
        "Error: Unknown framework 'tensorflowx'. Valid frameworks: pytorch."
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
    assert result.output.startswith("Error: Unknown editor 'emacs'. Valid editors: jupyterlab.")


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
