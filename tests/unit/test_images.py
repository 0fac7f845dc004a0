"""Notebook image builds without Docker: base choice, names, CA bundles, build output."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from localai import catalog
from localai.errors import ImageBuildError, InvalidRequest, NotFound
from localai.models import parse_timestamp
from localai.runtime import base as runtime_base
from localai.runtime.base import BASE_IMAGE, BuildEvent, BuildStage, Clock, EventKind
from localai.runtime.images import (
    BuildOutputParser,
    build_notebook_image,
    check_ca_bundle,
    choose_base,
    default_images_dir,
    framework_image_tag,
    image_exists,
    list_notebook_images,
    prepare_context,
    prune_images,
    remove_dangling_images,
)

OFFICIAL = "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def never_called(tag: str) -> bool:
    raise AssertionError(f"the engine was asked about {tag}")


# Base image choice ----------------------------------------------------------


def test_auto_base_uses_present_official_image() -> None:
    choice = choose_base(None, OFFICIAL, lambda tag: tag == OFFICIAL)
    assert choice.image == OFFICIAL
    assert choice.local is False


def test_auto_base_falls_back_to_local_debian() -> None:
    choice = choose_base(None, OFFICIAL, lambda tag: False)
    assert choice.image == BASE_IMAGE
    assert choice.local is True
    assert f"The official image {OFFICIAL} is not in the Docker engine" in choice.reason
    assert "with the framework from Debian packages and PyPI" in choice.reason
    assert "Pass --base-image official" in choice.reason


def test_official_base_skips_presence_check() -> None:
    choice = choose_base("official", OFFICIAL, never_called)
    assert choice.image == OFFICIAL
    assert choice.local is False


def test_local_base_is_debian() -> None:
    choice = choose_base("local", OFFICIAL, never_called)
    assert choice.image == "localai/debian:bookworm"
    assert choice.local is True


def test_named_base_is_used_as_given() -> None:
    choice = choose_base("example/python:3.11", OFFICIAL, never_called)
    assert choice.image == "example/python:3.11"
    assert choice.local is False


CONDA = catalog.get_framework("conda")
CONDA_OFFICIAL = "continuumio/miniconda3:24.7.1-0"
CONDA_ERROR = (
    "Miniconda (conda) cannot be built on the local Debian base localai/debian:bookworm: "
    "no Debian package or PyPI wheel installs conda, so its image needs the official image "
    "continuumio/miniconda3:24.7.1-0 from a registry, and the Docker engine does not have "
    "it. Build with --base-image official to pull it, or with --base-image IMAGE naming an "
    "image that contains conda."
)


def test_auto_base_without_local_recipe_needs_registry() -> None:
    with pytest.raises(ImageBuildError) as raised:
        choose_base(None, CONDA_OFFICIAL, lambda tag: False, CONDA)
    assert raised.value.message == CONDA_ERROR


def test_local_base_without_local_recipe_needs_registry() -> None:
    with pytest.raises(ImageBuildError) as raised:
        choose_base("local", CONDA_OFFICIAL, never_called, CONDA)
    assert raised.value.message == CONDA_ERROR.replace(
        ", and the Docker engine does not have it", "")


def test_auto_base_without_local_recipe_uses_present_image() -> None:
    choice = choose_base(None, CONDA_OFFICIAL, lambda tag: tag == CONDA_OFFICIAL, CONDA)
    assert choice.image == CONDA_OFFICIAL


def test_official_base_without_local_recipe() -> None:
    choice = choose_base("official", CONDA_OFFICIAL, never_called, CONDA)
    assert (choice.image, choice.local) == (CONDA_OFFICIAL, False)


def test_build_without_local_recipe_fails_before_building() -> None:
    events = Recorder()
    client = FakeClient([])
    with pytest.raises(ImageBuildError) as raised:
        build_notebook_image(client, "conda", "jupyterlab", "24.7.1", prefix="localai",
                             base_image=None, ca_bundle=None, progress=events)
    assert raised.value.message == CONDA_ERROR
    assert events.events == []


# Names -----------------------------------------------------------------------


def test_framework_image_tag() -> None:
    assert framework_image_tag("localai", "pytorch", "2.5.1") == "localai/framework-pytorch:2.5.1"


def test_framework_dockerfile_defaults_to_official_image() -> None:
    dockerfile = (default_images_dir() / "frameworks/pytorch/Dockerfile").read_text()
    default = catalog.get_framework("pytorch").versions[0].base_image
    assert f"ARG BASE_IMAGE={default}\n" in dockerfile


@pytest.mark.parametrize("folder", ["frameworks/pytorch", "editors/jupyterlab"])
def test_dockerfiles_build_on_base_image_argument(folder: str) -> None:
    dockerfile = (default_images_dir() / folder / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE=\S+\nFROM \$\{BASE_IMAGE\}$", dockerfile, re.MULTILINE)


def test_editor_image_runs_as_ovh() -> None:
    dockerfile = (default_images_dir() / "editors/jupyterlab/Dockerfile").read_text()
    users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert users[-1] == "ovh"


# CA bundle -------------------------------------------------------------------


def test_ca_bundle_none_stays_none() -> None:
    assert check_ca_bundle(None) is None


def test_ca_bundle_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.crt"
    with pytest.raises(InvalidRequest) as raised:
        check_ca_bundle(missing)
    assert raised.value.message == f"CA bundle {missing} does not exist or is not a file."


def test_ca_bundle_without_certificate(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.crt"
    bundle.write_text("not a certificate\n")
    with pytest.raises(InvalidRequest) as raised:
        check_ca_bundle(bundle)
    assert raised.value.message.startswith(f"CA bundle {bundle} contains no PEM certificate.")


def test_ca_bundle_with_certificate(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.crt"
    bundle.write_text(PEM)
    assert check_ca_bundle(bundle) == bundle


def test_context_without_bundle_has_empty_placeholder(tmp_path: Path) -> None:
    prepare_context(default_images_dir() / "frameworks/pytorch", tmp_path / "context", None)
    assert (tmp_path / "context/ca-bundle.crt").read_bytes() == b""
    assert (tmp_path / "context/Dockerfile").is_file()


def test_framework_context_has_common_files(tmp_path: Path) -> None:
    prepare_context(default_images_dir() / "frameworks/sklearn", tmp_path / "context", None)
    assert (tmp_path / "context/common/ca-env.sh").is_file()
    assert (tmp_path / "context/common/localai-framework").is_file()


def test_editor_context_has_entrypoint(tmp_path: Path) -> None:
    prepare_context(default_images_dir() / "editors/vscode", tmp_path / "context", None)
    assert (tmp_path / "context/common/entrypoint.sh").is_file()
    assert (tmp_path / "context/code-server").is_file()


def test_context_without_common_folder(tmp_path: Path) -> None:
    source = tmp_path / "images/frameworks/pytorch"
    source.mkdir(parents=True)
    (source / "Dockerfile").write_text("FROM scratch\n")
    prepare_context(source, tmp_path / "context", None)
    assert sorted(p.name for p in (tmp_path / "context").iterdir()) == [
        "Dockerfile", "ca-bundle.crt"]


def test_context_with_bundle_has_its_copy(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.crt"
    bundle.write_text(PEM)
    prepare_context(default_images_dir() / "frameworks/pytorch", tmp_path / "context", bundle)
    assert (tmp_path / "context/ca-bundle.crt").read_text() == PEM


def test_context_without_dockerfile(tmp_path: Path) -> None:
    with pytest.raises(ImageBuildError) as raised:
        prepare_context(tmp_path, tmp_path / "context", None)
    assert raised.value.message.startswith(f"No Dockerfile in {tmp_path}.")


# Build output -----------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.events: list[BuildEvent] = []

    def __call__(self, event: BuildEvent) -> None:
        self.events.append(event)

    def kinds(self) -> list[EventKind]:
        return [event.kind for event in self.events]


def parser_with(recorder: Recorder) -> BuildOutputParser:
    return BuildOutputParser("localai/framework-pytorch:2.5.1", BuildStage.FRAMEWORK, Clock(),
                             recorder)


def test_parser_reports_step_and_layer() -> None:
    recorder = Recorder()
    parser = parser_with(recorder)
    parser.feed({"stream": "Step 2/9 : RUN apt-get update\n"})
    parser.feed({"stream": " ---> Running in 5e6f7a8b9c0d\n"})
    parser.feed({"stream": "Hit:1 http://deb.debian.org/debian bookworm InRelease\n"})
    parser.feed({"stream": "Removing intermediate container 5e6f7a8b9c0d\n"})
    parser.feed({"stream": " ---> 945570c83a00\n"})
    parser.finish()

    assert recorder.kinds() == [EventKind.STEP, EventKind.OUTPUT, EventKind.LAYER]
    step, output, layer = recorder.events
    assert (step.step, step.total, step.message) == (2, 9, "RUN apt-get update")
    assert output.message == "Hit:1 http://deb.debian.org/debian bookworm InRelease"
    assert (layer.layer, layer.cached, layer.step) == ("945570c83a00", False, 2)
    assert layer.duration is not None


def test_parser_marks_cached_step() -> None:
    recorder = Recorder()
    parser = parser_with(recorder)
    parser.feed({"stream": "Step 3/9 : USER root\n ---> Using cache\n ---> 03cf9aae6fca\n"})
    parser.finish()
    assert recorder.events[-1].cached is True


def test_parser_joins_split_lines() -> None:
    recorder = Recorder()
    parser = parser_with(recorder)
    parser.feed({"stream": "Step 1/2 : FROM loc"})
    parser.feed({"stream": "alai/debian:bookworm\n"})
    parser.finish()
    assert recorder.events[0].message == "FROM localai/debian:bookworm"


def test_parser_strips_terminal_colours() -> None:
    recorder = Recorder()
    parser = parser_with(recorder)
    parser.feed({"stream": "\x1b[91mWARNING: Retrying\n\x1b[0m"})
    parser.finish()
    assert [event.message for event in recorder.events] == ["WARNING: Retrying"]


def test_parser_reports_pull_status_changes_once() -> None:
    recorder = Recorder()
    parser = parser_with(recorder)
    for _ in range(3):
        parser.feed({"status": "Downloading", "id": "a1b2", "progressDetail": {"current": 1}})
    parser.feed({"status": "Pull complete", "id": "a1b2"})
    parser.finish()
    assert [event.message for event in recorder.events] == ["a1b2: Downloading",
                                                            "a1b2: Pull complete"]


def test_parser_error_names_step_and_output() -> None:
    parser = parser_with(Recorder())
    parser.feed({"stream": "Step 4/9 : RUN false\n ---> Running in 5e6f7a8b9c0d\n"})
    parser.feed({"stream": "E: Unable to locate package python3-torchx\n"})
    parser.feed({"error": "The command '/bin/sh -c false' returned a non-zero code: 100",
                 "errorDetail": {"code": 100}})
    with pytest.raises(ImageBuildError) as raised:
        parser.finish()
    assert raised.value.message == (
        "Building localai/framework-pytorch:2.5.1 failed at step 4/9 (RUN false): "
        "The command '/bin/sh -c false' returned a non-zero code: 100\n"
        "Last output of the step:\n"
        "  E: Unable to locate package python3-torchx\n"
        "Fix the cause and build again; finished steps are cached."
    )


def test_parser_error_suggests_ca_bundle() -> None:
    parser = parser_with(Recorder())
    parser.feed({"stream": "Step 8/9 : RUN pip install jupyterlab\n"})
    parser.feed({"stream": "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED]"
                           " certificate verify failed'))\n"})
    parser.feed({"error": "The command returned a non-zero code: 1"})
    with pytest.raises(ImageBuildError) as raised:
        parser.finish()
    assert "pass the CA bundle that trusts it with --ca-bundle FILE" in raised.value.message


def test_parser_error_before_any_step() -> None:
    parser = parser_with(Recorder())
    parser.feed({"error": "dockerfile parse error line 3: unknown instruction: RUNN"})
    with pytest.raises(ImageBuildError) as raised:
        parser.finish()
    assert raised.value.message.startswith(
        "Building localai/framework-pytorch:2.5.1 failed: dockerfile parse error line 3"
    )


# Catalogue checks before any Docker call ---------------------------------------


class NoDocker:
    """A client stand-in that fails the test on any use."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"Docker was called ({name}) before the arguments were checked")


