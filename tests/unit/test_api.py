"""The control plane's HTTP contract: status codes, error bodies, envelopes, auth."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from localai.api.openapi import OPERATIONS
from tests.unit.conftest import API_CREDENTIALS as CREDENTIALS
from tests.unit.conftest import AUTH

SPEC = {"env": {"frameworkId": "pytorch", "editorId": "jupyterlab"}, "resources": {"cpu": 1}}


def create(client: FlaskClient, **spec: Any) -> dict[str, Any]:
    response = client.post("/v1/notebook", json={**SPEC, **spec}, headers=AUTH)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_health_needs_no_credentials(client: FlaskClient) -> None:
    assert client.get("/health").get_json() == {"status": "ok"}


def test_missing_token_is_401(client: FlaskClient) -> None:
    response = client.get("/v1/notebook")
    assert response.status_code == 401
    assert response.get_json() == {"message": "Invalid or missing credentials."}


def test_wrong_token_is_401(client: FlaskClient) -> None:
    response = client.get("/v1/notebook", headers={"Authorization": "Bearer lai_forged"})
    assert response.status_code == 401


def test_basic_scheme_is_401(client: FlaskClient) -> None:
    response = client.get("/v1/notebook",
                          headers={"Authorization": f"Basic {CREDENTIALS.api_token}"})
    assert response.status_code == 401


def test_create_returns_the_notebook(client: FlaskClient) -> None:
    notebook = create(client)
    assert notebook["status"]["state"] == "STARTING"
    assert notebook["spec"]["env"] == {
        "frameworkId": "pytorch", "frameworkVersion": "2.5.1", "editorId": "jupyterlab",
    }


def test_create_without_body_is_400(client: FlaskClient) -> None:
    response = client.post("/v1/notebook", data="nope", headers=AUTH)
    assert response.status_code == 400
    assert "NotebookSpec" in response.get_json()["message"]


def test_unknown_framework_is_400(client: FlaskClient) -> None:
    response = client.post("/v1/notebook", headers=AUTH,
                           json={"env": {"frameworkId": "nope", "editorId": "jupyterlab"}})
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("Unknown framework 'nope'")


def test_list_envelope(client: FlaskClient) -> None:
    create(client)
    body = client.get("/v1/notebook", headers=AUTH).get_json()
    assert len(body["items"]) == 1
    assert body["metadata"] == {"currentPage": 1, "pageCount": 1, "total": 1,
                                "links": {"next": None}}


def test_list_pages(client: FlaskClient) -> None:
    for _ in range(3):
        create(client)
    body = client.get("/v1/notebook?size=2&page=1", headers=AUTH).get_json()
    assert len(body["items"]) == 2
    assert body["metadata"]["pageCount"] == 2
    assert body["metadata"]["links"]["next"] == "/v1/notebook?size=2&page=2"


def test_list_filters_by_label_selector(client: FlaskClient) -> None:
    create(client, labels={"team": "vision"})
    create(client)
    body = client.get("/v1/notebook?labelSelector=team=vision", headers=AUTH).get_json()
    assert [nb["spec"]["labels"]["team"] for nb in body["items"]] == ["vision"]


def test_list_rejects_a_loose_selector(client: FlaskClient) -> None:
    response = client.get("/v1/notebook?labelSelector=team=vision,", headers=AUTH)
    assert response.status_code == 400


def test_list_rejects_unknown_state(client: FlaskClient) -> None:
    response = client.get("/v1/notebook?statusState=SLEEPING", headers=AUTH)
    assert response.status_code == 400
    assert "must be one of STARTING, RUNNING" in response.get_json()["message"]


def test_list_sorts_descending(client: FlaskClient) -> None:
    first, second = create(client), create(client)
    body = client.get("/v1/notebook?order=desc", headers=AUTH).get_json()
    assert [nb["id"] for nb in body["items"]] == [second["id"], first["id"]]


def test_get_unknown_is_404(client: FlaskClient) -> None:
    response = client.get("/v1/notebook/00000000-0000-4000-8000-000000000000", headers=AUTH)
    assert response.status_code == 404
    assert "not found" in response.get_json()["message"]


def test_stop_unknown_is_404(client: FlaskClient) -> None:
    response = client.put("/v1/notebook/missing/stop", headers=AUTH)
    assert response.status_code == 404


def test_delete_running_without_force_is_400(client: FlaskClient) -> None:
    notebook = create(client)
    response = client.delete(f"/v1/notebook/{notebook['id']}", headers=AUTH)
    assert response.status_code == 400


def test_delete_with_force_is_204(client: FlaskClient) -> None:
    notebook = create(client)
    response = client.delete(f"/v1/notebook/{notebook['id']}?force=true", headers=AUTH)
    assert response.status_code == 204
    assert response.data == b""


def test_bad_force_value_is_400(client: FlaskClient) -> None:
    notebook = create(client)
    response = client.delete(f"/v1/notebook/{notebook['id']}?force=maybe", headers=AUTH)
    assert response.status_code == 400


def test_framework_list_is_a_bare_array(client: FlaskClient) -> None:
    body = client.get("/v1/capabilities/notebook/framework", headers=AUTH).get_json()
    assert isinstance(body, list)
    assert body[0]["id"] == "pytorch"


def test_framework_get_unknown_is_404(client: FlaskClient) -> None:
    response = client.get("/v1/capabilities/notebook/framework/nope", headers=AUTH)
    assert response.status_code == 404


def test_editor_list(client: FlaskClient) -> None:
    body = client.get("/v1/capabilities/notebook/editor", headers=AUTH).get_json()
    assert "jupyterlab" in [editor["id"] for editor in body]


def test_me(client: FlaskClient) -> None:
    body = client.get("/v1/me", headers=AUTH).get_json()
    assert body["name"] == CREDENTIALS.username
    assert body["role"] == "administrator"
    assert body["tokenKind"] == "oauth"
    assert body["tenant"] == CREDENTIALS.project_id.replace("-", "")


def test_unknown_route_is_json_404(client: FlaskClient) -> None:
    response = client.get("/v1/nothing", headers=AUTH)
    assert response.status_code == 404
    assert "message" in response.get_json()


def test_wrong_method_is_405(client: FlaskClient) -> None:
    response = client.patch("/v1/notebook", headers=AUTH)
    assert response.status_code == 405


def test_logs_stream(client: FlaskClient) -> None:
    notebook = create(client)
    response = client.get(f"/v1/notebook/{notebook['id']}/log", headers=AUTH)
    assert response.status_code == 200
    assert response.data == b"line\n"


def test_cli_command(client: FlaskClient) -> None:
    body = {**SPEC, "name": "my nb", "labels": {"team": "vision"}, "unsecureHttp": True}
    response = client.post("/v1/notebook/command", json=body, headers=AUTH)
    assert response.status_code == 200
    assert response.get_json() == {"command": (
        "ovhai notebook run --cpu 1 --framework-version 2.5.1 --name 'my nb' "
        "--label team=vision --unsecure-http pytorch jupyterlab"
    )}


def test_cli_command_bad_spec_is_400(client: FlaskClient) -> None:
    response = client.post("/v1/notebook/command", json={"env": {}}, headers=AUTH)
    assert response.status_code == 400


def test_edit_labels_replaces_user_labels(client: FlaskClient) -> None:
    notebook = create(client, labels={"team": "vision"})
    response = client.put(f"/v1/notebook/{notebook['id']}", json={"labels": {"stage": "dev"}},
                          headers=AUTH)
    assert response.status_code == 204
    labels = client.get(f"/v1/notebook/{notebook['id']}", headers=AUTH).get_json()["spec"]["labels"]
    assert labels == {"stage": "dev"}


def test_edit_resources_while_running_is_400(client: FlaskClient) -> None:
    notebook = create(client)
    response = client.put(f"/v1/notebook/{notebook['id']}", json={"resources": {"cpu": 2}},
                          headers=AUTH)
    assert response.status_code == 400
    assert "stop it before" in response.get_json()["message"]


def test_edit_unsecure_http(client: FlaskClient) -> None:
    notebook = create(client)
    client.put(f"/v1/notebook/{notebook['id']}", json={"unsecureHttp": True}, headers=AUTH)
    body = client.get(f"/v1/notebook/{notebook['id']}", headers=AUTH).get_json()
    assert body["spec"]["unsecureHttp"] is True


def test_label_endpoint_rejects_platform_labels(client: FlaskClient) -> None:
    notebook = create(client)
    response = client.put(f"/v1/notebook/{notebook['id']}/label",
                          json={"name": "ovh/id", "value": "x"}, headers=AUTH)
    assert response.status_code == 400


def test_deprecated_editor_capability(client: FlaskClient) -> None:
    body = client.get("/v1/notebook/capabilities/editor/jupyterlab", headers=AUTH).get_json()
    assert body["incompatibleWith"] == []
    assert body["version"] == "4"


def test_presets_are_empty(client: FlaskClient) -> None:
    assert client.get("/v1/capabilities/preset?type=notebook", headers=AUTH).get_json() == []


def test_flavors_and_quota(client: FlaskClient) -> None:
    flavors = client.get("/v1/capabilities/flavor", headers=AUTH).get_json()
    assert [flavor["id"] for flavor in flavors] == ["ai1-1-cpu"]
    quotas = client.get("/v1/capabilities/quota", headers=AUTH).get_json()
    assert quotas == [{"resources": {"CPU": 12, "GPU": 0}, "storage": 0}]


def test_unknown_flavor_is_404(client: FlaskClient) -> None:
    assert client.get("/v1/capabilities/flavor/nope", headers=AUTH).status_code == 404


def test_openapi_document_is_public(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    assert document["openapi"] == "3.0.3"
    assert "put" in document["paths"]["/v1/notebook/{notebook_id}/stop"]


def test_every_route_is_documented(client: FlaskClient) -> None:
    app = client.application
    undocumented = [rule.rule for rule in app.url_map.iter_rules()
                    if rule.endpoint not in OPERATIONS and rule.endpoint != "static"]
    assert undocumented == []


def test_body_type_errors_name_the_field(client: FlaskClient) -> None:
    response = client.post("/v1/notebook", headers=AUTH,
                           json={**SPEC, "resources": {"cpu": "two"}})
    assert response.status_code == 400
    assert response.get_json()["message"] == (
        "'body.resources.cpu' must be of type integer, got 'two'."
    )


def test_missing_env_is_400(client: FlaskClient) -> None:
    response = client.post("/v1/notebook", headers=AUTH, json={"name": "x"})
    assert response.get_json()["message"] == "'body.env' is required."


def test_repeated_single_query_is_400(client: FlaskClient) -> None:
    response = client.get("/v1/notebook?page=1&page=2", headers=AUTH)
    assert response.status_code == 400


def test_selector_matches_platform_labels(client: FlaskClient) -> None:
    notebook = create(client)
    create(client)
    body = client.get(f"/v1/notebook?labelSelector=ovh/id={notebook['id']}", headers=AUTH)
    assert [nb["id"] for nb in body.get_json()["items"]] == [notebook["id"]]


def test_new_notebook_shows_no_platform_labels(client: FlaskClient) -> None:
    assert create(client)["spec"]["labels"] == {}
