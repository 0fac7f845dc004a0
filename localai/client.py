"""HTTP client of the localai API, used by the CLI and by tests.

Every method returns the parsed JSON body (dicts and lists, keys in the
order the server sent them). A non-2xx response raises ``ApiError``, which
carries the status and the server's ``{"message": ...}`` text. A refused
connection raises ``DaemonNotRunning``.
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import requests

from localai.errors import DaemonError, InvalidRequest, LocalaiError

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]

# Maximum number of pages the list methods fetch, so that a server that
# keeps returning the same page cannot make the client loop forever.
MAX_PAGES = 10_000


class ApiError(LocalaiError):
    """The API returned a non-2xx status; ``message`` is the server's text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class DaemonNotRunning(DaemonError):
    """Nothing accepts connections at the API URL."""

    def __init__(self, base_url: str) -> None:
        super().__init__(
            f"No localai daemon answers at {base_url}. Start it with: localai daemon start"
        )
        self.base_url = base_url


def _query_value(value: object) -> Any:
    # requests writes True as "True"; the API expects JSON-style booleans.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return [_query_value(item) for item in value]
    return value


def _query(params: Mapping[str, object]) -> dict[str, Any]:
    return {key: _query_value(value) for key, value in params.items() if value is not None}


def _error_message(response: requests.Response) -> str:
    """Return the server's ``message`` field, or a description of a body without one."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])

    text = response.text.strip()
    detail = f": {text[:300]}" if text else ""
    return (
        f"The API returned HTTP {response.status_code} {response.reason} "
        f"to {response.request.method} {response.url}{detail}"
    )


class Client:
    """Client of one localai daemon at ``base_url``; ``token`` is sent as a Bearer token."""

    def __init__(self, base_url: str, token: str | None, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self.session.close()

    # -- transport -------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        body: object = None,
        stream: bool = False,
        timeout: float | tuple[float, float | None] | None = None,
    ) -> requests.Response:
        url = self.base_url + path
        try:
            response = self.session.request(
                method,
                url,
                params=_query(params or {}),
                json=body,
                stream=stream,
                timeout=self.timeout if timeout is None else timeout,
            )
        except requests.exceptions.ConnectTimeout as e:
            raise DaemonNotRunning(self.base_url) from e
        except requests.exceptions.Timeout as e:
            raise DaemonError(
                f"The localai daemon at {self.base_url} did not respond to {method} {path} "
                f"within {self.timeout:g} s. Check it with: localai daemon status"
            ) from e
        except requests.exceptions.ConnectionError as e:
            raise DaemonNotRunning(self.base_url) from e

        if not response.ok:
            message = _error_message(response)
            response.close()
            log.debug("%s %s -> %s: %s", method, path, response.status_code, message)
            raise ApiError(response.status_code, message)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as e:
            raise ApiError(
                response.status_code,
                f"The API returned a body that is not JSON for {method} {path}.",
            ) from e

    def _walk_pages(self, path: str, query: Mapping[str, object]) -> list[JsonDict]:
        """Return the items of every page of a ``{items, metadata}`` list endpoint."""
        items: list[JsonDict] = []
        params = dict(query)
        for _ in range(MAX_PAGES):
            page = self._json("GET", path, params=params)
            batch = page.get("items") or []
            items.extend(batch)

            metadata = page.get("metadata") or {}
            current = metadata.get("currentPage")
            page_count = metadata.get("pageCount")
            if not batch or not isinstance(current, int) or not isinstance(page_count, int):
                break
            if current >= page_count:
                break
            params["page"] = current + 1
        return items

    # -- daemon ----------------------------------------------------------

    def health(self) -> JsonDict:
        """``GET /health``: daemon version, pid, data dir, URL and Docker engine state."""
        result: JsonDict = self._json("GET", "/health")
        return result

    # -- notebooks -------------------------------------------------------

    def notebooks_create(self, spec: JsonDict) -> JsonDict:
        result: JsonDict = self._json("POST", "/v1/notebook", body=spec)
        return result

    def notebook_get(self, notebook_id: str) -> JsonDict:
        result: JsonDict = self._json("GET", f"/v1/notebook/{_segment(notebook_id)}")
        return result

    def notebooks_list(self, **query: object) -> list[JsonDict]:
        """Return the notebooks of every page; ``query`` takes the API's list parameters."""
        return self._walk_pages("/v1/notebook", query)

    def notebook_start(self, notebook_id: str) -> None:
        self._json("PUT", f"/v1/notebook/{_segment(notebook_id)}/start")

    def notebook_stop(self, notebook_id: str) -> None:
        self._json("PUT", f"/v1/notebook/{_segment(notebook_id)}/stop")

    def notebook_delete(self, notebook_id: str, force: bool = False) -> None:
        params = {"force": True} if force else {}
        self._json("DELETE", f"/v1/notebook/{_segment(notebook_id)}", params=params)

    def notebook_label(self, notebook_id: str, name: str, value: str | None) -> None:
        """Set a label, or remove it when ``value`` is None."""
        path = f"/v1/notebook/{_segment(notebook_id)}/label"
        self._json("PUT", path, body={"name": name, "value": value})

    def notebook_logs(
        self, notebook_id: str, follow: bool = False, tail: int | None = None
    ) -> Iterator[str]:
        """Yield the notebook's log as text chunks, as the daemon sends them.

        With ``follow`` the stream stays open until the notebook stops or the
        caller stops iterating, so no read timeout applies.
        """
        read_timeout = None if follow else self.timeout
        response = self._send(
            "GET",
            f"/v1/notebook/{_segment(notebook_id)}/log",
            params={"follow": follow, "tail": tail},
            stream=True,
            timeout=(self.timeout, read_timeout),
        )
        return self._iter_text(response)

    @staticmethod
    def _iter_text(response: requests.Response) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(response.encoding or "utf-8")(errors="replace")
        with response:
            for chunk in response.iter_content(chunk_size=None):
                text = decoder.decode(chunk)
                if text:
                    yield text
            rest = decoder.decode(b"", final=True)
            if rest:
                yield rest

    # -- capabilities ----------------------------------------------------

    def frameworks(self) -> list[JsonDict]:
        result: list[JsonDict] = self._json("GET", "/v1/capabilities/notebook/framework")
        return result

    def framework(self, framework_id: str) -> JsonDict:
        path = f"/v1/capabilities/notebook/framework/{_segment(framework_id)}"
        result: JsonDict = self._json("GET", path)
        return result

    def editors(self) -> list[JsonDict]:
        result: list[JsonDict] = self._json("GET", "/v1/capabilities/notebook/editor")
        return result

    def editor(self, editor_id: str) -> JsonDict:
        path = f"/v1/capabilities/notebook/editor/{_segment(editor_id)}"
        result: JsonDict = self._json("GET", path)
        return result

    def flavors(self) -> list[JsonDict]:
        result: list[JsonDict] = self._json("GET", "/v1/capabilities/flavor")
        return result

    def flavor(self, flavor_id: str) -> JsonDict:
        result: JsonDict = self._json("GET", f"/v1/capabilities/flavor/{_segment(flavor_id)}")
        return result

    def quotas(self) -> list[JsonDict]:
        result: list[JsonDict] = self._json("GET", "/v1/capabilities/quota")
        return result

    def me(self) -> JsonDict:
        result: JsonDict = self._json("GET", "/v1/me")
        return result

    # -- app tokens ------------------------------------------------------

    def tokens_create(self, name: str, role: str, label_selector: str | None = None) -> JsonDict:
        """Create an app token; ``role`` is the API value, such as ``ai_training_read``."""
        spec: JsonDict = {"name": name, "role": role}
        if label_selector is not None:
            spec["labelSelector"] = label_selector
        result: JsonDict = self._json("POST", "/v1/token", body=spec)
        return result

    def tokens_list(self) -> list[JsonDict]:
        return self._walk_pages("/v1/token", {})

    def token_get(self, token_id: str) -> JsonDict:
        result: JsonDict = self._json("GET", f"/v1/token/{_segment(token_id)}")
        return result

    def token_renew(self, token_id: str) -> JsonDict:
        result: JsonDict = self._json("POST", f"/v1/token/{_segment(token_id)}/renew")
        return result

    def token_delete(self, token_id: str) -> None:
        self._json("DELETE", f"/v1/token/{_segment(token_id)}")


def _segment(value: str) -> str:
    """Return an id as one URL path segment; raises InvalidRequest on ids that are no segment."""
    if not value or value in (".", ".."):
        raise InvalidRequest(f"Invalid id {value!r}: give the id that 'list' prints.")
    return quote(value, safe="")
