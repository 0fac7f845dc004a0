"""Frameworks, versions and editors that notebooks can run, and their image names.

The framework ids, names and documentation URLs are the cloud's. Each
framework has one Dockerfile folder, ``images/frameworks/<id>/``, and each of
its versions names the official image that folder builds on where a registry
is reachable. Hosts without a registry build the framework on the local
Debian base from Debian packages and PyPI wheels, except frameworks whose
``local_recipe`` is False (see ``images/README.md``).
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
    """Official image of this version; ``--base-image official`` builds on it."""


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
    extra_modules: tuple[str, ...] = ()
    """Other modules that the framework's images contain."""
    local_recipe: bool = True
    """Whether the framework's Dockerfile can install it on the local Debian base."""

    @property
    def default_version(self) -> str:
        return self.versions[0].version

    @property
    def modules(self) -> tuple[str, ...]:
        """Return every module that ``import`` must find in the framework's images."""
        return (self.python_module, *self.extra_modules)

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


# Official images: the CUDA builds of each project where it publishes one.
# scikit-learn publishes no image and runs on the CPU only, so its versions
# build on Docker's official Python image. "one-for-all" is OVHcloud's own
# image; its version is OVHcloud's image tag, not a framework version.
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
    Framework(
        id="tensorflow",
        name="Tensorflow",
        description="An end-to-end open source platform for machine learning",
        doc_url="https://www.tensorflow.org/api_docs",
        versions=(
            FrameworkVersion("2.17.0", "tensorflow/tensorflow:2.17.0-gpu"),
            FrameworkVersion("2.16.1", "tensorflow/tensorflow:2.16.1-gpu"),
            FrameworkVersion("2.15.0", "tensorflow/tensorflow:2.15.0-gpu"),
        ),
        python_module="tensorflow",
    ),
    Framework(
        id="huggingface",
        name="Hugging Face Transformers",
        description="Pretrained models for text, vision and audio, with PyTorch",
        doc_url="https://huggingface.co/transformers/",
        versions=(
            FrameworkVersion("4.41.2", "huggingface/transformers-pytorch-gpu:4.41.2"),
            FrameworkVersion("4.35.2", "huggingface/transformers-pytorch-gpu:4.35.2"),
            FrameworkVersion("4.28.1", "huggingface/transformers-pytorch-gpu:4.28.1"),
        ),
        python_module="transformers",
        extra_modules=("torch",),
    ),
    Framework(
        id="sklearn",
        name="Scikit-learn",
        description="Machine learning in Python: classification, regression and clustering",
        doc_url="https://scikit-learn.org/stable/",
        versions=(
            FrameworkVersion("1.5.2", "python:3.11-slim-bookworm"),
            FrameworkVersion("1.4.2", "python:3.11-slim-bookworm"),
            FrameworkVersion("1.3.2", "python:3.11-slim-bookworm"),
        ),
        python_module="sklearn",
    ),
    Framework(
        id="conda",
        name="Miniconda",
        description="A minimal installer of conda, the package and environment manager",
        doc_url="https://docs.conda.io/",
        versions=(
            FrameworkVersion("24.7.1", "continuumio/miniconda3:24.7.1-0"),
            FrameworkVersion("24.1.2", "continuumio/miniconda3:24.1.2-0"),
        ),
        python_module="conda",
        # conda comes only from the Miniconda installer or Anaconda's servers,
        # neither of which is a Debian or PyPI package.
        local_recipe=False,
    ),
    Framework(
        id="one-for-all",
        name="One image to rule them all",
        description="PyTorch, TensorFlow, Hugging Face Transformers and scikit-learn in one image",
        doc_url=None,
        versions=(FrameworkVersion("v98", "ovhcom/ai-training-one-for-all:v98"),),
        python_module="torch",
        extra_modules=("tensorflow", "transformers", "sklearn"),
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
    Editor(
        id="vscode",
        name="VSCode",
        description="Visual Studio Code in the browser, served by code-server",
        doc_url="https://code.visualstudio.com/docs",
        # The code-server release that images/editors/vscode installs.
        version="4.139.1",
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
