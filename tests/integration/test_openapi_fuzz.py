"""Property-based run of schemathesis against a live daemon's OpenAPI document."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import Daemon

pytestmark = pytest.mark.integration


def test_no_server_errors_and_conforming_responses(daemon: Daemon) -> None:
    st = Path(sys.executable).with_name("st")
    assert st.exists() or shutil.which("st"), "schemathesis is not installed"
    result = subprocess.run(
        [str(st), "run", f"{daemon.api}/openapi.json",
         "-H", f"Authorization: {daemon.auth['Authorization']}",
         "--checks", "not_a_server_error,response_schema_conformance,"
                     "status_code_conformance,content_type_conformance",
         "--max-examples", "20", "--seed", "1", "--no-color"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