def build(framework: str, editor: str, version: str, ca_bundle: Path | None = None) -> None:
    build_notebook_image(NoDocker(), framework, editor, version, prefix="localai",
                         base_image=None, ca_bundle=ca_bundle, progress=Recorder())


def test_build_unknown_framework() -> None:
    with pytest.raises(NotFound) as raised:
        build("tensorflowx", "jupyterlab", "2.5.1")
    assert raised.value.message.startswith(
        "Unknown framework 'tensorflowx'. Valid frameworks: pytorch, tensorflow, huggingface, "
        "sklearn, conda, one-for-all."
    )


def test_build_unknown_editor() -> None:
    with pytest.raises(NotFound) as raised:
        build("pytorch", "emacs", "2.5.1")
    assert raised.value.message.startswith(
        "Unknown editor 'emacs'. Valid editors: jupyterlab, vscode."
    )


def test_build_unknown_version() -> None:
    with pytest.raises(InvalidRequest) as raised:
        build("pytorch", "jupyterlab", "0.1")
    assert raised.value.message == (
        "Unknown version '0.1' of framework 'pytorch'. Valid versions: 2.5.1, 2.4.1, 1.8.1."
    )


def test_build_invalid_ca_bundle(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest):
        build("pytorch", "jupyterlab", "2.5.1", ca_bundle=tmp_path / "missing.crt")


