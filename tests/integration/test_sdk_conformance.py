"""Conformance of the REST API with the official ``ovhai`` Python SDK (0.1a4).

Every call goes through the SDK's ``sync_detailed``. Each test asserts the
status code that the SDK documents for the call and the model that
``parsed`` holds. Error statuses leave ``parsed`` as None, and their bodies
must still parse as the SDK's ``Error``. One daemon in GPU emulation mode
serves the whole module. Tests that change a notebook create their own.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import docker
import pytest
from ovhai.api.capabilities import (
    get_v1_capabilities_flavor,
    get_v1_capabilities_flavor_id,
    get_v1_capabilities_notebook_editor,
    get_v1_capabilities_notebook_editor_id,
    get_v1_capabilities_notebook_framework,
    get_v1_capabilities_notebook_framework_id,
    get_v1_capabilities_preset,
    get_v1_capabilities_preset_id,
    get_v1_capabilities_quota,
)
from ovhai.api.deprecated_capabilities import (
    get_v1_notebook_capabilities_editor,
    get_v1_notebook_capabilities_editor_id,
    get_v1_notebook_capabilities_framework,
    get_v1_notebook_capabilities_framework_id,
)
from ovhai.api.me import me
from ovhai.api.notebook import (
    notebook_cli_command,
    notebook_delete,
    notebook_edit,
    notebook_edit_label,
    notebook_get,
    notebook_get_all,
    notebook_new,
    notebook_start,
    notebook_stop,
)
from ovhai.api.token import token_delete, token_get, token_get_all, token_new, token_renew
from ovhai.client import AuthenticatedClient, Client
from ovhai.models import (
    CapabilityNotebookEditor,
    CapabilityNotebookFramework,
    CLICommand,
    Env,
    Error,
    Flavor,
    LabelUpdate,
    Me,
    MeTokenKind,
    Notebook,
    NotebookEditor,
    NotebookEnv,
    NotebookFramework,
    NotebookList,
    NotebookSpecLabelsType0,
    NotebookSpecUpdate,
    NotebookSpecUpdateLabelsType0,
    Order,
    ProjectQuotas,
    Resources,
    Role,
    Token,
    TokenList,
    TokenSpec,
)
from ovhai.ovhai_types import UNSET, Response

from localai import catalog
from tests.integration.conftest import Daemon
from tests.integration.sdk_support import (
    create_notebook,
    fetch_notebook,
    new_spec,
    null_object_paths,
    running_daemon,
    sdk_client,
    wait_for_state,
)

pytestmark = pytest.mark.integration

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
TEAM_LABELS = {"team": "vision"}
TEAM_SELECTOR = "team=vision"
LISTING_SELECTOR = "batch=listing"
GIB = 1024**3
DEFAULT_VERSION = "2.5.1"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# Fixtures --------------------------------------------------------------------


@dataclass(frozen=True)
class AppToken:
    """An app token created through ``token_new`` and an SDK client that sends its value."""

    token: Token
    value: str
    client: AuthenticatedClient


@pytest.fixture(scope="module")
def sdk_daemon(tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient,
               test_image: str) -> Iterator[Daemon]:
    base_dir = tmp_path_factory.mktemp("sdk")
    with running_daemon(base_dir, docker_client, LOCALAI_GPU_MODE="emulate") as daemon:
        yield daemon


@pytest.fixture(scope="module")
def client(sdk_daemon: Daemon) -> Iterator[AuthenticatedClient]:
    """The project user's client: the API token that ``ovhai login`` would give."""
    with sdk_client(sdk_daemon, sdk_daemon.credentials["api_token"]) as user_client:
        yield user_client


@pytest.fixture(scope="module")
def anonymous(sdk_daemon: Daemon) -> Iterator[Client]:
    with Client(base_url=sdk_daemon.api) as anonymous_client:
        yield anonymous_client


@pytest.fixture(scope="module")
def garbage(sdk_daemon: Daemon) -> Iterator[AuthenticatedClient]:
    with sdk_client(sdk_daemon, "not-a-token") as garbage_client:
        yield garbage_client


@pytest.fixture(scope="module")
def issue_token(sdk_daemon: Daemon, client: AuthenticatedClient
                ) -> Iterator[Callable[[str, str | None], AppToken]]:
    """Return a function that creates an app token through the SDK and a client using it."""
    counter = itertools.count()
    with ExitStack() as clients:

        def issue(role: str, selector: str | None = None) -> AppToken:
            spec = TokenSpec(name=f"sdk-{role}-{next(counter)}", role=role,
                             label_selector=UNSET if selector is None else selector)
            response = token_new.sync_detailed(client=client, body=spec)
            assert response.status_code == 200, response.content
            assert isinstance(response.parsed, Token)
            value = response.parsed.status.value
            assert isinstance(value, str)
            token_client = clients.enter_context(sdk_client(sdk_daemon, value))
            return AppToken(response.parsed, value, token_client)

        yield issue


@pytest.fixture(scope="module")
def reader(issue_token: Callable[[str, str | None], AppToken]) -> AppToken:
    """A read token whose scope covers the ``running`` notebook."""
    return issue_token("ai_training_read", TEAM_SELECTOR)


@pytest.fixture(scope="module")
def outsider(issue_token: Callable[[str, str | None], AppToken]) -> AppToken:
    """An operator token whose scope does not cover the ``running`` notebook."""
    return issue_token("ai_training_operator", "team=other")


@pytest.fixture(scope="module")
def running(client: AuthenticatedClient) -> Notebook:
    """A RUNNING notebook labelled team=vision, which tests must leave RUNNING and unchanged."""
    notebook = create_notebook(
        client, labels=NotebookSpecLabelsType0.from_dict(TEAM_LABELS)
    )
    return wait_for_state(client, str(notebook.id), "RUNNING")


@pytest.fixture
def fresh(client: AuthenticatedClient) -> Iterator[Notebook]:
    """A RUNNING notebook labelled team=vision that the test may change, deleted afterwards."""
    notebook = create_notebook(
        client, labels=NotebookSpecLabelsType0.from_dict(TEAM_LABELS)
    )
    yield wait_for_state(client, str(notebook.id), "RUNNING")
    notebook_delete.sync_detailed(str(notebook.id), client=client, force=True)


@pytest.fixture
def stopped(client: AuthenticatedClient, fresh: Notebook) -> Notebook:
    """A STOPPED notebook labelled team=vision, deleted afterwards."""
    response = notebook_stop.sync_detailed(str(fresh.id), client=client)
    assert response.status_code == 204, response.content
    return wait_for_state(client, str(fresh.id), "STOPPED")


