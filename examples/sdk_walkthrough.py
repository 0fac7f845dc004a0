#!/usr/bin/env python3
"""Run, share, stop and delete a notebook with the official ``ovhai`` SDK, against localai.

The SDK calls localai as it calls the cloud: only the base URL and the token
change. The steps follow the guide "Launch and share an AI Notebook with
tokens". The script creates a read token for a label, runs a notebook with
that label and waits for RUNNING. It opens the notebook URL with the token
and checks that the token cannot stop the notebook. Then it stops and deletes
the notebook with the project user's token.

    pip install ovhai==0.1a4
    python examples/sdk_walkthrough.py --url http://localhost:8300 --token "$LOCALAI_TOKEN"

``localai daemon credentials`` prints the API token. The script exits with
status 1 and the server's response when a call does not return the status
the API documents.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from ovhai.api.me import me
from ovhai.api.notebook import (
    notebook_delete,
    notebook_get,
    notebook_get_all,
    notebook_new,
    notebook_stop,
)
from ovhai.api.token import token_delete, token_new
from ovhai.client import AuthenticatedClient
from ovhai.models import (
    NotebookEnv,
    NotebookSpec,
    NotebookSpecLabelsType0,
    Resources,
    TokenSpec,
)
from ovhai.ovhai_types import Response

LABEL_NAME = "subject"
LABEL_VALUE = "image-recognition"
STATE_DEADLINE_SECONDS = 180.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", default=os.environ.get("LOCALAI_URL", "http://localhost:8300"),
                        help="API base URL [default: LOCALAI_URL, else http://localhost:8300]")
    parser.add_argument("--token", default=os.environ.get("LOCALAI_TOKEN"),
                        help="API token of the project user [default: LOCALAI_TOKEN]")
    parser.add_argument("--framework", default="pytorch", help="framework id [default: pytorch]")
    parser.add_argument("--editor", default="jupyterlab", help="editor id [default: jupyterlab]")
    parser.add_argument("--gpu", type=int, default=0,
                        help="number of GPUs; 0 runs on one CPU [default: 0]")
    args = parser.parse_args()
    if not args.token:
        parser.error("no token: pass --token or set LOCALAI_TOKEN "
                     "(localai daemon credentials prints it)")
    return args


def expect(response: Response[Any], status: int, action: str) -> Any:
    """Return the parsed body if ``response`` has ``status``, else exit with the server's text."""
    if response.status_code != status:
        body = response.content.decode(errors="replace")
        sys.exit(f"{action} failed: expected HTTP {status}, got {response.status_code}: {body}")
    return response.parsed


def step(text: str) -> None:
    print(f"\n== {text}")


def wait_for_state(client: AuthenticatedClient, notebook_id: str, state: str) -> Any:
    """Poll the notebook until it reaches ``state``; exit at the deadline."""
    deadline = time.monotonic() + STATE_DEADLINE_SECONDS
    while True:
        notebook = expect(notebook_get.sync_detailed(notebook_id, client=client), 200,
                          f"Getting notebook {notebook_id}")
        if notebook.status.state == state:
            return notebook
        if time.monotonic() > deadline:
            sys.exit(f"Notebook {notebook_id} is {notebook.status.state}, not {state}, "
                     f"after {STATE_DEADLINE_SECONDS:g} s")
        time.sleep(1)


def open_url(url: str, token: str) -> httpx.Response:
    """GET a notebook URL with an app token.

    Browsers resolve every name under ``localhost`` to the loopback address,
    but glibc often does not, so a ``*.localhost`` URL is sent to 127.0.0.1
    with the notebook's name in the Host header.
    """
    parts = urlsplit(url)
    headers = {"Authorization": f"Bearer {token}"}
    if parts.hostname and parts.hostname.endswith(".localhost"):
        headers["Host"] = parts.netloc
        url = parts._replace(netloc=f"127.0.0.1:{parts.port or 80}").geturl()
    return httpx.get(url, headers=headers, timeout=30)


