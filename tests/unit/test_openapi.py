"""The OpenAPI document: valid OpenAPI 3.0, and the validator that shares its schemas."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate as validate_spec

from localai.api import openapi
from localai.api.schemas import SCHEMAS, ref, validate
from localai.errors import InvalidRequest


def test_document_is_valid_openapi(client: FlaskClient) -> None:
    app: Flask = client.application
    validate_spec(openapi.build_document(app))


def test_every_response_schema_exists() -> None:
    names = {name.removesuffix("[]") for op in openapi.OPERATIONS.values()
             for name in op.responses.values() if name}
    assert names - set(SCHEMAS) <= {"Preset"}


@pytest.mark.parametrize(("body", "message"), [
    ({"env": {"frameworkId": 3, "editorId": "x"}},
     "'body.env.frameworkId' must be of type string, got 3."),
    ({"env": {"frameworkId": "a", "editorId": "b"}, "labels": {"k": 1}},
     "'body.labels.k' must be of type string, got 1."),
    ({"env": {"frameworkId": "a", "editorId": "b"}, "resources": {"gpu": True}},
     "'body.resources.gpu' must be of type integer, got True."),
    ({"env": {"frameworkId": "a", "editorId": "b"}, "envVars": [{"name": "A"}]},
     "'body.envVars[0].value' is required."),
    ({"env": {"frameworkId": "a", "editorId": "b"}, "volumes": [{}]},
     "'body.volumes' is not supported by localai yet; leave it empty."),
    ({"env": None}, "'body.env' must not be null."),
])
def test_notebook_spec_errors(body: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        validate(ref("NotebookSpec"), body)
    assert raised.value.message == message


def test_valid_notebook_spec_passes() -> None:
    validate(ref("NotebookSpec"), {
        "name": "nb", "labels": {"a": "b"}, "resources": {"cpu": 2, "gpu": None},
        "unsecureHttp": False, "env": {"frameworkId": "pytorch", "editorId": "jupyterlab"},
        "envVars": [{"name": "A", "value": "1"}], "volumes": [], "sshPublicKeys": None,
    })