@pytest.fixture(scope="module")
def listed(client: AuthenticatedClient) -> list[Notebook]:
    """Three notebooks labelled batch=listing, oldest first: RUNNING, RUNNING, STOPPED."""
    labels = NotebookSpecLabelsType0.from_dict({"batch": "listing"})
    created = [create_notebook(client, labels=labels) for _ in range(3)]
    for notebook in created:
        wait_for_state(client, str(notebook.id), "RUNNING")

    last = str(created[-1].id)
    response = notebook_stop.sync_detailed(last, client=client)
    assert response.status_code == 204, response.content
    wait_for_state(client, last, "STOPPED")
    return [fetch_notebook(client, str(notebook.id)) for notebook in created]


# Helpers ---------------------------------------------------------------------


def error_message(response: Response[Any]) -> str:
    """Return the ``message`` of an error body, parsed with the SDK's Error model."""
    error = Error.from_dict(json.loads(response.content))
    assert isinstance(error.message, str)
    return error.message


def assert_error(response: Response[Any], status: int) -> None:
    """Assert an error status, no parsed model and a non-empty ``{"message"}`` body."""
    assert response.status_code == status, response.content
    assert response.parsed is None
    assert error_message(response)


def labels_of(notebook: Notebook) -> dict[str, str]:
    labels = notebook.spec.labels
    assert isinstance(labels, NotebookSpecLabelsType0)
    return dict(labels.additional_properties)


def ids_of(notebooks: NotebookList) -> list[str]:
    assert isinstance(notebooks.items, list)
    return [str(notebook.id) for notebook in notebooks.items]


def listing(client: AuthenticatedClient, **query: Any) -> NotebookList:
    """Call ``notebook_get_all`` limited to the ``listed`` notebooks and fail unless 200."""
    query.setdefault("label_selector", LISTING_SELECTOR)
    response = notebook_get_all.sync_detailed(client=client, **query)
    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, NotebookList)
    return response.parsed


def update_seconds(notebook: Notebook) -> int:
    assert isinstance(notebook.updated_at, datetime)
    return int(notebook.updated_at.timestamp())


# Calls on one notebook, by name, so tables of error cases can name them.
NotebookCall = Callable[[Client | AuthenticatedClient, str], Response[Any]]
NOTEBOOK_CALLS: dict[str, NotebookCall] = {
    "get": lambda c, i: notebook_get.sync_detailed(i, client=c),
    "start": lambda c, i: notebook_start.sync_detailed(i, client=c),
    "stop": lambda c, i: notebook_stop.sync_detailed(i, client=c),
    "delete": lambda c, i: notebook_delete.sync_detailed(i, client=c, force=True),
    "edit": lambda c, i: notebook_edit.sync_detailed(
        i, client=c, body=NotebookSpecUpdate(unsecure_http=True)
    ),
    "edit_label": lambda c, i: notebook_edit_label.sync_detailed(
        i, client=c, body=LabelUpdate(name="owner", value="mallory")
    ),
}
MUTATIONS = [name for name in NOTEBOOK_CALLS if name != "get"]
# Calls whose documented codes include 401.
AUTHENTICATED_CALLS: dict[str, NotebookCall] = {
    **NOTEBOOK_CALLS,
    "new": lambda c, i: notebook_new.sync_detailed(client=c, body=new_spec()),
    "get_all": lambda c, i: notebook_get_all.sync_detailed(client=c),
    "me": lambda c, i: me.sync_detailed(client=c),
}


# notebook_new ------------------------------------------------------------------


def test_new_returns_full_notebook(client: AuthenticatedClient, sdk_daemon: Daemon) -> None:
    spec = new_spec(
        name="sdk-demo",
        env=NotebookEnv(framework_id="pytorch", editor_id="jupyterlab",
                        framework_version=DEFAULT_VERSION),
        resources=Resources(cpu=2),
        labels=NotebookSpecLabelsType0.from_dict(TEAM_LABELS),
        env_vars=[Env(name="GREETING", value="hello world")],
        unsecure_http=True,
    )
    response = notebook_new.sync_detailed(client=client, body=spec)

    assert response.status_code == 200, response.content
    notebook = response.parsed
    assert isinstance(notebook, Notebook)
    assert notebook.user == sdk_daemon.credentials["username"]
    assert notebook.created_at == notebook.updated_at
    assert notebook.spec.name == "sdk-demo"
    assert labels_of(notebook) == {"team": "vision"}
    assert notebook.spec.resources.cpu == 2
    assert notebook.spec.resources.gpu == 0
    assert notebook.spec.resources.gpu_model is None
    assert notebook.spec.env == NotebookEnv(
        framework_id="pytorch", editor_id="jupyterlab", framework_version=DEFAULT_VERSION
    )
    assert notebook.spec.env_vars == [Env(name="GREETING", value="hello world")]
    assert notebook.spec.unsecure_http is True
    assert notebook.spec.volumes == []
    assert notebook.status.state == "STARTING"
    assert notebook.status.duration == 0
    assert notebook.status.data_sync == []
    assert null_object_paths(Notebook, json.loads(response.content)) == []


def test_new_defaults_framework_version(client: AuthenticatedClient) -> None:
    spec = new_spec(env=NotebookEnv(framework_id="pytorch", editor_id="jupyterlab"))
    response = notebook_new.sync_detailed(client=client, body=spec)

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, Notebook)
    assert response.parsed.spec.env.framework_version == DEFAULT_VERSION


def test_new_emulated_gpus(client: AuthenticatedClient) -> None:
    response = notebook_new.sync_detailed(client=client, body=new_spec(resources=Resources(gpu=2)))

    assert response.status_code == 200, response.content
    notebook = response.parsed
    assert isinstance(notebook, Notebook)
    assert notebook.spec.resources.gpu == 2
    assert notebook.spec.resources.gpu_model == "Tesla-V100S"
    assert notebook.spec.resources.cpu == 26
    notebook_delete.sync_detailed(str(notebook.id), client=client, force=True)


def test_new_gpu_ignores_cpu(client: AuthenticatedClient) -> None:
    spec = new_spec(resources=Resources(gpu=1, cpu=5))
    response = notebook_new.sync_detailed(client=client, body=spec)

    assert response.status_code == 200, response.content
    notebook = response.parsed
    assert isinstance(notebook, Notebook)
    assert notebook.spec.resources.gpu == 1
    assert notebook.spec.resources.cpu == 13
    notebook_delete.sync_detailed(str(notebook.id), client=client, force=True)


