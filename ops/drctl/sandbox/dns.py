"""What makes "DNS moves" real in the sandbox: Route53's health checkers and a resolver for the API name.

`HealthEvaluator` plays Route53's checkers: every `interval_s` it probes each health check on a loopback
address (the check's own IPAddress, Port, Type and ResourcePath) and flips the check's status after
`failure_threshold` consecutive failures (or as many successes), as Route53 does with RequestInterval and
FailureThreshold, only faster: the sandbox's detection settings are part of every drill report. It registers
with the Route53 extension, so GetHealthCheckStatus (what runbooks and operators read) reports this status.

`Resolver` answers for a record name the way Route53's data plane does from the hosted zone's record sets:
failover routing answers PRIMARY while its health check is healthy, else SECONDARY (if healthy, else PRIMARY);
weighted routing picks by weight among the healthy. The answer is a CNAME to a region's origin name, which maps
to the loopback address and port of the health check on that name, the service's address. Answers are cached
for at most `max_ttl_s` (the sandbox's clients re-resolve that often whatever the record's TTL).
"""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from moto.route53.models import route53_backends

from ops.drctl.sandbox.moto_ext import route53_health

ACCOUNT = "123456789012"  # moto's default account


def _backend() -> Any:
    return route53_backends[ACCOUNT]["aws"]


@dataclass
class CheckState:
    healthy: bool = True
    streak: int = 0  # consecutive observations contradicting `healthy`
    report: str = "Success: not yet checked."


@dataclass
class HealthEvaluator:
    interval_s: float = 0.2
    failure_threshold: int = 2
    probe_timeout_s: float = 0.5
    states: dict[str, CheckState] = field(default_factory=dict)
    transitions: list[dict[str, Any]] = field(default_factory=list)  # {"t", "health_check_id", "fqdn", "healthy"}
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "HealthEvaluator":
        self.evaluate_once()
        route53_health.set_evaluator(self.report)
        self._thread = threading.Thread(target=self._loop, name="route53-checkers", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        route53_health.set_evaluator(None)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def report(self, health_check_id: str) -> str | None:
        with self._lock:
            state = self.states.get(health_check_id)
            if state is None:
                return None
            if state.healthy:
                return state.report if state.report.startswith("Success") else "Success: HTTP Status Code 200."
            return state.report if state.report.startswith("Failure") else "Failure: threshold reached."

    def healthy(self, health_check_id: str | None) -> bool:
        if not health_check_id:
            return True  # a record without a health check is always considered healthy (Route53)
        with self._lock:
            state = self.states.get(health_check_id)
            return True if state is None else state.healthy

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.evaluate_once()

    def evaluate_once(self) -> None:
        for check in list(_backend().health_checks.values()):
            if not str(check.ip_address or "").startswith("127."):
                continue
            report = route53_health.probe_check(check, timeout=self.probe_timeout_s)
            ok = report.startswith("Success")
            with self._lock:
                state = self.states.setdefault(check.id, CheckState(healthy=ok))  # first look decides
                state.report = report
                state.streak = 0 if ok == state.healthy else state.streak + 1
                if state.streak >= self.failure_threshold:
                    state.healthy, state.streak = ok, 0
                    self.transitions.append({"t": time.time(), "health_check_id": check.id,
                                             "fqdn": check.fqdn, "healthy": ok})


@dataclass(frozen=True)
class Answer:
    record: str  # set identifier of the answering record
    target: str  # CNAME value: a region's origin name
    address: tuple[str, int]  # where that origin listens


class Resolver:
    def __init__(self, evaluator: HealthEvaluator, max_ttl_s: float = 0.1) -> None:
        self.evaluator, self.max_ttl_s = evaluator, max_ttl_s
        self._cache: dict[str, tuple[float, Answer]] = {}

    def resolve(self, name: str) -> Answer:
        now = time.monotonic()
        cached = self._cache.get(name)
        if cached and now < cached[0]:
            return cached[1]
        answer, ttl = self._lookup(name)
        self._cache[name] = (now + min(ttl, self.max_ttl_s), answer)
        return answer

    def _lookup(self, name: str) -> tuple[Answer, float]:
        wanted = name.rstrip(".") + "."
        records = [r for zone in list(_backend().zones.values()) for r in list(zone.rrsets)
                   if r.name.rstrip(".") + "." == wanted and r.type == "CNAME"]
        if not records:
            raise LookupError(f"NXDOMAIN: {name}")
        chosen = self._route(records)
        target = (chosen.records[0] if isinstance(chosen.records[0], str) else chosen.records[0]["Value"]).rstrip(".")
        return Answer(record=chosen.set_identifier or "", target=target, address=self.origin_address(target)), \
            float(chosen.ttl or 60)

    def _route(self, records: list[Any]) -> Any:
        healthy = [r for r in records if self.evaluator.healthy(r.health_check_id)]
        by_role = {str(r.failover or "").upper(): r for r in records}
        if "PRIMARY" in by_role or "SECONDARY" in by_role:
            for role in ("PRIMARY", "SECONDARY"):
                if role in by_role and by_role[role] in healthy:
                    return by_role[role]
            return by_role.get("PRIMARY") or by_role["SECONDARY"]  # none healthy: Route53 answers the primary
        candidates = [r for r in healthy if int(r.weight or 0) > 0] or records
        weights = [max(int(r.weight or 0), 0) for r in candidates]
        return random.choices(candidates, weights=weights if sum(weights) else None)[0]

    @staticmethod
    def origin_address(origin: str) -> tuple[str, int]:
        for check in list(_backend().health_checks.values()):
            if str(check.fqdn or "").rstrip(".") == origin:
                return str(check.ip_address), int(check.port)
        raise LookupError(f"no address for origin {origin} (no health check names it)")
