"""JSON schemas of the API's bodies and a validator for the subset of JSON Schema they use.

The same schemas check request bodies before any handler runs and make up
the ``components`` of the OpenAPI document, so the document cannot drift
from what the daemon accepts. The schema dialect is OpenAPI 3.0's:
``nullable`` instead of type lists.
"""

from __future__ import annotations

import re
from typing import Any

from localai.errors import InvalidRequest
from localai.models import JsonDict, NotebookState

STATES = [state.value for state in NotebookState]


def ref(name: str) -> JsonDict:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: JsonDict) -> JsonDict:
    return {**schema, "nullable": True}


STRING: JsonDict = {"type": "string"}
INTEGER: JsonDict = {"type": "integer"}
BOOLEAN: JsonDict = {"type": "boolean"}
TIMESTAMP: JsonDict = {"type": "string", "format": "date-time"}
STRING_MAP: JsonDict = {"type": "object", "additionalProperties": STRING}

SCHEMAS: dict[str, JsonDict] = {
    "Error": {
        "type": "object", "required": ["message"],
        "properties": {"message": STRING},
    },
    "EnvVar": {
        "type": "object", "required": ["name", "value"],
        "properties": {"name": {"type": "string", "maxLength": 255}, "value": STRING},
    },
    "NotebookEnv": {
        "type": "object", "required": ["frameworkId", "editorId"],
        "properties": {
            "frameworkId": {"type": "string", "maxLength": 255},
            "frameworkVersion": nullable({"type": "string", "maxLength": 255}),
            "editorId": {"type": "string", "maxLength": 255},
        },
    },
    "Resources": {
        "type": "object",
        "properties": {
            "gpu": nullable({"type": "integer", "minimum": 0, "maximum": 1000}),
            "cpu": nullable({"type": "integer", "minimum": 0, "maximum": 1000}),
            "flavor": nullable({"type": "string", "maxLength": 255}),
            "gpuModel": nullable(STRING),
            "gpuBrand": nullable(STRING),
            "gpuMemory": nullable(INTEGER),
            "memory": nullable(INTEGER),
            "ephemeralStorage": nullable(INTEGER),
            "privateNetwork": nullable(INTEGER),
            "publicNetwork": nullable(INTEGER),
        },
    },
    "NotebookSpec": {
        "type": "object", "required": ["env"],
        "properties": {
            "name": nullable({"type": "string", "maxLength": 255}),
            "labels": nullable(STRING_MAP),
            "resources": ref("Resources"),
            "volumes": nullable({"type": "array", "maxItems": 0, "items": {"type": "object"}}),
            "unsecureHttp": nullable(BOOLEAN),
            "env": ref("NotebookEnv"),
            "envVars": nullable({"type": "array", "items": ref("EnvVar")}),
            "sshPublicKeys": nullable({"type": "array", "maxItems": 0, "items": STRING}),
            "timeoutAutoRestart": nullable(BOOLEAN),
        },
    },
    "NotebookSpecUpdate": {
        "type": "object",
        "properties": {
            "labels": nullable(STRING_MAP),
            "resources": nullable(ref("Resources")),
            "volumes": nullable({"type": "array", "maxItems": 0, "items": {"type": "object"}}),
            "unsecureHttp": nullable(BOOLEAN),
            "sshPublicKeys": nullable({"type": "array", "maxItems": 0, "items": STRING}),
            "timeoutAutoRestart": nullable(BOOLEAN),
        },
    },
    "LabelUpdate": {
        "type": "object", "required": ["name"],
        "properties": {"name": {"type": "string", "maxLength": 253},
                       "value": nullable({"type": "string", "maxLength": 63})},
    },
    "TokenSpec": {
        "type": "object", "required": ["name", "role"],
        "properties": {
            "name": {"type": "string", "maxLength": 255},
            "role": {"type": "string", "enum": ["ai_training_read", "ai_training_operator",
                                                "read", "operator"]},
            "labelSelector": nullable({"type": "string", "maxLength": 4096}),
        },
    },
    "Info": {
        "type": "object",
        "properties": {"code": STRING, "message": STRING,
                       "arguments": {"type": "object", "additionalProperties": STRING}},
    },
    "NotebookStatus": {
        "type": "object",
        "required": ["state", "duration", "dataSync"],
        "properties": {
            "lastTransitionDate": nullable(TIMESTAMP),
            "infos": nullable(STRING),
            "state": {"type": "string", "enum": STATES},
            "duration": INTEGER,
            "url": nullable(STRING),
            "monitoringUrl": nullable(STRING),
            "lastStartedAt": nullable(TIMESTAMP),
            "lastStoppedAt": nullable(TIMESTAMP),
            "dataSync": {"type": "array", "items": {"type": "object"}},
            "info": ref("Info"),
        },
    },
    "NotebookSpecView": {
        "type": "object",
        "required": ["name", "labels", "resources", "volumes", "unsecureHttp", "env"],
        "properties": {
            "name": STRING,
            "labels": STRING_MAP,
            "resources": {
                "type": "object", "required": ["gpu", "gpuModel", "cpu"],
                "properties": {"gpu": INTEGER, "gpuModel": nullable(STRING), "cpu": INTEGER},
            },
            "volumes": {"type": "array", "items": {"type": "object"}},
            "unsecureHttp": BOOLEAN,
            "env": {
                "type": "object", "required": ["frameworkId", "frameworkVersion", "editorId"],
                "properties": {"frameworkId": STRING, "frameworkVersion": STRING,
                               "editorId": STRING},
            },
            "envVars": {"type": "array", "items": ref("EnvVar")},
            "timeoutAutoRestart": BOOLEAN,
        },
    },
    "Notebook": {
        "type": "object", "required": ["id", "createdAt", "updatedAt", "user", "spec", "status"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
            "user": STRING,
            "spec": ref("NotebookSpecView"),
            "status": ref("NotebookStatus"),
        },
    },
    "Metadata": {
        "type": "object", "required": ["currentPage", "pageCount", "total", "links"],
        "properties": {
            "currentPage": INTEGER, "pageCount": INTEGER, "total": INTEGER,
            "links": {"type": "object", "properties": {"next": nullable(STRING)}},
        },
    },
    "NotebookList": {
        "type": "object", "required": ["items", "metadata"],
        "properties": {"items": {"type": "array", "items": ref("Notebook")},
                       "metadata": ref("Metadata")},
    },
    "Token": {
        "type": "object", "required": ["id", "createdAt", "updatedAt", "spec", "status"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
            "spec": {
                "type": "object", "required": ["name", "role"],
                "properties": {
                    "name": STRING,
                    "role": {"type": "string",
                             "enum": ["ai_training_read", "ai_training_operator"]},
                    "labelSelector": nullable(STRING),
                },
            },
            "status": {
                "type": "object", "required": ["version"],
                "properties": {"value": nullable(STRING), "version": INTEGER},
            },
        },
    },
    "TokenList": {
        "type": "object", "required": ["items", "metadata"],
        "properties": {"items": {"type": "array", "items": ref("Token")},
                       "metadata": ref("Metadata")},
    },
    "NotebookFramework": {
        "type": "object", "required": ["id", "name", "versions"],
        "properties": {
            "id": STRING, "name": STRING, "description": nullable(STRING),
            "docUrl": nullable(STRING), "logoUrl": nullable(STRING),
            "versions": {"type": "array", "items": STRING},
            "savedPaths": {"type": "array", "items": STRING},
            "built": nullable({"type": "object"}),
        },
    },
    "NotebookEditor": {
        "type": "object", "required": ["id", "name"],
        "properties": {
            "id": STRING, "name": STRING, "description": nullable(STRING),
            "docUrl": nullable(STRING), "logoUrl": nullable(STRING),
            "versions": {"type": "array", "items": STRING},
            "built": nullable({"type": "object"}),
        },
    },
    "CapabilityNotebookEditor": {
        "type": "object", "required": ["id", "name"],
        "properties": {
            "id": STRING, "name": STRING, "description": nullable(STRING),
            "docUrl": nullable(STRING), "logoUrl": nullable(STRING), "version": STRING,
            "incompatibleWith": {"type": "array", "items": STRING}, "probePath": STRING,
        },
    },
    "Flavor": {
        "type": "object", "required": ["id", "type", "default", "max", "resourcesPerUnit"],
        "properties": {
            "id": STRING, "type": {"type": "string", "enum": ["cpu", "gpu"]},
            "description": STRING, "default": BOOLEAN, "max": INTEGER,
            "resourcesPerUnit": {"type": "object", "additionalProperties": INTEGER},
            "gpuInformation": {
                "type": "object",
                "properties": {"gpuModel": STRING, "gpuBrand": STRING, "gpuMemory": INTEGER},
            },
        },
    },
    "ProjectQuotas": {
        "type": "object",
        "properties": {
            "resources": {"type": "object", "additionalProperties": INTEGER},
            "storage": INTEGER,
        },
    },
    "Me": {
        "type": "object", "required": ["name", "tenant", "role", "tokenKind", "quotas"],
        "properties": {
            "name": STRING, "tenant": STRING,
            "role": {"type": "string", "enum": ["administrator", "ai_training_operator",
                                                "ai_training_read"]},
            "tokenKind": {"type": "string", "enum": ["oauth", "app"]},
            "quotas": ref("ProjectQuotas"),
        },
    },
    "CLICommand": {
        "type": "object", "required": ["command"], "properties": {"command": STRING},
    },
    "Health": {
        "type": "object", "required": ["status", "version", "docker"],
        "properties": {"status": STRING, "version": STRING, "pid": INTEGER,
                       "dataDir": STRING, "url": STRING,
                       "docker": {"type": "object"}, "gpus": {"type": "object"}},
    },
}

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate(schema: JsonDict, value: Any, path: str = "body") -> None:
    """Raise InvalidRequest naming the first place where ``value`` breaks ``schema``."""
    if "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    if value is None:
        if schema.get("nullable"):
            return
        raise InvalidRequest(f"'{path}' must not be null.")

    expected = schema.get("type")
    if expected is not None:
        allowed = _TYPES[expected]
        is_bool = isinstance(value, bool)
        if not isinstance(value, allowed) or (is_bool and expected in ("integer", "number")):
            raise InvalidRequest(f"'{path}' must be of type {expected}, got {_describe(value)}.")

    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(str(choice) for choice in schema["enum"])
        raise InvalidRequest(f"'{path}' must be one of {choices}, got {_describe(value)}.")
    _validate_bounds(schema, value, path)

    if isinstance(value, dict):
        _validate_object(schema, value, path)
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            validate(schema["items"], item, f"{path}[{index}]")