def test_new_drops_user_platform_labels(client: AuthenticatedClient) -> None:
    labels = NotebookSpecLabelsType0.from_dict({"ovh/id": "forged", "ovh/extra": "x", "a": "b"})
    response = notebook_new.sync_detailed(client=client, body=new_spec(labels=labels))

    assert response.status_code == 200, response.content
    notebook = response.parsed
    assert isinstance(notebook, Notebook)
    assert labels_of(notebook) == {"a": "b"}


def test_new_keeps_timeout_auto_restart(client: AuthenticatedClient) -> None:
    response = notebook_new.sync_detailed(client=client,
                                          body=new_spec(timeout_auto_restart=True))

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, Notebook)
    assert response.parsed.spec.timeout_auto_restart is True
    notebook_id = str(response.parsed.id)
    assert fetch_notebook(client, notebook_id).spec.timeout_auto_restart is True


BAD_SPECS: dict[str, dict[str, Any]] = {
    "unknown framework": {"env": NotebookEnv(framework_id="nosuch", editor_id="jupyterlab")},
    "unknown editor": {"env": NotebookEnv(framework_id="pytorch", editor_id="nosuch")},
    "unknown version": {"env": NotebookEnv(framework_id="pytorch", editor_id="jupyterlab",
                                           framework_version="0.0.0")},
    "missing env": {"env": UNSET},
    "five gpus": {"resources": Resources(gpu=5)},
    "thirteen cpus": {"resources": Resources(cpu=13)},
    "unknown flavor": {"resources": Resources(flavor="nosuch")},
    "invalid label": {"labels": NotebookSpecLabelsType0.from_dict({"bad name!": "x"})},
    "invalid env var": {"env_vars": [Env(name="1BAD", value="x")]},
}


@pytest.mark.parametrize("case", BAD_SPECS)
def test_new_rejects_bad_spec(client: AuthenticatedClient, case: str) -> None:
    response = notebook_new.sync_detailed(client=client, body=new_spec(**BAD_SPECS[case]))

    assert_error(response, 400)


def test_new_with_read_token_forbidden(reader: AppToken) -> None:
    spec = new_spec(labels=NotebookSpecLabelsType0.from_dict(TEAM_LABELS))
    response = notebook_new.sync_detailed(client=reader.client, body=spec)

    assert_error(response, 403)


def test_new_with_scoped_operator_adds_labels(
    client: AuthenticatedClient, issue_token: Callable[[str, str | None], AppToken]
) -> None:
    operator = issue_token("ai_training_operator", "team=robotics")
    response = notebook_new.sync_detailed(client=operator.client, body=new_spec())

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, Notebook)
    assert labels_of(response.parsed)["team"] == "robotics"
    notebook_delete.sync_detailed(str(response.parsed.id), client=client, force=True)


# notebook_get ------------------------------------------------------------------


def test_get_running(client: AuthenticatedClient, running: Notebook, sdk_daemon: Daemon) -> None:
    notebook_id = str(running.id)
    response = notebook_get.sync_detailed(notebook_id, client=client)

    assert response.status_code == 200, response.content
    notebook = response.parsed
    assert isinstance(notebook, Notebook)
    assert notebook.id == notebook_id
    assert notebook.status.state == "RUNNING"
    assert notebook.status.url == f"http://{notebook_id}.notebook.localhost:{sdk_daemon.port}"
    created_ms = (notebook.created_at - EPOCH) // timedelta(milliseconds=1)
    assert notebook.status.monitoring_url == (
        f"http://monitoring.localhost:{sdk_daemon.port}/d/gpu"
        f"?var-notebook={notebook_id}&from={created_ms - 60_000}"
    )
    assert isinstance(notebook.status.last_started_at, datetime)
    assert notebook.status.last_stopped_at is None
    assert isinstance(notebook.status.duration, int)
    assert notebook.spec.env.framework_version == DEFAULT_VERSION
    assert labels_of(notebook)["team"] == "vision"


def test_get_with_read_token_in_scope(reader: AppToken, running: Notebook) -> None:
    response = notebook_get.sync_detailed(str(running.id), client=reader.client)

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, Notebook)
    assert response.parsed.id == running.id


# Error tables shared by every call on one notebook ---------------------------------


@pytest.mark.parametrize("call", NOTEBOOK_CALLS)
def test_unknown_id_not_found(client: AuthenticatedClient, call: str) -> None:
    response = NOTEBOOK_CALLS[call](client, UNKNOWN_ID)

    assert_error(response, 404)


@pytest.mark.parametrize("caller", ["anonymous", "garbage"])
@pytest.mark.parametrize("call", AUTHENTICATED_CALLS)
def test_bad_credentials_unauthorized(request: pytest.FixtureRequest, running: Notebook,
                                      caller: str, call: str) -> None:
    caller_client = request.getfixturevalue(caller)
    response = AUTHENTICATED_CALLS[call](caller_client, str(running.id))

    assert_error(response, 401)


@pytest.mark.parametrize("call", NOTEBOOK_CALLS)
def test_out_of_scope_forbidden(outsider: AppToken, running: Notebook, call: str) -> None:
    response = NOTEBOOK_CALLS[call](outsider.client, str(running.id))

    assert_error(response, 403)


@pytest.mark.parametrize("call", MUTATIONS)
def test_read_token_mutation_forbidden(reader: AppToken, running: Notebook, call: str) -> None:
    response = NOTEBOOK_CALLS[call](reader.client, str(running.id))

    assert_error(response, 403)


def test_forbidden_calls_left_notebook_unchanged(client: AuthenticatedClient,
                                                  running: Notebook) -> None:
    notebook = fetch_notebook(client, str(running.id))

    assert notebook.status.state == "RUNNING"
    assert notebook.spec.unsecure_http is False
    assert "owner" not in labels_of(notebook)


# notebook_get_all ----------------------------------------------------------------


def test_list_envelope(client: AuthenticatedClient, listed: list[Notebook]) -> None:
    notebooks = listing(client)

    assert ids_of(notebooks) == [str(notebook.id) for notebook in listed]
    assert notebooks.metadata.current_page == 1
    assert notebooks.metadata.page_count == 1
    assert notebooks.metadata.total == 3