# Listing -------------------------------------------------------------------------


class FakeImage:
    def __init__(self, image_id: str, tags: list[str], labels: dict[str, str], size: int) -> None:
        self.id = f"sha256:{image_id}"
        self.tags = tags
        self.labels = labels
        self.attrs = {"Created": "2026-12-04T20:42:35.123456789Z", "Size": size}


class FakeImages:
    def __init__(self, images: list[FakeImage]) -> None:
        self.images = images
        self.filters: dict[str, Any] | None = None

    def list(self, filters: dict[str, Any]) -> list[FakeImage]:
        self.filters = filters
        return self.images

    def get(self, tag: str) -> FakeImage:
        for image in self.images:
            if tag in image.tags:
                return image
        raise docker.errors.ImageNotFound(f"No such image: {tag}")


class FakeClient:
    def __init__(self, images: list[FakeImage]) -> None:
        self.images = FakeImages(images)


LABELS = {"ai.localai.managed": "true", "ai.localai.editor": "jupyterlab",
          "ai.localai.base-image": "localai/debian:bookworm",
          "ai.localai.framework-installed-version": "1.13.0a0"}


def test_list_keeps_tags_under_prefix() -> None:
    client = FakeClient([
        FakeImage("b" * 64, ["localai/pytorch-jupyterlab:2.5.1", "other/pytorch-jupyterlab:2.5.1"],
                  LABELS, 1_570_000_000),
        FakeImage("a" * 64, ["localai/pytorch-jupyterlab:2.4.1"], LABELS, 1_500_000_000),
    ])
    images = list_notebook_images(client, "localai")
    assert [image.tag for image in images] == ["localai/pytorch-jupyterlab:2.4.1",
                                               "localai/pytorch-jupyterlab:2.5.1"]


