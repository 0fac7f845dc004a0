"""The Docker side of localai: the only package that imports the Docker SDK.

``containers`` runs notebooks; ``images`` builds and lists notebook images.
Every object created here carries the label ``ai.localai.managed=true``, and
nothing here touches objects without it.
"""

from __future__ import annotations

import docker
import docker.errors

from localai.errors import RuntimeUnavailable

MANAGED_LABEL = "ai.localai.managed"
NOTEBOOK_LABEL = "ai.localai.notebook"
DATA_DIR_LABEL = "ai.localai.data-dir"


def connect(timeout: float = 60.0) -> docker.DockerClient:
    """Return a client of the local Docker engine; raises RuntimeUnavailable with the fix."""
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except docker.errors.DockerException as e:
        raise RuntimeUnavailable(
            f"Cannot reach the Docker engine ({e}). Start it (for example 'dockerd &' or "
            "'systemctl start docker') and check that DOCKER_HOST points at it."
        ) from e
    return client