def walkthrough(owner: AuthenticatedClient, args: argparse.Namespace,
                created: dict[str, str]) -> None:
    step("Who am I")
    user = expect(me.sync_detailed(client=owner), 200, "Getting /v1/me")
    print(f"user {user.name}, role {user.role}, token kind {user.token_kind}")

    step(f"Create a read token for notebooks labelled {LABEL_NAME}={LABEL_VALUE}")
    spec = TokenSpec(name="my-token", role="read", label_selector=f"{LABEL_NAME}={LABEL_VALUE}")
    token = expect(token_new.sync_detailed(client=owner, body=spec), 200, "Creating the token")
    created["token"] = str(token.id)
    print(f"token {token.id}, version {token.status.version}, "
          f"value {token.status.value[:24]}...")

    step(f"Run a {args.framework} notebook with {args.editor} and that label")
    labels = NotebookSpecLabelsType0()
    labels[LABEL_NAME] = LABEL_VALUE
    resources = Resources(gpu=args.gpu) if args.gpu else Resources(cpu=1)
    notebook_spec = NotebookSpec(
        env=NotebookEnv(framework_id=args.framework, editor_id=args.editor),
        labels=labels, resources=resources,
    )
    notebook = expect(notebook_new.sync_detailed(client=owner, body=notebook_spec), 200,
                      "Running the notebook")
    created["notebook"] = str(notebook.id)
    print(f"notebook {notebook.id} is {notebook.status.state}, "
          f"resources {notebook.spec.resources.to_dict()}")

    step("Wait for RUNNING")
    notebook = wait_for_state(owner, notebook.id, "RUNNING")
    print(f"state {notebook.status.state}, url {notebook.status.url}")

    step("List the notebooks with that label")
    listing = expect(notebook_get_all.sync_detailed(
        client=owner, label_selector=f"{LABEL_NAME}={LABEL_VALUE}"), 200, "Listing notebooks")
    print(f"{listing.metadata.total} notebook(s): {[item.id for item in listing.items]}")

    step("Open the notebook URL with the read token")
    page = open_url(notebook.status.url, token.status.value)
    location = page.headers.get("Location", "")
    print(f"GET {notebook.status.url} -> HTTP {page.status_code} {location}".rstrip())
    # Editors redirect / themselves (JupyterLab to /lab, code-server to ?folder=).
    # Only the daemon's login page or an error status means the token was rejected.
    if page.status_code >= 400 or "/_localai/login" in location:
        sys.exit(f"Opening the notebook with the read token failed: HTTP {page.status_code}")

    step("Try to stop it with the read token")
    with AuthenticatedClient(base_url=args.url, token=token.status.value) as reader:
        stop_as_reader = notebook_stop.sync_detailed(notebook.id, client=reader)
    print(f"PUT /v1/notebook/{notebook.id}/stop with the read token -> HTTP "
          f"{stop_as_reader.status_code} "
          f"{stop_as_reader.content.decode(errors='replace').strip()}")
    if stop_as_reader.status_code != 403:
        sys.exit("The read token was expected to be refused with HTTP 403")

    step("Stop it with the project user's token")
    expect(notebook_stop.sync_detailed(notebook.id, client=owner), 204, "Stopping the notebook")
    notebook = wait_for_state(owner, notebook.id, "STOPPED")
    print(f"state {notebook.status.state}")

    step("Delete the notebook and the token")
    expect(notebook_delete.sync_detailed(notebook.id, client=owner), 204, "Deleting the notebook")
    get_after_delete = notebook_get.sync_detailed(notebook.id, client=owner)
    print(f"GET /v1/notebook/{notebook.id} -> HTTP {get_after_delete.status_code}")
    created.pop("notebook", None)
    expect(token_delete.sync_detailed(token.id, client=owner), 204, "Deleting the token")
    created.pop("token", None)
    print(f"token {token.id} deleted")


def clean_up(owner: AuthenticatedClient, created: dict[str, str]) -> None:
    """Delete what a failed walkthrough left, so no container stays behind."""
    if "notebook" in created:
        notebook_delete.sync_detailed(created["notebook"], client=owner, force=True)
        print(f"deleted notebook {created['notebook']} after the failure", file=sys.stderr)
    if "token" in created:
        token_delete.sync_detailed(created["token"], client=owner)
        print(f"deleted token {created['token']} after the failure", file=sys.stderr)


def main() -> None:
    args = parse_args()
    with AuthenticatedClient(base_url=args.url, token=args.token,
                             timeout=httpx.Timeout(30.0)) as owner:
        created: dict[str, str] = {}
        try:
            walkthrough(owner, args, created)
        finally:
            clean_up(owner, created)


if __name__ == "__main__":
    main()
