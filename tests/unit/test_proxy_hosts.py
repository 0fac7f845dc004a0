"""Host header normalisation and notebook host parsing."""

from __future__ import annotations

import pytest

from localai.proxy.hosts import normalize_host, parse_notebook_host

NOTEBOOK_ID = "0f8e2b7c-3d4a-4b5c-9d6e-7f8091a2b3c4"


@pytest.mark.parametrize(
    "host",
    [
        f"{NOTEBOOK_ID}.notebook.localhost",
        f"{NOTEBOOK_ID}.notebook.localhost:8300",
        f"{NOTEBOOK_ID}.notebook.localhost.",
        f"{NOTEBOOK_ID}.notebook.localhost.:8300",
        f"{NOTEBOOK_ID.upper()}.NOTEBOOK.LOCALHOST.:8300",
        f"{NOTEBOOK_ID}.Notebook.LocalHost:8300",
        f" {NOTEBOOK_ID}.notebook.localhost:8300 ",
        f"{NOTEBOOK_ID}.notebook.localhost:",
    ],
)
def test_notebook_host_spellings(host: str) -> None:
    assert parse_notebook_host(host) == NOTEBOOK_ID


@pytest.mark.parametrize(
    "host",
    [
        "",
        "localhost",
        "localhost:8300",
        "127.0.0.1:8300",
        "[::1]:8300",
        "monitoring.localhost:8300",
        "notebook.localhost",
        ".notebook.localhost",
        f"a.{NOTEBOOK_ID}.notebook.localhost",
        f"{NOTEBOOK_ID}..notebook.localhost",
        f"{NOTEBOOK_ID}.notebook.localhost..",
        f"{NOTEBOOK_ID}.notebook.localhost.evil.example",
        f"{NOTEBOOK_ID}.notebook.example",
        f"{NOTEBOOK_ID}notebook.localhost",
        f"{NOTEBOOK_ID}.notebook.localhost:http",
        f"{NOTEBOOK_ID}.notebook.localhost:8300:8300",
        f"{NOTEBOOK_ID[:-1]}.notebook.localhost",
        f"{NOTEBOOK_ID}0.notebook.localhost",
        f"{NOTEBOOK_ID.replace('-', '')}.notebook.localhost",
        "mynotebook.notebook.localhost",
        f"{NOTEBOOK_ID[:-1]}g.notebook.localhost",
        f"[{NOTEBOOK_ID}.notebook.localhost]",
        f"{NOTEBOOK_ID}.notebook.localhost\t.",
    ],
)
def test_not_notebook_hosts(host: str) -> None:
    assert parse_notebook_host(host) is None


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("LOCALHOST:8300", "localhost"),
        ("localhost.", "localhost"),
        ("localhost.:8300", "localhost"),
        ("Monitoring.Localhost", "monitoring.localhost"),
        ("127.0.0.1:8300", "127.0.0.1"),
        ("[::1]:8300", "::1"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("[::1", ""),
        ("[::1]8300", ""),
        ("localhost:abc", ""),
        (":8300", ""),
        ("", ""),
        ("local host", ""),
    ],
)
def test_normalize_host(host: str, expected: str) -> None:
    assert normalize_host(host) == expected
