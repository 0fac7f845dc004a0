"""Records of localai and their JSON form on the API.

The JSON keys and their order follow the AI Training API as the 2021
``ovhai`` CLI printed it: the CLI's YAML is a dump of the API object, so the
order here decides what ``notebook run`` prints. Keys that the 2021 service
did not send are added only when they carry information, and object-typed
keys are never null because the ``ovhai`` SDK's parsers fail on null objects.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

JsonDict = dict[str, Any]


class NotebookState(str, Enum):
    """Notebook lifecycle states of the cloud API."""

    STARTING = "STARTING"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    FAILED = "FAILED"
    ERROR = "ERROR"
    DELETING = "DELETING"
    RESTARTING = "RESTARTING"
    SYNC_FAILED = "SYNC_FAILED"

    @property
    def is_stopped(self) -> bool:
        """True for the states from which ``start`` is allowed."""
        return self in _STOPPED_STATES

    @property
    def is_active(self) -> bool:
        """True while a container is expected to exist and run."""
        return self in (NotebookState.STARTING, NotebookState.RUNNING, NotebookState.RESTARTING)


_STOPPED_STATES = frozenset(
    {NotebookState.STOPPED, NotebookState.FAILED, NotebookState.ERROR, NotebookState.SYNC_FAILED}
)

# Allowed transitions; anything else is a programming error in the service.
TRANSITIONS: dict[NotebookState, frozenset[NotebookState]] = {
    NotebookState.STARTING: frozenset(
        {NotebookState.RUNNING, NotebookState.FAILED, NotebookState.ERROR,
         NotebookState.STOPPING, NotebookState.DELETING}
    ),
    NotebookState.RUNNING: frozenset(
        {NotebookState.STOPPING, NotebookState.FAILED, NotebookState.ERROR,
         NotebookState.DELETING, NotebookState.RESTARTING}
    ),
    NotebookState.RESTARTING: frozenset(
        {NotebookState.RUNNING, NotebookState.FAILED, NotebookState.ERROR,
         NotebookState.STOPPING, NotebookState.DELETING}
    ),
    NotebookState.STOPPING: frozenset(
        {NotebookState.STOPPED, NotebookState.FAILED, NotebookState.ERROR,
         NotebookState.DELETING}
    ),
    NotebookState.STOPPED: frozenset({NotebookState.STARTING, NotebookState.DELETING}),
    NotebookState.FAILED: frozenset({NotebookState.STARTING, NotebookState.DELETING}),
    NotebookState.ERROR: frozenset({NotebookState.STARTING, NotebookState.DELETING}),
    NotebookState.SYNC_FAILED: frozenset({NotebookState.STARTING, NotebookState.DELETING}),
    NotebookState.DELETING: frozenset({NotebookState.ERROR}),
}


def can_transition(source: NotebookState, target: NotebookState) -> bool:
    """Return whether the state machine allows ``source`` → ``target``."""
    return target in TRANSITIONS[source]


# Info codes of the cloud's NotebookStatus.info, one per state.
INFO_CODES: dict[NotebookState, tuple[str, str]] = {
    NotebookState.STARTING: ("NOTEBOOK_STARTING", "Notebook is starting"),
    NotebookState.RUNNING: ("NOTEBOOK_RUNNING", "Notebook is running"),
    NotebookState.STOPPING: ("NOTEBOOK_STOPPING", "Notebook is stopping"),
    NotebookState.STOPPED: ("NOTEBOOK_STOPPED", "Notebook is stopped"),
    NotebookState.FAILED: ("NOTEBOOK_FAILED", "Notebook failed"),
    NotebookState.ERROR: ("NOTEBOOK_FAILED", "Notebook is in error"),
    NotebookState.DELETING: ("NOTEBOOK_FINALIZING", "Notebook is being deleted"),
    NotebookState.RESTARTING: ("NOTEBOOK_STARTING", "Notebook is restarting"),
    NotebookState.SYNC_FAILED: ("NOTEBOOK_SYNC_FAILED", "Notebook data synchronisation failed"),
}


def now_ns() -> int:
    """Return the current time in nanoseconds since the epoch."""
    return time.time_ns()


def format_timestamp(ns: int | None) -> str | None:
    """Format epoch nanoseconds as RFC 3339 UTC with nine fraction digits and ``Z``."""
    if ns is None:
        return None
    seconds, fraction = divmod(ns, 1_000_000_000)
    base = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{fraction:09d}Z"


def parse_timestamp(text: str) -> int:
    """Parse an RFC 3339 UTC timestamp with up to nine fraction digits into nanoseconds.

    Raises ValueError on any other shape.
    """
    if not text.endswith("Z"):
        raise ValueError(f"timestamp {text!r} must be in UTC and end with 'Z'")
    body = text[:-1]
    whole, _, fraction = body.partition(".")
    base = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    if fraction and (not fraction.isdigit() or len(fraction) > 9):
        raise ValueError(f"timestamp {text!r} has an invalid fraction of a second")
    nanos = int(fraction.ljust(9, "0")) if fraction else 0
    return int(base.timestamp()) * 1_000_000_000 + nanos


@dataclass
class Resources:
    """Resources of a notebook; ``memory`` is in bytes."""

    cpu: int
    gpu: int = 0
    gpu_model: str | None = None
    gpu_brand: str | None = None
    gpu_memory: int | None = None
    memory: int | None = None
    flavor: str | None = None

    def to_api(self) -> JsonDict:
        # The 2021 service sent only gpu, gpuModel and cpu, in that order.
        data: JsonDict = {"gpu": self.gpu, "gpuModel": self.gpu_model, "cpu": self.cpu}
        return data


@dataclass
class EnvVar:
    """An environment variable set in the notebook's container."""

    name: str
    value: str


