"""Sharing notebooks with app tokens: roles, label scopes, forged tokens and revocation.

Most tests run the small test editor image. The WebSocket tests at the end
run the real JupyterLab image, because they need a kernel channel that stays
open through the proxy.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import select
import signal
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
import websocket
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.integration.conftest import TEST_PREFIX, Daemon, free_port, remove_objects_of
from tests.support.images import ensure_jupyterlab_image

pytestmark = pytest.mark.integration

LAB_PREFIX = "localaitestlab"
SUBJECT = {"subject": "image-recognition"}
SUBJECT_SELECTOR = "subject=image-recognition"
# The data plane re-checks open WebSockets every 2 s. Five checks leave room for a busy host.
WEBSOCKET_CLOSE_DEADLINE = 10.0
CLOSE_UNAUTHORIZED = 4401
CLOSE_GOING_AWAY = 1001


# Helpers -------------------------------------------------------------------


def create_token(daemon: Daemon, role: str, selector: str | None = None) -> dict[str, Any]:
    body = {"name": f"token-{role}", "role": role}
    if selector is not None:
        body["labelSelector"] = selector
    response = daemon.call("POST", "/v1/token", json=body)
    assert response.status_code == 200, response.text
    token: dict[str, Any] = response.json()
    return token


def token_value(daemon: Daemon, role: str, selector: str | None = None) -> str:
    value: str = create_token(daemon, role, selector)["status"]["value"]
    return value


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def start_notebook(daemon: Daemon, labels: dict[str, str] | None = None, **spec: Any) -> str:
    notebook_id: str = daemon.run(labels=labels or {}, **spec)["id"]
    daemon.wait_state(notebook_id, "RUNNING")
    return notebook_id


def as_token(daemon: Daemon, value: str, method: str, path: str,
             **kwargs: Any) -> requests.Response:
    """Call the API with an app token instead of the project user's API token."""
    return daemon.call(method, path, headers=bearer(value), **kwargs)


def labels_of(daemon: Daemon, notebook_id: str) -> dict[str, str]:
    labels: dict[str, str] = daemon.get(notebook_id)["spec"]["labels"]
    return labels


def log_in_with_token(daemon: Daemon, notebook_id: str, value: str) -> requests.Response:
    """Post the login page's token form, as a browser does after "Login with token"."""
    return daemon.open_url(notebook_id, "/_localai/login", method="POST",
                           data={"token": value, "next": "/"})


def session_cookie(login: requests.Response) -> dict[str, str]:
    cookie = login.cookies.get("localai_session")
    assert cookie, f"the login set no session cookie: {login.status_code} {login.text[:200]}"
    return {"Cookie": f"localai_session={cookie}"}


@dataclass(frozen=True)
class SharedProject:
    """A daemon shared by the table-driven tests of this module, and two running notebooks.

    Tests that use it must leave both notebooks as they found them.
    """

    daemon: Daemon
    in_scope: str
    """The notebook labelled subject=image-recognition."""
    out_of_scope: str
    """The notebook without labels of its own."""


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient,
           test_image: str) -> Iterator[SharedProject]:
    data_dir: Path = tmp_path_factory.mktemp("sharing") / "data"
    env = {**os.environ, "LOCALAI_IMAGE_PREFIX": TEST_PREFIX, "LOCALAI_START_TIMEOUT": "60"}
    env.pop("LOCALAI_DATA_DIR", None)
    env.pop("LOCALAI_PORT", None)
    daemon = Daemon(data_dir=data_dir, port=free_port(), env=env)
    try:
        daemon.start()
        yield SharedProject(daemon, start_notebook(daemon, SUBJECT), start_notebook(daemon))
    finally:
        daemon.kill(signal.SIGTERM)
        remove_objects_of(docker_client, data_dir)


# Read role -----------------------------------------------------------------


def test_read_token_gets_notebook(daemon: Daemon) -> None:
    notebook_id = start_notebook(daemon, SUBJECT)
    value = token_value(daemon, "read", SUBJECT_SELECTOR)

    response = as_token(daemon, value, "GET", f"/v1/notebook/{notebook_id}")
    assert response.status_code == 200
    assert response.json()["id"] == notebook_id


