"""App tokens: their JWS shape, verification, revocation and forged values."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from localai.access import Role, TokenKind, user_principal
from localai.app_tokens import TokenService, token_to_api
from localai.errors import Forbidden, InvalidRequest, NotFound
from localai.project import new_credentials
from localai.store import Store

CREDENTIALS = new_credentials()
USER = user_principal(CREDENTIALS)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def service(tmp_path: Path, key: Ed25519PrivateKey) -> TokenService:
    return TokenService(Store(tmp_path / "state.json"), key, CREDENTIALS)


def create(service: TokenService, role: str = "read", selector: str | None = None) -> str:
    _, value = service.create(USER, {"name": "my-token", "role": role, "labelSelector": selector})
    return value


def test_header_is_eddsa_only(service: TokenService) -> None:
    header = json.loads(unb64(create(service).split(".")[0]))
    assert header == {"alg": "EdDSA"}


def test_payload_has_the_cloud_claims_in_order(service: TokenService) -> None:
    record, value = service.create(USER, {"name": "t", "role": "operator"})
    payload = json.loads(unb64(value.split(".")[1]))
    assert list(payload) == ["project", "jti", "iss", "sub"]
    assert payload["jti"] == f"{record.id}-1"
    assert payload["project"] == CREDENTIALS.project_id
    assert payload["iss"] == "training.ai.cloud.ovh.net"


def test_stored_roles(service: TokenService) -> None:
    read, _ = service.create(USER, {"name": "r", "role": "read"})
    operator, _ = service.create(USER, {"name": "o", "role": "ai_training_operator"})
    assert (read.role, operator.role) == ("ai_training_read", "ai_training_operator")


def test_value_is_never_stored(service: TokenService, tmp_path: Path) -> None:
    value = create(service)
    assert value not in (tmp_path / "state.json").read_text()


def test_api_object_hides_the_value(service: TokenService) -> None:
    record, _ = service.create(USER, {"name": "t", "role": "read"})
    assert token_to_api(record)["status"] == {"value": None, "version": 1}


def test_valid_token_gives_its_principal(service: TokenService) -> None:
    principal = service.verify(create(service, "read", "subject=image-recognition"))
    assert principal is not None
    assert principal.role is Role.READ
    assert principal.kind is TokenKind.APP
    assert principal.label_selector == (("subject", "image-recognition"),)


def test_renew_revokes_the_old_value(service: TokenService) -> None:
    record, old = service.create(USER, {"name": "t", "role": "read"})
    renewed, new = service.renew(USER, record.id)
    assert renewed.version == 2
    assert service.verify(old) is None
    assert service.verify(new) is not None


def test_delete_revokes(service: TokenService) -> None:
    record, value = service.create(USER, {"name": "t", "role": "read"})
    service.delete(USER, record.id)
    assert service.verify(value) is None


def test_alg_none_is_rejected(service: TokenService) -> None:
    payload = create(service).split(".")[1]
    header = b64(b'{"alg":"none"}')
    forged = f"{header}.{payload}."
    assert service.verify(forged) is None


def test_hs256_with_the_public_key_is_rejected(service: TokenService,
                                               key: Ed25519PrivateKey) -> None:
    payload = create(service).split(".")[1]
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    header = b64(b'{"alg":"HS256"}')
    signing_input = f"{header}.{payload}"
    signature = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    assert service.verify(f"{signing_input}.{b64(signature)}") is None


def test_changed_payload_with_old_signature_is_rejected(service: TokenService) -> None:
    header, payload, signature = create(service).split(".")
    claims = json.loads(unb64(payload))
    claims["jti"] = claims["jti"][:-1] + "2"
    assert service.verify(f"{header}.{b64(json.dumps(claims).encode())}.{signature}") is None


def test_token_of_another_key_is_rejected(tmp_path: Path, service: TokenService) -> None:
    other = TokenService(Store(tmp_path / "other.json"), Ed25519PrivateKey.generate(),
                         CREDENTIALS)
    assert service.verify(create(other)) is None


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "....", "eyJ.eyJ.x", "\u00e9t\u00e9"])
def test_garbage_is_rejected(service: TokenService, garbage: str) -> None:
    assert service.verify(garbage) is None


def test_current_follows_the_version(service: TokenService) -> None:
    record, _ = service.create(USER, {"name": "t", "role": "read"})
    assert service.current(record.id, "1") is not None
    service.renew(USER, record.id)
    assert service.current(record.id, "1") is None


@pytest.mark.parametrize("selector", ["team=vision,", ",team=vision", "team=vision,,a=b",
                                      "team = vision", "team=", "=vision", "team",
                                      "team=vision,team=nlp", "team=vi sion"])
def test_loose_selectors_are_rejected(service: TokenService, selector: str) -> None:
    with pytest.raises(InvalidRequest, match="label"):
        service.create(USER, {"name": "t", "role": "read", "labelSelector": selector})


def test_selector_with_several_pairs(service: TokenService) -> None:
    principal = service.verify(create(service, "read", "team=vision,stage=dev"))
    assert principal is not None
    assert principal.covers({"team": "vision", "stage": "dev", "x": "y"})
    assert not principal.covers({"team": "vision"})


@pytest.mark.parametrize("role", ["admin", "", None, "READ"])
def test_invalid_role(service: TokenService, role: object) -> None:
    with pytest.raises(InvalidRequest, match="Invalid role"):
        service.create(USER, {"name": "t", "role": role})


def test_app_tokens_cannot_manage_tokens(service: TokenService) -> None:
    principal = service.verify(create(service, "operator"))
    assert principal is not None
    with pytest.raises(Forbidden):
        service.create(principal, {"name": "t", "role": "read"})


def test_unknown_token_is_not_found(service: TokenService) -> None:
    with pytest.raises(NotFound):
        service.renew(USER, "00000000-0000-4000-8000-000000000000")
