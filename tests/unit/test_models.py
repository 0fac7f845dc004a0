"""Notebook records, their API JSON and the state machine."""

from __future__ import annotations

import pytest

from localai.models import (
    TRANSITIONS,
    Notebook,
    NotebookEnv,
    NotebookSpec,
    NotebookState,
    NotebookStatus,
    Resources,
    can_transition,
    format_timestamp,
    parse_timestamp,
)

CREATED_NS = 1622124069867501592  # 2021-05-27T14:01:09.867501592Z, from the 2021 guide


def make_notebook(state: NotebookState = NotebookState.STARTING) -> Notebook:
    return Notebook(
        id="d8d809f2-717b-4b60-9881-07e6987a144d",
        created_ns=CREATED_NS,
        updated_ns=CREATED_NS,
        user="user-uY7UNgjpKBPY",
        spec=NotebookSpec(
            name="",
            env=NotebookEnv("pytorch", "1.8.1", "vscode"),
            resources=Resources(cpu=13, gpu=1, gpu_model="Tesla-V100S"),
        ),
        status=NotebookStatus(state=state),
    )


def test_timestamp_keeps_nanoseconds() -> None:
    assert format_timestamp(CREATED_NS) == "2021-05-27T14:01:09.867501592Z"


def test_timestamp_round_trip() -> None:
    assert parse_timestamp("2021-05-27T14:01:09.867501592Z") == CREATED_NS


def test_timestamp_short_fraction() -> None:
    assert parse_timestamp("2021-05-27T14:01:09.5Z") == 1622124069_500_000_000


@pytest.mark.parametrize("text", ["2021-05-27T14:01:09", "2021-05-27T14:01:09.1234567890Z",
                                  "2021-05-27 14:01:09Z", "yesterday"])
def test_timestamp_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_api_keys_follow_the_2021_order() -> None:
    data = make_notebook().to_api(at_ns=CREATED_NS)
    assert list(data) == ["id", "createdAt", "updatedAt", "user", "spec", "status"]
    assert list(data["spec"]) == ["name", "labels", "resources", "volumes", "unsecureHttp", "env"]
    assert list(data["spec"]["resources"]) == ["gpu", "gpuModel", "cpu"]
    assert list(data["status"]) == [
        "lastTransitionDate", "infos", "state", "duration", "url", "monitoringUrl",
        "lastStartedAt", "lastStoppedAt", "dataSync",
    ]


def test_new_notebook_status_values() -> None:
    status = make_notebook().to_api(at_ns=CREATED_NS)["status"]
    assert status == {
        "lastTransitionDate": None, "infos": None, "state": "STARTING", "duration": 0,
        "url": None, "monitoringUrl": None, "lastStartedAt": None, "lastStoppedAt": None,
        "dataSync": [],
    }


def test_duration_counts_the_current_run() -> None:
    status = NotebookStatus(state=NotebookState.RUNNING, duration_base=10,
                            running_since_ns=CREATED_NS)
    assert status.duration(CREATED_NS + 53_400_000_000) == 63


def test_failed_status_carries_info_and_exit_code() -> None:
    notebook = make_notebook(NotebookState.FAILED)
    notebook.status.infos = "The editor exited with code 1."
    notebook.status.exit_code = 1
    info = notebook.to_api(at_ns=CREATED_NS)["status"]["info"]
    assert info == {
        "code": "NOTEBOOK_FAILED_WITH_MESSAGE",
        "message": "The editor exited with code 1.",
        "arguments": {"exitCode": "1"},
    }


def test_env_vars_only_when_set() -> None:
    assert "envVars" not in make_notebook().to_api(at_ns=CREATED_NS)["spec"]


def test_monitoring_from_is_one_minute_before_creation() -> None:
    assert make_notebook().monitoring_from_ms == 1622124009867


@pytest.mark.parametrize(("source", "target"), [
    (NotebookState.STARTING, NotebookState.RUNNING),
    (NotebookState.RUNNING, NotebookState.STOPPING),
    (NotebookState.STOPPING, NotebookState.STOPPED),
    (NotebookState.STOPPED, NotebookState.STARTING),
    (NotebookState.FAILED, NotebookState.STARTING),
    (NotebookState.RUNNING, NotebookState.FAILED),
])
def test_allowed_transitions(source: NotebookState, target: NotebookState) -> None:
    assert can_transition(source, target)


@pytest.mark.parametrize(("source", "target"), [
    (NotebookState.STOPPED, NotebookState.RUNNING),
    (NotebookState.RUNNING, NotebookState.STARTING),
    (NotebookState.STOPPED, NotebookState.STOPPING),
    (NotebookState.DELETING, NotebookState.RUNNING),
])
def test_rejected_transitions(source: NotebookState, target: NotebookState) -> None:
    assert not can_transition(source, target)


def test_every_state_has_transitions() -> None:
    assert set(TRANSITIONS) == set(NotebookState)