def test_read_token_opens_url(daemon: Daemon) -> None:
    notebook_id = start_notebook(daemon, SUBJECT)
    value = token_value(daemon, "read", SUBJECT_SELECTOR)

    page = daemon.open_url(notebook_id, headers=bearer(value))
    assert page.status_code == 200
    assert page.text == "test editor"


# Each mutating call of the API, as (method, path template, JSON body).
CHANGES: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "stop": ("PUT", "/v1/notebook/{id}/stop", None),
    "start": ("PUT", "/v1/notebook/{id}/start", None),
    "delete": ("DELETE", "/v1/notebook/{id}?force=true", None),
    "label": ("PUT", "/v1/notebook/{id}/label", {"name": "team", "value": "vision"}),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_read_token_cannot_change(daemon: Daemon, change: str) -> None:
    notebook_id = start_notebook(daemon, SUBJECT)
    value = token_value(daemon, "read", SUBJECT_SELECTOR)
    method, path, body = CHANGES[change]

    response = as_token(daemon, value, method, path.format(id=notebook_id), json=body)
    assert response.status_code == 403
    assert "read role" in response.json()["message"]
    notebook = daemon.get(notebook_id)
    assert notebook["status"]["state"] == "RUNNING"
    assert "team" not in notebook["spec"]["labels"]


def test_read_token_cannot_create(daemon: Daemon) -> None:
    value = token_value(daemon, "read", SUBJECT_SELECTOR)
    body = {"env": {"frameworkId": "pytorch", "editorId": "jupyterlab"},
            "resources": {"cpu": 1}, "labels": SUBJECT}

    response = as_token(daemon, value, "POST", "/v1/notebook", json=body)
    assert response.status_code == 403
    assert daemon.call("GET", "/v1/notebook").json()["items"] == []


@pytest.mark.parametrize("role", ["read", "operator"])
def test_app_token_cannot_manage_tokens(daemon: Daemon, role: str) -> None:
    token = create_token(daemon, role)
    value = token["status"]["value"]

    created = as_token(daemon, value, "POST", "/v1/token", json={"name": "x", "role": "operator"})
    assert created.status_code == 403
    renewed = as_token(daemon, value, "POST", f"/v1/token/{token['id']}/renew")
    assert renewed.status_code == 403
    deleted = as_token(daemon, value, "DELETE", f"/v1/token/{token['id']}")
    assert deleted.status_code == 403
    assert as_token(daemon, value, "GET", "/v1/token").status_code == 403


# Operator role -------------------------------------------------------------


def test_operator_stops_and_starts_in_scope(daemon: Daemon) -> None:
    notebook_id = start_notebook(daemon, SUBJECT)
    value = token_value(daemon, "operator", SUBJECT_SELECTOR)

    stop = as_token(daemon, value, "PUT", f"/v1/notebook/{notebook_id}/stop")
    assert stop.status_code == 204
    daemon.wait_state(notebook_id, "STOPPED")
    start = as_token(daemon, value, "PUT", f"/v1/notebook/{notebook_id}/start")
    assert start.status_code == 204
    daemon.wait_state(notebook_id, "RUNNING")


def test_operator_deletes_in_scope(daemon: Daemon) -> None:
    notebook_id = start_notebook(daemon, SUBJECT)
    value = token_value(daemon, "operator", SUBJECT_SELECTOR)

    response = as_token(daemon, value, "DELETE", f"/v1/notebook/{notebook_id}",
                        params={"force": "true"})
    assert response.status_code == 204
    assert daemon.call("GET", f"/v1/notebook/{notebook_id}").status_code == 404


def test_operator_labels_in_scope(daemon: Daemon) -> None:
    notebook_id = start_notebook(daemon, SUBJECT)
    value = token_value(daemon, "operator", SUBJECT_SELECTOR)

    response = as_token(daemon, value, "PUT", f"/v1/notebook/{notebook_id}/label",
                        json={"name": "team", "value": "vision"})
    assert response.status_code == 204
    assert labels_of(daemon, notebook_id)["team"] == "vision"


