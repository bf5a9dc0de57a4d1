"""boto3 clients with botocore's own retry modes and bounded timeouts.

The endpoint comes from botocore's standard `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables, so the
same code talks to AWS or to the local moto server. Retries: botocore's `standard` mode (throttling and 5xx,
exponential backoff with jitter) unless `AWS_RETRY_MODE` says otherwise; attempts from `AWS_MAX_ATTEMPTS`.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

RequestListener = Callable[[str, str, str], None]  # (service, operation, request_id)


def client_config(max_attempts: int | None = None) -> Config:
    attempts = max_attempts or int(os.environ.get("AWS_MAX_ATTEMPTS", "8"))
    return Config(
        retries={"mode": os.environ.get("AWS_RETRY_MODE", "standard"), "total_max_attempts": attempts},
        connect_timeout=float(os.environ.get("DR_CONNECT_TIMEOUT", "5")),
        read_timeout=float(os.environ.get("DR_READ_TIMEOUT", "30")),
    )


_session_lock = threading.Lock()


@lru_cache(maxsize=8)
def _session(aws_environment: frozenset[tuple[str, str]]) -> boto3.session.Session:
    # A Session loads botocore's service models (~0.2 s); one per credentials/endpoint environment is enough.
    # The key is unused inside: it only makes a changed AWS_* environment (another profile, endpoint or
    # credentials, as tests and operators switch) get a fresh Session.
    return boto3.session.Session()


def _current_session() -> boto3.session.Session:
    return _session(frozenset((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))


def client(service: str, region: str, *, max_attempts: int | None = None,
           on_request: RequestListener | None = None) -> Any:
    """A boto3 client for `service` in `region`; `on_request` hears every API call's request id."""
    # Sessions are not thread-safe while making clients (clients are): runbooks make clients from worker threads.
    with _session_lock:
        made = _current_session().client(service, region_name=region, config=client_config(max_attempts))
    if on_request is not None:
        def _after_call(http_response: Any, parsed: dict, model: Any, **_: Any) -> None:
            request_id = (parsed or {}).get("ResponseMetadata", {}).get("RequestId", "")
            on_request(service, model.name, request_id)
        made.meta.events.register("after-call.*", _after_call)
    return made


def error_code(exc: ClientError) -> str:
    """The AWS error code of a failed call ("" when the response carries none)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def described_or_none(describe: Callable[[], dict[str, Any]], listed_as: str,
                      not_found_code: str) -> dict[str, Any] | None:
    """The one resource a Describe call by identifier lists, or None when AWS answers that it does not exist
    (`not_found_code`, or an empty list)."""
    try:
        found = describe()[listed_as]
    except ClientError as exc:
        if error_code(exc) == not_found_code:
            return None
        raise
    return dict(found[0]) if found else None


def described_one(describe: Callable[[], dict[str, Any]], listed_as: str, not_found_code: str,
                  what: str) -> dict[str, Any]:
    """As `described_or_none`, but a missing resource is a LookupError naming `what`."""
    found = described_or_none(describe, listed_as, not_found_code)
    if found is None:
        raise LookupError(f"{what} does not exist")
    return found
