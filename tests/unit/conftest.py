"""Fixtures shared by the unit tier."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask.testing import FlaskClient

from localai import notebooks
from localai.access import Authenticator
from localai.api import ApiContext, create_app
from localai.app_tokens import TokenService
from localai.config import Settings
from localai.notebooks import NotebookService
from localai.project import new_credentials
from localai.store import Store
from tests.unit.fakes import FakeRuntime, make_planner

API_CREDENTIALS = new_credentials()
AUTH = {"Authorization": f"Bearer {API_CREDENTIALS.api_token}"}


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    """A test client of the control plane over a fake Docker whose editors respond at once."""
    monkeypatch.setattr(notebooks, "editor_answers", lambda port: True)
    settings = Settings(data_dir=tmp_path, port=8300)
    service = NotebookService(settings, Store(tmp_path / "state.json"),
                              FakeRuntime(), API_CREDENTIALS.username,  # type: ignore[arg-type]
                              make_planner(settings))
    authenticator = Authenticator(API_CREDENTIALS, secrets.token_bytes(32))
    tokens = TokenService(Store(tmp_path / "tokens.json"), Ed25519PrivateKey.generate(),
                          API_CREDENTIALS)
    authenticator.token_verifier = tokens
    context = ApiContext(settings, API_CREDENTIALS, authenticator, service, tokens,
                         lambda: {"status": "ok"})
    return create_app(context).test_client()