def test_operator_cannot_unlabel_out_of_scope(daemon: Daemon) -> None:
    notebook_id = start_notebook(daemon, SUBJECT)
    value = token_value(daemon, "operator", SUBJECT_SELECTOR)

    response = as_token(daemon, value, "PUT", f"/v1/notebook/{notebook_id}/label",
                        json={"name": "subject", "value": None})
    assert response.status_code == 403
    assert labels_of(daemon, notebook_id)["subject"] == "image-recognition"


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_operator_out_of_scope_forbidden(daemon: Daemon, change: str) -> None:
    notebook_id = start_notebook(daemon, {"subject": "speech"})
    value = token_value(daemon, "operator", SUBJECT_SELECTOR)
    method, path, body = CHANGES[change]

    response = as_token(daemon, value, method, path.format(id=notebook_id), json=body)
    assert response.status_code == 403
    notebook = daemon.get(notebook_id)
    assert notebook["status"]["state"] == "RUNNING"
    assert "team" not in notebook["spec"]["labels"]


def test_operator_get_out_of_scope_forbidden(daemon: Daemon) -> None:
    notebook_id = start_notebook(daemon, {"subject": "speech"})
    value = token_value(daemon, "operator", SUBJECT_SELECTOR)

    response = as_token(daemon, value, "GET", f"/v1/notebook/{notebook_id}")
    assert response.status_code == 403
    assert notebook_id in response.json()["message"]


def test_operator_notebook_gets_selector_labels(daemon: Daemon) -> None:
    value = token_value(daemon, "operator", "subject=image-recognition,team=vision")
    body = {"env": {"frameworkId": "pytorch", "editorId": "jupyterlab"},
            "resources": {"cpu": 1}, "labels": {"stage": "draft"}}

    response = as_token(daemon, value, "POST", "/v1/notebook", json=body)
    assert response.status_code == 200, response.text
    notebook_id = response.json()["id"]
    assert labels_of(daemon, notebook_id) == {
        "stage": "draft",
        "subject": "image-recognition",
        "team": "vision",
    }
    reread = as_token(daemon, value, "GET", f"/v1/notebook/{notebook_id}")
    assert reread.status_code == 200


def test_list_filtered_by_scope(daemon: Daemon) -> None:
    in_scope = start_notebook(daemon, SUBJECT)
    out_of_scope = start_notebook(daemon, {"subject": "speech"})
    unlabelled = start_notebook(daemon)
    value = token_value(daemon, "read", SUBJECT_SELECTOR)

    listed = as_token(daemon, value, "GET", "/v1/notebook").json()
    assert [item["id"] for item in listed["items"]] == [in_scope]
    assert listed["metadata"]["total"] == 1
    everything = daemon.call("GET", "/v1/notebook").json()["items"]
    assert {item["id"] for item in everything} == {in_scope, out_of_scope, unlabelled}


def test_unscoped_token_lists_every_notebook(daemon: Daemon) -> None:
    labelled = start_notebook(daemon, SUBJECT)
    unlabelled = start_notebook(daemon)
    value = token_value(daemon, "read")

    listed = as_token(daemon, value, "GET", "/v1/notebook").json()["items"]
    assert {item["id"] for item in listed} == {labelled, unlabelled}


def test_one_notebook_selector_by_ovh_id(daemon: Daemon) -> None:
    chosen = start_notebook(daemon)
    other = start_notebook(daemon)
    value = token_value(daemon, "read", f"ovh/id={chosen}")

    assert daemon.open_url(chosen, headers=bearer(value)).status_code == 200
    assert daemon.open_url(other, headers=bearer(value)).status_code == 403


# Labels --------------------------------------------------------------------


def test_platform_labels_hidden_from_spec(daemon: Daemon) -> None:
    """spec.labels shows only the user's labels, as the 2021 service did."""
    notebook_id = start_notebook(daemon, {"team": "vision"})

    assert labels_of(daemon, notebook_id) == {"team": "vision"}


# Platform labels that a user puts in a notebook's spec, and selectors that
# name the daemon's values of those labels or the user's.
FAKE_ID = "00000000-0000-0000-0000-000000000000"
FAKE_PLATFORM_LABELS = {"ovh/id": FAKE_ID, "ovh/type": "job", "team": "vision"}


