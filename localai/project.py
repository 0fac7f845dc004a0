"""The local project: its id, its one user, that user's secrets and the keys.

Everything is created on the daemon's first start and kept in the data
directory. The credentials file holds the password and the API token the
CLI reads, so only its owner may read it (mode 0600).
"""

from __future__ import annotations

import json
import logging
import secrets
import string
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from localai import tokens
from localai.config import Settings

log = logging.getLogger(__name__)

_ALPHANUMERIC = string.ascii_letters + string.digits
API_TOKEN_PREFIX = "lai_"


@dataclass(frozen=True)
class Credentials:
    """The project and its user, as stored in the credentials file."""

    project_id: str
    user_id: str
    username: str
    password: str
    api_token: str


def _random_text(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


def new_credentials() -> Credentials:
    """Create a project id, a ``user-`` + 12 alphanumerics user, a password and an API token."""
    return Credentials(
        project_id=str(uuid.uuid4()),
        user_id=str(uuid.uuid4()),
        username="user-" + _random_text(12),
        password=_random_text(24),
        api_token=API_TOKEN_PREFIX + secrets.token_urlsafe(32),
    )


def read_credentials(path: Path) -> Credentials:
    """Read the credentials file; raises FileNotFoundError before the first daemon start."""
    data = json.loads(path.read_text())
    return Credentials(**{key: data[key] for key in Credentials.__dataclass_fields__})


def ensure_project(settings: Settings) -> Credentials:
    """Create the data directory, credentials, signing key and session key when missing.

    Returns the project's credentials. Each file is created only if absent, so
    an existing project keeps its identity across daemon restarts.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)

    if not settings.credentials_file.exists():
        credentials = new_credentials()
        payload = json.dumps(asdict(credentials), indent=2) + "\n"
        tokens.write_private_file(settings.credentials_file, payload.encode())
        log.info("created project %s with user %s", credentials.project_id, credentials.username)

    if not settings.signing_key_file.exists():
        tokens.create_signing_key(settings.signing_key_file)

    if not settings.session_key_file.exists():
        tokens.write_private_file(settings.session_key_file, secrets.token_bytes(32))

    return read_credentials(settings.credentials_file)