def test_list_first_page(client: AuthenticatedClient, listed: list[Notebook]) -> None:
    notebooks = listing(client, page=1, size=2)

    assert ids_of(notebooks) == [str(notebook.id) for notebook in listed[:2]]
    assert notebooks.metadata.current_page == 1
    assert notebooks.metadata.page_count == 2
    assert notebooks.metadata.total == 3
    assert isinstance(notebooks.metadata.links.next_, str)


def test_list_last_page(client: AuthenticatedClient, listed: list[Notebook]) -> None:
    notebooks = listing(client, page=2, size=2)

    assert ids_of(notebooks) == [str(listed[2].id)]
    assert notebooks.metadata.current_page == 2
    assert notebooks.metadata.page_count == 2
    assert notebooks.metadata.total == 3
    assert not notebooks.metadata.links.next_


def test_list_next_link_returns_next_page(client: AuthenticatedClient,
                                          listed: list[Notebook]) -> None:
    next_link = listing(client, page=1, size=2).metadata.links.next_
    assert isinstance(next_link, str)

    response = client.get_httpx_client().get(next_link)

    assert response.status_code == 200, response.text
    assert ids_of(NotebookList.from_dict(response.json())) == [str(listed[2].id)]


def test_list_order_desc(client: AuthenticatedClient, listed: list[Notebook]) -> None:
    notebooks = listing(client, order=Order.DESC)

    assert ids_of(notebooks) == [str(notebook.id) for notebook in reversed(listed)]


def test_list_order_asc(client: AuthenticatedClient, listed: list[Notebook]) -> None:
    notebooks = listing(client, order=Order.ASC)

    assert ids_of(notebooks) == [str(notebook.id) for notebook in listed]


def test_list_sort_by_state(client: AuthenticatedClient, listed: list[Notebook]) -> None:
    notebooks = listing(client, sort="status.state", order=Order.DESC)

    assert isinstance(notebooks.items, list)
    assert [notebook.status.state for notebook in notebooks.items] == [
        "STOPPED", "RUNNING", "RUNNING"
    ]
    assert ids_of(notebooks)[0] == str(listed[2].id)


def test_list_unknown_sort_rejected(client: AuthenticatedClient) -> None:
    response = notebook_get_all.sync_detailed(client=client, sort="nosuch")

    assert_error(response, 400)


def test_list_status_state_filter(client: AuthenticatedClient, listed: list[Notebook]) -> None:
    notebooks = listing(client, status_state=["STOPPED"])

    assert ids_of(notebooks) == [str(listed[2].id)]
    assert notebooks.metadata.total == 1


def test_list_status_state_repeated(client: AuthenticatedClient,
                                    listed: list[Notebook]) -> None:
    notebooks = listing(client, status_state=["RUNNING", "STOPPED"])

    assert ids_of(notebooks) == [str(notebook.id) for notebook in listed]


def test_list_unknown_status_state_rejected(client: AuthenticatedClient) -> None:
    response = notebook_get_all.sync_detailed(client=client, status_state=["SLEEPING"])

    assert_error(response, 400)


def test_list_label_selector_no_match(client: AuthenticatedClient,
                                      listed: list[Notebook]) -> None:
    notebooks = listing(client, label_selector="batch=nosuch")

    assert ids_of(notebooks) == []
    assert notebooks.metadata.total == 0


def test_list_invalid_label_selector_rejected(client: AuthenticatedClient) -> None:
    response = notebook_get_all.sync_detailed(client=client, label_selector="no-equals-sign")

    assert_error(response, 400)


def test_list_updated_after(client: AuthenticatedClient, listed: list[Notebook]) -> None:
    oldest = min(update_seconds(notebook) for notebook in listed)
    newest = max(update_seconds(notebook) for notebook in listed)

    assert len(ids_of(listing(client, updated_after=oldest - 1))) == 3
    assert ids_of(listing(client, updated_after=newest + 1)) == []


def test_list_updated_before(client: AuthenticatedClient, listed: list[Notebook]) -> None:
    oldest = min(update_seconds(notebook) for notebook in listed)
    newest = max(update_seconds(notebook) for notebook in listed)

    assert len(ids_of(listing(client, updated_before=newest + 1))) == 3
    assert ids_of(listing(client, updated_before=oldest - 1)) == []


def test_list_user_name_filter(client: AuthenticatedClient, listed: list[Notebook],
                               sdk_daemon: Daemon) -> None:
    own = listing(client, user_name=sdk_daemon.credentials["username"])
    other = listing(client, user_name="user-nobody00000")

    assert ids_of(own) == [str(notebook.id) for notebook in listed]
    assert ids_of(other) == []


def test_list_scoped_token_sees_scope_only(
    listed: list[Notebook], issue_token: Callable[[str, str | None], AppToken]
) -> None:
    scoped = issue_token("ai_training_read", f"ovh/id={listed[0].id}")
    response = notebook_get_all.sync_detailed(client=scoped.client)

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, NotebookList)
    assert ids_of(response.parsed) == [str(listed[0].id)]


# notebook_stop / notebook_start ----------------------------------------------------


def test_stop_running(client: AuthenticatedClient, fresh: Notebook) -> None:
    response = notebook_stop.sync_detailed(str(fresh.id), client=client)

    assert response.status_code == 204, response.content
    assert response.parsed is None
    notebook = wait_for_state(client, str(fresh.id), "STOPPED")
    assert isinstance(notebook.status.last_stopped_at, datetime)


def test_stop_stopped_rejected(client: AuthenticatedClient, stopped: Notebook) -> None:
    response = notebook_stop.sync_detailed(str(stopped.id), client=client)

    assert_error(response, 400)


def test_start_stopped(client: AuthenticatedClient, stopped: Notebook) -> None:
    response = notebook_start.sync_detailed(str(stopped.id), client=client)

    assert response.status_code == 204, response.content
    assert response.parsed is None
    notebook = wait_for_state(client, str(stopped.id), "RUNNING")
    assert notebook.status.url == stopped.status.url
    assert notebook.status.last_started_at > stopped.status.last_started_at


def test_start_running_rejected(client: AuthenticatedClient, running: Notebook) -> None:
    response = notebook_start.sync_detailed(str(running.id), client=client)

    assert_error(response, 400)


# notebook_delete -------------------------------------------------------------------


def test_delete_running_without_force_rejected(client: AuthenticatedClient,
                                               running: Notebook) -> None:
    response = notebook_delete.sync_detailed(str(running.id), client=client)

    assert_error(response, 400)