def test_user_platform_labels_dropped(daemon: Daemon) -> None:
    notebook_id = start_notebook(daemon, FAKE_PLATFORM_LABELS)

    assert labels_of(daemon, notebook_id) == {"team": "vision"}


@pytest.mark.parametrize(("selector", "status"), [
    ("ovh/id={id}", 200),
    ("ovh/type=notebook", 200),
    (f"ovh/id={FAKE_ID}", 403),
    ("ovh/type=job", 403),
])
def test_daemon_platform_labels_win(daemon: Daemon, selector: str, status: int) -> None:
    notebook_id = start_notebook(daemon, FAKE_PLATFORM_LABELS)
    value = token_value(daemon, "read", selector.format(id=notebook_id))

    assert daemon.open_url(notebook_id, headers=bearer(value)).status_code == status
    reread = as_token(daemon, value, "GET", f"/v1/notebook/{notebook_id}")
    assert reread.status_code == status


def test_label_add_change_remove(daemon: Daemon) -> None:
    notebook_id = start_notebook(daemon)
    path = f"/v1/notebook/{notebook_id}/label"

    added = daemon.call("PUT", path, json={"name": "team", "value": "vision"})
    assert added.status_code == 204
    assert labels_of(daemon, notebook_id)["team"] == "vision"

    changed = daemon.call("PUT", path, json={"name": "team", "value": "speech"})
    assert changed.status_code == 204
    assert labels_of(daemon, notebook_id)["team"] == "speech"

    removed = daemon.call("PUT", path, json={"name": "team", "value": None})
    assert removed.status_code == 204
    assert "team" not in labels_of(daemon, notebook_id)


@pytest.mark.parametrize("value", ["other", None])
@pytest.mark.parametrize("name", ["ovh/id", "ovh/type", "ovh/new"])
def test_platform_label_change_rejected(shared: SharedProject, name: str,
                                       value: str | None) -> None:
    daemon, notebook_id = shared.daemon, shared.out_of_scope

    response = daemon.call("PUT", f"/v1/notebook/{notebook_id}/label",
                           json={"name": name, "value": value})
    assert response.status_code == 400
    assert name in response.json()["message"]
    assert labels_of(daemon, notebook_id) == {}
    still_named = token_value(daemon, "read", f"ovh/id={notebook_id}")
    assert daemon.open_url(notebook_id, headers=bearer(still_named)).status_code == 200


def test_label_change_moves_notebook_into_scope(daemon: Daemon) -> None:
    notebook_id = start_notebook(daemon)
    value = token_value(daemon, "read", SUBJECT_SELECTOR)
    assert daemon.open_url(notebook_id, headers=bearer(value)).status_code == 403

    daemon.call("PUT", f"/v1/notebook/{notebook_id}/label",
                json={"name": "subject", "value": "image-recognition"})
    assert daemon.open_url(notebook_id, headers=bearer(value)).status_code == 200


# Forged and revoked tokens ---------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def payload_of(value: str) -> dict[str, Any]:
    part = value.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return claims


def signing_key(daemon: Daemon) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(
        (daemon.data_dir / "signing-key.pem").read_bytes(), password=None
    )
    assert isinstance(key, Ed25519PrivateKey)
    return key


def sign_ed25519(key: Ed25519PrivateKey, claims: dict[str, Any]) -> str:
    signing_input = f"{b64url_json({'alg': 'EdDSA'})}.{b64url_json(claims)}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode()))}"


def sign_hs256(secret: bytes, claims: dict[str, Any]) -> str:
    signing_input = f"{b64url_json({'alg': 'HS256', 'typ': 'JWT'})}.{b64url_json(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


# Each forgery builds, from a project's daemon (and a factory of other
# daemons), a value that must not authenticate. The tokens they start from
# are unscoped, so any of them that got through would open the notebook.
Forgery = Callable[[Daemon, Callable[..., Daemon]], str]


def forge_alg_none(daemon: Daemon, make_daemon: Callable[..., Daemon]) -> str:
    claims = payload_of(token_value(daemon, "read"))
    return f"{b64url_json({'alg': 'none'})}.{b64url_json(claims)}."


