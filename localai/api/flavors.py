"""``/v1/capabilities/flavor`` and ``/v1/capabilities/quota``: what this host offers."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from localai.errors import InvalidRequest, NotFound
from localai.resources import ResourcePlanner

blueprint = Blueprint("flavors", __name__, url_prefix="/v1/capabilities")


def _planner() -> ResourcePlanner:
    planner: ResourcePlanner = current_app.extensions["localai"].notebooks.planner
    return planner


@blueprint.get("/flavor")
def list_flavors() -> ResponseReturnValue:
    return jsonify([flavor.to_api() for flavor in _planner().flavors])


@blueprint.get("/flavor/<flavor_id>")
def get_flavor(flavor_id: str) -> ResponseReturnValue:
    try:
        return jsonify(_planner().flavor(flavor_id).to_api())
    except InvalidRequest as e:
        raise NotFound(e.message) from e


@blueprint.get("/quota")
def list_quotas() -> ResponseReturnValue:
    return jsonify([_planner().quotas()])
