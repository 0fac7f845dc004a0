"""The notebook service: create, start, stop and delete notebooks, and track their states.

API calls return as soon as the request is accepted, and worker threads
move notebooks through the state machine: STARTING until the editor
responds to HTTP, then RUNNING; STOPPING until the container has stopped, then
STOPPED. Container deaths reported by Docker events turn an active notebook
FAILED with the exit code and the last lines of its output.

Every state change of one notebook happens under that notebook's lock, and
events of containers other than the notebook's current one are ignored, so
the removal of an old container never fails the new one.
"""

from __future__ import annotations

import logging
import shlex
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from localai import catalog, validation
from localai.access import Principal
from localai.config import GpuMode, Settings
from localai.errors import (
    Forbidden,
    ImageNotBuilt,
    InvalidRequest,
    InvalidState,
    LocalaiError,
    NotFound,
    RuntimeUnavailable,
)
from localai.models import (
    JsonDict,
    Notebook,
    NotebookEnv,
    NotebookSpec,
    NotebookState,
    NotebookStatus,
    can_transition,
    now_ns,
)
from localai.proxy.routing import NotebookRoute
from localai.resources import GpuCapableRuntime, ResourcePlanner
from localai.runtime import NOTEBOOK_LABEL
from localai.runtime.containers import (
    ContainerLimits,
    ContainerRuntime,
    ContainerState,
    editor_answers,
)
from localai.store import Store

log = logging.getLogger(__name__)

# How often a STARTING notebook's editor port is tried; short, because the
# time from `notebook run` to RUNNING is measured against plain `docker run`.
PROBE_INTERVAL = 0.02
# How often the start watcher inspects the container to check that it still runs,
# in case a "die" event was missed.
INSPECT_INTERVAL = 1.0
MAX_INFOS_LENGTH = 600


