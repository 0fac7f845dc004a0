"""``prune_images`` and ``localai images prune`` on the real Docker engine.

The images here are tiny: one LABEL step on the local Debian base, tagged
under the ``localaitestprune`` prefix. Untagged images are left out of every
prune, because other tests keep build caches among them.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import docker
import docker.errors
import pytest

from localai.runtime import MANAGED_LABEL
from localai.runtime.images import image_exists, prune_images
from tests.support.images import ensure_base_image

pytestmark = pytest.mark.integration

PREFIX = "localaitestprune"
USED = f"{PREFIX}/pytorch-jupyterlab:1"
UNUSED = f"{PREFIX}/pytorch-vscode:1"
FOREIGN = f"{PREFIX}/not-ours:1"
TEST_LABELS = {MANAGED_LABEL: "true", "ai.localai.test": "prune"}


def build_tiny(client: docker.DockerClient, tag: str, labels: dict[str, str]) -> None:
    dockerfile = f"FROM {ensure_base_image()}\nLABEL ai.localai.test-image={tag}\n"
    client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, labels=labels,
                        rm=True, pull=False)


@pytest.fixture
def images(docker_client: docker.DockerClient) -> Iterator[docker.DockerClient]:
    """Build a used, an unused and an unlabelled image; remove them and the container after."""
    build_tiny(docker_client, USED, TEST_LABELS)
    build_tiny(docker_client, UNUSED, TEST_LABELS)
    # The base image carries the managed label, so this image overrides it.
    build_tiny(docker_client, FOREIGN, {MANAGED_LABEL: "false"})
    container = docker_client.containers.create(USED, ["true"], labels=TEST_LABELS)

    yield docker_client

    container.remove(force=True)
    for tag in (USED, UNUSED, FOREIGN):
        if image_exists(docker_client, tag):
            docker_client.images.remove(tag, force=True)


def test_dry_run_lists_unused_image(images: docker.DockerClient) -> None:
    pruned = prune_images(images, PREFIX, include_untagged=False, dry_run=True)
    assert [image.reference for image in pruned] == [UNUSED]
    assert image_exists(images, UNUSED) is True


def test_prune_deletes_unused_image(images: docker.DockerClient) -> None:
    pruned = prune_images(images, PREFIX, include_untagged=False)
    assert [(image.reference, image.deleted) for image in pruned] == [(UNUSED, True)]
    assert image_exists(images, UNUSED) is False


def test_prune_keeps_image_of_stopped_container(images: docker.DockerClient) -> None:
    prune_images(images, PREFIX, include_untagged=False)
    assert image_exists(images, USED) is True


def test_prune_keeps_unlabelled_image(images: docker.DockerClient) -> None:
    prune_images(images, PREFIX, include_untagged=False)
    assert image_exists(images, FOREIGN) is True
