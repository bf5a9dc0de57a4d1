"""Server-side fault injection and call counting for moto's S3, through the same queue as `faults.py`.

moto's S3 does not dispatch through `BaseResponse.call_action` (it routes by method and URL in S3Response), so
`faults.inject("s3", ...)` and `faults.calls("s3", ...)` would never see an S3 request. This wraps the S3Response
handlers of the operations the undelete runbook makes, keyed by their API operation names, so that an injected
503 SlowDown reaches botocore exactly as S3 sends it and the standard retry mode has to deal with it.
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


def _next_fault(operation: str) -> tuple[int, str] | None:
    key = ("s3", operation)
    with faults._lock:  # the shared queue and counters of faults.py, so one API serves every service
        faults._calls[key] += 1
        queued = faults._pending.get(key)
        return queued.pop(0) if queued else None


def _with_faults(handler: Callable[..., Any], operation: str) -> Callable[..., Any]:
    @functools.wraps(handler)
    def wrapped(self: S3Response, *args: Any, **kwargs: Any) -> Any:
        fault = _next_fault(operation)
        if fault is None:
            return handler(self, *args, **kwargs)
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
