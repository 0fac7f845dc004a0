"""Authentication of notebook URLs: credentials of a request, login and logout.

A browser logs in once per notebook host and gets a session cookie bound to
that notebook. The cookie has no Domain attribute, so browsers send it back
only to the host that set it and never to another notebook. Programs send
``Authorization: Bearer <token>`` with every request instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from localai.access import Authenticator, Principal
from localai.proxy import pages
from localai.proxy.forwarding import SESSION_COOKIE
from localai.proxy.routing import NotebookRoute

log = logging.getLogger(__name__)

# Session cookies carry no Max-Age, so they end with the browser session; the
# signed value also expires on the server after localai.access.SESSION_MAX_AGE_SECONDS.
_SESSION_COOKIE_ATTRIBUTES = "Path=/; HttpOnly; SameSite=Lax"

INVALID_PASSWORD = "Invalid username or password."
INVALID_TOKEN = "Invalid token."


@dataclass(frozen=True)
class RequestCredentials:
    """The credentials a request carries; a bearer token wins over a cookie."""

    bearer: str | None
    session: str | None


def read_credentials(request: web.BaseRequest) -> RequestCredentials:
    """Return the bearer token and session cookie of a request, each None when absent."""
    bearer = None
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            bearer = value.strip()

    session = None
    if "Cookie" in request.headers:
        session = request.cookies.get(SESSION_COOKIE) or None
    return RequestCredentials(bearer=bearer, session=session)


def session_cookie_header(value: str) -> str:
    """Return a Set-Cookie value for a host-only session cookie."""
    return f"{SESSION_COOKIE}={value}; {_SESSION_COOKIE_ATTRIBUTES}"


def expired_session_cookie_header() -> str:
    """Return a Set-Cookie value that makes the browser delete the session cookie."""
    return f"{SESSION_COOKIE}=; Max-Age=0; {_SESSION_COOKIE_ATTRIBUTES}"


def safe_next_path(value: str | None) -> str:
    """Return ``value`` if it is a path on this host, else ``/``.

    Only a path that starts with exactly one ``/`` is accepted: ``//host`` and
    ``/\\host`` are taken by browsers as another host, which would make the
    login form an open redirect. Backslashes and control characters are
    rejected anywhere.
    """
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value or any(ord(character) < 0x20 or ord(character) == 0x7F for character in value):
        return "/"
    return value


def authenticate(
    authenticator: Authenticator, request: web.BaseRequest, route: NotebookRoute
) -> Principal | web.Response:
    """Return the principal allowed to open this notebook, or the page to respond with instead.

    The page is the login form (401) without valid credentials, and 403 when
    the credentials are valid but their label selector does not cover the
    notebook.
    """
    credentials = read_credentials(request)
    next_path = safe_next_path(request.raw_path)

    if credentials.bearer is not None:
        principal = authenticator.authenticate_bearer(credentials.bearer)
        if principal is None:
            return pages.login_page(
                401, route.notebook_id, next_path, token_mode=True, message=INVALID_TOKEN
            )
    elif credentials.session is not None:
        principal = authenticator.authenticate_session(credentials.session, route.notebook_id)
        if principal is None:
            # The cookie was signed for another notebook, expired, or its credential changed.
            response = pages.login_page(401, route.notebook_id, next_path)
            response.headers.add("Set-Cookie", expired_session_cookie_header())
            return response
    else:
        return pages.login_page(401, route.notebook_id, next_path)

    if not principal.may_open(route.labels):
        return pages.forbidden_page()
    return principal


def show_login(request: web.BaseRequest, route: NotebookRoute) -> web.Response:
    """Handle ``GET /_localai/login``: render the form, in token mode with ``?mode=token``."""
    token_mode = request.query.get("mode") == "token"
    next_path = safe_next_path(request.query.get("next"))
    return pages.login_page(200, route.notebook_id, next_path, token_mode=token_mode)


async def submit_login(
    authenticator: Authenticator, request: web.BaseRequest, route: NotebookRoute
) -> web.Response:
    """Handle ``POST /_localai/login``: check the form and set the session cookie.

    Success redirects (303) to the form's ``next`` path. Wrong credentials get
    the form again with 401, and valid credentials that do not cover the
    notebook get 403.
    """
    form = await request.post()
    next_path = safe_next_path(_form_text(form.get("next")))
    token = _form_text(form.get("token"))

    if token is not None:
        principal = authenticator.authenticate_bearer(token)
        failure_message = INVALID_TOKEN
    else:
        username = _form_text(form.get("username")) or ""
        password = _form_text(form.get("password")) or ""
        principal = authenticator.authenticate_password(username, password)
        failure_message = INVALID_PASSWORD

    if principal is None:
        log.debug("login failed on notebook %s", route.notebook_id)
        return pages.login_page(
            401, route.notebook_id, next_path, token_mode=token is not None,
            message=failure_message,
        )
    if not principal.may_open(route.labels):
        return pages.forbidden_page()

    cookie = authenticator.sessions.issue(principal, route.notebook_id)
    response = web.Response(status=303, headers={"Location": next_path})
    response.headers.add("Set-Cookie", session_cookie_header(cookie))
    response.headers["Cache-Control"] = "no-store"
    return response


def logout() -> web.Response:
    """Handle ``/_localai/logout``: delete the session cookie and redirect to the login form."""
    response = web.Response(status=303, headers={"Location": pages.LOGIN_PATH})
    response.headers.add("Set-Cookie", expired_session_cookie_header())
    response.headers["Cache-Control"] = "no-store"
    return response


def _form_text(value: object) -> str | None:
    """Return a form field's text; file uploads and missing fields give None."""
    return value if isinstance(value, str) else None
