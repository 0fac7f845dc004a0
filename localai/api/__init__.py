"""The control plane: a Flask application serving the cloud's REST API under ``/v1``.

Errors raised by the services become ``{"message": ...}`` JSON bodies with
the status code of their class, in the one error handler registered here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from localai.access import Authenticator
from localai.api import (
    auth,
    capabilities,
    deprecated,
    flavors,
    notebooks,
    openapi,
    system,
    tokens,
)
from localai.app_tokens import TokenService
from localai.config import Settings
from localai.errors import LocalaiError
from localai.models import JsonDict
from localai.notebooks import NotebookService
from localai.project import Credentials

log = logging.getLogger(__name__)


@dataclass
class ApiContext:
    """Services the request handlers use, stored in ``app.extensions["localai"]``."""

    settings: Settings
    credentials: Credentials
    authenticator: Authenticator
    notebooks: NotebookService
    tokens: TokenService
    health: Callable[[], JsonDict]


def create_app(context: ApiContext) -> Flask:
    """Build the Flask application of the control plane."""
    app = Flask("localai.api")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["localai"] = context

    app.before_request(auth.authenticate_request)
    app.before_request(openapi.check_request)
    app.register_blueprint(system.blueprint)
    app.register_blueprint(notebooks.blueprint)
    app.register_blueprint(capabilities.blueprint)
    app.register_blueprint(tokens.blueprint)
    app.register_blueprint(flavors.blueprint)
    app.register_blueprint(deprecated.blueprint)
    document = openapi.build_document
    app.add_url_rule("/openapi.json", "openapi", lambda: jsonify(document(app)))
    app.register_error_handler(LocalaiError, _localai_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _localai_error(error: LocalaiError) -> ResponseReturnValue:
    if error.http_status >= 500:
        log.error("request failed: %s", error.message)
    return jsonify(message=error.message), error.http_status


def _http_error(error: HTTPException) -> ResponseReturnValue:
    message = error.description or error.name
    return jsonify(message=message), error.code or 500


def _unexpected_error(error: Exception) -> ResponseReturnValue:
    log.exception("unexpected error while handling a request")
    return jsonify(message="Internal error of the localai daemon; see its log."), 500
