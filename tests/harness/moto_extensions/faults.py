"""Server-side fault injection and call counting for moto, so tests exercise the real client retry path.

`inject(service, operation, count, status=503, code="ThrottlingException")` makes the next `count` requests of
that operation fail on the server with that HTTP status and error code, serialized in the service's own protocol
the way AWS answers (botocore's standard retry mode retries throttling codes and 5xx). With `performed=True` the
server first carries the request out and then answers with the fault: a response lost on its way back, which the
client's retry meets as "already done" (e.g. DBInstanceAlreadyExists). `calls(service,
operation)` counts the requests the server received for an operation (injected failures included), which lets a
test prove an operation was not repeated. `clear()` forgets both; the per-test `aws` fixture state is separate,
so tests using this call `clear()` themselves (the `faults` fixture in tests that need it).
"""
from __future__ import annotations

import threading
import warnings
from collections import Counter
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse

_lock = threading.Lock()
_pending: dict[tuple[str, str], list[tuple[int, str, bool]]] = {}
_calls: Counter[tuple[str, str]] = Counter()
_lost: dict[tuple[str, str], list[float]] = {}  # (service, operation) → [answered first, answers to lose, hold_s]
withheld = threading.Event()  # set when the server holds a lost answer
_released = threading.Event()  # set by clear(): every held answer goes out (to a client long gone)
_original_call_action = BaseResponse.call_action


class InjectedFault(ServiceException):
    """Defined here (not in a moto module) so moto serializes it with the called service's own error model."""


def inject(service: str, operation: str, count: int, *, status: int = 503,
           code: str = "ThrottlingException", performed: bool = False) -> None:
    with _lock:
        _pending.setdefault((service, operation), []).extend([(status, code, performed)] * count)


def calls(service: str, operation: str) -> int:
    with _lock:
        return _calls[(service, operation)]


def lose_response(service: str, operation: str, count: int, *, served: int = 0, hold_s: float = 120) -> None:
    with _lock:
        _lost[(service, operation)] = [served, count, hold_s]
        withheld.clear()
        _released.clear()


def clear() -> None:
    with _lock:
        _pending.clear()
        _calls.clear()
        _lost.clear()
        withheld.clear()
    _released.set()


def withhold_if_due(key: tuple[str, str]) -> None:
    """Called after the server carried a request out: hold its answer when a lost response is due."""
    with _lock:
        lost = _lost.get(key)
        if lost is None or lost[1] == 0:
            return
        if lost[0] > 0:
            lost[0] -= 1
            return
        lost[1] -= 1
        hold_s = lost[2]
    withheld.set()
    _released.wait(hold_s)


def _call_action(self: BaseResponse) -> Any:
    key = (self.service_name, self._get_action())
    with _lock:
        _calls[key] += 1
        queued = _pending.get(key)
        fault = queued.pop(0) if queued else None
    if fault is None:
        answer = _original_call_action(self)
        withhold_if_due(key)
        return answer
    status, code, performed = fault
    if performed:
        _original_call_action(self)  # the change happens; only its answer is lost
    with warnings.catch_warnings():  # moto warns that generic codes (Throttling, 5xx) are not in the model
        warnings.simplefilter("ignore", UserWarning)
        _, headers, body = self.serialized(ActionResult(InjectedFault(code, f"injected fault: {code}")))
    headers["status"] = status
    return status, headers, body


def install() -> None:
    BaseResponse.call_action = _call_action  # type: ignore[method-assign]