def test_list_reads_fields() -> None:
    client = FakeClient([FakeImage("b" * 64, ["localai/pytorch-jupyterlab:2.5.1"], LABELS, 42)])
    [image] = list_notebook_images(client, "localai")
    assert (image.id, image.framework, image.version, image.editor) == (
        "bbbbbbbbbbbb", "pytorch", "2.5.1", "jupyterlab")
    assert image.size == 42
    assert image.created.isoformat() == "2026-12-04T20:42:35.123457+00:00"
    assert image.base_image == "localai/debian:bookworm"
    assert image.installed_version == "1.13.0a0"


def test_list_asks_for_managed_editor_images() -> None:
    client = FakeClient([])
    list_notebook_images(client, "localai")
    assert client.images.filters == {"label": ["ai.localai.managed=true", "ai.localai.editor"]}


def test_image_exists() -> None:
    client = FakeClient([FakeImage("c" * 64, ["localai/pytorch-jupyterlab:2.5.1"], LABELS, 1)])
    assert image_exists(client, "localai/pytorch-jupyterlab:2.5.1") is True
    assert image_exists(client, "localai/pytorch-jupyterlab:1.8.1") is False


# Base image preconditions ---------------------------------------------------------


def test_base_image_present_needs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime_base.os, "geteuid", lambda: 1000)
    client = FakeClient([FakeImage("d" * 64, [BASE_IMAGE], {}, 1)])
    assert runtime_base.ensure_base_image(client, Recorder()) == BASE_IMAGE