class NotebookService:
    """Owns notebook records and drives their containers."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        runtime: ContainerRuntime | None,
        username: str,
        planner: ResourcePlanner,
    ) -> None:
        self._settings = settings
        self.planner = planner
        self._store = store
        self.runtime = runtime
        self._username = username
        self._locks: dict[str, threading.RLock] = {}
        self._locks_guard = threading.Lock()
        self._routes: dict[str, NotebookRoute] = {}
        self._ports: dict[str, int] = {}
        self._container_ids: dict[str, str | None] = {}
        for notebook in store.list_notebooks():
            self._publish(notebook)

    # Helpers ---------------------------------------------------------------

    def _lock(self, notebook_id: str) -> threading.RLock:
        with self._locks_guard:
            return self._locks.setdefault(notebook_id, threading.RLock())

    def _require_runtime(self) -> ContainerRuntime:
        if self.runtime is None:
            raise RuntimeUnavailable(
                "The Docker engine is not reachable, so notebooks cannot be started, stopped "
                "or deleted. Start Docker; the daemon reconnects within a few seconds."
            )
        return self.runtime

    def _publish(self, notebook: Notebook) -> None:
        """Update the in-memory route that the data plane reads on every request."""
        port = self._ports.get(notebook.id)
        running = notebook.status.state is NotebookState.RUNNING and port is not None
        self._routes[notebook.id] = NotebookRoute(
            notebook_id=notebook.id,
            state=notebook.status.state,
            upstream=("127.0.0.1", port) if running and port is not None else None,
            unsecure_http=notebook.spec.unsecure_http,
            labels=notebook.scope_labels,
        )

    def _save(self, notebook: Notebook) -> None:
        notebook.updated_ns = now_ns()
        self._store.put_notebook(notebook)
        self._publish(notebook)

    def _transition(self, notebook: Notebook, target: NotebookState) -> None:
        source = notebook.status.state
        if not can_transition(source, target):
            raise AssertionError(f"notebook {notebook.id}: {source.value} -> {target.value}")
        moment = now_ns()
        status = notebook.status
        if source is NotebookState.RUNNING and status.running_since_ns is not None:
            status.duration_base = status.duration(moment)
            status.running_since_ns = None
        status.state = target
        status.last_transition_ns = moment
        if target.is_stopped or target is NotebookState.DELETING:
            self.planner.allocator.release(notebook.id)
        log.info("notebook %s: %s -> %s", notebook.id, source.value, target.value)

    def _load(self, notebook_id: str) -> Notebook:
        notebook = self._store.get_notebook(notebook_id)
        if notebook is None:
            raise NotFound(
                f"Notebook {notebook_id} not found. Run 'localai notebook list' to see notebooks."
            )
        return notebook

    def _spawn(self, target: Any, *args: Any) -> None:
        threading.Thread(target=target, args=args, daemon=True).start()

    # Queries ---------------------------------------------------------------

    def route(self, notebook_id: str) -> NotebookRoute | None:
        """Return the data plane's view of a notebook, or None when it does not exist."""
        return self._routes.get(notebook_id)

    def get(self, principal: Principal, notebook_id: str) -> Notebook:
        notebook = self._load(notebook_id)
        if not principal.covers(notebook.scope_labels):
            raise Forbidden(f"This token does not give access to notebook {notebook_id}.")
        return notebook

    def list(self, principal: Principal) -> list[Notebook]:
        """Return the notebooks in the principal's scope, oldest first."""
        return [nb for nb in self._store.list_notebooks() if principal.covers(nb.scope_labels)]

    # Create ----------------------------------------------------------------

    def create(self, principal: Principal, body: JsonDict) -> Notebook:
        """Validate a NotebookSpec body, store the notebook as STARTING and start it."""
        if not principal.may_operate(principal_labels(principal)):
            raise Forbidden("A token with the read role cannot create notebooks.")
        runtime = self._require_runtime()
        spec = self._parse_spec(body, principal, runtime)

        image = catalog.image_tag(
            self._settings.image_prefix,
            spec.env.framework_id,
            spec.env.editor_id,
            spec.env.framework_version,
        )
        if not runtime.image_exists(image):
            raise _image_not_built(image, spec.env)

        moment = now_ns()
        notebook_id = str(uuid.uuid4())
        platform = {"ovh/id": notebook_id, "ovh/type": "notebook"}
        if not principal.covers({**spec.labels, **platform}):
            raise Forbidden(
                "This token's label selector names platform labels of another notebook, so a "
                "notebook it creates would be out of its scope."
            )
        notebook = Notebook(
            id=notebook_id,
            created_ns=moment,
            updated_ns=moment,
            user=self._username,
            spec=spec,
            status=NotebookStatus(state=NotebookState.STARTING),
        )
        self._assign_gpus(notebook)
        with self._lock(notebook.id):
            self._store.put_notebook(notebook)
            self._publish(notebook)
        log.info("created notebook %s (%s)", notebook.id, image)
        self._spawn(self._launch, notebook.id)
        return notebook

    def _parse_spec(
        self, body: JsonDict, principal: Principal, runtime: GpuCapableRuntime
    ) -> NotebookSpec:
        if not isinstance(body, dict):
            raise InvalidRequest("The request body must be a NotebookSpec JSON object.")
        for unsupported in ("volumes", "sshPublicKeys"):
            if body.get(unsupported):
                raise InvalidRequest(
                    f"'{unsupported}' is not supported by localai yet; remove it from the request."
                )

        env_body = body.get("env")
        if not isinstance(env_body, dict):
            raise InvalidRequest(
                "'env' is required: {\"frameworkId\": ..., \"editorId\": ...}."
            )
        env = _parse_env(env_body)

        name = body.get("name") or ""
        if not isinstance(name, str) or len(name) > validation.MAX_NAME_LENGTH:
            raise InvalidRequest(
                f"'name' must be a string of at most {validation.MAX_NAME_LENGTH} characters."
            )

        labels = validation.parse_labels(body.get("labels"))
        # A notebook created with a scoped token gets the selector's labels, so
        # the token that created it can still reach it.
        labels.update(principal_labels(principal))

        return NotebookSpec(
            name=name,
            env=env,
            resources=self.planner.plan(body.get("resources"), runtime),
            labels=labels,
            unsecure_http=validation.optional_bool(body.get("unsecureHttp"), "unsecureHttp"),
            env_vars=validation.parse_env_vars(body.get("envVars")),
            timeout_auto_restart=_optional_flag(body.get("timeoutAutoRestart"),
                                                "timeoutAutoRestart"),
        )

    # Start -----------------------------------------------------------------

    def start(self, principal: Principal, notebook_id: str) -> None:
        runtime = self._require_runtime()
        with self._lock(notebook_id):
            notebook = self._load(notebook_id)
            self._check_operate(principal, notebook)
            if not notebook.status.state.is_stopped:
                raise InvalidState(
                    f"Notebook {notebook_id} is {notebook.status.state.value}; only a stopped "
                    "or failed notebook can be started.",
                    notebook.status.state.value,
                )
            image = self._image_of(notebook)
            if not runtime.image_exists(image):
                raise _image_not_built(image, notebook.spec.env)
            self._assign_gpus(notebook)
            self._transition(notebook, NotebookState.STARTING)
            notebook.status.infos = None
            notebook.status.exit_code = None
            self._save(notebook)
        self._spawn(self._launch, notebook_id)

    def _image_of(self, notebook: Notebook) -> str:
        env = notebook.spec.env
        return catalog.image_tag(
            self._settings.image_prefix, env.framework_id, env.editor_id, env.framework_version
        )

    def _container_env(self, notebook: Notebook) -> dict[str, str]:
        env = {var.name: var.value for var in notebook.spec.env_vars}
        env["LOCALAI_NOTEBOOK_ID"] = notebook.id
        return env

    def _launch(self, notebook_id: str) -> None:
        """Create and start the container of a STARTING notebook, then wait for its editor."""
        with self._lock(notebook_id):
            notebook = self._store.get_notebook(notebook_id)
            if notebook is None or notebook.status.state is not NotebookState.STARTING:
                return
            runtime = self.runtime
            if runtime is None:
                return  # the reconciler launches it once Docker is back
            self._container_ids[notebook_id] = None
            try:
                limits = self._limits(notebook, runtime)
            except LocalaiError as e:
                self._fail(notebook, e.message, exit_code=None)
                return
            try:
                state = runtime.launch(
                    notebook_id, self._image_of(notebook), self._container_env(notebook), limits
                )
            except LocalaiError as e:
                log.warning("notebook %s failed to start: %s", notebook_id, e.message)
                self._fail(notebook, e.message, exit_code=None)
                return
            self._container_ids[notebook_id] = state.id
            notebook.status.last_started_ns = now_ns()
            self._save(notebook)
        self._watch_start(notebook_id, state)

    def _assign_gpus(self, notebook: Notebook) -> None:
        """Reserve the notebook's GPUs; raises InvalidRequest when too few are free."""
        resources = notebook.spec.resources
        if resources.gpu and resources.gpu_model:
            self.planner.allocator.assign(notebook.id, resources.gpu, resources.gpu_model)

    def _limits(self, notebook: Notebook, runtime: ContainerRuntime) -> ContainerLimits:
        resources = notebook.spec.resources
        held = tuple(gpu.uuid for gpu in self.planner.allocator.held_by(notebook.id))
        if resources.gpu and len(held) < resources.gpu:
            # A restarted daemon lost the reservation of a notebook that had no container yet.
            self._assign_gpus(notebook)
            held = tuple(gpu.uuid for gpu in self.planner.allocator.held_by(notebook.id))
        emulated = self._settings.gpu_mode is GpuMode.EMULATE
        return runtime.limits_for(
            resources.cpu, resources.memory,
            device_ids=() if emulated else held, assigned_gpus=held,
        )

    def _watch_start(self, notebook_id: str, state: ContainerState) -> None:
        """Poll the editor until it responds to HTTP, the container dies or the start times out."""
        deadline = time.monotonic() + self._settings.start_timeout
        next_inspect = time.monotonic() + INSPECT_INTERVAL
        port = state.host_port
        runtime = self._require_runtime()

        while time.monotonic() < deadline:
            if port is not None and editor_answers(port):
                self._mark_running(notebook_id, state.id, port)
                return
            current = self._store.get_notebook(notebook_id)
            if current is None or current.status.state is not NotebookState.STARTING:
                return
            if self._container_ids.get(notebook_id) != state.id:
                return
            if time.monotonic() >= next_inspect:
                next_inspect = time.monotonic() + INSPECT_INTERVAL
                seen = runtime.inspect(notebook_id)
                if seen is None or not seen.running:
                    self._container_gone(notebook_id, state.id, seen)
                    return
                port = seen.host_port
            time.sleep(PROBE_INTERVAL)

        timeout = self._settings.start_timeout
        with self._lock(notebook_id):
            notebook = self._store.get_notebook(notebook_id)
            if notebook is None or notebook.status.state is not NotebookState.STARTING:
                return
            lines = runtime.last_log_lines(notebook_id)
            runtime.stop(notebook_id)
            self._fail(
                notebook,
                _with_output(f"The editor did not answer HTTP on port 8080 within {timeout:g} s.",
                             lines),
                exit_code=None,
            )

    def _mark_running(self, notebook_id: str, container_id: str, port: int) -> None:
        with self._lock(notebook_id):
            notebook = self._store.get_notebook(notebook_id)
            if notebook is None or notebook.status.state is not NotebookState.STARTING:
                return
            if self._container_ids.get(notebook_id) != container_id:
                return
            self._ports[notebook_id] = port
            self._transition(notebook, NotebookState.RUNNING)
            status = notebook.status
            status.running_since_ns = status.last_transition_ns
            status.url = self._settings.notebook_url(notebook_id)
            status.monitoring_url = self._settings.monitoring_url(
                notebook_id, notebook.monitoring_from_ms
            )
            self._save(notebook)

    def _fail(self, notebook: Notebook, message: str, exit_code: int | None) -> None:
        """Move a notebook to FAILED with a message; the caller holds its lock."""
        self._transition(notebook, NotebookState.FAILED)
        notebook.status.infos = message[:MAX_INFOS_LENGTH]
        notebook.status.exit_code = exit_code
        self._ports.pop(notebook.id, None)
        self._save(notebook)

    # Container deaths --------------------------------------------------------

    def on_container_event(self, event: dict[str, Any]) -> None:
        """Handle a Docker event of one of this daemon's notebook containers."""
        action = str(event.get("Action") or event.get("status") or "")
        if action not in ("die", "destroy"):
            return
        attributes = (event.get("Actor") or {}).get("Attributes") or {}
        notebook_id = attributes.get(NOTEBOOK_LABEL)
        container_id = event.get("id") or (event.get("Actor") or {}).get("ID")
        if not notebook_id or not container_id:
            return
        runtime = self.runtime
        seen = runtime.inspect(notebook_id) if runtime is not None and action == "die" else None
        if action == "die" and seen is None:
            exit_code = attributes.get("exitCode")
            seen = ContainerState(
                id=container_id, status="exited",
                exit_code=int(exit_code) if exit_code is not None else None,
                oom_killed=False, host_port=None, started_at=None,
            )
        self._container_gone(notebook_id, container_id, seen)

    def _container_gone(
        self, notebook_id: str, container_id: str, seen: ContainerState | None
    ) -> None:
        """Fail an active notebook whose current container exited or was removed."""
        with self._lock(notebook_id):
            notebook = self._store.get_notebook(notebook_id)
            if notebook is None or not notebook.status.state.is_active:
                return
            if self._container_ids.get(notebook_id) != container_id:
                return
            if seen is not None and seen.id == container_id and seen.running:
                return

            if seen is None or seen.id != container_id:
                message = "The notebook's container was removed outside localai."
                exit_code = None
            else:
                exit_code = seen.exit_code
                reason = " (out of memory)" if seen.oom_killed else ""
                message = f"The editor exited with code {exit_code}{reason}."
            lines = self.runtime.last_log_lines(notebook_id) if self.runtime else []
            log.warning("notebook %s failed: %s", notebook_id, message)
            self._fail(notebook, _with_output(message, lines), exit_code)

    # Stop --------------------------------------------------------------------

    def stop(self, principal: Principal, notebook_id: str) -> None:
        self._require_runtime()
        with self._lock(notebook_id):
            notebook = self._load(notebook_id)
            self._check_operate(principal, notebook)
            if not notebook.status.state.is_active:
                raise InvalidState(
                    f"Notebook {notebook_id} is {notebook.status.state.value}; only a RUNNING "
                    "or STARTING notebook can be stopped.",
                    notebook.status.state.value,
                )
            self._transition(notebook, NotebookState.STOPPING)
            self._ports.pop(notebook_id, None)
            self._save(notebook)
        self._spawn(self._finish_stop, notebook_id)

    def _finish_stop(self, notebook_id: str) -> None:
        runtime = self.runtime
        if runtime is None:
            return  # the reconciler finishes the stop once Docker is back
        with self._lock(notebook_id):
            notebook = self._store.get_notebook(notebook_id)
            if notebook is None or notebook.status.state is not NotebookState.STOPPING:
                return
            try:
                runtime.stop(notebook_id)
            except LocalaiError as e:
                self._transition(notebook, NotebookState.ERROR)
                notebook.status.infos = e.message[:MAX_INFOS_LENGTH]
                self._save(notebook)
                return
            self._transition(notebook, NotebookState.STOPPED)
            notebook.status.last_stopped_ns = notebook.status.last_transition_ns
            self._save(notebook)

    # Delete ------------------------------------------------------------------

    def delete(self, principal: Principal, notebook_id: str, force: bool) -> None:
        """Remove a notebook and every Docker object it owns."""
        runtime = self._require_runtime()
        with self._lock(notebook_id):
            notebook = self._load(notebook_id)
            self._check_operate(principal, notebook)
            state = notebook.status.state
            if state.is_active or state is NotebookState.STOPPING:
                if not force:
                    raise InvalidState(
                        f"Notebook {notebook_id} is {state.value}. Stop it first, or delete it "
                        "with force=true (CLI: localai notebook delete --force).",
                        state.value,
                    )
            if state is not NotebookState.DELETING:
                self._transition(notebook, NotebookState.DELETING)
                self._save(notebook)
            self._remove(notebook, runtime)

    def _remove(self, notebook: Notebook, runtime: ContainerRuntime) -> None:
        self._container_ids[notebook.id] = None
        try:
            runtime.remove_all(notebook.id)
        except LocalaiError as e:
            self._transition(notebook, NotebookState.ERROR)
            notebook.status.infos = e.message[:MAX_INFOS_LENGTH]
            self._save(notebook)
            raise
        self._store.delete_notebook(notebook.id)
        self._routes.pop(notebook.id, None)
        self._ports.pop(notebook.id, None)
        self._container_ids.pop(notebook.id, None)
        log.info("deleted notebook %s", notebook.id)

    # Edit ----------------------------------------------------------------------

    def edit(self, principal: Principal, notebook_id: str, body: JsonDict) -> None:
        """Apply a NotebookSpecUpdate; resource changes need a stopped notebook."""
        if not isinstance(body, dict):
            raise InvalidRequest("The request body must be a NotebookSpecUpdate JSON object.")
        for unsupported in ("volumes", "sshPublicKeys"):
            if body.get(unsupported):
                raise InvalidRequest(
                    f"'{unsupported}' is not supported by localai yet; remove it from the request."
                )
        runtime = self.runtime or _NO_GPU_RUNTIME

        with self._lock(notebook_id):
            notebook = self._load(notebook_id)
            self._check_operate(principal, notebook)
            spec = notebook.spec
            if body.get("resources") is not None:
                if not notebook.status.state.is_stopped:
                    raise InvalidState(
                        f"Notebook {notebook_id} is {notebook.status.state.value}; stop it before "
                        "changing its resources.",
                        notebook.status.state.value,
                    )
                spec.resources = self.planner.plan(body["resources"], runtime)
            if body.get("labels") is not None:
                labels = validation.parse_labels(body["labels"])
                if not principal.covers(_with_platform(notebook, labels)):
                    raise Forbidden(
                        f"This change would take notebook {notebook_id} out of the token's scope."
                    )
                spec.labels = labels
            if body.get("unsecureHttp") is not None:
                spec.unsecure_http = validation.optional_bool(body["unsecureHttp"], "unsecureHttp")
            if body.get("timeoutAutoRestart") is not None:
                spec.timeout_auto_restart = validation.optional_bool(
                    body["timeoutAutoRestart"], "timeoutAutoRestart"
                )
            self._save(notebook)
        log.info("notebook %s: spec edited", notebook_id)

    def cli_command(self, principal: Principal, body: JsonDict) -> str:
        """Return the ``ovhai notebook run`` line that would create this NotebookSpec."""
        spec = self._parse_spec(body, principal, self.runtime or _NO_GPU_RUNTIME)
        raw_resources = body.get("resources") or {}
        words = ["ovhai", "notebook", "run"]
        if raw_resources.get("flavor"):
            words += ["--flavor", spec.resources.flavor or ""]
        if spec.resources.gpu:
            words += ["--gpu", str(spec.resources.gpu)]
        else:
            words += ["--cpu", str(spec.resources.cpu)]
        words += ["--framework-version", spec.env.framework_version]
        if spec.name:
            words += ["--name", spec.name]
        for key, value in spec.labels.items():
            if not validation.is_platform_label(key):
                words += ["--label", f"{key}={value}"]
        for var in spec.env_vars:
            words += ["--envvar", f"{var.name}={var.value}"]
        if spec.unsecure_http:
            words.append("--unsecure-http")
        if spec.timeout_auto_restart is not None:
            words += ["--restart-on-timeout", str(spec.timeout_auto_restart).lower()]
        words += [spec.env.framework_id, spec.env.editor_id]
        return shlex.join(words)

    # Labels --------------------------------------------------------------------

    def set_label(
        self, principal: Principal, notebook_id: str, name: Any, value: Any
    ) -> None:
        """Add, change or (with a null value) remove one label of a notebook."""
        if not isinstance(name, str) or not name:
            raise InvalidRequest("'name' is required: the label name to set or remove.")
        if validation.is_platform_label(name):
            raise InvalidRequest(
                f"Label {name!r} belongs to the platform and cannot be changed."
            )
        if value is not None:
            if not isinstance(value, str):
                raise InvalidRequest(f"Label {name!r} must have a string value or null.")
            validation.check_label(name, value)

        with self._lock(notebook_id):
            notebook = self._load(notebook_id)
            self._check_operate(principal, notebook)
            labels = dict(notebook.spec.labels)
            if value is None:
                labels.pop(name, None)
            else:
                labels[name] = value
            if not principal.covers(_with_platform(notebook, labels)):
                raise Forbidden(
                    f"This change would take notebook {notebook_id} out of the token's scope."
                )
            notebook.spec.labels = labels
            self._save(notebook)
        log.info("notebook %s: label %s %s", notebook_id, name,
                 "removed" if value is None else "set")

    # Logs ----------------------------------------------------------------------

    def logs(
        self, principal: Principal, notebook_id: str, follow: bool, tail: int | None
    ) -> Iterator[bytes]:
        self.get(principal, notebook_id)
        return self._require_runtime().logs(notebook_id, follow=follow, tail=tail)

    # Reconciliation -------------------------------------------------------------

    def reconcile(self) -> None:
        """Bring every stored notebook in line with what Docker runs now.

        Called at daemon start and whenever the Docker event stream had to be
        reopened, since events may have been missed in between.
        """
        runtime = self.runtime
        if runtime is None:
            return
        for notebook in self._store.list_notebooks():
            try:
                self._reconcile_one(notebook.id, runtime)
            except LocalaiError as e:
                log.error("could not reconcile notebook %s: %s", notebook.id, e.message)

        known = {nb.id for nb in self._store.list_notebooks()}
        for orphan in sorted(runtime.managed_notebook_ids() - known):
            log.warning(
                "container localai-%s belongs to no stored notebook; it is left as is", orphan
            )

    def _reconcile_one(self, notebook_id: str, runtime: ContainerRuntime) -> None:
        with self._lock(notebook_id):
            notebook = self._store.get_notebook(notebook_id)
            if notebook is None:
                return
            seen = runtime.inspect(notebook_id)
            state = notebook.status.state
            if seen is not None:
                self._container_ids[notebook_id] = seen.id
                if state.is_active and seen.gpus:
                    self.planner.allocator.restore(notebook_id, list(seen.gpus))

            if state is NotebookState.DELETING:
                self._remove(notebook, runtime)
            elif state is NotebookState.STOPPING:
                self._spawn(self._finish_stop, notebook_id)
            elif state is NotebookState.STARTING:
                if seen is None:
                    self._spawn(self._launch, notebook_id)
                elif seen.running:
                    self._spawn(self._watch_start, notebook_id, seen)
                else:
                    self._container_gone(notebook_id, seen.id, seen)
            elif state.is_active:
                if seen is not None and seen.running and seen.host_port is not None:
                    self._ports[notebook_id] = seen.host_port
                    self._publish(notebook)
                else:
                    self._container_gone(notebook_id, seen.id if seen else "", seen)
            elif seen is not None and seen.running:
                log.warning("notebook %s is %s but its container runs; stopping it",
                            notebook_id, state.value)
                runtime.stop(notebook_id)

    def _check_operate(self, principal: Principal, notebook: Notebook) -> None:
        if not principal.covers(notebook.scope_labels):
            raise Forbidden(f"This token does not give access to notebook {notebook.id}.")
        if not principal.may_operate(notebook.scope_labels):
            raise Forbidden(
                f"A token with the read role cannot change notebook {notebook.id}; "
                "use an operator token."
            )


