"""Server-side fault injection and call counting for moto's S3, through the same queue as `faults.py`.

moto's S3 does not dispatch through `BaseResponse.call_action` (it routes by method and URL in S3Response), so
`faults.inject("s3", ...)` and `faults.calls("s3", ...)` would never see an S3 request. This wraps the S3Response
handlers of the operations the undelete runbook makes, keyed by their API operation names, so that an injected
503 SlowDown reaches botocore exactly as S3 sends it and the standard retry mode has to deal with it.
`fail_after(operation, served, count)` fails requests only after some have been served (a run that breaks
part-way); `clear()` forgets that. `faults.lose_response("s3", ...)` works for these operations too.
"""
from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.s3.responses import S3Response

from tests.harness.moto_extensions import faults

OPERATIONS = {  # S3Response handler → API operation name
    "list_object_versions": "ListObjectVersions",
    "delete_object": "DeleteObject",
    "head_object": "HeadObject",
    "get_bucket_versioning": "GetBucketVersioning",
    "get_bucket_location": "GetBucketLocation",
}


_later: dict[str, list[Any]] = {}  # operation → [requests still served, failures to come, status, code]


def fail_after(operation: str, served: int, count: int, *, status: int = 500, code: str = "InternalError") -> None:
    """Serve the next `served` requests of `operation`, then fail `count` — a run that breaks part-way."""
    with faults._lock:
        _later[operation] = [served, count, status, code]


def clear() -> None:
    with faults._lock:
        _later.clear()


def _next_fault(operation: str) -> tuple[int, str] | None:
    key = ("s3", operation)
    with faults._lock:  # the shared queue and counters of faults.py, so one API serves every service
        faults._calls[key] += 1
        queued = faults._pending.get(key)
        if queued:
            return queued.pop(0)
        later = _later.get(operation)
        if later is None or later[1] == 0:
            return None
        if later[0] > 0:
            later[0] -= 1
            return None
        later[1] -= 1
        return later[2], later[3]


def _with_faults(handler: Callable[..., Any], operation: str) -> Callable[..., Any]:
    @functools.wraps(handler)
    def wrapped(self: S3Response, *args: Any, **kwargs: Any) -> Any:
        fault = _next_fault(operation)
        if fault is None:
            answer = handler(self, *args, **kwargs)
            faults.withhold_if_due(("s3", operation))  # faults.lose_response("s3", ...)
            return answer
        status, code = fault
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            _, headers, body = self.serialized(ActionResult(faults.InjectedFault(code, f"injected fault: {code}")))
        return status, headers, body
    wrapped._dr_faults = True  # type: ignore[attr-defined]
    return wrapped


def install() -> None:
    for name, operation in OPERATIONS.items():
        handler = getattr(S3Response, name)
        if not getattr(handler, "_dr_faults", False):  # installing twice must not wrap twice
            setattr(S3Response, name, _with_faults(handler, operation))
