"""Exception hierarchy of localai.

Every error the package raises on purpose derives from ``LocalaiError``.
The API maps each class to one HTTP status in a single error handler and
the CLI maps them to exit codes in its entry point, so no other code needs
to catch broadly.
"""

from __future__ import annotations


class LocalaiError(Exception):
    """Root of all localai errors; ``http_status`` is what the API returns for it."""

    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(LocalaiError):
    """The request is malformed or names values that do not exist."""

    http_status = 400


class Unauthorized(LocalaiError):
    """Credentials are missing, malformed, forged or revoked."""

    http_status = 401

    def __init__(self, message: str = "Invalid or missing credentials.") -> None:
        super().__init__(message)


class Forbidden(LocalaiError):
    """The caller is authenticated but its role or scope does not allow the action."""

    http_status = 403


class NotFound(LocalaiError):
    """The named resource does not exist."""

    http_status = 404


class InvalidState(InvalidRequest):
    """The resource exists but its state does not allow the action (HTTP 400)."""

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message)
        self.state = state


class ImageNotBuilt(InvalidRequest):
    """The notebook image for a framework, version and editor is not in the local engine."""

    def __init__(self, image: str, build_command: str) -> None:
        super().__init__(
            f"The image {image} is not built on this host. Build it with: {build_command}"
        )
        self.image = image
        self.build_command = build_command


class GpuUnavailable(InvalidRequest):
    """GPUs were requested but Docker cannot give GPUs to containers here."""


class RuntimeUnavailable(LocalaiError):
    """The Docker engine cannot be reached (HTTP 503)."""

    http_status = 503


class RuntimeFailure(LocalaiError):
    """The Docker engine rejected an operation (HTTP 500)."""


class DaemonError(LocalaiError):
    """The daemon cannot be started, stopped or reached."""


class ImageBuildError(LocalaiError):
    """An image build failed; the message carries the failing step's output."""
