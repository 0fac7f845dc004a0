"""``/v1/token``: create, list, read, renew and delete app tokens."""

from __future__ import annotations

import math

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from localai import validation
from localai.api.auth import principal
from localai.app_tokens import TokenService, token_to_api
from localai.errors import InvalidRequest

blueprint = Blueprint("tokens", __name__, url_prefix="/v1/token")

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


def _service() -> TokenService:
    service: TokenService = current_app.extensions["localai"].tokens
    return service


@blueprint.post("")
def create_token() -> ResponseReturnValue:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest('The request body must be a TokenSpec object: {"name", "role"}.')
    record, value = _service().create(principal(), body)
    return jsonify(token_to_api(record, value))


@blueprint.get("")
def list_tokens() -> ResponseReturnValue:
    records = _service().list(principal())
    page = validation.query_int(request.args.get("page"), "page", 1, 1, 1_000_000)
    size = validation.query_int(
        request.args.get("size"), "size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE
    )
    page_count = max(1, math.ceil(len(records) / size))
    items = records[(page - 1) * size : page * size]
    next_link = f"{request.path}?page={page + 1}&size={size}" if page < page_count else None
    return jsonify(
        items=[token_to_api(record) for record in items],
        metadata={"currentPage": page, "pageCount": page_count, "total": len(records),
                  "links": {"next": next_link}},
    )


@blueprint.get("/<token_id>")
def get_token(token_id: str) -> ResponseReturnValue:
    return jsonify(token_to_api(_service().get(principal(), token_id)))


@blueprint.post("/<token_id>/renew")
def renew_token(token_id: str) -> ResponseReturnValue:
    record, value = _service().renew(principal(), token_id)
    return jsonify(token_to_api(record, value))


@blueprint.delete("/<token_id>")
def delete_token(token_id: str) -> ResponseReturnValue:
    _service().delete(principal(), token_id)
    return "", 204
