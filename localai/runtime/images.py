"""Notebook images: build a framework and editor combination, list what is built.

A notebook image is built in two stages from the Dockerfiles under
``images/``: the framework image ``<prefix>/framework-<framework>:<version>``
on a base image, then the editor image ``<prefix>/<framework>-<editor>:<version>``
on the framework image. Both go through the engine's build API, whose output
is turned into ``BuildEvent`` reports as it streams.

Base selection never contacts a registry unless the user asks for it: by
default the official framework image is used only when the engine already
has it, and otherwise the local Debian base (see ``localai.runtime.base``).
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import tarfile
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import docker.errors

from localai import catalog
from localai.errors import ImageBuildError, InvalidRequest, RuntimeFailure
from localai.models import parse_timestamp
from localai.runtime import MANAGED_LABEL
from localai.runtime.base import (
    BASE_IMAGE,
    ERROR_CONTEXT_LINES,
    BuildEvent,
    BuildStage,
    Clock,
    EventKind,
    ProgressCallback,
    ensure_base_image,
)

__all__ = [
    "BaseChoice",
    "BuildEvent",
    "BuildOutputParser",
    "BuildStage",
    "EventKind",
    "ImageInfo",
    "build_notebook_image",
    "choose_base",
    "framework_image_tag",
    "image_exists",
    "list_notebook_images",
    "prepare_context",
    "remove_dangling_images",
]

log = logging.getLogger(__name__)

FRAMEWORK_LABEL = "ai.localai.framework"
FRAMEWORK_VERSION_LABEL = "ai.localai.framework-version"
INSTALLED_VERSION_LABEL = "ai.localai.framework-installed-version"
EDITOR_LABEL = "ai.localai.editor"
BASE_IMAGE_LABEL = "ai.localai.base-image"

OFFICIAL_BASE = "official"
"""``--base-image`` value that selects the framework version's official image."""

LOCAL_BASE = "local"
"""``--base-image`` value that selects the local Debian base image."""

CA_BUNDLE_NAME = "ca-bundle.crt"
"""File name of the CA bundle in a framework build context; empty when none is given."""

# The framework image writes the version of the installed framework here.
INSTALLED_VERSION_FILE = "/etc/localai/framework-version"

_STEP_LINE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_LAYER_LINE = re.compile(r"^ ---> ([0-9a-f]{12})$")
# The legacy builder colours the stderr of RUN steps with ANSI escape sequences.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_IGNORED_LINES = (" ---> Running in ", "Removing intermediate container ",
                  "Successfully built ", "Successfully tagged ")


# Markers of a certificate chain that does not verify: OpenSSL's reason as pip
# prints it, and Node's error codes as npm prints them.
_CERTIFICATE_FAILURES = (
    "CERTIFICATE_VERIFY_FAILED", "SELF_SIGNED_CERT_IN_CHAIN", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
)

# Instructions are cut to this length in error messages.
_MAX_INSTRUCTION_CHARS = 120


def _shorten(instruction: str) -> str:
    if len(instruction) <= _MAX_INSTRUCTION_CHARS:
        return instruction
    return instruction[: _MAX_INSTRUCTION_CHARS - 3] + "..."


def default_images_dir() -> Path:
    """Return the ``images/`` folder of the source tree this package runs from."""
    # NOTE: only a source checkout or an editable install has this folder,
    # because the package data of a wheel does not include it.
    return Path(__file__).resolve().parents[2] / "images"


def framework_image_tag(prefix: str, framework_id: str, version: str) -> str:
    """Return the name of the framework image that editor images build on."""
    return f"{prefix}/framework-{framework_id}:{version}"


@dataclass(frozen=True)
class ImageInfo:
    """A built notebook image, one per tag."""

    tag: str
    id: str
    """Short image id: 12 hex digits."""
    framework: str
    version: str
    editor: str
    size: int
    """Bytes, as the engine reports them."""
    created: datetime
    base_image: str | None
    installed_version: str | None
    """Version of the framework installed in the image, when it records one."""


