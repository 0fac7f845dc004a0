"""Checks of request bodies and query values, shared by the API and the CLI.

Each function raises InvalidRequest with a message that names the field,
the value and what is accepted, and returns typed values.
"""

from __future__ import annotations

import re
from typing import Any

from localai.errors import InvalidRequest
from localai.models import EnvVar

MAX_GPU = 4
MAX_CPU = 12
MAX_NAME_LENGTH = 255
MAX_LABELS = 64
PLATFORM_LABEL_PREFIX = "ovh/"

# Label keys and values follow the Kubernetes rules the cloud's selectors use:
# a key is an optional DNS-style prefix and a name, a value is a short word.
_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_label(key: str, value: str) -> None:
    """Raise InvalidRequest unless ``key=value`` is a valid label."""
    if len(key) > 253 or not _LABEL_KEY.match(key):
        raise InvalidRequest(
            f"Invalid label name {key!r}: use letters, digits, '-', '_' and '.', starting and "
            "ending with a letter or digit, with an optional 'prefix/' (at most 253 characters)."
        )
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise InvalidRequest(
            f"Invalid value {value!r} of label {key!r}: use 1 to 63 letters, digits, '-', '_' "
            "and '.', starting and ending with a letter or digit."
        )


def is_platform_label(key: str) -> bool:
    """Return whether a label key is reserved for the platform (``ovh/...``)."""
    return key.startswith(PLATFORM_LABEL_PREFIX)


def parse_labels(raw: Any, field: str = "labels") -> dict[str, str]:
    """Return the labels of a request body, without the platform's ``ovh/`` keys."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidRequest(f"'{field}' must be an object of label names to values.")
    if len(raw) > MAX_LABELS:
        raise InvalidRequest(f"'{field}' has {len(raw)} labels; at most {MAX_LABELS} are allowed.")

    labels: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(value, str):
            raise InvalidRequest(f"Label {key!r} must have a string value, got {value!r}.")
        check_label(key, value)
        if not is_platform_label(key):
            labels[key] = value
    return labels


def parse_env_vars(raw: Any) -> list[EnvVar]:
    """Return the ``envVars`` of a notebook spec."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidRequest("'envVars' must be a list of {\"name\": ..., \"value\": ...} objects.")

    env_vars: list[EnvVar] = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidRequest(f"Invalid envVars item {item!r}: it needs a string 'name'.")
        name, value = item["name"], item.get("value", "")
        if not _ENV_NAME.match(name):
            raise InvalidRequest(
                f"Invalid environment variable name {name!r}: use letters, digits and '_', "
                "not starting with a digit."
            )
        if not isinstance(value, str):
            raise InvalidRequest(f"Environment variable {name!r} must have a string value.")
        env_vars.append(EnvVar(name=name, value=value))
    return env_vars


def optional_int(raw: Any, field: str) -> int | None:
    """Return an integer field that may be absent; booleans are not integers here."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise InvalidRequest(f"'{field}' must be an integer, got {raw!r}.")
    return raw


def check_gpu_count(gpu: int) -> None:
    if not 0 <= gpu <= MAX_GPU:
        raise InvalidRequest(
            f"Invalid GPU count {gpu}: a notebook may have 0 to {MAX_GPU} GPUs."
        )


def check_cpu_count(cpu: int) -> None:
    if not 1 <= cpu <= MAX_CPU:
        raise InvalidRequest(
            f"Invalid CPU count {cpu}: a notebook may have 1 to {MAX_CPU} CPUs."
        )


def require_str(body: dict[str, Any], key: str, where: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"'{where}.{key}' is required and must be a non-empty string.")
    return value


def optional_bool(raw: Any, field: str, default: bool = False) -> bool:
    if raw is None:
        return default
    if not isinstance(raw, bool):
        raise InvalidRequest(f"'{field}' must be true or false, got {raw!r}.")
    return raw


def query_bool(raw: str | None, field: str, default: bool = False) -> bool:
    """Parse a boolean query parameter (``true``/``false``, ``1``/``0``)."""
    if raw is None or raw == "":
        return default
    lowered = raw.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise InvalidRequest(f"Query parameter '{field}' must be true or false, got {raw!r}.")


def query_int(raw: str | None, field: str, default: int, minimum: int, maximum: int) -> int:
    """Parse an integer query parameter within bounds."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest(
            f"Query parameter '{field}' must be an integer, got {raw!r}."
        ) from None
    if not minimum <= value <= maximum:
        raise InvalidRequest(
            f"Query parameter '{field}' must be between {minimum} and {maximum}, got {value}."
        )
    return value


def parse_selector(text: str) -> list[tuple[str, str]]:
    """Parse ``k=v[,k=v...]`` strictly: no empty pairs, keys, values or spaces."""
    pairs: list[tuple[str, str]] = []
    for pair in text.split(","):
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            raise InvalidRequest(
                f"Invalid label selector {text!r}: write name=value pairs separated by commas, "
                "for example subject=image-recognition,team=vision."
            )
        check_label(key, value)
        if any(key == seen for seen, _ in pairs):
            raise InvalidRequest(f"Invalid label selector {text!r}: {key!r} appears twice.")
        pairs.append((key, value))
    return pairs
