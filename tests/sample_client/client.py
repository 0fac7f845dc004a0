"""A small client of the OVHcloud AI Training API: the code under test of this sample project.

It runs a notebook, waits for it, shares it with an app token, stops it and
deletes it, with plain ``requests``. The module has no code specific to
localai: given ``https://gra.training.ai.cloud.ovh.net`` and a cloud token it
drives the cloud, and its tests point it at a localai test daemon instead.
"""

from __future__ import annotations

import time
from typing import Any

import requests

JsonDict = dict[str, Any]


class ApiError(Exception):
    """The API returned an error status; ``message`` is the server's text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class NotebookClient:
    """Runs and shares notebooks through the ``/v1`` API with one token."""

    def __init__(self, base_url: str, token: str, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> NotebookClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.base_url}{path}",
                                        timeout=self.timeout, **kwargs)
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise ApiError(response.status_code, message)
        return response.json() if response.content else None

    def run_notebook(self, framework: str, editor: str, *, labels: dict[str, str] | None = None,
                     gpu: int | None = None) -> JsonDict:
        """Submit a notebook with one GPU per ``gpu``, else one CPU; return it (STARTING)."""
        resources = {"gpu": gpu} if gpu else {"cpu": 1}
        spec = {"env": {"frameworkId": framework, "editorId": editor},
                "labels": labels or {}, "resources": resources}
        notebook: JsonDict = self._call("POST", "/v1/notebook", json=spec)
        return notebook

    def get_notebook(self, notebook_id: str) -> JsonDict:
        notebook: JsonDict = self._call("GET", f"/v1/notebook/{notebook_id}")
        return notebook

    def wait_for_state(self, notebook_id: str, state: str, timeout: float = 120) -> JsonDict:
        """Poll the notebook until it reaches ``state``; raise TimeoutError at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            notebook = self.get_notebook(notebook_id)
            if notebook["status"]["state"] == state:
                return notebook
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Notebook {notebook_id} is {notebook['status']['state']}, not {state}, "
                    f"after {timeout:g} s"
                )
            time.sleep(0.5)

    def share(self, notebook_id: str, subject: str) -> str:
        """Label the notebook ``subject=<subject>`` and return a read token for that label."""
        self._call("PUT", f"/v1/notebook/{notebook_id}/label",
                   json={"name": "subject", "value": subject})
        token: JsonDict = self._call("POST", "/v1/token", json={
            "name": f"share-{subject}", "role": "read", "labelSelector": f"subject={subject}",
        })
        value: str = token["status"]["value"]
        return value

    def stop(self, notebook_id: str) -> None:
        self._call("PUT", f"/v1/notebook/{notebook_id}/stop")

    def delete(self, notebook_id: str) -> None:
        self._call("DELETE", f"/v1/notebook/{notebook_id}", params={"force": "true"})


def open_notebook(url: str, token: str) -> requests.Response:
    """Open a notebook URL with an app token, as a script of the person it was shared with."""
    return requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
