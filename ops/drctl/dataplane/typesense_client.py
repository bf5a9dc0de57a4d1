"""RB-N-04's Typesense side: an HTTP client for collections, aliases and JSONL imports. HTTP 503/429 is
Typesense's back-pressure (it refuses every write while it lags): the same request is sent again after a bounded
exponential back-off, as is one whose connection was refused (a restarting node), for a few seconds only."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
from tenacity import RetryCallState, retry, retry_if_exception_type, stop_after_delay, wait_exponential_jitter

from ops.drctl.runbooks.engine import BadInput


class Backpressure(Exception):
    """HTTP 503 / 429 from Typesense: slow down and send the same batch again."""


class ImportRejected(RuntimeError):
    """Typesense refused documents (`success:false` lines); the run fails, the alias is not touched."""


class TypesenseError(RuntimeError):
    pass


CONNECTION_ATTEMPTS = 6  # ~3 s of back-off: enough for a restarting node, short for a wrong or dead URL


def _unreachable_too_long(state: RetryCallState) -> bool:
    failure = state.outcome.exception() if state.outcome else None
    return isinstance(failure, requests.ConnectionError) and state.attempt_number >= CONNECTION_ATTEMPTS


@dataclass
class TypesenseClient:
    url: str
    api_key: str
    timeout: float = 120
    backpressure_timeout: float = 600  # give up on a batch after this long of 503s
    backpressure_waits: int = 0
    _session: requests.Session = field(default_factory=requests.Session, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        self._session.headers["X-TYPESENSE-API-KEY"] = self.api_key
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request; on back-pressure (503/429, which Typesense answers to every write while it lags) or a
        refused connection, the same request is sent again after a bounded exponential back-off."""
        @retry(retry=retry_if_exception_type((Backpressure, requests.ConnectionError)), reraise=True,
               wait=wait_exponential_jitter(multiplier=0.05, max=5),
               stop=stop_after_delay(self.backpressure_timeout) | _unreachable_too_long)
        def send() -> requests.Response:
            response = self._session.request(method, f"{self.url}{path}", **{"timeout": self.timeout, **kwargs})
            if response.status_code in (429, 503):
                with self._lock:
                    self.backpressure_waits += 1
                raise Backpressure(f"{method} {path}: HTTP {response.status_code}")
            return response
        return send()

    def _checked(self, response: requests.Response, allowed: tuple[int, ...] = ()) -> requests.Response:
        if response.status_code >= 400 and response.status_code not in allowed:
            raise TypesenseError(f"{response.request.method} {response.request.path_url}: HTTP "
                                 f"{response.status_code} {response.text[:300]}")
        return response

    def check_access(self) -> None:
        """BadInput unless the server answers and accepts the key (GET /collections needs a valid key)."""
        try:
            response = self._session.get(f"{self.url}/collections", timeout=10)  # no retries: a bad URL is bad input
        except requests.RequestException as exc:
            raise BadInput(f"--typesense {self.url}: not reachable: {exc}") from None
        if response.status_code in (401, 403):
            raise BadInput(f"--typesense {self.url}: the API key in --api-key-env was refused")
        self._checked(response)

    def alias_target(self, alias: str) -> str | None:
        response = self._checked(self._request("GET", f"/aliases/{alias}"), allowed=(404,))
        return None if response.status_code == 404 else response.json()["collection_name"]

    def collection(self, name: str) -> dict[str, Any] | None:
        response = self._checked(self._request("GET", f"/collections/{name}"), allowed=(404,))
        return None if response.status_code == 404 else response.json()

    def ensure_collection(self, schema: dict[str, Any]) -> bool:
        """Create it; True if created now, False if it already existed (a resumed run)."""
        response = self._checked(self._request("POST", "/collections", json=schema), allowed=(409,))
        return response.status_code != 409

    def point_alias(self, alias: str, collection: str) -> None:
        self._checked(self._request("PUT", f"/aliases/{alias}", json={"collection_name": collection}))

    def collection_names(self) -> list[str]:
        return [c["name"] for c in self._checked(self._request("GET", "/collections")).json()]

    def drop_collection(self, name: str) -> bool:
        return self._checked(self._request("DELETE", f"/collections/{name}"), allowed=(404,)).status_code != 404

    def document_ids(self, collection: str) -> Iterator[str]:
        """Every document id in the collection, streamed (export with only the id field)."""
        response = self._checked(self._request("GET", f"/collections/{collection}/documents/export",
                                               params={"include_fields": "id"}, stream=True))
        with response:
            for line in response.iter_lines():
                if line.strip():
                    yield str(json.loads(line)["id"])

    def delete_document(self, collection: str, document_id: str) -> bool:
        return self._checked(self._request("DELETE", f"/collections/{collection}/documents/{document_id}"),
                             allowed=(404,)).status_code != 404

    def import_batch(self, collection: str, body: bytes) -> int:
        """Upsert one JSONL batch; retries the same batch on back-pressure; returns documents accepted."""
        response = self._checked(self._request("POST", f"/collections/{collection}/documents/import",
                                                params={"action": "upsert"}, data=body,
                                                headers={"Content-Type": "text/plain"}))
        lines = [line for line in response.content.splitlines() if line.strip()]
        if b'"success":false' not in response.content:  # the usual case: no need to parse 5,000 lines
            return len(lines)
        failed = [r for r in map(json.loads, lines) if not r.get("success")]
        first = failed[0]
        raise ImportRejected(f"{len(failed)} of {len(lines)} documents rejected by Typesense, first: "
                             f"{first.get('error')} in {str(first.get('document'))[:200]}")