def test_delete_running_with_force(client: AuthenticatedClient, fresh: Notebook) -> None:
    response = notebook_delete.sync_detailed(str(fresh.id), client=client, force=True)

    assert response.status_code == 204, response.content
    assert response.parsed is None
    assert_error(notebook_get.sync_detailed(str(fresh.id), client=client), 404)
    everything = notebook_get_all.sync_detailed(client=client).parsed
    assert isinstance(everything, NotebookList)
    assert str(fresh.id) not in ids_of(everything)


def test_delete_stopped_without_force(client: AuthenticatedClient, stopped: Notebook) -> None:
    response = notebook_delete.sync_detailed(str(stopped.id), client=client)

    assert response.status_code == 204, response.content
    assert_error(notebook_get.sync_detailed(str(stopped.id), client=client), 404)


# notebook_edit ---------------------------------------------------------------------


def test_edit_labels_replaces_user_labels(client: AuthenticatedClient, fresh: Notebook) -> None:
    body = NotebookSpecUpdate(labels=NotebookSpecUpdateLabelsType0.from_dict({"owner": "alice"}))
    response = notebook_edit.sync_detailed(str(fresh.id), client=client, body=body)

    assert response.status_code == 204, response.content
    assert response.parsed is None
    assert labels_of(fetch_notebook(client, str(fresh.id))) == {"owner": "alice"}


def test_edit_labels_drops_platform_labels(client: AuthenticatedClient, fresh: Notebook) -> None:
    labels = NotebookSpecUpdateLabelsType0.from_dict({"ovh/id": "forged", "team": "vision"})
    response = notebook_edit.sync_detailed(
        str(fresh.id), client=client, body=NotebookSpecUpdate(labels=labels)
    )

    assert response.status_code == 204, response.content
    assert labels_of(fetch_notebook(client, str(fresh.id))) == {"team": "vision"}


def test_edit_unsecure_http(client: AuthenticatedClient, sdk_daemon: Daemon,
                            fresh: Notebook) -> None:
    response = notebook_edit.sync_detailed(
        str(fresh.id), client=client, body=NotebookSpecUpdate(unsecure_http=True)
    )

    assert response.status_code == 204, response.content
    assert fetch_notebook(client, str(fresh.id)).spec.unsecure_http is True
    page = sdk_daemon.open_url(str(fresh.id))
    assert page.status_code == 200
    assert page.text == "test editor"


def test_edit_timeout_auto_restart(client: AuthenticatedClient, fresh: Notebook) -> None:
    response = notebook_edit.sync_detailed(
        str(fresh.id), client=client, body=NotebookSpecUpdate(timeout_auto_restart=True)
    )

    assert response.status_code == 204, response.content
    assert fetch_notebook(client, str(fresh.id)).spec.timeout_auto_restart is True


def test_edit_resources_running_rejected(client: AuthenticatedClient,
                                         running: Notebook) -> None:
    response = notebook_edit.sync_detailed(
        str(running.id), client=client, body=NotebookSpecUpdate(resources=Resources(cpu=2))
    )

    assert_error(response, 400)
    assert fetch_notebook(client, str(running.id)).spec.resources.cpu == 1


def test_edit_resources_stopped(client: AuthenticatedClient, stopped: Notebook) -> None:
    response = notebook_edit.sync_detailed(
        str(stopped.id), client=client, body=NotebookSpecUpdate(resources=Resources(cpu=2))
    )

    assert response.status_code == 204, response.content
    assert fetch_notebook(client, str(stopped.id)).spec.resources.cpu == 2


def test_edit_invalid_label_rejected(client: AuthenticatedClient, running: Notebook) -> None:
    labels = NotebookSpecUpdateLabelsType0.from_dict({"bad name!": "x"})
    response = notebook_edit.sync_detailed(
        str(running.id), client=client, body=NotebookSpecUpdate(labels=labels)
    )

    assert_error(response, 400)


# notebook_edit_label ---------------------------------------------------------------


def test_label_add(client: AuthenticatedClient, fresh: Notebook) -> None:
    response = notebook_edit_label.sync_detailed(
        str(fresh.id), client=client, body=LabelUpdate(name="owner", value="alice")
    )

    assert response.status_code == 204, response.content
    assert response.parsed is None
    assert labels_of(fetch_notebook(client, str(fresh.id)))["owner"] == "alice"


def test_label_change(client: AuthenticatedClient, fresh: Notebook) -> None:
    response = notebook_edit_label.sync_detailed(
        str(fresh.id), client=client, body=LabelUpdate(name="team", value="robotics")
    )

    assert response.status_code == 204, response.content
    assert labels_of(fetch_notebook(client, str(fresh.id)))["team"] == "robotics"


def test_label_remove(client: AuthenticatedClient, fresh: Notebook) -> None:
    response = notebook_edit_label.sync_detailed(
        str(fresh.id), client=client, body=LabelUpdate(name="team")
    )

    assert response.status_code == 204, response.content
    assert "team" not in labels_of(fetch_notebook(client, str(fresh.id)))


BAD_LABELS: dict[str, LabelUpdate] = {
    "platform id": LabelUpdate(name="ovh/id", value="forged"),
    "platform other": LabelUpdate(name="ovh/anything", value="x"),
    "platform removal": LabelUpdate(name="ovh/type"),
    "invalid name": LabelUpdate(name="bad name!", value="x"),
    "invalid value": LabelUpdate(name="owner", value="not ok!"),
    "missing name": LabelUpdate(value="x"),
}


@pytest.mark.parametrize("case", BAD_LABELS)
def test_label_rejected(client: AuthenticatedClient, running: Notebook, case: str) -> None:
    response = notebook_edit_label.sync_detailed(
        str(running.id), client=client, body=BAD_LABELS[case]
    )

    assert_error(response, 400)


# notebook_cli_command ---------------------------------------------------------------


def test_cli_command_full_spec(client: AuthenticatedClient) -> None:
    spec = new_spec(
        name="demo",
        resources=Resources(cpu=2),
        labels=NotebookSpecLabelsType0.from_dict(TEAM_LABELS),
        env_vars=[Env(name="GREETING", value="hello world")],
        unsecure_http=True,
    )
    response = notebook_cli_command.sync_detailed(client=client, body=spec)

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, CLICommand)
    assert response.parsed.command == (
        "ovhai notebook run --cpu 2 --framework-version 2.5.1 --name demo "
        "--label team=vision --envvar 'GREETING=hello world' --unsecure-http "
        "pytorch jupyterlab"
    )


