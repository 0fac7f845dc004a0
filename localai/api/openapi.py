"""The OpenAPI document of the control plane, and the request checks built from it.

``OPERATIONS`` describes every route by its Flask endpoint name: request
body schema, query parameters and response codes. A ``before_request``
hook validates bodies and query parameters against those same entries.
``/openapi.json`` is assembled from them and from Flask's URL map, so the
document cannot promise checks the daemon does not make. A unit test fails
when a route has no entry here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask import Flask, request

from localai import __version__
from localai.api.schemas import SCHEMAS, STATES, ref, validate
from localai.errors import InvalidRequest
from localai.models import JsonDict


@dataclass(frozen=True)
class Query:
    """A query parameter; ``schema`` is checked on every request that sends it."""

    name: str
    schema: JsonDict
    description: str
    repeated: bool = False


@dataclass(frozen=True)
class Operation:
    """Description of one route. ``responses`` maps status codes to schema names."""

    summary: str
    tag: str
    responses: dict[int, str | None]
    body: str | None = None
    query: tuple[Query, ...] = ()
    public: bool = False
    media_type: str = "application/json"
    extra: dict[str, str] = field(default_factory=dict)


PAGE = Query("page", {"type": "integer", "minimum": 1, "maximum": 1_000_000},
             "page index, starting at 1")
SIZE = Query("size", {"type": "integer", "minimum": 1, "maximum": 1000}, "page size")
LIST_QUERY = (
    PAGE, SIZE,
    Query("order", {"type": "string", "enum": ["asc", "desc"]}, "sort order"),
    Query("sort", {"type": "string", "enum": ["createdAt", "updatedAt", "id", "name",
                                              "status.state", "spec.name"]},
          "field to sort by"),
    Query("updatedAfter", {"type": "integer", "minimum": 0}, "unix timestamp"),
    Query("updatedBefore", {"type": "integer", "minimum": 0}, "unix timestamp"),
    Query("statusState", {"type": "string", "enum": STATES}, "state to keep", repeated=True),
    Query("labelSelector", {"type": "string"}, "name=value pairs separated by commas"),
    Query("userName", {"type": "string"}, "user to keep"),
    Query("withSpark", {"type": "boolean"}, "accepted for compatibility; no effect"),
)
ERRORS = {400: "Error", 401: "Error", 403: "Error", 404: "Error"}
READ_ERRORS = {401: "Error", 403: "Error", 404: "Error"}

OPERATIONS: dict[str, Operation] = {
    "notebooks.create_notebook": Operation(
        "Create a notebook", "notebook", {200: "Notebook", 400: "Error", 401: "Error",
                                          402: "Error", 403: "Error"}, body="NotebookSpec"),
    "notebooks.list_notebooks": Operation(
        "List notebooks", "notebook",
        {200: "NotebookList", 400: "Error", 401: "Error", 403: "Error"}, query=LIST_QUERY),
    "notebooks.cli_command": Operation(
        "Return the ovhai CLI command that creates this notebook", "notebook",
        {200: "CLICommand", 400: "Error", 401: "Error"}, body="NotebookSpec"),
    "notebooks.get_notebook": Operation("Get a notebook", "notebook",
                                        {200: "Notebook", **READ_ERRORS}),
    "notebooks.edit_notebook": Operation("Update a notebook's spec", "notebook",
                                         {204: None, **ERRORS}, body="NotebookSpecUpdate"),
    "notebooks.delete_notebook": Operation(
        "Delete a notebook", "notebook", {204: None, **ERRORS},
        query=(Query("force", {"type": "boolean"}, "delete even if running"),)),
    "notebooks.start_notebook": Operation("Start a stopped notebook", "notebook",
                                          {204: None, **ERRORS}),
    "notebooks.stop_notebook": Operation("Stop a running notebook", "notebook",
                                         {204: None, **ERRORS}),
    "notebooks.label_notebook": Operation("Set or remove one label", "notebook",
                                          {204: None, **ERRORS}, body="LabelUpdate"),
    "notebooks.notebook_logs": Operation(
        "Stream the notebook's output", "notebook", {200: None, **ERRORS},
        query=(Query("follow", {"type": "boolean"}, "keep streaming new output"),
               Query("tail", {"type": "integer", "minimum": 0, "maximum": 1_000_000},
                     "number of last lines")),
        media_type="text/plain"),
    "tokens.create_token": Operation("Create an app token", "token",
                                     {200: "Token", 400: "Error", 401: "Error", 403: "Error"},
                                     body="TokenSpec"),
    "tokens.list_tokens": Operation("List app tokens", "token",
                                    {200: "TokenList", 400: "Error", 401: "Error",
                                     403: "Error"}, query=(PAGE, SIZE)),
    "tokens.get_token": Operation("Get an app token", "token", {200: "Token", **READ_ERRORS}),
    "tokens.renew_token": Operation("Issue a new value for an app token", "token",
                                    {200: "Token", **READ_ERRORS}),
    "tokens.delete_token": Operation("Delete an app token", "token",
                                     {204: None, **READ_ERRORS}),
    "capabilities.list_frameworks": Operation(
        "List frameworks", "capabilities", {200: "NotebookFramework[]", 401: "Error"},
        query=(Query("compatibleWithEditor", {"type": "string"}, "editor id"),)),
    "capabilities.get_framework": Operation("Get a framework", "capabilities",
                                            {200: "NotebookFramework", **READ_ERRORS}),
    "capabilities.list_editors": Operation(
        "List editors", "capabilities", {200: "NotebookEditor[]", 401: "Error"},
        query=(Query("compatibleWithFramework", {"type": "string"}, "framework id"),)),
    "capabilities.get_editor": Operation("Get an editor", "capabilities",
                                         {200: "NotebookEditor", **READ_ERRORS}),
    "flavors.list_flavors": Operation("List flavors", "capabilities",
                                      {200: "Flavor[]", 401: "Error"}),
    "flavors.get_flavor": Operation("Get a flavor", "capabilities",
                                    {200: "Flavor", **READ_ERRORS}),
    "flavors.list_quotas": Operation("Get the project quotas", "capabilities",
                                     {200: "ProjectQuotas[]", 401: "Error"}),
    "deprecated.list_frameworks": Operation(
        "List frameworks (deprecated path)", "deprecated",
        {200: "NotebookFramework[]", 401: "Error", 404: "Error"},
        query=(Query("compatibleWithEditor", {"type": "string"}, "editor id"),)),
    "deprecated.get_framework": Operation("Get a framework (deprecated path)", "deprecated",
                                          {200: "NotebookFramework", **READ_ERRORS}),
    "deprecated.list_editors": Operation(
        "List editors (deprecated path)", "deprecated",
        {200: "CapabilityNotebookEditor[]", 401: "Error", 404: "Error"},
        query=(Query("compatibleWithFramework", {"type": "string"}, "framework id"),)),
    "deprecated.get_editor": Operation("Get an editor (deprecated path)", "deprecated",
                                       {200: "CapabilityNotebookEditor", **READ_ERRORS}),
    "deprecated.list_presets": Operation(
        "List presets (localai has none)", "capabilities",
        {200: "Preset[]", 400: "Error", 401: "Error"},
        query=(Query("type", {"type": "string", "enum": ["app", "job", "notebook"]},
                     "preset type"),)),
    "deprecated.get_preset": Operation("Get a preset", "capabilities",
                                       {200: "Preset", **READ_ERRORS}),
    "system.me": Operation("Describe the caller", "me", {200: "Me", 401: "Error"}),
    "system.health": Operation("Daemon and Docker status", "localai", {200: "Health"},
                               public=True),
    "system.monitoring": Operation("Monitoring placeholder page", "localai", {200: None},
                                   public=True, media_type="text/html"),
    "openapi": Operation("This document", "localai", {200: None}, public=True),
}


def check_request() -> None:
    """Validate the query parameters and JSON body of the current request (before_request)."""
    operation = OPERATIONS.get(request.endpoint or "")
    if operation is None:
        return
    for query in operation.query:
        values = request.args.getlist(query.name)
        if len(values) > 1 and not query.repeated:
            raise InvalidRequest(f"Query parameter '{query.name}' may appear only once.")
        for raw in values:
            validate(query.schema, _query_value(raw, query), query.name)
    if operation.body is not None:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise InvalidRequest(f"The request body must be a JSON {operation.body} object.")
        validate(ref(operation.body), body)


def _query_value(raw: str, query: Query) -> object:
    kind = query.schema.get("type")
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise InvalidRequest(
                f"Query parameter '{query.name}' must be an integer, got {raw!r}."
            ) from None
    if kind == "boolean":
        lowered = raw.lower()
        if lowered in ("true", "1", "yes", ""):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise InvalidRequest(f"Query parameter '{query.name}' must be true or false, got {raw!r}.")
    return raw


def _response_schema(name: str) -> JsonDict:
    if name.endswith("[]"):
        item = name[:-2]
        return {"type": "array", "items": ref(item) if item in SCHEMAS else {"type": "object"}}
    return ref(name) if name in SCHEMAS else {"type": "object"}


def _operation_object(endpoint: str, operation: Operation, path_params: list[str]) -> JsonDict:
    responses: JsonDict = {}
    for status, schema in operation.responses.items():
        entry: JsonDict = {"description": "OK" if status < 300 else "Error"}
        if status == 204:
            entry["description"] = "No Content"
        elif schema is not None:
            entry["content"] = {"application/json": {"schema": _response_schema(schema)}}
        elif status == 200:
            entry["content"] = {operation.media_type: {"schema": {"type": "string"}}}
        responses[str(status)] = entry

    parameters: list[JsonDict] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in path_params
    ]
    for query in operation.query:
        query_schema = (
            {"type": "array", "items": query.schema} if query.repeated else query.schema
        )
        parameter: JsonDict = {"name": query.name, "in": "query", "required": False,
                               "description": query.description, "schema": query_schema}
        if query.repeated:
            parameter["style"] = "form"
            parameter["explode"] = True
        parameters.append(parameter)

    result: JsonDict = {"operationId": endpoint.replace(".", "_"), "summary": operation.summary,
                        "tags": [operation.tag], "responses": responses}
    if parameters:
        result["parameters"] = parameters
    if operation.body is not None:
        result["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": ref(operation.body)}}}
    if operation.public:
        result["security"] = []
    return result


def build_document(app: Flask) -> JsonDict:
    """Return the OpenAPI 3.0 document of every route of ``app``."""
    paths: JsonDict = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        operation = OPERATIONS.get(rule.endpoint)
        if operation is None:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        path_params = re.findall(r"{([^}]+)}", path)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation_object(
                rule.endpoint, operation, path_params
            )

    schemas = {**SCHEMAS, "Preset": {"type": "object"}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "localai API", "version": __version__,
                 "description": "The AI Notebooks API of the cloud, served by localai."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
