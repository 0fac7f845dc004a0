"""Ed25519 signing keys and the JWS app tokens signed with them.

This is the only module that uses PyJWT and cryptography.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

log = logging.getLogger(__name__)


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file readable by its owner only, atomically.

    The file is created with mode 0600 before any byte is written, then
    renamed over ``path`` so that a crash never leaves a partial secret.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def create_signing_key(path: Path) -> None:
    """Generate an Ed25519 key and store it as PKCS#8 PEM in ``path`` (mode 0600)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    write_private_file(path, pem)
    log.info("created the project signing key at %s", path)


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """Load the project's Ed25519 key; raises ValueError if the file contains another kind."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not contain an Ed25519 private key")
    return key


# The cloud's app tokens name this issuer; clients that decode tokens may check it.
ISSUER = "training.ai.cloud.ovh.net"
ALGORITHM = "EdDSA"


def sign_app_token(key: Ed25519PrivateKey, project_id: str, jti: str, subject: str) -> str:
    """Return a compact JWS with header ``{"alg":"EdDSA"}`` and the cloud's claims.

    The payload keys are ``project, jti, iss, sub`` in that order, and there
    is no expiry: tokens end only when they are renewed or deleted.
    """
    payload = {"project": project_id, "jti": jti, "iss": ISSUER, "sub": subject}
    # A None "typ" makes PyJWT leave the header with "alg" alone, as the cloud's tokens have.
    return jwt.encode(payload, key, algorithm=ALGORITHM, headers={"typ": None})


def read_app_token(key: Ed25519PrivateKey, value: str) -> dict[str, str] | None:
    """Return the claims of a token signed by ``key``, or None for any invalid token.

    Only EdDSA is accepted, so ``alg: none`` and HMAC tokens keyed with the
    public key fail here; every claim must be present and a string.
    """
    try:
        claims = jwt.decode(
            value,
            key.public_key(),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["project", "jti", "iss", "sub"], "verify_aud": False},
        )
    except jwt.PyJWTError:
        return None
    if not all(isinstance(claims.get(name), str) for name in ("project", "jti", "sub")):
        return None
    return {name: claims[name] for name in ("project", "jti", "iss", "sub")}
