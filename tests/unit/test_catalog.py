"""The catalogue of frameworks and editors, and the Dockerfiles behind each entry."""

from __future__ import annotations

import re

import pytest

from localai import catalog
from localai.errors import InvalidRequest, NotFound
from localai.runtime.images import default_images_dir

IMAGES = default_images_dir()
FRAMEWORK_IDS = [framework.id for framework in catalog.FRAMEWORKS]


def dockerfile(folder: str) -> str:
    return (IMAGES / folder / "Dockerfile").read_text()


def arg_default(text: str, name: str) -> str | None:
    found = re.search(rf"^ARG {name}=(\S+)$", text, re.MULTILINE)
    return found[1] if found else None


# Frameworks -----------------------------------------------------------------


def test_framework_ids() -> None:
    assert FRAMEWORK_IDS == ["pytorch", "tensorflow", "huggingface", "sklearn", "conda",
                             "one-for-all"]


def test_pytorch_versions_unchanged() -> None:
    pytorch = catalog.get_framework("pytorch")
    assert [v.version for v in pytorch.versions] == ["2.5.1", "2.4.1", "1.8.1"]
    assert pytorch.default_version == "2.5.1"


@pytest.mark.parametrize(("framework_id", "name", "doc_url"), [
    ("pytorch", "PyTorch", "https://pytorch.org/docs/stable/index.html"),
    ("tensorflow", "Tensorflow", "https://www.tensorflow.org/api_docs"),
    ("huggingface", "Hugging Face Transformers", "https://huggingface.co/transformers/"),
    ("one-for-all", "One image to rule them all", None),
])
def test_cloud_names_and_doc_urls(framework_id: str, name: str, doc_url: str | None) -> None:
    framework = catalog.get_framework(framework_id)
    assert (framework.name, framework.doc_url) == (name, doc_url)


@pytest.mark.parametrize("framework_id", FRAMEWORK_IDS)
def test_framework_has_dockerfile(framework_id: str) -> None:
    assert (IMAGES / "frameworks" / framework_id / "Dockerfile").is_file()


@pytest.mark.parametrize("framework_id", FRAMEWORK_IDS)
def test_dockerfile_defaults_to_default_version_image(framework_id: str) -> None:
    framework = catalog.get_framework(framework_id)
    text = dockerfile(f"frameworks/{framework_id}")
    assert arg_default(text, "BASE_IMAGE") == framework.versions[0].base_image


@pytest.mark.parametrize("framework_id", ["pytorch", "tensorflow", "huggingface", "sklearn",
                                          "conda"])
def test_dockerfile_version_argument(framework_id: str) -> None:
    framework = catalog.get_framework(framework_id)
    text = dockerfile(f"frameworks/{framework_id}")
    assert arg_default(text, "FRAMEWORK_VERSION") == framework.default_version


@pytest.mark.parametrize("framework_id", FRAMEWORK_IDS)
def test_dockerfile_checks_every_module(framework_id: str) -> None:
    framework = catalog.get_framework(framework_id)
    text = dockerfile(f"frameworks/{framework_id}")
    checks = re.findall(r"localai-framework check ([\w ]+)", text)
    assert [module.split() for module in checks] == [list(framework.modules)]


@pytest.mark.parametrize("framework_id", FRAMEWORK_IDS)
def test_framework_image_ends_as_ovh(framework_id: str) -> None:
    users = re.findall(r"^USER (\S+)$", dockerfile(f"frameworks/{framework_id}"), re.MULTILINE)
    assert users[-1] == "ovh"


def test_only_conda_needs_a_registry() -> None:
    assert [f.id for f in catalog.FRAMEWORKS if not f.local_recipe] == ["conda"]


def test_framework_api_object() -> None:
    assert catalog.get_framework("sklearn").to_api() == {
        "id": "sklearn",
        "name": "Scikit-learn",
        "description": "Machine learning in Python: classification, regression and clustering",
        "docUrl": "https://scikit-learn.org/stable/",
        "logoUrl": None,
        "versions": ["1.5.2", "1.4.2", "1.3.2"],
        "savedPaths": ["/workspace"],
    }


def test_modules_start_with_python_module() -> None:
    assert catalog.get_framework("huggingface").modules == ("transformers", "torch")


def test_unknown_framework() -> None:
    with pytest.raises(NotFound) as raised:
        catalog.get_framework("mxnet")
    assert raised.value.message == (
        "Unknown framework 'mxnet'. Valid frameworks: pytorch, tensorflow, huggingface, "
        "sklearn, conda, one-for-all. Run 'localai capabilities framework list' to see them "
        "with their versions."
    )


def test_unknown_version() -> None:
    with pytest.raises(InvalidRequest) as raised:
        catalog.get_framework("tensorflow").find_version("1.15")
    assert raised.value.message == (
        "Unknown version '1.15' of framework 'tensorflow'. Valid versions: 2.17.0, 2.16.1, 2.15.0."
    )


# Editors --------------------------------------------------------------------


def test_editor_ids() -> None:
    assert [editor.id for editor in catalog.EDITORS] == ["jupyterlab", "vscode"]


def test_vscode_api_object() -> None:
    assert catalog.get_editor("vscode").to_api() == {
        "id": "vscode",
        "name": "VSCode",
        "description": "Visual Studio Code in the browser, served by code-server",
        "docUrl": "https://code.visualstudio.com/docs",
        "logoUrl": None,
        "versions": ["4.139.1"],
    }


def test_vscode_version_is_installed_release() -> None:
    text = dockerfile("editors/vscode")
    assert arg_default(text, "CODE_SERVER_VERSION") == catalog.get_editor("vscode").version


@pytest.mark.parametrize("flag", [
    '"--auth", "none"',
    '"--bind-addr", "0.0.0.0:8080"',
    '"--disable-telemetry"',
    '"--disable-update-check"',
    '"--disable-workspace-trust"',
    '"--user-data-dir", "/workspace/.vscode-server/data"',
    '"--extensions-dir", "/workspace/.vscode-server/extensions"',
    '"/workspace"]',
])
def test_vscode_command_flag(flag: str) -> None:
    command = dockerfile("editors/vscode").split("CMD [", 1)[1]
    assert flag in command


@pytest.mark.parametrize("editor_id", ["jupyterlab", "vscode"])
def test_editor_image_ends_as_ovh(editor_id: str) -> None:
    users = re.findall(r"^USER (\S+)$", dockerfile(f"editors/{editor_id}"), re.MULTILINE)
    assert users[-1] == "ovh"


@pytest.mark.parametrize("editor_id", ["jupyterlab", "vscode"])
def test_editor_builds_on_base_image_argument(editor_id: str) -> None:
    text = dockerfile(f"editors/{editor_id}")
    stages = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert arg_default(text, "BASE_IMAGE") == "localai/framework-pytorch:2.5.1"
    assert set(stages) == {"${BASE_IMAGE}"}


def test_vscode_downloads_only_from_npm_registry() -> None:
    urls = re.findall(r'curl -fsSL "([^"]+)"', dockerfile("editors/vscode"))
    assert len(urls) == 2
    assert all(url.startswith("${NPM_REGISTRY}/") for url in urls)


# Names ----------------------------------------------------------------------


def test_image_tag() -> None:
    assert catalog.image_tag("localai", "one-for-all", "vscode", "v98") == (
        "localai/one-for-all-vscode:v98"
    )


def test_build_command() -> None:
    assert catalog.build_command("sklearn", "vscode", "1.5.2") == (
        "localai images build sklearn vscode --framework-version 1.5.2"
    )
