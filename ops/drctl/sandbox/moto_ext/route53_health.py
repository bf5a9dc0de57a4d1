"""Route53 GetHealthCheckStatus that really checks loopback endpoints (moto always answers Success).

A health check whose IPAddress is a 127.x address is checked the way Route53's checkers do: an HTTP(S) GET of
ResourcePath on IPAddress:Port (Host: FullyQualifiedDomainName), healthy on a 2xx or 3xx answer within the
timeout; TCP checks just connect. The answer has AWS's shape and wording (HealthCheckObservations[].StatusReport
.Status starting "Success: HTTP Status Code 200" or "Failure: ..."). Health checks on any other address keep
moto's canned Success, since nothing outside 127.0.0.1 is reachable here.

Route53 itself evaluates health checks continuously, every RequestInterval, and calls an endpoint unhealthy only
after FailureThreshold consecutive failures. The sandbox's evaluator (ops/drctl/sandbox/health.py) does that at its
own interval and threshold and registers itself with `set_evaluator`; GetHealthCheckStatus then reports the
evaluated status of the checks it evaluates (a check is reported failing once the threshold is reached, not on
the first failed probe), and probes on demand only the checks it does not know.
"""
from __future__ import annotations

import http.client
import ssl
from collections.abc import Callable
from datetime import datetime, timezone

from moto.core.responses import ActionResult
from moto.route53.responses import Route53

CHECK_TIMEOUT_S = 2.0
_original = Route53.get_health_check_status
_evaluator: Callable[[str], str | None] | None = None  # health check id -> evaluated report, None if not known


def set_evaluator(evaluator: Callable[[str], str | None] | None) -> None:
    global _evaluator
    _evaluator = evaluator


def probe(kind: str, address: str, port: int, path: str, host: str | None, timeout: float = CHECK_TIMEOUT_S) -> str:
    """One checker's observation, in Route53's wording."""
    try:
        if kind == "TCP":
            connection: http.client.HTTPConnection = http.client.HTTPConnection(address, port, timeout=timeout)
            connection.connect()
            connection.close()
            return "Success: TCP connection established."
        if kind.startswith("HTTPS"):
            context = ssl._create_unverified_context()  # Route53 does not validate certificates either
            connection = http.client.HTTPSConnection(address, port, timeout=timeout, context=context)
        else:
            connection = http.client.HTTPConnection(address, port, timeout=timeout)
        connection.request("GET", path or "/", headers={"Host": host or address})
        status = connection.getresponse().status
        connection.close()
    except OSError as exc:
        return f"Failure: Connection to {address}:{port} failed: {exc}."
    verdict = "Success" if 200 <= status < 400 else "Failure"
    return f"{verdict}: HTTP Status Code {status}, resolved IP: {address}."


def probe_check(health_check: object, timeout: float = CHECK_TIMEOUT_S) -> str:
    """Probe a moto HealthCheck as its config says."""
    kind = str(getattr(health_check, "type_")).upper()
    default_port = 443 if kind.startswith("HTTPS") else 80
    return probe(kind, str(getattr(health_check, "ip_address")), int(getattr(health_check, "port") or default_port),
                 getattr(health_check, "resource_path") or "/", getattr(health_check, "fqdn"), timeout)


def _get_health_check_status(self: Route53) -> ActionResult:
    health_check = self.backend.get_health_check(self._get_param("HealthCheckId"))
    address = health_check.ip_address or ""
    if not address.startswith("127."):
        return _original(self)
    report = _evaluator(health_check.id) if _evaluator is not None else None
    if report is None:
        report = probe_check(health_check)
    return ActionResult({"HealthCheckObservations": [{
        "Region": "us-east-1", "IPAddress": address,
        "StatusReport": {"Status": report, "CheckedTime": datetime.now(timezone.utc)}}]})


def install() -> None:
    Route53.get_health_check_status = _get_health_check_status  # type: ignore[method-assign]
