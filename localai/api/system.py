"""Health, ``/v1/me`` and the monitoring page."""

from __future__ import annotations

import html

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from localai.api.auth import principal

blueprint = Blueprint("system", __name__)


@blueprint.get("/health")
def health() -> ResponseReturnValue:
    return jsonify(current_app.extensions["localai"].health())


@blueprint.get("/v1/me")
def me() -> ResponseReturnValue:
    context = current_app.extensions["localai"]
    caller = principal()
    return jsonify(
        name=context.credentials.username if caller.is_user else caller.name,
        tenant=context.credentials.project_id.replace("-", ""),
        role=caller.role.value,
        tokenKind=caller.kind.value,
        quotas=context.notebooks.planner.quotas(),
    )


@blueprint.get("/d/gpu")
def monitoring() -> ResponseReturnValue:
    notebook_id = html.escape(request.args.get("var-notebook", ""))
    body = (
        "<!doctype html><html><head><meta charset='utf-8'><title>localai monitoring</title>"
        "</head><body><h1>Monitoring</h1>"
        f"<p>Notebook <code>{notebook_id}</code>.</p>"
        "<p>localai has no metrics dashboard; use <code>localai notebook get</code>, "
        "<code>localai notebook logs</code> or <code>docker stats</code>.</p></body></html>"
    )
    return body, 200, {"Content-Type": "text/html; charset=utf-8"}
