"""``/v1/capabilities/notebook/...``: the frameworks and editors notebooks can use.

Besides the keys of the cloud's ``NotebookFramework`` and ``NotebookEditor``
objects, each object has the key ``built``, which shows the notebook images
the local Docker engine has (the SDK keeps unknown keys in
``additional_properties``):

- a framework: ``{"<version>": {"<editor id>": true|false, ...}, ...}``;
- an editor: ``{"<framework id>": {"<version>": true|false, ...}, ...}``.

``built`` is null when the Docker engine cannot be reached.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from localai import catalog
from localai.errors import LocalaiError
from localai.models import JsonDict

log = logging.getLogger(__name__)

blueprint = Blueprint("capabilities", __name__, url_prefix="/v1/capabilities/notebook")

ImageExists = Callable[[str], bool]
"""Whether the Docker engine has the image of this name."""


@blueprint.get("/framework")
def list_frameworks() -> ResponseReturnValue:
    # Every framework works with every editor, so the filter only drops all
    # frameworks when it names an editor that does not exist.
    editor_id = request.args.get("compatibleWithEditor")
    if editor_id is not None and not _is_editor(editor_id):
        return jsonify([])
    exists = _image_exists()
    return jsonify([framework_json(framework, exists) for framework in catalog.FRAMEWORKS])


@blueprint.get("/framework/<framework_id>")
def get_framework(framework_id: str) -> ResponseReturnValue:
    framework = catalog.get_framework(framework_id)
    return jsonify(framework_json(framework, _image_exists()))


@blueprint.get("/editor")
def list_editors() -> ResponseReturnValue:
    framework_id = request.args.get("compatibleWithFramework")
    if framework_id is not None and not _is_framework(framework_id):
        return jsonify([])
    exists = _image_exists()
    return jsonify([editor_json(editor, exists) for editor in catalog.EDITORS])


@blueprint.get("/editor/<editor_id>")
def get_editor(editor_id: str) -> ResponseReturnValue:
    editor = catalog.get_editor(editor_id)
    return jsonify(editor_json(editor, _image_exists()))


def framework_json(framework: catalog.Framework, exists: ImageExists | None) -> JsonDict:
    """Return the API object of a framework with its ``built`` key."""
    pairs = [(version.version, editor.id) for version in framework.versions
             for editor in catalog.EDITORS]
    found = _check_images(exists, [(framework.id, editor_id, version)
                                   for version, editor_id in pairs])
    body = framework.to_api()
    body["built"] = None
    if found is not None:
        built: dict[str, dict[str, bool]] = {}
        for (version, editor_id), present in zip(pairs, found, strict=True):
            built.setdefault(version, {})[editor_id] = present
        body["built"] = built
    return body


def editor_json(editor: catalog.Editor, exists: ImageExists | None) -> JsonDict:
    """Return the API object of an editor with its ``built`` key."""
    pairs = [(framework.id, version.version) for framework in catalog.FRAMEWORKS
             for version in framework.versions]
    found = _check_images(exists, [(framework_id, editor.id, version)
                                   for framework_id, version in pairs])
    body = editor.to_api()
    body["built"] = None
    if found is not None:
        built: dict[str, dict[str, bool]] = {}
        for (framework_id, version), present in zip(pairs, found, strict=True):
            built.setdefault(framework_id, {})[version] = present
        body["built"] = built
    return body


def _image_exists() -> ImageExists | None:
    """Return the engine's image check with this daemon's prefix; None without an engine."""
    runtime = current_app.extensions["localai"].notebooks.runtime
    if runtime is None:
        return None
    check: ImageExists = runtime.image_exists
    return check


def _check_images(exists: ImageExists | None,
                  combinations: list[tuple[str, str, str]]) -> list[bool] | None:
    """Return whether each (framework, editor, version) image is built; None when unknown."""
    if exists is None:
        return None
    prefix = current_app.extensions["localai"].settings.image_prefix
    try:
        return [exists(catalog.image_tag(prefix, framework_id, editor_id, version))
                for framework_id, editor_id, version in combinations]
    except LocalaiError as e:
        log.warning("Cannot tell which notebook images are built: %s", e.message)
        return None


def _is_editor(editor_id: str) -> bool:
    return any(editor.id == editor_id for editor in catalog.EDITORS)


def _is_framework(framework_id: str) -> bool:
    return any(framework.id == framework_id for framework in catalog.FRAMEWORKS)