@dataclass(frozen=True)
class BaseChoice:
    """The base image a framework image builds on, and why."""

    image: str
    local: bool
    """True for the local Debian base, which is built here when missing."""
    reason: str


def choose_base(
    requested: str | None, official_image: str, is_present: Callable[[str], bool]
) -> BaseChoice:
    """Pick the base image of a framework build.

    ``requested`` is None for automatic selection, ``official``, ``local`` or
    an image name. Only an explicit choice can make the engine pull an image.
    """
    if requested == LOCAL_BASE:
        return BaseChoice(BASE_IMAGE, True, f"Building on the local Debian base {BASE_IMAGE}.")
    if requested == OFFICIAL_BASE:
        return BaseChoice(
            official_image, False,
            f"Building on the official image {official_image}; "
            "Docker pulls it if the engine does not have it.",
        )
    if requested is not None:
        return BaseChoice(
            requested, False,
            f"Building on {requested}; Docker pulls it if the engine does not have it.",
        )

    if is_present(official_image):
        return BaseChoice(
            official_image, False,
            f"Building on the official image {official_image}, which the engine has.",
        )
    return BaseChoice(
        BASE_IMAGE, True,
        f"The official image {official_image} is not in the Docker engine, and localai "
        f"pulls images only when asked. Building on the local Debian base {BASE_IMAGE}, "
        "with the framework from Debian packages. Pass --base-image official to pull "
        "and use the official image.",
    )


def check_ca_bundle(path: Path | None) -> Path | None:
    """Return the CA bundle path after checking it is a readable PEM file."""
    if path is None:
        return None
    if not path.is_file():
        raise InvalidRequest(f"CA bundle {path} does not exist or is not a file.")

    text = path.read_text(errors="replace")
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise InvalidRequest(
            f"CA bundle {path} contains no PEM certificate. Pass a file with "
            "'-----BEGIN CERTIFICATE-----' blocks, such as /etc/ssl/certs/ca-certificates.crt."
        )
    return path


def prepare_context(source: Path, destination: Path, ca_bundle: Path | None) -> None:
    """Copy the Dockerfile folder ``source`` into ``destination`` with the CA bundle.

    The context always gets ``ca-bundle.crt``, empty when no bundle is given,
    so that the Dockerfile's COPY works either way.
    """
    if not (source / "Dockerfile").is_file():
        raise ImageBuildError(f"No Dockerfile in {source}. Check the images/ folder of localai.")

    shutil.copytree(source, destination, dirs_exist_ok=True)
    bundle = destination / CA_BUNDLE_NAME
    if ca_bundle is None:
        bundle.write_bytes(b"")
    else:
        shutil.copyfile(ca_bundle, bundle)


