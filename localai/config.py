"""Typed settings shared by the daemon and the CLI.

Both read the same environment variables so that ``LOCALAI_DATA_DIR`` and
``LOCALAI_PORT`` point the CLI at the daemon they started.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

DEFAULT_PORT = 8300
DEFAULT_BIND = "127.0.0.1"
DEFAULT_IMAGE_PREFIX = "localai"


class GpuMode(str, Enum):
    """GPU mode: the way the daemon gives GPUs to notebooks."""

    AUTO = "auto"
    NVIDIA = "nvidia"
    EMULATE = "emulate"
    NONE = "none"


def default_data_dir() -> Path:
    """Return ``$XDG_DATA_HOME/localai``, or ``~/.local/share/localai`` without it."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "localai"


@dataclass(frozen=True)
class Settings:
    """Settings of one daemon and of the CLI that talks to it."""

    data_dir: Path = field(default_factory=default_data_dir)
    """Folder with the state file, keys, credentials, pid file and daemon log."""

    port: int = DEFAULT_PORT
    """TCP port of the API and of every notebook URL."""

    bind: str = DEFAULT_BIND
    """Address the daemon listens on; loopback unless the user asks otherwise."""

    image_prefix: str = DEFAULT_IMAGE_PREFIX
    """Repository prefix of notebook images: ``<prefix>/<framework>-<editor>:<version>``."""

    gpu_mode: GpuMode = GpuMode.AUTO
    """auto: NVIDIA GPUs when Docker can attach them; nvidia, emulate or none force a mode."""

    start_timeout: float = 180.0
    """Seconds a notebook may stay STARTING before its editor must respond to HTTP."""

    emulated_gpus: int = 4
    """Number of GPUs GPU emulation mode offers (the cloud's default quota is 4)."""

    emulated_gpu_model: str = "Tesla-V100S"
    """GPU model that GPU emulation mode reports."""

    emulated_gpu_memory: int = 32 * 1024**3
    """Memory in bytes of each emulated GPU."""

    gpu_inventory_file: Path | None = None
    """JSON list of GPUs used instead of NVML's inventory (for tests on hosts without GPUs)."""

    @property
    def state_file(self) -> Path:
        return self.data_dir / "state.json"

    @property
    def credentials_file(self) -> Path:
        return self.data_dir / "credentials.json"

    @property
    def signing_key_file(self) -> Path:
        return self.data_dir / "signing-key.pem"

    @property
    def session_key_file(self) -> Path:
        return self.data_dir / "session.key"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "daemon.pid"

    @property
    def runtime_file(self) -> Path:
        """JSON with the running daemon's pid, port and bind address."""
        return self.data_dir / "daemon.json"

    @property
    def lock_file(self) -> Path:
        return self.data_dir / "daemon.lock"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "daemon.log"

    @property
    def api_url(self) -> str:
        return f"http://localhost:{self.port}"

    def notebook_url(self, notebook_id: str) -> str:
        return f"http://{notebook_id}.notebook.localhost:{self.port}"

    def monitoring_url(self, notebook_id: str, from_ms: int) -> str:
        return (
            f"http://monitoring.localhost:{self.port}/d/gpu"
            f"?var-notebook={notebook_id}&from={from_ms}"
        )

    def with_overrides(
        self, *, data_dir: Path | None = None, port: int | None = None
    ) -> Settings:
        """Return a copy with the given fields replaced where they are not None."""
        changes: dict[str, object] = {}
        if data_dir is not None:
            changes["data_dir"] = data_dir
        if port is not None:
            changes["port"] = port
        return replace(self, **changes)  # type: ignore[arg-type]


def _port_from_env(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise ValueError(f"LOCALAI_PORT must be a TCP port number, got {value!r}") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"LOCALAI_PORT must be between 1 and 65535, got {port}")
    return port


def _int_from_env(name: str, env: dict[str, str] | os._Environ[str], low: int, high: int) -> int:
    try:
        value = int(env[name])
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {env[name]!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from ``LOCALAI_*`` environment variables over the defaults.

    Raises ValueError naming the variable when one has an invalid value.
    """
    env = os.environ if environ is None else environ
    settings = Settings()
    changes: dict[str, object] = {}

    if env.get("LOCALAI_DATA_DIR"):
        changes["data_dir"] = Path(env["LOCALAI_DATA_DIR"]).expanduser()
    if env.get("LOCALAI_PORT"):
        changes["port"] = _port_from_env(env["LOCALAI_PORT"])
    if env.get("LOCALAI_BIND"):
        changes["bind"] = env["LOCALAI_BIND"]
    if env.get("LOCALAI_IMAGE_PREFIX"):
        changes["image_prefix"] = env["LOCALAI_IMAGE_PREFIX"]
    if env.get("LOCALAI_GPU_MODE"):
        try:
            changes["gpu_mode"] = GpuMode(env["LOCALAI_GPU_MODE"])
        except ValueError:
            modes = ", ".join(m.value for m in GpuMode)
            raise ValueError(
                f"LOCALAI_GPU_MODE must be one of {modes}, got {env['LOCALAI_GPU_MODE']!r}"
            ) from None
    if env.get("LOCALAI_START_TIMEOUT"):
        changes["start_timeout"] = float(env["LOCALAI_START_TIMEOUT"])
    if env.get("LOCALAI_EMULATED_GPUS"):
        changes["emulated_gpus"] = _int_from_env("LOCALAI_EMULATED_GPUS", env, 0, 64)
    if env.get("LOCALAI_EMULATED_GPU_MODEL"):
        changes["emulated_gpu_model"] = env["LOCALAI_EMULATED_GPU_MODEL"]
    if env.get("LOCALAI_EMULATED_GPU_MEMORY_GIB"):
        gib = _int_from_env("LOCALAI_EMULATED_GPU_MEMORY_GIB", env, 1, 4096)
        changes["emulated_gpu_memory"] = gib * 1024**3
    if env.get("LOCALAI_GPU_INVENTORY"):
        changes["gpu_inventory_file"] = Path(env["LOCALAI_GPU_INVENTORY"])

    return replace(settings, **changes)  # type: ignore[arg-type]
