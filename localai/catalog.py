"""Frameworks, versions and editors that notebooks can run, and their image names.

Each framework version names the official image it builds on where a
registry is reachable; hosts without one build the same framework from
Debian packages on a local Debian base (see ``images/``).
"""

from __future__ import annotations

from dataclasses import dataclass

from localai.errors import InvalidRequest, NotFound
from localai.models import JsonDict


@dataclass(frozen=True)
class FrameworkVersion:
    """One version of a framework and the official image it builds on."""

    version: str
    base_image: str


@dataclass(frozen=True)
class Framework:
    """A framework of the catalogue; the first version is the default."""

    id: str
    name: str
    description: str
    doc_url: str | None
    versions: tuple[FrameworkVersion, ...]
    python_module: str
    """Module that ``import`` must find inside a notebook of this framework."""
    saved_paths: tuple[str, ...] = ("/workspace",)

    @property
    def default_version(self) -> str:
        return self.versions[0].version

    def find_version(self, version: str) -> FrameworkVersion:
        for candidate in self.versions:
            if candidate.version == version:
                return candidate
        valid = ", ".join(v.version for v in self.versions)
        raise InvalidRequest(
            f"Unknown version {version!r} of framework {self.id!r}. Valid versions: {valid}."
        )

    def to_api(self) -> JsonDict:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "docUrl": self.doc_url,
            "logoUrl": None,
            "versions": [v.version for v in self.versions],
            "savedPaths": list(self.saved_paths),
        }


@dataclass(frozen=True)
class Editor:
    """An editor served on port 8080 of a notebook container."""

    id: str
    name: str
    description: str
    doc_url: str
    version: str

    def to_api(self) -> JsonDict:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "docUrl": self.doc_url,
            "logoUrl": None,
            "versions": [self.version],
        }


FRAMEWORKS: tuple[Framework, ...] = (
    Framework(
        id="pytorch",
        name="PyTorch",
        description="Tensors and dynamic neural networks in Python with strong GPU acceleration",
        doc_url="https://pytorch.org/docs/stable/index.html",
        versions=(
            FrameworkVersion("2.5.1", "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"),
            FrameworkVersion("2.4.1", "pytorch/pytorch:2.4.1-cuda12.4-cudnn9-runtime"),
            FrameworkVersion("1.8.1", "pytorch/pytorch:1.8.1-cuda11.1-cudnn8-runtime"),
        ),
        python_module="torch",
    ),
)

EDITORS: tuple[Editor, ...] = (
    Editor(
        id="jupyterlab",
        name="JupyterLab",
        description="Web-based interactive development environment for notebooks and code",
        doc_url="https://jupyterlab.readthedocs.io/en/stable/",
        version="4",
    ),
)


def get_framework(framework_id: str) -> Framework:
    """Return the framework with this id; raises NotFound listing the valid ids."""
    for framework in FRAMEWORKS:
        if framework.id == framework_id:
            return framework
    valid = ", ".join(f.id for f in FRAMEWORKS)
    raise NotFound(
        f"Unknown framework {framework_id!r}. Valid frameworks: {valid}. "
        "Run 'localai capabilities framework list' to see them with their versions."
    )


def get_editor(editor_id: str) -> Editor:
    """Return the editor with this id; raises NotFound listing the valid ids."""
    for editor in EDITORS:
        if editor.id == editor_id:
            return editor
    valid = ", ".join(e.id for e in EDITORS)
    raise NotFound(
        f"Unknown editor {editor_id!r}. Valid editors: {valid}. "
        "Run 'localai capabilities editor list' to see them."
    )


def image_tag(prefix: str, framework_id: str, editor_id: str, version: str) -> str:
    """Return the notebook image name for a framework version and an editor."""
    return f"{prefix}/{framework_id}-{editor_id}:{version}"


def build_command(framework_id: str, editor_id: str, version: str) -> str:
    """Return the CLI command that builds the image of this combination."""
    return f"localai images build {framework_id} {editor_id} --framework-version {version}"