def build_notebook_image(
    client: docker.DockerClient,
    framework_id: str,
    editor_id: str,
    version: str,
    *,
    prefix: str,
    base_image: str | None,
    ca_bundle: Path | None,
    progress: ProgressCallback,
    images_dir: Path | None = None,
) -> ImageInfo:
    """Build the framework image, then the editor image of a combination.

    Afterwards, deletes the untagged images with the managed label that earlier
    builds left behind (images they replaced, layers of failed steps).

    ``base_image`` is None (automatic), ``official``, ``local`` or an image
    name; see ``choose_base``. Raises NotFound or InvalidRequest for unknown
    catalogue values and ImageBuildError when a step fails.
    """
    framework = catalog.get_framework(framework_id)
    editor = catalog.get_editor(editor_id)
    official_image = framework.find_version(version).base_image
    ca_bundle = check_ca_bundle(ca_bundle)
    source = images_dir or default_images_dir()
    clock = Clock()
    started_ns = time.time_ns()

    choice = choose_base(base_image, official_image, lambda tag: image_exists(client, tag))
    progress(BuildEvent(EventKind.NOTICE, BuildStage.BASE, choice.reason, clock.elapsed()))
    if choice.local:
        ensure_base_image(client, progress, clock=clock)

    framework_tag = framework_image_tag(prefix, framework.id, version)
    labels = {
        MANAGED_LABEL: "true",
        FRAMEWORK_LABEL: framework.id,
        FRAMEWORK_VERSION_LABEL: version,
        BASE_IMAGE_LABEL: choice.image,
    }
    builder = _Builder(client, progress, clock, ca_bundle)
    builder.build(source / "frameworks" / framework.id, framework_tag, choice.image, labels,
                  BuildStage.FRAMEWORK)

    installed = _read_installed_version(client, framework_tag)
    _report_version_mismatch(framework, version, installed, progress, clock)
    if installed is not None:
        labels[INSTALLED_VERSION_LABEL] = installed

    editor_tag = catalog.image_tag(prefix, framework.id, editor.id, version)
    labels[EDITOR_LABEL] = editor.id
    builder.build(source / "editors" / editor.id, editor_tag, framework_tag, labels,
                  BuildStage.EDITOR)

    remove_dangling_images(client, started_ns)
    return _image_info(client.images.get(editor_tag), editor_tag, prefix)


def list_notebook_images(client: docker.DockerClient, prefix: str) -> list[ImageInfo]:
    """Return the notebook images tagged under ``prefix``, sorted by tag."""
    try:
        images = client.images.list(filters={"label": [f"{MANAGED_LABEL}=true", EDITOR_LABEL]})
    except docker.errors.APIError as e:
        raise RuntimeFailure(f"Docker failed to list images: {e.explanation}") from e

    infos = [
        _image_info(image, tag, prefix)
        for image in images
        for tag in image.tags
        if tag.startswith(f"{prefix}/")
    ]
    return sorted(infos, key=lambda info: info.tag)


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    """Return whether the engine has an image with this name."""
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    except docker.errors.APIError as e:
        raise RuntimeFailure(f"Docker failed to inspect image {tag}: {e.explanation}") from e
    return True


