"""The local Debian base image that notebook images build on without a registry.

``localai/debian:bookworm`` is made from Debian packages only: debootstrap
installs a minimal bookworm system into a temporary folder, and the Docker
engine imports that folder as an image. This needs root (debootstrap creates
device files and sets file owners) and the ``debootstrap`` program.

The module also defines ``BuildEvent``, the progress record that every image
build of ``localai.runtime`` reports.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import docker
import docker.errors

from localai.errors import ImageBuildError, RuntimeFailure
from localai.runtime import MANAGED_LABEL

log = logging.getLogger(__name__)

BASE_IMAGE = "localai/debian:bookworm"
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"

# Lines of a failed command's output that the error message repeats.
ERROR_CONTEXT_LINES = 20

_TAR_CHUNK_BYTES = 1024 * 1024


class BuildStage(StrEnum):
    """The image a build event belongs to."""

    BASE = "base"
    FRAMEWORK = "framework"
    EDITOR = "editor"


class EventKind(StrEnum):
    """Kind of a build event."""

    STAGE = "stage"
    """An image starts building; ``message`` names it and its base."""

    NOTICE = "notice"
    """A fact the user should read, such as which base image was chosen."""

    STEP = "step"
    """A Dockerfile step starts; ``message`` is the instruction."""

    LAYER = "layer"
    """The current step finished and produced ``layer``."""

    OUTPUT = "output"
    """One line of output of the current step or command."""

    DONE = "done"
    """An image is built; ``message`` is its tag and ``layer`` its id."""


@dataclass(frozen=True)
class BuildEvent:
    """One progress report of an image build."""

    kind: EventKind
    stage: BuildStage
    message: str
    elapsed: float
    """Seconds since the whole build started."""
    step: int | None = None
    total: int | None = None
    """Number of steps of the Dockerfile being built."""
    layer: str | None = None
    """Short image id of a finished step or image."""
    cached: bool = False
    """True when the step reused a layer of the build cache."""
    duration: float | None = None
    """Seconds the finished step or image took."""


ProgressCallback = Callable[[BuildEvent], None]


class Clock:
    """Seconds elapsed since the start of a build, shared by all its stages."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self._start


def ensure_base_image(
    client: docker.DockerClient,
    progress: ProgressCallback,
    *,
    tag: str = BASE_IMAGE,
    mirror: str = DEBIAN_MIRROR,
    clock: Clock | None = None,
) -> str:
    """Build the local Debian base image unless the engine has it; return its tag.

    Raises ImageBuildError when not running as root, when debootstrap is
    missing or fails, or when the engine rejects the import.
    """
    if _image_present(client, tag):
        return tag

    clock = clock or Clock()
    debootstrap = _check_can_bootstrap(tag)
    progress(_event(EventKind.STAGE, f"Building {tag} with debootstrap from {mirror}", clock))

    rootfs = Path(tempfile.mkdtemp(prefix="localai-rootfs-"))
    try:
        _run_debootstrap(debootstrap, rootfs, mirror, progress, clock)
        _trim_rootfs(rootfs)
        image_id = _import_rootfs(client, rootfs, tag, progress, clock)
    finally:
        _remove_rootfs(rootfs)

    log.info("Built base image %s (%s)", tag, image_id)
    progress(_event(EventKind.DONE, tag, clock, layer=image_id, duration=clock.elapsed()))
    return tag