def principal_labels(principal: Principal) -> dict[str, str]:
    """Return the labels a notebook needs to be in the principal's scope."""
    return dict(principal.label_selector)


def _with_platform(notebook: Notebook, labels: dict[str, str]) -> dict[str, str]:
    """Return ``labels`` with the notebook's platform labels, as selectors see them."""
    return {**labels, "ovh/id": notebook.id, "ovh/type": "notebook"}


def _optional_flag(raw: Any, field: str) -> bool | None:
    return None if raw is None else validation.optional_bool(raw, field)


def _parse_env(env_body: dict[str, Any]) -> NotebookEnv:
    framework_id = validation.require_str(env_body, "frameworkId", "env")
    editor_id = validation.require_str(env_body, "editorId", "env")
    try:
        framework = catalog.get_framework(framework_id)
        catalog.get_editor(editor_id)
    except NotFound as e:
        raise InvalidRequest(e.message) from e

    version = env_body.get("frameworkVersion") or framework.default_version
    if not isinstance(version, str):
        raise InvalidRequest("'env.frameworkVersion' must be a string.")
    framework.find_version(version)
    return NotebookEnv(framework_id=framework_id, framework_version=version, editor_id=editor_id)


def _image_not_built(image: str, env: NotebookEnv) -> ImageNotBuilt:
    return ImageNotBuilt(
        image, catalog.build_command(env.framework_id, env.editor_id, env.framework_version)
    )


def _with_output(message: str, lines: list[str]) -> str:
    if not lines:
        return message
    return f"{message} Last output: {' | '.join(lines[-5:])}"


class _NoGpuRuntime:
    """Stands in for Docker while it is unreachable: it can attach no GPU."""

    def gpu_support(self) -> bool:
        return False


_NO_GPU_RUNTIME = _NoGpuRuntime()
