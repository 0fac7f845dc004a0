"""Authentication of API requests by ``Authorization: Bearer`` header."""

from __future__ import annotations

from flask import current_app, g, request

from localai.access import Principal
from localai.errors import Unauthorized

# Paths served without credentials: liveness and the monitoring placeholder page.
PUBLIC_PATHS = frozenset({"/health", "/"})


def authenticate_request() -> None:
    """Store the caller's principal in ``g.principal``; raise Unauthorized under /v1."""
    g.principal = None
    if not request.path.startswith("/v1/") and request.path != "/v1":
        return

    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized()
    principal = current_app.extensions["localai"].authenticator.authenticate_bearer(value.strip())
    if principal is None:
        raise Unauthorized()
    g.principal = principal


def principal() -> Principal:
    """Return the principal of the current request (set by authenticate_request)."""
    found: Principal | None = g.get("principal")
    if found is None:
        raise Unauthorized()
    return found
