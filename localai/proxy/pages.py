"""HTML pages that the data plane serves itself: login, errors, unavailable notebooks.

Every value interpolated into a page is HTML-escaped here; the templates in
``templates/`` contain only ``$name`` placeholders.
"""

from __future__ import annotations

import functools
import html
from importlib import resources
from string import Template
from urllib.parse import quote

from aiohttp import web

from localai.models import NotebookState

LOGIN_PATH = "/_localai/login"
LOGOUT_PATH = "/_localai/logout"

# Seconds a browser should wait before retrying a notebook that is starting.
STARTING_RETRY_SECONDS = 5

# The pages load nothing from elsewhere, and no other site may frame them
# (which would allow clickjacking of the login form).
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@functools.cache
def _template(name: str) -> Template:
    text = resources.files("localai.proxy").joinpath("templates", name).read_text("utf-8")
    return Template(text)


def _escape(value: str) -> str:
    return html.escape(value, quote=True)


def html_response(
    status: int, title: str, content: str, *, head_extra: str = ""
) -> web.Response:
    """Wrap an HTML fragment (already escaped) in the page layout."""
    body = _template("page.html").substitute(
        title=_escape(title), content=content, head_extra=head_extra
    )
    return web.Response(
        status=status, text=body, content_type="text/html", charset="utf-8",
        headers=_PAGE_HEADERS,
    )


def _message_page(status: int, title: str, *paragraphs: str) -> web.Response:
    content = f"<h1>{_escape(title)}</h1>\n" + "".join(
        f"<p>{_escape(paragraph)}</p>\n" for paragraph in paragraphs
    )
    return html_response(status, title, content)


def login_page(
    status: int, notebook_id: str, next_path: str, *, token_mode: bool = False,
    message: str | None = None,
) -> web.Response:
    """Render the login form: username and password, or an access token when ``token_mode``.

    Both forms are in the page and an inline script switches between them;
    without scripts the switch links load ``/_localai/login?mode=token`` or
    ``?mode=password`` instead.
    """
    encoded_next = quote(next_path, safe="")
    message_html = f'<p class="error">{_escape(message)}</p>' if message else ""
    content = _template("login.html").substitute(
        notebook_id=_escape(notebook_id),
        message_html=message_html,
        next=_escape(next_path),
        token_href=_escape(f"{LOGIN_PATH}?mode=token&next={encoded_next}"),
        password_href=_escape(f"{LOGIN_PATH}?mode=password&next={encoded_next}"),
        password_hidden=" hidden" if token_mode else "",
        token_hidden="" if token_mode else " hidden",
    )
    return html_response(status, "Connect to notebook", content)


def not_found_page(notebook_id: str) -> web.Response:
    """404 for a notebook host whose id names no notebook."""
    return _message_page(
        404,
        f"No notebook {notebook_id}",
        "Run 'localai notebook list' to see the notebooks of this project.",
    )


def reserved_path_not_found(path: str) -> web.Response:
    """404 for a path under ``/_localai/`` that the data plane does not serve."""
    return _message_page(404, "Page not found", f"No page at {path}.")


def forbidden_page() -> web.Response:
    """403 for credentials that are valid but do not cover this notebook."""
    return _message_page(
        403, "Access denied", "These credentials do not give access to this notebook."
    )


def unavailable_page(notebook_id: str, state: NotebookState) -> web.Response:
    """503 for a notebook that exists but is not serving; names its state."""
    title = f"Notebook {notebook_id} is {state.value}"
    if state.is_stopped:
        hint = f"Start it with: localai notebook start {notebook_id}"
    elif state.is_active:
        hint = "Its editor is not ready yet. This page reloads by itself."
    else:
        hint = f"See its state with: localai notebook get {notebook_id}"

    content = f"<h1>{_escape(title)}.</h1>\n<p>{_escape(hint)}</p>\n"
    if not state.is_active:
        return html_response(503, title, content)

    refresh = f'<meta http-equiv="refresh" content="{STARTING_RETRY_SECONDS}">\n'
    response = html_response(503, title, content, head_extra=refresh)
    response.headers["Retry-After"] = str(STARTING_RETRY_SECONDS)
    return response


def bad_gateway_page(notebook_id: str) -> web.Response:
    """502 for an editor that refused or dropped the connection."""
    return _message_page(
        502,
        f"The editor of notebook {notebook_id} is not answering",
        f"Try again in a few seconds. If this persists, read its logs with: "
        f"localai notebook logs {notebook_id}",
    )


def websocket_rejected_page(notebook_id: str, status: int) -> web.Response:
    """Pass on the status of an editor that refused a WebSocket handshake."""
    return _message_page(
        status,
        "WebSocket rejected",
        f"The editor of notebook {notebook_id} rejected the WebSocket handshake "
        f"with HTTP status {status}.",
    )
