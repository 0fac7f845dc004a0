"""App tokens: create, list, renew and delete them, and verify the values clients send.

A token value is a JWS signed with the project's Ed25519 key whose ``jti``
is ``<token id>-<version>``. The daemon never stores a value: it keeps the
SHA-256 of the current one, so a value is accepted only while its token
exists, its version is the current one and its hash matches. Renewing or
deleting a token therefore revokes the old value at once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from localai import tokens, validation
from localai.access import Principal, Role, TokenKind, TokenVerifier
from localai.errors import Forbidden, InvalidRequest, NotFound
from localai.models import JsonDict, format_timestamp, now_ns
from localai.project import Credentials
from localai.store import Store, TokenRecord

log = logging.getLogger(__name__)

MAX_TOKEN_NAME_LENGTH = 255
# CLI role names and the API roles they stand for.
CLI_ROLES = {"read": Role.READ, "operator": Role.OPERATOR}


def parse_role(raw: object) -> Role:
    """Accept the API roles and the CLI's short names; raise InvalidRequest otherwise."""
    if isinstance(raw, str):
        if raw in CLI_ROLES:
            return CLI_ROLES[raw]
        if raw in (Role.READ.value, Role.OPERATOR.value):
            return Role(raw)
    raise InvalidRequest(
        f"Invalid role {raw!r}: use ai_training_read or ai_training_operator "
        "(CLI: --role read or --role operator)."
    )


def token_to_api(record: TokenRecord, value: str | None = None) -> JsonDict:
    """Return the API's Token object; ``value`` is only given by create and renew."""
    return {
        "id": record.id,
        "createdAt": format_timestamp(record.created_ns),
        "updatedAt": format_timestamp(record.updated_ns),
        "spec": {
            "name": record.name,
            "role": record.role,
            "labelSelector": record.label_selector,
        },
        "status": {"value": value, "version": record.version},
    }


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class TokenService(TokenVerifier):
    """Owns the project's app tokens."""

    def __init__(self, store: Store, key: Ed25519PrivateKey, credentials: Credentials) -> None:
        self._store = store
        self._key = key
        self._credentials = credentials
        self._lock = threading.Lock()

    # Management ----------------------------------------------------------------

    def _require_user(self, principal: Principal) -> None:
        if not principal.is_user:
            raise Forbidden("App tokens cannot manage tokens; use the project user's login.")

    def create(self, principal: Principal, body: JsonDict) -> tuple[TokenRecord, str]:
        """Create a token from a TokenSpec body; return it with its value, shown once."""
        self._require_user(principal)
        if not isinstance(body, dict):
            raise InvalidRequest("The request body must be a TokenSpec JSON object.")
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_TOKEN_NAME_LENGTH:
            raise InvalidRequest(
                f"'name' is required: a string of 1 to {MAX_TOKEN_NAME_LENGTH} characters."
            )
        role = parse_role(body.get("role"))
        selector = body.get("labelSelector")
        if selector in (None, ""):
            selector = None
        elif not isinstance(selector, str):
            raise InvalidRequest("'labelSelector' must be a string such as team=vision.")
        else:
            validation.parse_selector(selector)

        moment = now_ns()
        record = TokenRecord(
            id=str(uuid.uuid4()), name=name, role=role.value, label_selector=selector,
            version=1, created_ns=moment, updated_ns=moment, verifier="",
        )
        with self._lock:
            value = self._issue(record)
        log.info("created app token %s (%s, role %s)", record.id, record.name, record.role)
        return record, value

    def _issue(self, record: TokenRecord) -> str:
        value = tokens.sign_app_token(
            self._key, self._credentials.project_id, f"{record.id}-{record.version}",
            self._credentials.user_id,
        )
        record.verifier = _fingerprint(value)
        self._store.put_token(record)
        return value

    def list(self, principal: Principal) -> list[TokenRecord]:
        self._require_user(principal)
        return self._store.list_tokens()

    def get(self, principal: Principal, token_id: str) -> TokenRecord:
        self._require_user(principal)
        record = self._store.get_token(token_id)
        if record is None:
            raise NotFound(f"Token {token_id} not found. Run 'localai token list' to see tokens.")
        return record

    def renew(self, principal: Principal, token_id: str) -> tuple[TokenRecord, str]:
        """Issue a new value with the next version; the previous value stops working."""
        with self._lock:
            record = self.get(principal, token_id)
            record.version += 1
            record.updated_ns = now_ns()
            value = self._issue(record)
        log.info("renewed app token %s to version %d", record.id, record.version)
        return record, value

    def delete(self, principal: Principal, token_id: str) -> None:
        with self._lock:
            self.get(principal, token_id)
            self._store.delete_token(token_id)
        log.info("deleted app token %s", token_id)

    # Verification ------------------------------------------------------------

    def verify(self, value: str) -> Principal | None:
        """Return the principal of a token value, or None if it is not a current token."""
        claims = tokens.read_app_token(self._key, value)
        if claims is None or claims["project"] != self._credentials.project_id:
            return None
        token_id, _, version = claims["jti"].rpartition("-")
        record = self._store.get_token(token_id)
        if record is None or str(record.version) != version:
            return None
        if not hmac.compare_digest(record.verifier, _fingerprint(value)):
            return None
        return _principal(record)

    def current(self, token_id: str, version: str) -> Principal | None:
        """Return the principal of a token if ``version`` is still its current version."""
        record = self._store.get_token(token_id)
        if record is None or str(record.version) != version:
            return None
        return _principal(record)


def _principal(record: TokenRecord) -> Principal:
    selector = validation.parse_selector(record.label_selector) if record.label_selector else []
    return Principal(
        name=record.name,
        role=Role(record.role),
        kind=TokenKind.APP,
        credential_id=record.id,
        credential_version=str(record.version),
        label_selector=tuple(selector),
    )
