"""Images the integration tier needs, built once and reused while their sources are unchanged.

Every helper is idempotent: a second call returns at once when the image is
already built from the same sources. Images carry ``ai.localai.managed=true``
and ``ai.localai.test=true`` so that cleanup can find them.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import docker
import docker.errors

from localai import catalog
from localai.runtime import MANAGED_LABEL, connect
from localai.runtime import base as runtime_base
from localai.runtime.images import EDITOR_LABEL, BuildEvent, build_notebook_image

log = logging.getLogger(__name__)

TEST_LABEL = "ai.localai.test"
SOURCE_HASH_LABEL = "ai.localai.test-source-sha256"
TEST_EDITOR_DIR = Path(__file__).resolve().parents[1] / "images" / "test-editor"
TEST_EDITOR_IMAGE = "localaitest/test-editor:latest"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def log_event(event: BuildEvent) -> None:
    """Log a build event; pytest shows the log of a failed test."""
    log.info("[%s] %s %s", event.stage.value, event.kind.value, event.message)


def ensure_base_image() -> str:
    """Build the local Debian base image unless the engine has it; return its tag."""
    return runtime_base.ensure_base_image(connect(), log_event)


def ensure_test_editor_image(tag: str = TEST_EDITOR_IMAGE) -> str:
    """Build the test editor image when its sources changed, and give it the name ``tag``."""
    client = connect()
    ensure_base_image()
    source_hash = _source_hash(TEST_EDITOR_DIR)

    image = _find_image(client, TEST_EDITOR_IMAGE)
    if image is None or image.labels.get(SOURCE_HASH_LABEL) != source_hash:
        old_image = image
        image = _build_test_editor(client, source_hash)
        if old_image is not None:
            _replace_image(client, old_image, image)

    if tag not in image.tags:
        repository, _, name = tag.rpartition(":")
        image.tag(repository, name)
    return tag


def ensure_jupyterlab_image(prefix: str, version: str = "2.5.1") -> str:
    """Build the PyTorch and JupyterLab image under ``prefix``; return its tag.

    The build uses the host's CA bundle when there is one, so pip works behind a
    TLS-inspecting proxy. A rebuild with unchanged Dockerfiles reuses every cached
    layer and takes seconds.
    """
    return ensure_notebook_image(prefix, "pytorch", "jupyterlab", version)


def ensure_notebook_image(prefix: str, framework_id: str, editor_id: str,
                          version: str | None = None) -> str:
    """Build the image of a framework version and an editor under ``prefix``; return its tag.

    ``version`` defaults to the framework's default version. As for
    ``ensure_jupyterlab_image``, unchanged Dockerfiles make a rebuild take seconds.
    """
    version = version or catalog.get_framework(framework_id).default_version
    ca_bundle = HOST_CA_BUNDLE if HOST_CA_BUNDLE.is_file() else None
    info = build_notebook_image(
        connect(), framework_id, editor_id, version,
        prefix=prefix, base_image=None, ca_bundle=ca_bundle, progress=log_event,
    )
    assert info.tag == catalog.image_tag(prefix, framework_id, editor_id, version)
    return info.tag


def _build_test_editor(client: docker.DockerClient, source_hash: str) -> docker.models.images.Image:
    labels = {
        MANAGED_LABEL: "true",
        TEST_LABEL: "true",
        EDITOR_LABEL: "test-editor",
        SOURCE_HASH_LABEL: source_hash,
    }
    image, _ = client.images.build(
        path=str(TEST_EDITOR_DIR), tag=TEST_EDITOR_IMAGE, labels=labels,
        rm=True, forcerm=True, pull=False,
    )
    log.info("Built %s (%s)", TEST_EDITOR_IMAGE, image.short_id)
    return image


def _replace_image(client: docker.DockerClient, old: docker.models.images.Image,
                   new: docker.models.images.Image) -> None:
    """Move every name of the outdated test editor image to the new one, then delete it."""
    for tag in old.tags:
        repository, _, name = tag.rpartition(":")
        new.tag(repository, name)
    client.images.remove(old.id)


def _find_image(client: docker.DockerClient, tag: str) -> docker.models.images.Image | None:
    try:
        return client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None


def _source_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
