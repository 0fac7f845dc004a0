"""``/v1/capabilities/notebook/...``: the catalogue with the ``built`` key, over a fake Docker."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from ovhai.models import NotebookEditor, NotebookFramework

from localai.errors import RuntimeFailure
from tests.unit.conftest import AUTH
from tests.unit.fakes import FakeRuntime

BASE = "/v1/capabilities/notebook"


def get(client: FlaskClient, path: str) -> Any:
    response = client.get(f"{BASE}{path}", headers=AUTH)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def runtime(client: FlaskClient) -> FakeRuntime:
    fake: FakeRuntime = client.application.extensions["localai"].notebooks.runtime
    return fake


def test_framework_built_per_version_and_editor(client: FlaskClient) -> None:
    body = get(client, "/framework/pytorch")
    assert body["built"] == {
        "2.5.1": {"jupyterlab": True, "vscode": False},
        "2.4.1": {"jupyterlab": False, "vscode": False},
        "1.8.1": {"jupyterlab": False, "vscode": False},
    }


def test_framework_keeps_cloud_keys(client: FlaskClient) -> None:
    body = get(client, "/framework/sklearn")
    assert list(body) == ["id", "name", "description", "docUrl", "logoUrl", "versions",
                          "savedPaths", "built"]


def test_framework_list_has_built(client: FlaskClient) -> None:
    runtime(client).images.add("localai/tensorflow-vscode:2.16.1")
    body = get(client, "/framework")
    tensorflow = next(framework for framework in body if framework["id"] == "tensorflow")
    assert tensorflow["built"]["2.16.1"] == {"jupyterlab": False, "vscode": True}


def test_editor_built_per_framework_and_version(client: FlaskClient) -> None:
    runtime(client).images.add("localai/one-for-all-vscode:v98")
    body = get(client, "/editor/vscode")
    assert body["built"]["one-for-all"] == {"v98": True}
    assert body["built"]["pytorch"] == {"2.5.1": False, "2.4.1": False, "1.8.1": False}


def test_editor_list_has_both_editors(client: FlaskClient) -> None:
    body = get(client, "/editor")
    assert [editor["id"] for editor in body] == ["jupyterlab", "vscode"]
    assert body[0]["built"]["pytorch"]["2.5.1"] is True


def test_built_is_null_without_engine(client: FlaskClient) -> None:
    client.application.extensions["localai"].notebooks.runtime = None
    assert get(client, "/framework/pytorch")["built"] is None
    assert get(client, "/editor/vscode")["built"] is None


def test_built_is_null_when_engine_fails(client: FlaskClient) -> None:
    def fail(tag: str) -> bool:
        raise RuntimeFailure(f"Docker failed to inspect image {tag}: boom")

    runtime(client).image_exists = fail  # type: ignore[method-assign]
    assert get(client, "/framework/pytorch")["built"] is None


def test_sdk_parses_framework(client: FlaskClient) -> None:
    framework = NotebookFramework.from_dict(get(client, "/framework/pytorch"))
    assert framework.versions == ["2.5.1", "2.4.1", "1.8.1"]
    assert framework.additional_properties["built"]["2.5.1"]["jupyterlab"] is True


def test_sdk_parses_editor(client: FlaskClient) -> None:
    editor = NotebookEditor.from_dict(get(client, "/editor/vscode"))
    assert editor.name == "VSCode"
    assert "built" in editor.additional_properties


def test_unknown_framework_is_404(client: FlaskClient) -> None:
    response = client.get(f"{BASE}/framework/mxnet", headers=AUTH)
    assert response.status_code == 404
    assert response.get_json()["message"].startswith("Unknown framework 'mxnet'.")


def test_compatible_with_known_editor(client: FlaskClient) -> None:
    body = get(client, "/framework?compatibleWithEditor=vscode")
    assert len(body) == 6


def test_compatible_with_unknown_editor(client: FlaskClient) -> None:
    assert get(client, "/framework?compatibleWithEditor=emacs") == []


def test_compatible_with_unknown_framework(client: FlaskClient) -> None:
    assert get(client, "/editor?compatibleWithFramework=mxnet") == []
