"""``/v1/notebook``: create, list, read, start, stop and delete notebooks, and read logs."""

from __future__ import annotations

import math
from collections.abc import Iterator

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context
from flask.typing import ResponseReturnValue

from localai import validation
from localai.api.auth import principal
from localai.errors import InvalidRequest
from localai.models import Notebook, NotebookState, now_ns
from localai.notebooks import NotebookService

blueprint = Blueprint("notebooks", __name__, url_prefix="/v1/notebook")

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
# Fields that `sort` accepts, mapped to how each notebook is ordered by it.
SORT_FIELDS = {
    "createdAt": lambda nb: nb.created_ns,
    "updatedAt": lambda nb: nb.updated_ns,
    "id": lambda nb: nb.id,
    "name": lambda nb: nb.spec.name,
    "status.state": lambda nb: nb.status.state.value,
    "spec.name": lambda nb: nb.spec.name,
}


def _service() -> NotebookService:
    service: NotebookService = current_app.extensions["localai"].notebooks
    return service


@blueprint.post("")
def create_notebook() -> ResponseReturnValue:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON NotebookSpec object.")
    notebook = _service().create(principal(), body)
    return jsonify(notebook.to_api())


@blueprint.get("")
def list_notebooks() -> ResponseReturnValue:
    notebooks = _filter(_service().list(principal()))
    notebooks = _sort(notebooks)

    page = validation.query_int(request.args.get("page"), "page", 1, 1, 1_000_000)
    size = validation.query_int(
        request.args.get("size"), "size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE
    )
    total = len(notebooks)
    page_count = max(1, math.ceil(total / size))
    items = notebooks[(page - 1) * size : page * size]
    moment = now_ns()

    next_link = None
    if page < page_count:
        args = request.args.to_dict(flat=False)
        args["page"] = [str(page + 1)]
        query = "&".join(f"{key}={value}" for key, values in args.items() for value in values)
        next_link = f"{request.path}?{query}"
    return jsonify(
        items=[nb.to_api(moment) for nb in items],
        metadata={
            "currentPage": page,
            "pageCount": page_count,
            "total": total,
            "links": {"next": next_link},
        },
    )


def _filter(notebooks: list[Notebook]) -> list[Notebook]:
    states = request.args.getlist("statusState")
    for state in states:
        if state not in NotebookState.__members__:
            valid = ", ".join(NotebookState.__members__)
            raise InvalidRequest(f"Invalid statusState {state!r}. Valid states: {valid}.")
    if states:
        notebooks = [nb for nb in notebooks if nb.status.state.value in states]

    selector = request.args.get("labelSelector")
    if selector:
        pairs = validation.parse_selector(selector)
        notebooks = [nb for nb in notebooks
                     if all(nb.scope_labels.get(k) == v for k, v in pairs)]

    for name, keep in (("updatedAfter", True), ("updatedBefore", False)):
        raw = request.args.get(name)
        if raw:
            bound = validation.query_int(raw, name, 0, 0, 2**40) * 1_000_000_000
            notebooks = [nb for nb in notebooks if (nb.updated_ns > bound) == keep]

    user = request.args.get("userName")
    if user:
        notebooks = [nb for nb in notebooks if nb.user == user]
    return notebooks


def _sort(notebooks: list[Notebook]) -> list[Notebook]:
    field = request.args.get("sort") or "createdAt"
    if field not in SORT_FIELDS:
        valid = ", ".join(SORT_FIELDS)
        raise InvalidRequest(f"Invalid sort field {field!r}. Valid fields: {valid}.")
    order = (request.args.get("order") or "asc").lower()
    if order not in ("asc", "desc"):
        raise InvalidRequest(f"Invalid order {order!r}: use asc or desc.")
    key = SORT_FIELDS[field]
    return sorted(notebooks, key=key, reverse=order == "desc")


@blueprint.post("/command")
def cli_command() -> ResponseReturnValue:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON NotebookSpec object.")
    return jsonify(command=_service().cli_command(principal(), body))


@blueprint.put("/<notebook_id>")
def edit_notebook(notebook_id: str) -> ResponseReturnValue:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON NotebookSpecUpdate object.")
    _service().edit(principal(), notebook_id, body)
    return "", 204


@blueprint.get("/<notebook_id>")
def get_notebook(notebook_id: str) -> ResponseReturnValue:
    return jsonify(_service().get(principal(), notebook_id).to_api())


@blueprint.delete("/<notebook_id>")
def delete_notebook(notebook_id: str) -> ResponseReturnValue:
    force = validation.query_bool(request.args.get("force"), "force")
    _service().delete(principal(), notebook_id, force=force)
    return "", 204


@blueprint.put("/<notebook_id>/start")
def start_notebook(notebook_id: str) -> ResponseReturnValue:
    _service().start(principal(), notebook_id)
    return "", 204


@blueprint.put("/<notebook_id>/stop")
def stop_notebook(notebook_id: str) -> ResponseReturnValue:
    _service().stop(principal(), notebook_id)
    return "", 204


@blueprint.put("/<notebook_id>/label")
def label_notebook(notebook_id: str) -> ResponseReturnValue:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest('The request body must be a LabelUpdate object: {"name", "value"}.')
    _service().set_label(principal(), notebook_id, body.get("name"), body.get("value"))
    return "", 204


@blueprint.get("/<notebook_id>/log")
def notebook_logs(notebook_id: str) -> ResponseReturnValue:
    follow = validation.query_bool(request.args.get("follow"), "follow")
    tail_raw = request.args.get("tail")
    tail = None if not tail_raw else validation.query_int(tail_raw, "tail", 0, 0, 1_000_000)
    chunks = _service().logs(principal(), notebook_id, follow=follow, tail=tail)

    def generate() -> Iterator[bytes]:
        yield from chunks

    return Response(
        stream_with_context(generate()), mimetype="text/plain", headers={"X-Accel-Buffering": "no"}
    )