def test_cli_command_gpus(client: AuthenticatedClient) -> None:
    response = notebook_cli_command.sync_detailed(
        client=client, body=new_spec(resources=Resources(gpu=2))
    )

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, CLICommand)
    assert response.parsed.command == (
        "ovhai notebook run --gpu 2 --framework-version 2.5.1 pytorch jupyterlab"
    )


def test_cli_command_bad_spec_rejected(client: AuthenticatedClient) -> None:
    spec = new_spec(env=NotebookEnv(framework_id="nosuch", editor_id="jupyterlab"))
    response = notebook_cli_command.sync_detailed(client=client, body=spec)

    assert_error(response, 400)


# Tokens ------------------------------------------------------------------------------


def test_token_new_returns_value(client: AuthenticatedClient) -> None:
    spec = TokenSpec(name="sdk-new", role="ai_training_operator", label_selector=TEAM_SELECTOR)
    response = token_new.sync_detailed(client=client, body=spec)

    assert response.status_code == 200, response.content
    token = response.parsed
    assert isinstance(token, Token)
    assert isinstance(token.id, str)
    assert token.spec == TokenSpec(name="sdk-new", role="ai_training_operator",
                                   label_selector=TEAM_SELECTOR)
    assert token.status.version == 1
    assert isinstance(token.status.value, str)
    assert len(token.status.value.split(".")) == 3
    assert token.created_at == token.updated_at


def test_token_new_cli_role_name(client: AuthenticatedClient) -> None:
    response = token_new.sync_detailed(client=client, body=TokenSpec(name="sdk-cli", role="read"))

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, Token)
    assert response.parsed.spec.role == "ai_training_read"


def test_token_new_without_selector(client: AuthenticatedClient) -> None:
    spec = TokenSpec(name="sdk-all", role="ai_training_read")
    response = token_new.sync_detailed(client=client, body=spec)

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, Token)
    assert response.parsed.spec.label_selector is None


def test_token_new_invalid_role_rejected(client: AuthenticatedClient) -> None:
    response = token_new.sync_detailed(client=client,
                                       body=TokenSpec(name="sdk-bad", role="administrator"))

    assert_error(response, 400)


def test_token_get_hides_value(client: AuthenticatedClient, reader: AppToken) -> None:
    token_id = str(reader.token.id)
    response = token_get.sync_detailed(token_id, client=client)

    assert response.status_code == 200, response.content
    token = response.parsed
    assert isinstance(token, Token)
    assert token.id == token_id
    assert token.spec == reader.token.spec
    assert token.status.version == 1
    assert token.status.value is None


def test_token_get_all_hides_values(client: AuthenticatedClient, reader: AppToken) -> None:
    response = token_get_all.sync_detailed(client=client)

    assert response.status_code == 200, response.content
    tokens = response.parsed
    assert isinstance(tokens, TokenList)
    assert isinstance(tokens.items, list)
    assert str(reader.token.id) in [token.id for token in tokens.items]
    assert [token.status.value for token in tokens.items] == [None] * len(tokens.items)
    assert tokens.metadata.total == len(tokens.items)
    assert tokens.metadata.current_page == 1


def test_token_get_all_pages(client: AuthenticatedClient, reader: AppToken,
                             outsider: AppToken) -> None:
    response = token_get_all.sync_detailed(client=client, page=2, size=1)

    assert response.status_code == 200, response.content
    tokens = response.parsed
    assert isinstance(tokens, TokenList)
    assert isinstance(tokens.items, list)
    assert len(tokens.items) == 1
    assert tokens.metadata.current_page == 2
    assert tokens.metadata.page_count == tokens.metadata.total


def test_token_renew(client: AuthenticatedClient, sdk_daemon: Daemon,
                     issue_token: Callable[[str, str | None], AppToken]) -> None:
    issued = issue_token("ai_training_read", None)
    response = token_renew.sync_detailed(str(issued.token.id), client=client)

    assert response.status_code == 200, response.content
    token = response.parsed
    assert isinstance(token, Token)
    assert token.id == issued.token.id
    assert token.spec == issued.token.spec
    assert token.status.version == 2
    assert isinstance(token.status.value, str)
    assert token.status.value != issued.value
    assert token.updated_at > token.created_at
    assert_error(me.sync_detailed(client=issued.client), 401)
    with sdk_client(sdk_daemon, token.status.value) as renewed:
        assert me.sync_detailed(client=renewed).status_code == 200


def test_token_delete(client: AuthenticatedClient,
                      issue_token: Callable[[str, str | None], AppToken]) -> None:
    issued = issue_token("ai_training_read", None)
    response = token_delete.sync_detailed(str(issued.token.id), client=client)

    assert response.status_code == 204, response.content
    assert response.parsed is None
    assert_error(token_get.sync_detailed(str(issued.token.id), client=client), 404)
    assert_error(me.sync_detailed(client=issued.client), 401)


@pytest.mark.parametrize("call", ["get", "renew", "delete"])
def test_token_unknown_id_not_found(client: AuthenticatedClient, call: str) -> None:
    calls = {"get": token_get, "renew": token_renew, "delete": token_delete}
    response = calls[call].sync_detailed(UNKNOWN_ID, client=client)

    assert_error(response, 404)


# Capabilities ----------------------------------------------------------------------------


# Every framework of the catalogue runs in every editor, so filters keep the whole list.
FRAMEWORK_IDS = [framework.id for framework in catalog.FRAMEWORKS]
EDITOR_IDS = [editor.id for editor in catalog.EDITORS]
PYTORCH = {
    "id": "pytorch",
    "name": "PyTorch",
    "docUrl": "https://pytorch.org/docs/stable/index.html",
    "versions": ["2.5.1", "2.4.1", "1.8.1"],
    "savedPaths": ["/workspace"],
}


def assert_pytorch(framework: NotebookFramework | CapabilityNotebookFramework) -> None:
    assert framework.id == PYTORCH["id"]
    assert framework.name == PYTORCH["name"]
    assert framework.doc_url == PYTORCH["docUrl"]
    assert framework.versions == PYTORCH["versions"]
    assert framework.saved_paths == PYTORCH["savedPaths"]
    assert isinstance(framework.description, str)


def test_frameworks_list(client: AuthenticatedClient) -> None:
    response = get_v1_capabilities_notebook_framework.sync_detailed(client=client)

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, list)
    assert [item.id for item in response.parsed] == FRAMEWORK_IDS
    assert {type(item) for item in response.parsed} == {NotebookFramework}
    assert_pytorch(response.parsed[0])


