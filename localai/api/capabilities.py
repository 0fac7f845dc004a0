"""``/v1/capabilities/notebook/...``: the frameworks and editors notebooks can use."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from localai import catalog

blueprint = Blueprint("capabilities", __name__, url_prefix="/v1/capabilities/notebook")


@blueprint.get("/framework")
def list_frameworks() -> ResponseReturnValue:
    return jsonify([framework.to_api() for framework in catalog.FRAMEWORKS])


@blueprint.get("/framework/<framework_id>")
def get_framework(framework_id: str) -> ResponseReturnValue:
    return jsonify(catalog.get_framework(framework_id).to_api())


@blueprint.get("/editor")
def list_editors() -> ResponseReturnValue:
    return jsonify([editor.to_api() for editor in catalog.EDITORS])


@blueprint.get("/editor/<editor_id>")
def get_editor(editor_id: str) -> ResponseReturnValue:
    return jsonify(catalog.get_editor(editor_id).to_api())
