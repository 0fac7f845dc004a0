"""Notebook images: build a framework and editor combination, list what is built.

A notebook image is built in two stages from the Dockerfiles under
``images/``: the framework image ``<prefix>/framework-<framework>:<version>``
on a base image, then the editor image ``<prefix>/<framework>-<editor>:<version>``
on the framework image. Both go through the engine's build API, whose output
is turned into ``BuildEvent`` reports as it streams.

Base selection never contacts a registry unless the user asks for it: by
default the official framework image is used only when the engine already
has it, and otherwise the local Debian base (see ``localai.runtime.base``).
Frameworks without a recipe for that base, such as conda, then fail with
an error that names ``--base-image official``.

``prune_images`` deletes the images of this module that no container uses.
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
    "PrunedImage",
    "build_notebook_image",
    "choose_base",
    "framework_image_tag",
    "image_exists",
    "list_notebook_images",
    "prepare_context",
    "prune_images",
    "remove_dangling_images",
]

log = logging.getLogger(__name__)

FRAMEWORK_LABEL = "ai.localai.framework"
FRAMEWORK_VERSION_LABEL = "ai.localai.framework-version"
INSTALLED_VERSION_LABEL = "ai.localai.framework-installed-version"
EDITOR_LABEL = "ai.localai.editor"
BASE_IMAGE_LABEL = "ai.localai.base-image"
BUILD_CACHE_LABEL = "ai.localai.build-cache"
"""Label of the first stage of a multi-stage editor Dockerfile; its value is the editor id."""

OFFICIAL_BASE = "official"
"""``--base-image`` value that selects the framework version's official image."""

LOCAL_BASE = "local"
"""``--base-image`` value that selects the local Debian base image."""

CA_BUNDLE_NAME = "ca-bundle.crt"
"""File name of the CA bundle in a build context; empty when none is given."""

COMMON_DIR_NAME = "common"
"""Folder beside the Dockerfile folders whose files every build context gets."""

FRAMEWORK_VERSION_ARG = "FRAMEWORK_VERSION"
"""Build argument of framework Dockerfiles: the catalogue version being built."""

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

# Maximum time, in seconds, that a build step may print nothing before the
# build call gives up. A step is silent while pip or npm downloads a large
# package or a compiler runs, which can outlast the client's 60 s default.
BUILD_READ_TIMEOUT = 3600

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
    requested: str | None,
    official_image: str,
    is_present: Callable[[str], bool],
    framework: catalog.Framework | None = None,
) -> BaseChoice:
    """Pick the base image of a framework build.

    ``requested`` is None for automatic selection, ``official``, ``local`` or
    an image name. Only an explicit choice can make the engine pull an image.
    Raises ImageBuildError when the choice falls on the local Debian base and
    ``framework`` has no recipe for it.
    """
    if requested == LOCAL_BASE:
        _require_local_recipe(framework, official_image, requested=True)
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
    _require_local_recipe(framework, official_image, requested=False)
    return BaseChoice(
        BASE_IMAGE, True,
        f"The official image {official_image} is not in the Docker engine, and localai "
        f"pulls images only when asked. Building on the local Debian base {BASE_IMAGE}, "
        "with the framework from Debian packages and PyPI. Pass --base-image official to "
        "pull and use the official image.",
    )


