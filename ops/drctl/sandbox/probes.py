"""Probes that measure a drill: clients of the API name, as the platform's users are.

Each probe resolves the API name through the sandbox's resolver before every request (so it follows DNS as it
moves), writes through whichever region answers, and keeps every result: when it was sent and answered (wall
clock, seconds), which record and region answered, the HTTP status or the error.
- `heartbeat`: commits a heartbeat `{"seq", "sent_at"}` every 50 ms. RPO = the newest heartbeat region A
  acknowledged minus the newest of those present in B after promotion; the lost keys are the acknowledged
  heartbeats B does not hold.
- `availability`: writes an order (the critical path) every 100 ms. RTO = first failed request to the first
  good write through DNS to B, detection included.
"""
from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Self

from ops.drctl.sandbox.dns import Resolver


@dataclass(frozen=True)
class ProbeResult:
    probe: str
    seq: int
    sent_at: float
    answered_at: float
    ok: bool
    status: int | None
    region: str | None  # the region that answered, from the service's reply
    record: str | None  # the DNS record that was answered (primary/secondary)
    error: str | None = None
    found: int | None = None  # search probe: documents the search found

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(kw_only=True)
class _Polling(ABC):
    """What every probe shares: a daemon thread that polls (`_loop`) until stopped, and the results it keeps.
    Each probe declares its own `name` (the thread is named after it)."""

    results: list[ProbeResult] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._loop, name=f"probe-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @abstractmethod
    def _loop(self) -> None:
        """The probe's own polling: usually `self._poll_every(interval, request)`."""

    def _poll_every(self, interval_s: float, poll: Callable[[int], ProbeResult]) -> None:
        """`poll(seq)` for seq 1, 2, ... with `interval_s` between the end of one poll and the next, until stopped."""
        for seq in itertools.count(1):
            if self._stop.is_set():
                return
            self.results.append(poll(seq))
            self._stop.wait(interval_s)


@dataclass
class Probe(_Polling):
    name: str
    path: str
    interval_s: float
    payload: Callable[[int, float], dict[str, Any]]
    resolver: Resolver
    api_name: str
    key: Callable[[int], Any] = lambda seq: seq  # the database key a request writes
    timeout_s: float = 0.5
    _connections: dict[tuple[str, int], http.client.HTTPConnection] = field(default_factory=dict)

    def stop(self) -> None:
        super().stop()
        for connection in self._connections.values():
            connection.close()

    def _loop(self) -> None:
        next_at = time.monotonic()
        for seq in itertools.count(1):
            if self._stop.is_set():
                return
            self.results.append(self.request(seq))
            next_at += self.interval_s
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def request(self, seq: int) -> ProbeResult:
        sent = time.time()
        record = None
        try:
            answer = self.resolver.resolve(self.api_name)
            record = answer.record
            connection = self._connections.get(answer.address)
            if connection is None:
                connection = http.client.HTTPConnection(*answer.address, timeout=self.timeout_s)
                self._connections[answer.address] = connection
            body = json.dumps(self.payload(seq, sent))
            try:
                connection.request("POST", self.path, body=body, headers={
                    "Content-Type": "application/json", "Host": self.api_name})
                response = connection.getresponse()
                data = json.loads(response.read() or b"{}")
            except (OSError, http.client.HTTPException, ValueError):
                connection.close()
                self._connections.pop(answer.address, None)
                raise
            ok = response.status == 201
            return ProbeResult(self.name, seq, sent, time.time(), ok, response.status, data.get("region"), record,
                               None if ok else str(data.get("error")))
        except (OSError, http.client.HTTPException, LookupError, ValueError) as exc:
            return ProbeResult(self.name, seq, sent, time.time(), False, None, None, record,
                               f"{type(exc).__name__}: {exc}")


def heartbeat_probe(resolver: Resolver, api_name: str, interval_s: float = 0.05) -> Probe:
    return Probe("heartbeat", "/v1/heartbeats", interval_s, lambda seq, sent: {"seq": seq, "sent_at": sent},
                 resolver, api_name)


def availability_probe(resolver: Resolver, api_name: str, interval_s: float = 0.1) -> Probe:
    run = uuid.uuid4().hex[:8]
    return Probe("availability", "/v1/orders", interval_s,
                 lambda seq, sent: {"order_id": f"{run}-{seq}", "amount_cents": 100 + seq % 900}, resolver, api_name,
                 key=lambda seq: f"{run}-{seq}")


@dataclass
class SearchProbe(_Polling):
    """Searches B's Typesense alias every `interval_s` (`q=*`): ok when it answers 200, with how many it found."""

    url: str
    api_key: str
    alias: str
    interval_s: float = 0.1
    name: str = "search"

    def _loop(self) -> None:
        import requests

        session = requests.Session()
        session.headers["X-TYPESENSE-API-KEY"] = self.api_key

        def search(seq: int) -> ProbeResult:
            sent = time.time()
            try:
                answer = session.get(f"{self.url}/collections/{self.alias}/documents/search",
                                     params={"q": "*", "query_by": "name", "per_page": 1}, timeout=1)
                found = answer.json().get("found") if answer.status_code == 200 else None
                return ProbeResult(self.name, seq, sent, time.time(), answer.status_code == 200,
                                   answer.status_code, "us-west-2", None, None, found)
            except (requests.RequestException, ValueError) as exc:
                return ProbeResult(self.name, seq, sent, time.time(), False, None, None, None,
                                   f"{type(exc).__name__}: {exc}")

        self._poll_every(self.interval_s, search)


@dataclass
class ObjectProbe(_Polling):
    """Reads the CDN's origin objects (S3 GetObject through the AWS API) in turn every `interval_s`: ok on 200."""

    bucket: str
    keys: list[str]
    region: str
    interval_s: float = 0.05
    name: str = "objects"

    def _loop(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        from ops.actions.aws import client

        s3 = client("s3", self.region, max_attempts=1)

        def read(seq: int) -> ProbeResult:
            key = self.keys[seq % len(self.keys)]
            sent = time.time()
            try:
                s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                return ProbeResult(self.name, seq, sent, time.time(), True, 200, self.region, key)
            except (ClientError, BotoCoreError) as exc:
                status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
                return ProbeResult(self.name, seq, sent, time.time(), False, status, None, key,
                                   f"{type(exc).__name__}: {exc}"[:200])

        self._poll_every(self.interval_s, read)