def test_base_image_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime_base.os, "geteuid", lambda: 1000)
    with pytest.raises(ImageBuildError) as raised:
        runtime_base.ensure_base_image(FakeClient([]), Recorder())
    assert raised.value.message.startswith(
        "Building the base image localai/debian:bookworm needs root"
    )


def test_base_image_needs_debootstrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime_base.os, "geteuid", lambda: 0)
    monkeypatch.setattr(runtime_base.shutil, "which", lambda name, path=None: None)
    with pytest.raises(ImageBuildError) as raised:
        runtime_base.ensure_base_image(FakeClient([]), Recorder())
    assert raised.value.message == (
        "Building the base image localai/debian:bookworm needs debootstrap, which is not "
        "installed. Install it with apt-get install debootstrap."
    )


# Untagged images left by earlier builds -----------------------------------------------


class PruningImages(FakeImages):
    def __init__(self, images: list[FakeImage]) -> None:
        super().__init__(images)
        self.removed: list[str] = []

    def remove(self, image_id: str) -> None:
        self.removed.append(image_id)


def test_dangling_images_before_build_are_deleted() -> None:
    older = FakeImage("e" * 64, [], LABELS, 1)
    newer = FakeImage("f" * 64, [], LABELS, 1)
    newer.attrs["Created"] = "2026-12-04T20:50:00.000000000Z"
    client = FakeClient([])
    client.images = PruningImages([older, newer])

    build_started_ns = parse_timestamp("2026-12-04T20:45:00Z")
    remove_dangling_images(client, build_started_ns)

    assert client.images.removed == [older.id]
    assert client.images.filters == {"dangling": True, "label": "ai.localai.managed=true"}


def test_dangling_images_used_by_the_build_stay() -> None:
    stage = FakeImage("e" * 64, [], LABELS, 1)
    client = FakeClient([])
    client.images = PruningImages([stage])
    remove_dangling_images(client, parse_timestamp("2026-12-04T20:45:00Z"), keep={"eeeeeeeeeeee"})
    assert client.images.removed == []


# Prune ---------------------------------------------------------------------------------


class FakeApi:
    """The low-level calls of prune: image parents and removals."""

    def __init__(self, parents: dict[str, str], rejected: set[str], used: list[str]) -> None:
        self.parents = parents
        self.rejected = rejected
        self.used = used
        self.removed: list[str] = []

    def containers(self, all: bool) -> list[dict[str, str]]:
        assert all is True
        return [{"Id": "c1", "ImageID": f"sha256:{image_id}"} for image_id in self.used]

    def inspect_image(self, image_id: str) -> dict[str, str]:
        return {"Parent": self.parents.get(image_id.removeprefix("sha256:"), "")}

    def remove_image(self, reference: str) -> list[dict[str, str]]:
        if reference in self.rejected:
            raise docker.errors.APIError("409", explanation="image is being used")
        self.removed.append(reference)
        return [{"Untagged": reference}, {"Deleted": "sha256:..."}]


class PruneClient:
    def __init__(self, images: list[FakeImage], used: list[str],
                 parents: dict[str, str] | None = None, rejected: set[str] | None = None) -> None:
        self.images = FakeImages(images)
        self.api = FakeApi(parents or {}, rejected or set(), used)