def forge_signature_removed(daemon: Daemon, make_daemon: Callable[..., Daemon]) -> str:
    header, payload, _ = token_value(daemon, "read").split(".")
    return f"{header}.{payload}."


def forge_hs256_public_pem(daemon: Daemon, make_daemon: Callable[..., Daemon]) -> str:
    claims = payload_of(token_value(daemon, "read"))
    public_pem = signing_key(daemon).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return sign_hs256(public_pem, claims)


def forge_hs256_public_raw(daemon: Daemon, make_daemon: Callable[..., Daemon]) -> str:
    claims = payload_of(token_value(daemon, "read"))
    public_raw = signing_key(daemon).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return sign_hs256(public_raw, claims)


def forge_payload_swapped(daemon: Daemon, make_daemon: Callable[..., Daemon]) -> str:
    """Keep a scoped read token's signature and name an unscoped operator token in the payload."""
    header, _, signature = token_value(daemon, "read", "subject=nothing").split(".")
    operator_claims = payload_of(token_value(daemon, "operator"))
    return f"{header}.{b64url_json(operator_claims)}.{signature}"


def forge_other_project_key(daemon: Daemon, make_daemon: Callable[..., Daemon]) -> str:
    """Sign this project's exact claims with another project's key."""
    claims = payload_of(token_value(daemon, "read"))
    return sign_ed25519(signing_key(make_daemon()), claims)


def forge_other_project_token(daemon: Daemon, make_daemon: Callable[..., Daemon]) -> str:
    return token_value(make_daemon(), "read")


def forge_renewed_old_value(daemon: Daemon, make_daemon: Callable[..., Daemon]) -> str:
    token = create_token(daemon, "read")
    renewed = daemon.call("POST", f"/v1/token/{token['id']}/renew")
    assert renewed.status_code == 200, renewed.text
    old_value: str = token["status"]["value"]
    return old_value


def forge_deleted(daemon: Daemon, make_daemon: Callable[..., Daemon]) -> str:
    token = create_token(daemon, "read")
    assert daemon.call("DELETE", f"/v1/token/{token['id']}").status_code == 204
    value: str = token["status"]["value"]
    return value


def forge_garbage(daemon: Daemon, make_daemon: Callable[..., Daemon]) -> str:
    return "not-a-token"


def forge_garbage_segments(daemon: Daemon, make_daemon: Callable[..., Daemon]) -> str:
    return "a.b.c"


FORGERIES: dict[str, Forgery] = {
    "alg-none": forge_alg_none,
    "signature-removed": forge_signature_removed,
    "hs256-public-pem": forge_hs256_public_pem,
    "hs256-public-raw": forge_hs256_public_raw,
    "payload-swapped": forge_payload_swapped,
    "other-project-key": forge_other_project_key,
    "other-project-token": forge_other_project_token,
    "renewed-old-value": forge_renewed_old_value,
    "deleted": forge_deleted,
    "garbage": forge_garbage,
    "garbage-segments": forge_garbage_segments,
}


def test_genuine_token_accepted(shared: SharedProject) -> None:
    """The control for the forgery tests: the token they start from does work."""
    daemon, notebook_id = shared.daemon, shared.in_scope
    value = token_value(daemon, "read")

    assert as_token(daemon, value, "GET", "/v1/notebook").status_code == 200
    assert daemon.open_url(notebook_id, headers=bearer(value)).status_code == 200
    assert log_in_with_token(daemon, notebook_id, value).status_code == 303


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_forged_token_rejected(shared: SharedProject, make_daemon: Callable[..., Daemon],
                               forgery: str) -> None:
    daemon, notebook_id = shared.daemon, shared.in_scope
    value = FORGERIES[forgery](daemon, make_daemon)

    assert as_token(daemon, value, "GET", "/v1/notebook").status_code == 401
    assert as_token(daemon, value, "GET", f"/v1/notebook/{notebook_id}").status_code == 401
    page = daemon.open_url(notebook_id, headers=bearer(value))
    assert page.status_code == 401
    assert "Invalid token." in page.text
    login = log_in_with_token(daemon, notebook_id, value)
    assert login.status_code == 401
    assert "localai_session" not in login.headers.get("Set-Cookie", "")