def _image_present(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    except docker.errors.APIError as e:
        raise RuntimeFailure(f"Docker failed to inspect image {tag}: {e.explanation}") from e
    return True


def _check_can_bootstrap(tag: str) -> str:
    """Return the path of debootstrap; raise ImageBuildError saying what is missing."""
    if os.geteuid() != 0:
        raise ImageBuildError(
            f"Building the base image {tag} needs root, because debootstrap creates device "
            "files and sets file owners. Run this build once as root (for example with "
            "sudo), or pass --base-image official to build on the official framework image."
        )

    search_path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    debootstrap = shutil.which("debootstrap", path=search_path)
    if debootstrap is None:
        raise ImageBuildError(
            f"Building the base image {tag} needs debootstrap, which is not installed. "
            "Install it with apt-get install debootstrap."
        )
    return debootstrap


def _run_debootstrap(
    debootstrap: str, rootfs: Path, mirror: str, progress: ProgressCallback, clock: Clock
) -> None:
    command = [debootstrap, "--variant=minbase", DEBIAN_SUITE, str(rootfs), mirror]
    last_lines: deque[str] = deque(maxlen=ERROR_CONTEXT_LINES)
    log.info("Running %s", " ".join(command))

    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            last_lines.append(line)
            progress(_event(EventKind.OUTPUT, line, clock))
        returncode = process.wait()

    if returncode != 0:
        output = "\n".join(f"  {line}" for line in last_lines)
        raise ImageBuildError(
            f"debootstrap failed with exit code {returncode} while installing Debian "
            f"{DEBIAN_SUITE} from {mirror}. Check that the mirror is reachable. "
            f"Last output:\n{output}"
        )


def _trim_rootfs(rootfs: Path) -> None:
    """Delete the downloaded packages and package lists, about 80 MB the image needs not carry."""
    for folder in (rootfs / "var/cache/apt/archives", rootfs / "var/lib/apt/lists"):
        for entry in folder.glob("*"):
            if entry.is_file() and entry.name != "lock":
                entry.unlink()


def _import_rootfs(
    client: docker.DockerClient,
    rootfs: Path,
    tag: str,
    progress: ProgressCallback,
    clock: Clock,
) -> str:
    """Stream the folder as a tar archive into ``docker import``; return the short image id."""
    repository, _, image_tag = tag.rpartition(":")
    changes = ['CMD ["/bin/bash"]', f"LABEL {MANAGED_LABEL}=true"]
    progress(_event(EventKind.OUTPUT, f"Importing {rootfs} as {tag}", clock))

    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        client.api.import_image(
            src=_read_chunks(tar), stream_src=True,
            repository=repository, tag=image_tag, changes=changes,
        )
    except docker.errors.APIError as e:
        raise ImageBuildError(f"Docker failed to import {rootfs} as {tag}: {e.explanation}") from e
    finally:
        tar_errors = _finish(tar)

    if tar.returncode != 0:
        _remove_image_quietly(client, tag)
        raise ImageBuildError(
            f"tar failed with exit code {tar.returncode} while packing {rootfs} for {tag}: "
            f"{tar_errors}"
        )
    return str(client.images.get(tag).short_id)


def _read_chunks(process: subprocess.Popen[bytes]) -> Iterator[bytes]:
    assert process.stdout is not None
    while chunk := process.stdout.read(_TAR_CHUNK_BYTES):
        yield chunk


def _finish(process: subprocess.Popen[bytes]) -> str:
    """Wait for tar to exit and return the end of what it wrote to stderr."""
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    errors = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    process.wait()
    return errors.strip()[-2000:]


def _remove_image_quietly(client: docker.DockerClient, tag: str) -> None:
    try:
        client.images.remove(tag)
    except docker.errors.APIError as e:
        log.warning("Could not remove the incomplete image %s: %s", tag, e.explanation)


def _remove_rootfs(rootfs: Path) -> None:
    """Delete the temporary root file system, unmounting what debootstrap left mounted."""
    for mount_point in _mounts_below(rootfs):
        subprocess.run(["umount", "--lazy", str(mount_point)], check=False)

    def report(_function: object, path: str, error: object) -> None:
        log.warning("Could not delete %s of the temporary root file system: %s", path, error)

    shutil.rmtree(rootfs, onerror=report)


def _mounts_below(folder: Path) -> list[Path]:
    """Return the mount points inside ``folder``, deepest first."""
    prefix = f"{folder}/"
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    points = [Path(line.split()[1]) for line in mounts if line.split()[1].startswith(prefix)]
    return sorted(points, key=lambda path: len(path.parts), reverse=True)


def _event(
    kind: EventKind,
    message: str,
    clock: Clock,
    *,
    layer: str | None = None,
    duration: float | None = None,
) -> BuildEvent:
    return BuildEvent(
        kind=kind, stage=BuildStage.BASE, message=message, elapsed=clock.elapsed(),
        layer=layer, duration=duration,
    )