FRAMEWORK_LABELS = {"ai.localai.managed": "true", "ai.localai.framework": "pytorch"}
USED = "1" * 64
UNUSED = "2" * 64
FRAMEWORK = "3" * 64
DANGLING = "4" * 64
BASE = "5" * 64
OTHER_PREFIX = "6" * 64


def prune_client(rejected: set[str] | None = None) -> PruneClient:
    images = [
        FakeImage(USED, ["localai/pytorch-jupyterlab:2.5.1"], LABELS, 1),
        FakeImage(UNUSED, ["localai/pytorch-vscode:2.5.1"], LABELS, 1),
        FakeImage(FRAMEWORK, ["localai/framework-sklearn:1.5.2"], FRAMEWORK_LABELS, 1),
        FakeImage(DANGLING, [], FRAMEWORK_LABELS, 1),
        FakeImage(BASE, [BASE_IMAGE], {"ai.localai.managed": "true"}, 1),
        FakeImage(OTHER_PREFIX, ["other/pytorch-jupyterlab:2.5.1"], LABELS, 1),
    ]
    return PruneClient(images, [USED], rejected=rejected)


def test_prune_dry_run_lists_unused_images() -> None:
    client = prune_client()
    pruned = prune_images(client, "localai", dry_run=True)
    assert [image.reference for image in pruned] == [
        "444444444444", "localai/pytorch-vscode:2.5.1", "localai/framework-sklearn:1.5.2"]
    assert client.api.removed == []


def test_prune_asks_only_for_managed_images() -> None:
    client = prune_client()
    prune_images(client, "localai", dry_run=True)
    assert client.images.filters == {"label": "ai.localai.managed=true"}


def test_prune_removes_unused_images() -> None:
    client = prune_client()
    pruned = prune_images(client, "localai")
    assert client.api.removed == [
        "444444444444", "localai/pytorch-vscode:2.5.1", "localai/framework-sklearn:1.5.2"]
    assert [image.deleted for image in pruned] == [True, True, True]


def test_prune_base_only_when_asked() -> None:
    client = prune_client()
    pruned = prune_images(client, "localai", include_base=True, dry_run=True)
    assert pruned[-1].reference == BASE_IMAGE


def test_prune_keeps_parents_of_used_images() -> None:
    client = prune_client()
    client.api.parents = {USED: "7" * 64, "7" * 64: FRAMEWORK}
    pruned = prune_images(client, "localai", dry_run=True)
    assert "localai/framework-sklearn:1.5.2" not in [image.reference for image in pruned]


def test_prune_skips_images_the_engine_refuses() -> None:
    client = prune_client(rejected={"localai/pytorch-vscode:2.5.1"})
    pruned = prune_images(client, "localai")
    assert [image.reference for image in pruned] == [
        "444444444444", "localai/framework-sklearn:1.5.2"]


CACHE_LABELS = {"ai.localai.managed": "true", "ai.localai.framework": "pytorch",
                "ai.localai.framework-version": "2.5.1", "ai.localai.build-cache": "vscode"}


def test_build_cache_of_other_images_stays() -> None:
    cache = FakeImage("e" * 64, [], CACHE_LABELS, 1)
    client = FakeClient([])
    client.images = PruningImages([cache])
    remove_dangling_images(client, parse_timestamp("2026-12-04T20:45:00Z"),
                           combination=("pytorch", "2.5.1", "jupyterlab"))
    assert client.images.removed == []


def test_replaced_build_cache_is_deleted() -> None:
    cache = FakeImage("e" * 64, [], CACHE_LABELS, 1)
    client = FakeClient([])
    client.images = PruningImages([cache])
    remove_dangling_images(client, parse_timestamp("2026-12-04T20:45:00Z"),
                           combination=("pytorch", "2.5.1", "vscode"))
    assert client.images.removed == [cache.id]


def test_prune_without_untagged_images() -> None:
    client = prune_client()
    pruned = prune_images(client, "localai", include_untagged=False, dry_run=True)
    assert [image.reference for image in pruned] == [
        "localai/pytorch-vscode:2.5.1", "localai/framework-sklearn:1.5.2"]