# Scopes ----------------------------------------------------------------------


@pytest.mark.parametrize("selector", [
    "subject=image-recognition, team=vision",
    " subject=image-recognition",
    "subject = image-recognition",
    "subject=image-recognition,",
    ",subject=image-recognition",
    "subject=image-recognition,,team=vision",
    "subject",
    "=image-recognition",
    "subject=",
    "subject=a,subject=b",
])
def test_bad_selector_rejected(shared: SharedProject, selector: str) -> None:
    name = f"bad-selector-{uuid.uuid4().hex}"

    response = shared.daemon.call("POST", "/v1/token",
                                  json={"name": name, "role": "read", "labelSelector": selector})
    assert response.status_code == 400
    assert response.json()["message"].startswith("Invalid label")
    tokens = shared.daemon.call("GET", "/v1/token", params={"size": 1000}).json()["items"]
    assert name not in [token["spec"]["name"] for token in tokens]


def test_selector_pairs_all_required(daemon: Daemon) -> None:
    both = start_notebook(daemon, {"subject": "image-recognition", "team": "vision"})
    subject_only = start_notebook(daemon, SUBJECT)
    team_only = start_notebook(daemon, {"team": "vision"})
    value = token_value(daemon, "read", "subject=image-recognition,team=vision")

    assert daemon.open_url(both, headers=bearer(value)).status_code == 200
    assert daemon.open_url(subject_only, headers=bearer(value)).status_code == 403
    assert daemon.open_url(team_only, headers=bearer(value)).status_code == 403
    listed = as_token(daemon, value, "GET", "/v1/notebook").json()["items"]
    assert [item["id"] for item in listed] == [both]


# Ways to write the Host of a notebook. Each one must name that same notebook.
HOST_SPELLINGS: dict[str, Callable[[str, int], str]] = {
    "uppercase": lambda nb, port: f"{nb.upper()}.NOTEBOOK.LOCALHOST:{port}",
    "mixed-case": lambda nb, port: f"{nb}.Notebook.LocalHost:{port}",
    "trailing-dot": lambda nb, port: f"{nb}.notebook.localhost.:{port}",
    "no-port": lambda nb, port: f"{nb}.notebook.localhost",
    "uppercase-trailing-dot": lambda nb, port: f"{nb.upper()}.NOTEBOOK.LOCALHOST.:{port}",
}


@pytest.mark.parametrize("spelling", list(HOST_SPELLINGS))
def test_host_spelling_keeps_scope(shared: SharedProject, spelling: str) -> None:
    daemon, in_scope, out_of_scope = shared.daemon, shared.in_scope, shared.out_of_scope
    value = token_value(daemon, "read", SUBJECT_SELECTOR)
    spell = HOST_SPELLINGS[spelling]

    def fetch(notebook_id: str) -> requests.Response:
        headers = {"Host": spell(notebook_id, daemon.port), **bearer(value)}
        return requests.get(f"{daemon.api}/", headers=headers, allow_redirects=False, timeout=30)

    refused = fetch(out_of_scope)
    assert refused.status_code == 403
    assert "test editor" not in refused.text
    reached = fetch(in_scope)
    assert reached.status_code == 200
    assert reached.text == "test editor"


def test_two_host_headers_rejected(shared: SharedProject) -> None:
    daemon, in_scope, out_of_scope = shared.daemon, shared.in_scope, shared.out_of_scope
    value = token_value(daemon, "read", SUBJECT_SELECTOR)
    request = (
        f"GET / HTTP/1.1\r\nHost: {daemon.notebook_host(in_scope)}\r\n"
        f"Host: {daemon.notebook_host(out_of_scope)}\r\n"
        f"Authorization: Bearer {value}\r\nConnection: close\r\n\r\n"
    )

    with socket.create_connection(("127.0.0.1", daemon.port), timeout=30) as connection:
        connection.sendall(request.encode())
        status_line = connection.makefile("rb").readline().decode()
    assert status_line.split()[1] == "400"