class BuildOutputParser:
    """Converter of the legacy builder's decoded JSON stream into build events.

    The builder prints ``Step N/M : INSTRUCTION`` when a step starts and
    `` ---> <id>`` when it has committed the step's layer. Everything else
    between the two is the step's output. A failure arrives as an ``error``
    object, and ``finish`` then raises ImageBuildError.
    """

    def __init__(self, tag: str, stage: BuildStage, clock: Clock,
                 progress: ProgressCallback) -> None:
        self._tag = tag
        self._stage = stage
        self._clock = clock
        self._progress = progress
        self._partial = ""
        self._step: tuple[int, int, str] | None = None
        self._step_started = 0.0
        self._cached = False
        self._last_lines: deque[str] = deque(maxlen=ERROR_CONTEXT_LINES)
        self._error: str | None = None
        self._last_status: tuple[str, str] | None = None

    def feed(self, chunk: Mapping[str, Any]) -> None:
        """Handle one decoded object of the build stream."""
        if "error" in chunk:
            self._error = str(chunk["error"]).strip()
        elif "stream" in chunk:
            self._feed_text(str(chunk["stream"]))
        elif "status" in chunk:
            self._feed_status(str(chunk["status"]), str(chunk.get("id", "")))

    def finish(self) -> None:
        """Flush the last partial line; raise ImageBuildError if the build failed."""
        if self._partial:
            self._handle_line(_ANSI_ESCAPE.sub("", self._partial))
            self._partial = ""
        if self._error is not None:
            raise ImageBuildError(self._error_message(self._error))

    def _feed_text(self, text: str) -> None:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._handle_line(_ANSI_ESCAPE.sub("", line).rstrip("\r"))

    def _feed_status(self, status: str, layer: str) -> None:
        # Pull progress repeats one status per layer many times a second;
        # only changes of status are worth a line.
        if (layer, status) == self._last_status:
            return
        self._last_status = (layer, status)
        self._emit(EventKind.OUTPUT, f"{layer}: {status}" if layer else status)

    def _handle_line(self, line: str) -> None:
        step = _STEP_LINE.match(line)
        layer = _LAYER_LINE.match(line)
        if step:
            self._start_step(int(step[1]), int(step[2]), step[3])
        elif layer:
            self._finish_step(layer[1])
        elif line == " ---> Using cache":
            self._cached = True
        elif line.strip() and not line.startswith(_IGNORED_LINES):
            self._last_lines.append(line)
            self._emit(EventKind.OUTPUT, line)

    def _start_step(self, number: int, total: int, instruction: str) -> None:
        self._step = (number, total, instruction)
        self._step_started = self._clock.elapsed()
        self._cached = False
        self._last_lines.clear()
        self._emit(EventKind.STEP, instruction)

    def _finish_step(self, layer: str) -> None:
        duration = self._clock.elapsed() - self._step_started
        self._emit(EventKind.LAYER, layer, layer=layer, cached=self._cached, duration=duration)

    def _emit(self, kind: EventKind, message: str, *, layer: str | None = None,
              cached: bool = False, duration: float | None = None) -> None:
        number, total = (self._step[0], self._step[1]) if self._step else (None, None)
        self._progress(BuildEvent(
            kind=kind, stage=self._stage, message=message, elapsed=self._clock.elapsed(),
            step=number, total=total, layer=layer, cached=cached, duration=duration,
        ))

    def _error_message(self, error: str) -> str:
        if self._step is None:
            where = f"Building {self._tag} failed: {error}"
        else:
            number, total, instruction = self._step
            where = (f"Building {self._tag} failed at step {number}/{total} "
                     f"({_shorten(instruction)}): {error}")

        output = "\n".join(f"  {line}" for line in self._last_lines)
        last = f"\nLast output of the step:\n{output}" if output else ""
        return f"{where}{last}\n{self._advice()}"

    def _advice(self) -> str:
        if any(marker in line for line in self._last_lines for marker in _CERTIFICATE_FAILURES):
            return ("The step could not verify a TLS certificate. If this host reaches the "
                    "internet through a TLS-inspecting proxy, pass the CA bundle that trusts it "
                    "with --ca-bundle FILE (for example /etc/ssl/certs/ca-certificates.crt).")
        return "Fix the cause and build again; finished steps are cached."


class _Builder:
    """Runs the image builds of one ``build_notebook_image`` call."""

    def __init__(self, client: docker.DockerClient, progress: ProgressCallback, clock: Clock,
                 ca_bundle: Path | None) -> None:
        self._client = client
        self._progress = progress
        self._clock = clock
        self._ca_bundle = ca_bundle

    def build(self, source: Path, tag: str, base: str, labels: dict[str, str],
              stage: BuildStage) -> None:
        """Build ``source`` as ``tag`` on ``base``."""
        started = self._clock.elapsed()
        self._progress(BuildEvent(EventKind.STAGE, stage, f"Building {tag} on {base}", started))

        with tempfile.TemporaryDirectory(prefix="localai-context-") as context:
            prepare_context(source, Path(context), self._ca_bundle)
            self._run_build(Path(context), tag, base, labels, stage)

        built = _image_id(self._client, tag)
        if built is None:
            raise ImageBuildError(f"Building {tag} ended without an image. Build it again.")
        log.info("Built image %s (%s)", tag, built)
        self._progress(BuildEvent(EventKind.DONE, stage, tag, self._clock.elapsed(), layer=built,
                                  duration=self._clock.elapsed() - started))

    def _run_build(self, context: Path, tag: str, base: str, labels: dict[str, str],
                   stage: BuildStage) -> None:
        parser = BuildOutputParser(tag, stage, self._clock, self._progress)
        try:
            # rm and forcerm delete the intermediate containers, also after a failed
            # step; pull=False keeps the engine from refreshing images it already has.
            stream: Iterable[Mapping[str, Any]] = self._client.api.build(
                path=str(context), tag=tag, buildargs={"BASE_IMAGE": base}, labels=labels,
                rm=True, forcerm=True, pull=False, decode=True,
            )
            for chunk in stream:
                parser.feed(chunk)
        except docker.errors.APIError as e:
            raise ImageBuildError(f"Docker rejected the build of {tag}: {e.explanation}") from e
        parser.finish()