def _validate_bounds(schema: JsonDict, value: Any, path: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise InvalidRequest(f"'{path}' must be at least {schema['minimum']}, got {value}.")
        if "maximum" in schema and value > schema["maximum"]:
            raise InvalidRequest(f"'{path}' must be at most {schema['maximum']}, got {value}.")
    if isinstance(value, str) and "maxLength" in schema and len(value) > schema["maxLength"]:
        raise InvalidRequest(f"'{path}' must have at most {schema['maxLength']} characters.")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        raise InvalidRequest(f"'{path}' has an invalid format: {_describe(value)}.")
    if isinstance(value, list) and "maxItems" in schema and len(value) > schema["maxItems"]:
        limit = schema["maxItems"]
        if limit == 0:
            raise InvalidRequest(f"'{path}' is not supported by localai yet; leave it empty.")
        raise InvalidRequest(f"'{path}' must have at most {limit} items.")


def _validate_object(schema: JsonDict, value: dict[str, Any], path: str) -> None:
    for key in schema.get("required", []):
        if key not in value:
            raise InvalidRequest(f"'{path}.{key}' is required.")
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        if key in properties:
            validate(properties[key], item, f"{path}.{key}")
        elif isinstance(extra, dict):
            validate(extra, item, f"{path}.{key}")