def test_user_cookie_rejected_on_other_notebook(daemon: Daemon) -> None:
    first = start_notebook(daemon)
    second = start_notebook(daemon)
    login = daemon.open_url(
        first, "/_localai/login", method="POST",
        data={"username": daemon.credentials["username"],
              "password": daemon.credentials["password"], "next": "/"},
    )
    cookie = session_cookie(login)
    assert daemon.open_url(first, headers=cookie).status_code == 200

    page = daemon.open_url(second, headers=cookie)
    assert page.status_code == 401
    assert 'name="password"' in page.text


def test_token_cookie_rejected_on_other_notebook(daemon: Daemon) -> None:
    first = start_notebook(daemon, SUBJECT)
    second = start_notebook(daemon, SUBJECT)
    value = token_value(daemon, "read", SUBJECT_SELECTOR)
    cookie = session_cookie(log_in_with_token(daemon, first, value))

    assert daemon.open_url(second, headers=cookie).status_code == 401


def test_renew_ends_cookie_session(daemon: Daemon) -> None:
    notebook_id = start_notebook(daemon, SUBJECT)
    token = create_token(daemon, "read", SUBJECT_SELECTOR)
    login = log_in_with_token(daemon, notebook_id, token["status"]["value"])
    assert login.status_code == 303
    cookie = session_cookie(login)
    assert daemon.open_url(notebook_id, headers=cookie).status_code == 200

    renewed = daemon.call("POST", f"/v1/token/{token['id']}/renew")
    assert renewed.status_code == 200
    page = daemon.open_url(notebook_id, headers=cookie)
    assert page.status_code == 401
    assert 'name="token"' in page.text


def test_delete_ends_cookie_session(daemon: Daemon) -> None:
    notebook_id = start_notebook(daemon, SUBJECT)
    token = create_token(daemon, "read", SUBJECT_SELECTOR)
    cookie = session_cookie(log_in_with_token(daemon, notebook_id, token["status"]["value"]))
    assert daemon.open_url(notebook_id, headers=cookie).status_code == 200

    assert daemon.call("DELETE", f"/v1/token/{token['id']}").status_code == 204
    assert daemon.open_url(notebook_id, headers=cookie).status_code == 401


def test_label_removal_ends_cookie_access(daemon: Daemon) -> None:
    notebook_id = start_notebook(daemon, SUBJECT)
    value = token_value(daemon, "read", SUBJECT_SELECTOR)
    cookie = session_cookie(log_in_with_token(daemon, notebook_id, value))
    assert daemon.open_url(notebook_id, headers=cookie).status_code == 200

    daemon.call("PUT", f"/v1/notebook/{notebook_id}/label",
                json={"name": "subject", "value": None})
    assert daemon.open_url(notebook_id, headers=cookie).status_code == 403


def test_renewed_value_works(daemon: Daemon) -> None:
    notebook_id = start_notebook(daemon, SUBJECT)
    token = create_token(daemon, "read", SUBJECT_SELECTOR)

    renewed = daemon.call("POST", f"/v1/token/{token['id']}/renew").json()
    assert renewed["id"] == token["id"]
    assert renewed["status"]["version"] == 2
    assert renewed["spec"] == token["spec"]
    page = daemon.open_url(notebook_id, headers=bearer(renewed["status"]["value"]))
    assert page.status_code == 200


# WebSockets over the real JupyterLab image -------------------------------------


@pytest.fixture(scope="module")
def jupyterlab_image() -> str:
    tag: str = ensure_jupyterlab_image(LAB_PREFIX)
    return tag


@pytest.fixture
def lab_daemon(make_daemon: Callable[..., Daemon], jupyterlab_image: str) -> Daemon:
    return make_daemon(prefix=LAB_PREFIX)


def open_kernel_socket(daemon: Daemon, notebook_id: str, value: str) -> websocket.WebSocket:
    """Start a kernel through the proxy with an app token and return its open channels socket."""
    host = daemon.notebook_host(notebook_id)
    headers = {"Host": host, **bearer(value)}
    with requests.Session() as session:
        session.get(f"{daemon.api}/lab", headers=headers, timeout=30)
        xsrf = session.cookies.get("_xsrf")
        assert xsrf, "JupyterLab set no _xsrf cookie"
        kernel = session.post(f"{daemon.api}/api/kernels", json={"name": "python3"},
                              headers={**headers, "X-XSRFToken": xsrf}, timeout=60)
    assert kernel.status_code == 201, kernel.text
    return websocket.create_connection(
        f"ws://127.0.0.1:{daemon.port}/api/kernels/{kernel.json()['id']}/channels",
        host=host, origin=f"http://{host}", cookie=f"_xsrf={xsrf}",
        header=[f"Authorization: Bearer {value}"], timeout=60,
    )