def _image_id(client: docker.DockerClient, tag: str) -> str | None:
    try:
        return _short_id(client.images.get(tag).id)
    except docker.errors.ImageNotFound:
        return None


def _short_id(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


def remove_dangling_images(client: docker.DockerClient, created_before_ns: int) -> None:
    """Delete our untagged leaf images created before ``created_before_ns``.

    A rebuild leaves the image it replaced untagged, and a failed step leaves
    the layers of the steps before it. Deleting a leaf also deletes its
    untagged parents, such as an old framework image under an old editor image.
    """
    # NOTE: a build of another localai process that started earlier and is still
    # running has an untagged leaf too, and losing it fails that build's next step.
    filters = {"dangling": True, "label": f"{MANAGED_LABEL}=true"}
    for image in client.images.list(filters=filters):
        if parse_timestamp(str(image.attrs["Created"])) >= created_before_ns:
            continue
        try:
            client.images.remove(image.id)
            log.info("Deleted untagged image %s", _short_id(image.id))
        except docker.errors.APIError as e:
            log.debug("Kept untagged image %s: %s", _short_id(image.id), e.explanation)


def _read_installed_version(client: docker.DockerClient, tag: str) -> str | None:
    """Return the framework version the image recorded, reading it from a created container."""
    try:
        container = client.containers.create(tag, command=["true"],
                                             labels={MANAGED_LABEL: "true"})
    except docker.errors.APIError as e:
        raise RuntimeFailure(f"Docker failed to create a container of {tag}: "
                             f"{e.explanation}") from e
    try:
        stream, _ = container.get_archive(INSTALLED_VERSION_FILE)
        archive = io.BytesIO(b"".join(stream))
    except docker.errors.NotFound:
        return None
    finally:
        container.remove(force=True)

    with tarfile.open(fileobj=archive) as tar:
        member = tar.extractfile(Path(INSTALLED_VERSION_FILE).name)
        return member.read().decode().strip() if member else None


def _report_version_mismatch(framework: catalog.Framework, version: str, installed: str | None,
                             progress: ProgressCallback, clock: Clock) -> None:
    # Official images report versions such as "2.5.1+cu124".
    if installed is None or installed.split("+")[0] == version:
        return
    progress(BuildEvent(
        EventKind.NOTICE, BuildStage.FRAMEWORK,
        f"The image has {framework.python_module} {installed}, not {version}, because its base "
        f"installs {framework.name} from Debian packages. Build with --base-image official "
        f"to get {framework.name} {version}.",
        clock.elapsed(),
    ))


def _image_info(image: Any, tag: str, prefix: str) -> ImageInfo:
    repository, _, version = tag.rpartition(":")
    name = repository.removeprefix(f"{prefix}/")
    framework, _, editor = name.rpartition("-")
    labels: dict[str, str] = image.labels or {}
    created_ns = parse_timestamp(str(image.attrs["Created"]))

    return ImageInfo(
        tag=tag,
        id=_short_id(image.id),
        framework=framework or labels.get(FRAMEWORK_LABEL, ""),
        version=version,
        editor=editor or labels.get(EDITOR_LABEL, ""),
        size=int(image.attrs.get("Size", 0)),
        created=datetime.fromtimestamp(created_ns / 1e9, tz=UTC),
        base_image=labels.get(BASE_IMAGE_LABEL),
        installed_version=labels.get(INSTALLED_VERSION_LABEL),
    )