def test_frameworks_compatible_with_editor(client: AuthenticatedClient) -> None:
    response = get_v1_capabilities_notebook_framework.sync_detailed(
        client=client, compatible_with_editor="jupyterlab"
    )

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, list)
    assert [item.id for item in response.parsed] == FRAMEWORK_IDS


def test_framework_get(client: AuthenticatedClient) -> None:
    response = get_v1_capabilities_notebook_framework_id.sync_detailed("pytorch", client=client)

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, NotebookFramework)
    assert_pytorch(response.parsed)


def test_editors_list(client: AuthenticatedClient) -> None:
    response = get_v1_capabilities_notebook_editor.sync_detailed(client=client)

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, list)
    assert [item.id for item in response.parsed] == EDITOR_IDS
    assert {type(item) for item in response.parsed} == {NotebookEditor}
    editor = response.parsed[0]
    assert editor.id == "jupyterlab"
    assert editor.name == "JupyterLab"
    assert editor.doc_url == "https://jupyterlab.readthedocs.io/en/stable/"
    assert editor.versions == ["4"]


def test_editors_compatible_with_framework(client: AuthenticatedClient) -> None:
    response = get_v1_capabilities_notebook_editor.sync_detailed(
        client=client, compatible_with_framework="pytorch"
    )

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, list)
    assert [item.id for item in response.parsed] == EDITOR_IDS


def test_editor_get(client: AuthenticatedClient) -> None:
    response = get_v1_capabilities_notebook_editor_id.sync_detailed("jupyterlab", client=client)

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, NotebookEditor)
    assert response.parsed.id == "jupyterlab"


def test_flavors_list(client: AuthenticatedClient) -> None:
    response = get_v1_capabilities_flavor.sync_detailed(client=client)

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, list)
    assert [flavor.id for flavor in response.parsed] == ["ai1-1-gpu", "ai1-1-cpu"]
    assert [type(flavor) for flavor in response.parsed] == [Flavor, Flavor]


def test_flavor_gpu(client: AuthenticatedClient) -> None:
    response = get_v1_capabilities_flavor_id.sync_detailed("ai1-1-gpu", client=client)

    assert response.status_code == 200, response.content
    flavor = response.parsed
    assert isinstance(flavor, Flavor)
    assert flavor.type == "gpu"
    assert flavor.default is True
    assert flavor.max_ == 4
    assert flavor.resources_per_unit.cpu == 13
    assert flavor.resources_per_unit.memory == 40 * GIB
    assert flavor.gpu_information.gpu_model == "Tesla-V100S"
    assert flavor.gpu_information.gpu_brand == "NVIDIA"
    assert flavor.gpu_information.gpu_memory == 32 * GIB


def test_flavor_cpu(client: AuthenticatedClient) -> None:
    response = get_v1_capabilities_flavor_id.sync_detailed("ai1-1-cpu", client=client)

    assert response.status_code == 200, response.content
    flavor = response.parsed
    assert isinstance(flavor, Flavor)
    assert flavor.type == "cpu"
    assert flavor.default is False
    assert flavor.max_ == 12
    assert flavor.resources_per_unit.cpu == 1
    assert flavor.resources_per_unit.memory == 4 * GIB
    assert flavor.gpu_information is UNSET


def test_presets_empty(client: AuthenticatedClient) -> None:
    response = get_v1_capabilities_preset.sync_detailed(client=client, type="notebook")

    assert response.status_code == 200, response.content
    assert response.parsed == []


def test_quota(client: AuthenticatedClient) -> None:
    response = get_v1_capabilities_quota.sync_detailed(client=client)

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, list)
    assert [type(quota) for quota in response.parsed] == [ProjectQuotas]
    quota = response.parsed[0]
    assert quota.resources.additional_properties == {"CPU": 12, "GPU": 4}
    assert quota.storage == 0


UNKNOWN_CAPABILITIES: dict[str, Callable[[AuthenticatedClient], Response[Any]]] = {
    "framework": lambda c: get_v1_capabilities_notebook_framework_id.sync_detailed(
        "nosuch", client=c),
    "editor": lambda c: get_v1_capabilities_notebook_editor_id.sync_detailed("nosuch", client=c),
    "flavor": lambda c: get_v1_capabilities_flavor_id.sync_detailed("nosuch", client=c),
    "preset": lambda c: get_v1_capabilities_preset_id.sync_detailed("nosuch", client=c),
    "deprecated framework": lambda c: get_v1_notebook_capabilities_framework_id.sync_detailed(
        "nosuch", client=c),
    "deprecated editor": lambda c: get_v1_notebook_capabilities_editor_id.sync_detailed(
        "nosuch", client=c),
}


@pytest.mark.parametrize("case", UNKNOWN_CAPABILITIES)
def test_unknown_capability_not_found(client: AuthenticatedClient, case: str) -> None:
    assert_error(UNKNOWN_CAPABILITIES[case](client), 404)


# Deprecated capabilities ---------------------------------------------------------------


def test_deprecated_frameworks_list(client: AuthenticatedClient) -> None:
    response = get_v1_notebook_capabilities_framework.sync_detailed(client=client)

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, list)
    assert [item.id for item in response.parsed] == FRAMEWORK_IDS
    assert {type(item) for item in response.parsed} == {CapabilityNotebookFramework}
    assert_pytorch(response.parsed[0])


def test_deprecated_frameworks_compatible(client: AuthenticatedClient) -> None:
    response = get_v1_notebook_capabilities_framework.sync_detailed(
        client=client, compatible_with_editor="jupyterlab"
    )

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, list)
    assert [item.id for item in response.parsed] == FRAMEWORK_IDS


def test_deprecated_framework_get(client: AuthenticatedClient) -> None:
    response = get_v1_notebook_capabilities_framework_id.sync_detailed("pytorch", client=client)

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, CapabilityNotebookFramework)
    assert_pytorch(response.parsed)


def assert_deprecated_jupyterlab(editor: CapabilityNotebookEditor) -> None:
    assert editor.id == "jupyterlab"
    assert editor.name == "JupyterLab"
    assert editor.doc_url == "https://jupyterlab.readthedocs.io/en/stable/"
    assert editor.version == "4"
    assert editor.incompatible_with == []
    assert editor.probe_path == "/"


