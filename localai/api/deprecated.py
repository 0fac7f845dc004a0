"""Deprecated twins of the capability endpoints, and presets, kept for older SDK calls.

``/v1/notebook/capabilities/...`` returns the older CapabilityNotebook*
shapes; localai has no presets, so ``/v1/capabilities/preset`` is empty.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from localai import catalog
from localai.errors import InvalidRequest, NotFound
from localai.models import JsonDict

blueprint = Blueprint("deprecated", __name__)

PRESET_TYPES = ("app", "job", "notebook")


def _editor_capability(editor: catalog.Editor) -> JsonDict:
    return {
        "id": editor.id,
        "name": editor.name,
        "description": editor.description,
        "docUrl": editor.doc_url,
        "logoUrl": None,
        "version": editor.version,
        "incompatibleWith": [],
        "probePath": "/",
    }


def _frameworks(editor_id: str | None) -> list[JsonDict]:
    if editor_id:
        catalog.get_editor(editor_id)
    return [framework.to_api() for framework in catalog.FRAMEWORKS]


@blueprint.get("/v1/notebook/capabilities/framework")
def list_frameworks() -> ResponseReturnValue:
    return jsonify(_frameworks(request.args.get("compatibleWithEditor")))


@blueprint.get("/v1/notebook/capabilities/framework/<framework_id>")
def get_framework(framework_id: str) -> ResponseReturnValue:
    return jsonify(catalog.get_framework(framework_id).to_api())


@blueprint.get("/v1/notebook/capabilities/editor")
def list_editors() -> ResponseReturnValue:
    framework_id = request.args.get("compatibleWithFramework")
    if framework_id:
        catalog.get_framework(framework_id)
    return jsonify([_editor_capability(editor) for editor in catalog.EDITORS])


@blueprint.get("/v1/notebook/capabilities/editor/<editor_id>")
def get_editor(editor_id: str) -> ResponseReturnValue:
    return jsonify(_editor_capability(catalog.get_editor(editor_id)))


@blueprint.get("/v1/capabilities/preset")
def list_presets() -> ResponseReturnValue:
    preset_type = request.args.get("type")
    if preset_type and preset_type not in PRESET_TYPES:
        raise InvalidRequest(
            f"Invalid preset type {preset_type!r}: use one of {', '.join(PRESET_TYPES)}."
        )
    return jsonify([])


@blueprint.get("/v1/capabilities/preset/<preset_id>")
def get_preset(preset_id: str) -> ResponseReturnValue:
    raise NotFound(f"Preset {preset_id!r} not found: localai has no presets.")