@dataclass
class NotebookEnv:
    """Framework, framework version and editor of a notebook."""

    framework_id: str
    framework_version: str
    editor_id: str

    def to_api(self) -> JsonDict:
        return {
            "frameworkId": self.framework_id,
            "frameworkVersion": self.framework_version,
            "editorId": self.editor_id,
        }


@dataclass
class NotebookSpec:
    """Specification of a notebook, as the user requested it."""

    name: str
    env: NotebookEnv
    resources: Resources
    labels: dict[str, str] = field(default_factory=dict)
    unsecure_http: bool = False
    env_vars: list[EnvVar] = field(default_factory=list)
    timeout_auto_restart: bool | None = None
    """Accepted and reported like the cloud's; localai notebooks have no 7-day timeout."""

    def to_api(self) -> JsonDict:
        data: JsonDict = {
            "name": self.name,
            "labels": dict(self.labels),
            "resources": self.resources.to_api(),
            "volumes": [],
            "unsecureHttp": self.unsecure_http,
            "env": self.env.to_api(),
        }
        if self.env_vars:
            data["envVars"] = [{"name": v.name, "value": v.value} for v in self.env_vars]
        if self.timeout_auto_restart is not None:
            data["timeoutAutoRestart"] = self.timeout_auto_restart
        return data


@dataclass
class NotebookStatus:
    """Observed state of a notebook. Times are epoch nanoseconds."""

    state: NotebookState
    last_transition_ns: int | None = None
    infos: str | None = None
    exit_code: int | None = None
    duration_base: int = 0
    running_since_ns: int | None = None
    url: str | None = None
    monitoring_url: str | None = None
    last_started_ns: int | None = None
    last_stopped_ns: int | None = None

    def duration(self, at_ns: int) -> int:
        """Return the seconds spent RUNNING, counting the current run up to ``at_ns``."""
        total = self.duration_base
        if self.running_since_ns is not None:
            total += max(0, (at_ns - self.running_since_ns) // 1_000_000_000)
        return total

    def to_api(self, at_ns: int) -> JsonDict:
        data: JsonDict = {
            # The 2021 service left this null in every state, and `notebook get`
            # prints it as the first "Transitioned At" line; the time is kept
            # internally for durations.
            "lastTransitionDate": None,
            "infos": self.infos,
            "state": self.state.value,
            "duration": self.duration(at_ns),
            "url": self.url,
            "monitoringUrl": self.monitoring_url,
            "lastStartedAt": format_timestamp(self.last_started_ns),
            "lastStoppedAt": format_timestamp(self.last_stopped_ns),
            "dataSync": [],
        }
        if self.infos is not None:
            code, default_message = INFO_CODES[self.state]
            arguments: dict[str, str] = {}
            if self.exit_code is not None:
                arguments["exitCode"] = str(self.exit_code)
                code = "NOTEBOOK_FAILED_WITH_MESSAGE"
            data["info"] = {
                "code": code,
                "message": self.infos or default_message,
                "arguments": arguments,
            }
        return data


@dataclass
class Notebook:
    """A notebook: the user's spec and the daemon's status."""

    id: str
    created_ns: int
    updated_ns: int
    user: str
    spec: NotebookSpec
    status: NotebookStatus

    def to_api(self, at_ns: int | None = None) -> JsonDict:
        """Return the API object with the keys in the cloud's order."""
        moment = now_ns() if at_ns is None else at_ns
        return {
            "id": self.id,
            "createdAt": format_timestamp(self.created_ns),
            "updatedAt": format_timestamp(self.updated_ns),
            "user": self.user,
            "spec": self.spec.to_api(),
            "status": self.status.to_api(moment),
        }

    @property
    def scope_labels(self) -> dict[str, str]:
        """Labels that token selectors match: the user's plus the platform's ``ovh/`` ones.

        ``ovh/id`` and ``ovh/type`` let a selector name one notebook. They are
        not part of ``spec.labels`` in the API, because the 2021 service did not
        show them and ``notebook run`` must print what it printed.
        """
        return {**self.spec.labels, "ovh/id": self.id, "ovh/type": "notebook"}

    @property
    def monitoring_from_ms(self) -> int:
        """``from`` of the monitoring URL: creation time in ms minus one minute."""
        return self.created_ns // 1_000_000 - 60_000