def test_deprecated_editors_list(client: AuthenticatedClient) -> None:
    response = get_v1_notebook_capabilities_editor.sync_detailed(client=client)

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, list)
    assert [item.id for item in response.parsed] == EDITOR_IDS
    assert {type(item) for item in response.parsed} == {CapabilityNotebookEditor}
    assert_deprecated_jupyterlab(response.parsed[0])


def test_deprecated_editors_compatible(client: AuthenticatedClient) -> None:
    response = get_v1_notebook_capabilities_editor.sync_detailed(
        client=client, compatible_with_framework="pytorch"
    )

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, list)
    assert [item.id for item in response.parsed] == EDITOR_IDS


def test_deprecated_editor_get(client: AuthenticatedClient) -> None:
    response = get_v1_notebook_capabilities_editor_id.sync_detailed("jupyterlab", client=client)

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, CapabilityNotebookEditor)
    assert_deprecated_jupyterlab(response.parsed)


# me ------------------------------------------------------------------------------------


def test_me_user(client: AuthenticatedClient, sdk_daemon: Daemon) -> None:
    response = me.sync_detailed(client=client)

    assert response.status_code == 200, response.content
    caller = response.parsed
    assert isinstance(caller, Me)
    assert caller.name == sdk_daemon.credentials["username"]
    assert caller.tenant == sdk_daemon.credentials["project_id"].replace("-", "")
    assert caller.role is Role.ADMINISTRATOR
    assert caller.token_kind is MeTokenKind.OAUTH
    assert caller.quotas.resources.additional_properties == {"CPU": 12, "GPU": 4}


def test_me_read_token(reader: AppToken, sdk_daemon: Daemon) -> None:
    response = me.sync_detailed(client=reader.client)

    assert response.status_code == 200, response.content
    caller = response.parsed
    assert isinstance(caller, Me)
    assert caller.token_kind is MeTokenKind.APP
    assert caller.role is Role.AI_TRAINING_READ
    assert caller.tenant == sdk_daemon.credentials["project_id"].replace("-", "")


def test_me_operator_token(outsider: AppToken) -> None:
    response = me.sync_detailed(client=outsider.client)

    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, Me)
    assert response.parsed.token_kind is MeTokenKind.APP
    assert response.parsed.role is Role.AI_TRAINING_OPERATOR


# Null objects in every JSON object the daemon returns -------------------------------------

# Paths read with the user's token, and the SDK model of the body or of each array item.
JSON_BODIES: dict[str, tuple[str, type]] = {
    "notebook list": ("/v1/notebook", NotebookList),
    "token list": ("/v1/token", TokenList),
    "me": ("/v1/me", Me),
    "frameworks": ("/v1/capabilities/notebook/framework", NotebookFramework),
    "framework": ("/v1/capabilities/notebook/framework/pytorch", NotebookFramework),
    "editors": ("/v1/capabilities/notebook/editor", NotebookEditor),
    "editor": ("/v1/capabilities/notebook/editor/jupyterlab", NotebookEditor),
    "flavors": ("/v1/capabilities/flavor", Flavor),
    "gpu flavor": ("/v1/capabilities/flavor/ai1-1-gpu", Flavor),
    "cpu flavor": ("/v1/capabilities/flavor/ai1-1-cpu", Flavor),
    "quota": ("/v1/capabilities/quota", ProjectQuotas),
    "deprecated frameworks": ("/v1/notebook/capabilities/framework",
                              CapabilityNotebookFramework),
    "deprecated framework": ("/v1/notebook/capabilities/framework/pytorch",
                             CapabilityNotebookFramework),
    "deprecated editors": ("/v1/notebook/capabilities/editor", CapabilityNotebookEditor),
    "deprecated editor": ("/v1/notebook/capabilities/editor/jupyterlab",
                          CapabilityNotebookEditor),
    "not found": (f"/v1/notebook/{UNKNOWN_ID}", Error),
}


def body_objects(body: Any) -> list[Any]:
    return body if isinstance(body, list) else [body]


@pytest.mark.parametrize("case", JSON_BODIES)
def test_json_has_no_null_objects(client: AuthenticatedClient, listed: list[Notebook],
                                  reader: AppToken, case: str) -> None:
    path, model = JSON_BODIES[case]
    body = client.get_httpx_client().get(path).json()

    for item in body_objects(body):
        assert null_object_paths(model, item) == []
        model.from_dict(item)


def notebook_json(client: AuthenticatedClient, notebook_id: str) -> Any:
    return client.get_httpx_client().get(f"/v1/notebook/{notebook_id}").json()


def test_starting_json_has_no_null_objects(client: AuthenticatedClient) -> None:
    # The test editor sleeps before it listens, so the notebook stays STARTING.
    delayed = [Env(name="TEST_EDITOR_DELAY", value="30")]
    notebook = create_notebook(client, env_vars=delayed)
    body = notebook_json(client, str(notebook.id))

    assert body["status"]["state"] == "STARTING"
    assert null_object_paths(Notebook, body) == []
    notebook_delete.sync_detailed(str(notebook.id), client=client, force=True)


def test_running_json_has_no_null_objects(client: AuthenticatedClient,
                                          running: Notebook) -> None:
    body = notebook_json(client, str(running.id))

    assert null_object_paths(Notebook, body) == []


def test_stopped_json_has_no_null_objects(client: AuthenticatedClient,
                                          stopped: Notebook) -> None:
    body = notebook_json(client, str(stopped.id))

    assert body["status"]["state"] == "STOPPED"
    assert null_object_paths(Notebook, body) == []


def test_failed_json_has_no_null_objects(client: AuthenticatedClient) -> None:
    # The test editor exits at once with this code, so the notebook becomes FAILED.
    notebook = create_notebook(client, env_vars=[Env(name="TEST_EDITOR_EXIT_CODE", value="3")])
    failed = wait_for_state(client, str(notebook.id), "FAILED")
    body = notebook_json(client, str(notebook.id))

    assert null_object_paths(Notebook, body) == []
    assert failed.status.info.arguments.additional_properties == {"exitCode": "3"}


def test_token_json_has_no_null_objects(client: AuthenticatedClient) -> None:
    response = client.get_httpx_client().post(
        "/v1/token", json={"name": "sdk-json", "role": "ai_training_read"}
    )

    assert null_object_paths(Token, response.json()) == []


def test_null_check_finds_null_object() -> None:
    body = {"id": UNKNOWN_ID, "spec": {"env": None, "resources": {"cpu": 1}}, "status": None}

    assert null_object_paths(Notebook, body) == ["$.spec.env", "$.status"]