def evaluate(channels: websocket.WebSocket, code: str) -> str:
    """Run ``code`` on the kernel and return the text of its result."""
    channels.send(json.dumps({
        "header": {"msg_id": uuid.uuid4().hex, "msg_type": "execute_request",
                   "username": "test", "session": uuid.uuid4().hex, "version": "5.3",
                   "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }))
    for _ in range(200):
        message = json.loads(channels.recv())
        if message.get("msg_type") == "execute_result":
            result: str = message["content"]["data"]["text/plain"]
            return result
    raise AssertionError("the kernel sent no execute_result")


def wait_for_close(channels: websocket.WebSocket, timeout: float) -> int | None:
    """Read frames until the server closes the socket, and return the close code.

    Returns None when the connection ended without a close frame. Fails when
    the socket is still open at the deadline.
    """
    connection = channels.sock
    assert connection is not None, "the WebSocket is not connected"
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        # select() first, so that recv never times out in the middle of a frame.
        readable, _, _ = select.select([connection], [], [], left)
        if not readable:
            break
        try:
            opcode, data = channels.recv_data(control_frame=True)
        except websocket.WebSocketConnectionClosedException:
            return None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005
    raise AssertionError(f"the WebSocket was still open after {timeout:g} s")


LabSocket = tuple[Daemon, str, dict[str, Any], websocket.WebSocket]


@pytest.fixture
def lab_socket(lab_daemon: Daemon) -> Iterator[LabSocket]:
    """A labelled JupyterLab notebook, a read token for it, and a kernel socket opened with it."""
    notebook_id = lab_daemon.run(labels=SUBJECT)["id"]
    lab_daemon.wait_state(notebook_id, "RUNNING", timeout=180)
    token = create_token(lab_daemon, "read", SUBJECT_SELECTOR)
    channels = open_kernel_socket(lab_daemon, notebook_id, token["status"]["value"])
    connection = channels.sock
    try:
        assert evaluate(channels, "1+1") == "2"
        yield lab_daemon, notebook_id, token, channels
    finally:
        channels.close()
        # close() returns early, leaving the socket open, once the server has closed first.
        if connection is not None:
            connection.close()


def test_websocket_closed_after_renew(lab_socket: LabSocket) -> None:
    daemon, _, token, channels = lab_socket

    assert daemon.call("POST", f"/v1/token/{token['id']}/renew").status_code == 200
    assert wait_for_close(channels, WEBSOCKET_CLOSE_DEADLINE) == CLOSE_UNAUTHORIZED


def test_websocket_closed_after_delete(lab_socket: LabSocket) -> None:
    daemon, _, token, channels = lab_socket

    assert daemon.call("DELETE", f"/v1/token/{token['id']}").status_code == 204
    assert wait_for_close(channels, WEBSOCKET_CLOSE_DEADLINE) == CLOSE_UNAUTHORIZED


def test_websocket_closed_after_label_removed(lab_socket: LabSocket) -> None:
    daemon, notebook_id, _, channels = lab_socket

    removed = daemon.call("PUT", f"/v1/notebook/{notebook_id}/label",
                          json={"name": "subject", "value": None})
    assert removed.status_code == 204
    assert wait_for_close(channels, WEBSOCKET_CLOSE_DEADLINE) == CLOSE_UNAUTHORIZED


def test_websocket_closed_after_stop(lab_socket: LabSocket) -> None:
    daemon, notebook_id, _, channels = lab_socket

    assert daemon.call("PUT", f"/v1/notebook/{notebook_id}/stop").status_code == 204
    assert wait_for_close(channels, WEBSOCKET_CLOSE_DEADLINE) == CLOSE_GOING_AWAY