def _require_local_recipe(framework: catalog.Framework | None, official_image: str,
                          requested: bool) -> None:
    """Raise ImageBuildError when ``framework`` cannot be built on the local Debian base.

    ``requested`` is True when the user asked for the local base, False when
    the automatic choice fell on it because the engine lacks the official image.
    """
    if framework is None or framework.local_recipe:
        return
    missing = "" if requested else ", and the Docker engine does not have it"
    raise ImageBuildError(
        f"{framework.name} ({framework.id}) cannot be built on the local Debian base "
        f"{BASE_IMAGE}: no Debian package or PyPI wheel installs {framework.python_module}, "
        f"so its image needs the official image {official_image} from a registry{missing}. "
        f"Build with --base-image official to pull it, or with --base-image IMAGE naming "
        f"an image that contains {framework.python_module}."
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
    so that the Dockerfile's COPY works either way. The files shared by the
    Dockerfiles of one kind, in the ``common`` folder beside ``source``, go to
    the context's ``common`` folder.
    """
    if not (source / "Dockerfile").is_file():
        raise ImageBuildError(f"No Dockerfile in {source}. Check the images/ folder of localai.")

    shutil.copytree(source, destination, dirs_exist_ok=True)
    common = source.parent / COMMON_DIR_NAME
    if common.is_dir():
        shutil.copytree(common, destination / COMMON_DIR_NAME, dirs_exist_ok=True)
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

    choice = choose_base(base_image, official_image, lambda tag: image_exists(client, tag),
                         framework)
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
                  BuildStage.FRAMEWORK, {FRAMEWORK_VERSION_ARG: version})

    installed = _read_installed_version(client, framework_tag)
    _report_version_mismatch(framework, version, installed, progress, clock)
    if installed is not None:
        labels[INSTALLED_VERSION_LABEL] = installed

    editor_tag = catalog.image_tag(prefix, framework.id, editor.id, version)
    labels[EDITOR_LABEL] = editor.id
    builder.build(source / "editors" / editor.id, editor_tag, framework_tag, labels,
                  BuildStage.EDITOR)

    remove_dangling_images(client, started_ns, keep=builder.used_images,
                           combination=(framework.id, version, editor.id))
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
        self.used_images: set[str] = set()
        """Short ids of every step's image, cached or not, including other build stages."""

    def build(self, source: Path, tag: str, base: str, labels: dict[str, str],
              stage: BuildStage, buildargs: Mapping[str, str] | None = None) -> None:
        """Build ``source`` as ``tag`` on ``base``."""
        started = self._clock.elapsed()
        self._progress(BuildEvent(EventKind.STAGE, stage, f"Building {tag} on {base}", started))

        with tempfile.TemporaryDirectory(prefix="localai-context-") as context:
            prepare_context(source, Path(context), self._ca_bundle)
            self._run_build(Path(context), tag, {"BASE_IMAGE": base, **(buildargs or {})},
                            labels, stage)

        built = _image_id(self._client, tag)
        if built is None:
            raise ImageBuildError(f"Building {tag} ended without an image. Build it again.")
        log.info("Built image %s (%s)", tag, built)
        self._progress(BuildEvent(EventKind.DONE, stage, tag, self._clock.elapsed(), layer=built,
                                  duration=self._clock.elapsed() - started))

    def _run_build(self, context: Path, tag: str, buildargs: dict[str, str],
                   labels: dict[str, str], stage: BuildStage) -> None:
        parser = BuildOutputParser(tag, stage, self._clock, self._record_layer)
        try:
            # rm and forcerm delete the intermediate containers, also after a failed
            # step; pull=False keeps the engine from refreshing images it already has.
            stream: Iterable[Mapping[str, Any]] = self._client.api.build(
                path=str(context), tag=tag, buildargs=buildargs, labels=labels,
                rm=True, forcerm=True, pull=False, decode=True, timeout=BUILD_READ_TIMEOUT,
            )
            for chunk in stream:
                parser.feed(chunk)
        except docker.errors.APIError as e:
            raise ImageBuildError(f"Docker rejected the build of {tag}: {e.explanation}") from e
        parser.finish()

    def _record_layer(self, event: BuildEvent) -> None:
        if event.kind is EventKind.LAYER and event.layer:
            self.used_images.add(event.layer)
        self._progress(event)


def _image_id(client: docker.DockerClient, tag: str) -> str | None:
    try:
        return _short_id(client.images.get(tag).id)
    except docker.errors.ImageNotFound:
        return None


def _short_id(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


def remove_dangling_images(client: docker.DockerClient, created_before_ns: int,
                           keep: Iterable[str] = (),
                           combination: tuple[str, str, str] | None = None) -> None:
    """Delete our untagged leaf images created before ``created_before_ns``.

    A rebuild leaves the image it replaced untagged, and a failed step leaves
    the layers of the steps before it. Deleting a leaf also deletes its
    untagged parents, such as an old framework image under an old editor image.
    Untagged images of a multi-stage build's first stage stay: they carry
    ``ai.localai.build-cache=<editor>`` and are the build cache that makes the
    next build of the same image fast. Only those of ``combination``
    (framework id, version, editor id) go, because the current build of that
    image replaced them. The images in ``keep`` (short ids), which the current
    build used, always stay.
    """
    keep_ids = set(keep)
    # NOTE: a build of another localai process that started earlier and is still
    # running has an untagged leaf too, and losing it fails that build's next step.
    filters = {"dangling": True, "label": f"{MANAGED_LABEL}=true"}
    for image in client.images.list(filters=filters):
        if parse_timestamp(str(image.attrs["Created"])) >= created_before_ns:
            continue
        labels = image.labels or {}
        if _short_id(image.id) in keep_ids or _is_other_build_cache(labels, combination):
            continue
        try:
            client.images.remove(image.id)
            log.info("Deleted untagged image %s", _short_id(image.id))
        except docker.errors.APIError as e:
            log.debug("Kept untagged image %s: %s", _short_id(image.id), e.explanation)


def _is_other_build_cache(labels: Mapping[str, str],
                          combination: tuple[str, str, str] | None) -> bool:
    """Return whether the labels mark a build cache of another image than ``combination``."""
    editor = labels.get(BUILD_CACHE_LABEL)
    if editor is None:
        return False
    return (labels.get(FRAMEWORK_LABEL), labels.get(FRAMEWORK_VERSION_LABEL), editor) != combination


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


@dataclass(frozen=True)
class PrunedImage:
    """An image that ``prune_images`` deleted, or would delete in a dry run."""

    reference: str
    """The tag that was removed, or the short id of an untagged image."""
    id: str
    """Short image id: 12 hex digits."""
    deleted: bool
    """False when the engine kept the image's layers, because another image builds on it."""


def prune_images(client: docker.DockerClient, prefix: str, *, include_base: bool = False,
                 include_untagged: bool = True, dry_run: bool = False) -> list[PrunedImage]:
    """Delete the managed images that no container uses; return what was (or would be) removed.

    Candidates carry ``ai.localai.managed=true`` and are either tagged under
    ``prefix`` (notebook and framework images) or, with ``include_untagged``,
    untagged: what builds left behind, including the build cache of
    multi-stage builds. The local Debian base counts only with ``include_base``. Images
    that a container uses, stopped containers included, stay, and so do their
    parent images. Images without the managed label are never touched.
    """
    in_use = _images_in_use(client)
    # Removal order: children before parents, so that deleting an image also
    # deletes the parents that only it used, and a parent is not just untagged.
    candidates: list[tuple[int, str, str]] = []
    for image in _managed_images(client):
        image_id = _short_id(image.id)
        if image_id in in_use:
            continue
        if not image.tags and include_untagged:
            candidates.append((0, image_id, image_id))
        rank = 1 if EDITOR_LABEL in (image.labels or {}) else 2
        candidates.extend(
            (rank, tag, image_id) for tag in image.tags
            if tag.startswith(f"{prefix}/") and tag != BASE_IMAGE
        )
        if include_base and BASE_IMAGE in image.tags:
            candidates.append((3, BASE_IMAGE, image_id))

    candidates.sort()
    if dry_run:
        return [PrunedImage(reference, image_id, True) for _, reference, image_id in candidates]

    removed: list[PrunedImage] = []
    for _, reference, image_id in candidates:
        pruned = _remove_reference(client, reference, image_id)
        if pruned is not None:
            removed.append(pruned)
    return removed


def _managed_images(client: docker.DockerClient) -> list[Any]:
    try:
        images: list[Any] = client.images.list(filters={"label": f"{MANAGED_LABEL}=true"})
    except docker.errors.APIError as e:
        raise RuntimeFailure(f"Docker failed to list images: {e.explanation}") from e
    return images


def _images_in_use(client: docker.DockerClient) -> set[str]:
    """Return the short ids of the images of all containers and of their parent images."""
    # The low-level list returns each container's image id without inspecting
    # the containers one by one, which fails when one is removed meanwhile.
    try:
        containers = client.api.containers(all=True)
    except docker.errors.APIError as e:
        raise RuntimeFailure(f"Docker failed to list containers: {e.explanation}") from e

    in_use: set[str] = set()
    pending = [str(container.get("ImageID") or "") for container in containers]
    while pending:
        image_id = pending.pop()
        if not image_id or _short_id(image_id) in in_use:
            continue
        in_use.add(_short_id(image_id))
        try:
            parent = str(client.api.inspect_image(image_id).get("Parent") or "")
        except docker.errors.NotFound:
            continue
        pending.append(parent)
    return in_use


def _remove_reference(client: docker.DockerClient, reference: str,
                      image_id: str) -> PrunedImage | None:
    """Remove a tag or an untagged image; return None when the engine refused."""
    try:
        response = client.api.remove_image(reference)
    except docker.errors.NotFound:
        return None
    except docker.errors.APIError as e:
        # A container created since the listing, or a child image, keeps the image.
        log.info("Kept image %s: %s", reference, e.explanation)
        return None

    deleted = any("Deleted" in entry for entry in response or [])
    log.info("%s image %s (%s)", "Deleted" if deleted else "Untagged", reference, image_id)
    return PrunedImage(reference, image_id, deleted)
