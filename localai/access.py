"""Principals, roles and access decisions for the API and the notebook URLs.

A principal is whoever a request authenticates as: the project user (by
API token, or by username and password on a notebook's login page) or an
app token. Session cookies of notebook URLs are HMAC-signed records bound
to one notebook and to the credential behind them, so that changing or
revoking that credential ends the session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from localai.project import Credentials

# A session cookie older than this is refused even if its credential is still valid.
SESSION_MAX_AGE_SECONDS = 7 * 24 * 3600


class Role(str, Enum):
    """Roles of the cloud API, as stored and returned by ``/v1/me`` and ``/v1/token``."""

    ADMINISTRATOR = "administrator"
    OPERATOR = "ai_training_operator"
    READ = "ai_training_read"


class TokenKind(str, Enum):
    """Kind of credential the principal authenticated with, as ``/v1/me`` reports it."""

    OAUTH = "oauth"
    APP = "app"


@dataclass(frozen=True)
class Principal:
    """The identity behind a request."""

    name: str
    role: Role
    kind: TokenKind
    credential_id: str
    """``user`` for the project user, the token id for an app token."""
    credential_version: str
    """Changes when the credential is renewed, which ends sessions bound to it."""
    label_selector: tuple[tuple[str, str], ...] = field(default=())
    """Pairs a notebook's labels must all match; empty means every notebook."""

    @property
    def is_user(self) -> bool:
        return self.kind is TokenKind.OAUTH

    def covers(self, labels: Mapping[str, str]) -> bool:
        """Return whether a resource with these labels is in this principal's scope."""
        return all(labels.get(key) == value for key, value in self.label_selector)

    def may_open(self, labels: Mapping[str, str]) -> bool:
        """Return whether this principal may use the URL of a notebook with these labels."""
        return self.covers(labels)

    def may_operate(self, labels: Mapping[str, str]) -> bool:
        """Return whether this principal may change a notebook with these labels."""
        return self.role is not Role.READ and self.covers(labels)


def user_principal(credentials: Credentials) -> Principal:
    """Return the principal of the project user; its version follows the password."""
    digest = hashlib.sha256(credentials.password.encode()).hexdigest()[:16]
    return Principal(
        name=credentials.username,
        role=Role.ADMINISTRATOR,
        kind=TokenKind.OAUTH,
        credential_id="user",
        credential_version=digest,
    )


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Issues and checks the session cookies of notebook URLs."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _signature(self, payload: str) -> str:
        return _b64encode(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def issue(self, principal: Principal, notebook_id: str, at: float | None = None) -> str:
        """Return a cookie value that names the notebook and the credential behind it."""
        record = {
            "n": notebook_id,
            "c": principal.credential_id,
            "v": principal.credential_version,
            "t": int(time.time() if at is None else at),
        }
        payload = _b64encode(json.dumps(record, separators=(",", ":")).encode())
        return f"{payload}.{self._signature(payload)}"

    def read(self, value: str, notebook_id: str, at: float | None = None) -> tuple[str, str] | None:
        """Return ``(credential_id, credential_version)`` of a valid cookie for this notebook.

        Returns None when the signature, the notebook or the age does not match.
        """
        payload, _, signature = value.partition(".")
        if not payload or not hmac.compare_digest(signature, self._signature(payload)):
            return None
        try:
            record = json.loads(_b64decode(payload))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(record, dict) or record.get("n") != notebook_id:
            return None
        issued = record.get("t")
        now = time.time() if at is None else at
        if not isinstance(issued, int) or now - issued > SESSION_MAX_AGE_SECONDS:
            return None
        credential_id, version = record.get("c"), record.get("v")
        if not isinstance(credential_id, str) or not isinstance(version, str):
            return None
        return credential_id, version


class Authenticator:
    """Turns the credentials a request carries into a principal.

    App tokens are checked by ``token_verifier`` when one is set; until then
    only the project user authenticates.
    """

    def __init__(self, credentials: Credentials, session_key: bytes) -> None:
        self._credentials = credentials
        self._user = user_principal(credentials)
        self.sessions = SessionSigner(session_key)
        self.token_verifier: TokenVerifier | None = None

    @property
    def user(self) -> Principal:
        return self._user

    def authenticate_bearer(self, value: str) -> Principal | None:
        """Return the principal of an ``Authorization: Bearer`` value, or None."""
        if hmac.compare_digest(value.encode(), self._credentials.api_token.encode()):
            return self._user
        if self.token_verifier is not None:
            return self.token_verifier.verify(value)
        return None

    def authenticate_password(self, username: str, password: str) -> Principal | None:
        """Return the project user when the username and password match, else None."""
        name_ok = hmac.compare_digest(username.encode(), self._credentials.username.encode())
        password_ok = hmac.compare_digest(password.encode(), self._credentials.password.encode())
        return self._user if name_ok and password_ok else None

    def principal_for_credential(self, credential_id: str, version: str) -> Principal | None:
        """Return the principal behind a session cookie if its credential is still current."""
        if credential_id == "user":
            return self._user if version == self._user.credential_version else None
        if self.token_verifier is not None:
            return self.token_verifier.current(credential_id, version)
        return None

    def authenticate_session(self, cookie: str, notebook_id: str) -> Principal | None:
        """Return the principal of a notebook session cookie, or None."""
        found = self.sessions.read(cookie, notebook_id)
        if found is None:
            return None
        return self.principal_for_credential(*found)


class TokenVerifier:
    """Verifies app tokens; implemented by the token service."""

    def verify(self, value: str) -> Principal | None:  # pragma: no cover - interface
        raise NotImplementedError

    def current(self, token_id: str, version: str) -> Principal | None:  # pragma: no cover
        raise NotImplementedError
