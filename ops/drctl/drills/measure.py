"""RTO and RPO from what the probes saw: measured, not estimated.

- RTO: from the first failed request after the disaster to the first good write answered by B through the API
  name (so detection, the declaration, the runbook and DNS are all inside it).
- RPO: the newest heartbeat A acknowledged minus the newest of A's acknowledged heartbeats present in B after
  promotion (0 when B holds them all); the lost keys are the acknowledged heartbeats (and orders) B lacks.
- Failback (the annual drill's second leg): its RTO is the write interruption while the writer moves back, from
  the last good write through B to the first good write through DNS to A; its RPO is `rpo` with the roles
  swapped (what B acknowledged that A lacks), 0 for a switchover.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ops.drctl.sandbox.probes import ProbeResult


@dataclass(frozen=True)
class Rto:
    seconds: float | None
    first_failure_at: float | None
    first_good_b_at: float | None
    failed_requests: int

    def as_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "first_failure_at": self.first_failure_at,
                "first_good_b_at": self.first_good_b_at, "failed_requests": self.failed_requests}


@dataclass(frozen=True)
class Rpo:
    seconds: float
    newest_acked_by_a_at: float | None
    newest_acked_in_b_at: float | None
    acked_by_a: int
    lost_heartbeats: list[int] = field(default_factory=list)
    lost_orders: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "newest_acked_by_a_at": self.newest_acked_by_a_at,
                "newest_acked_in_b_at": self.newest_acked_in_b_at, "acked_by_a": self.acked_by_a,
                "lost_heartbeats": self.lost_heartbeats, "lost_orders": self.lost_orders}


@dataclass(frozen=True)
class WriteInterruption:
    seconds: float | None
    last_good_old_at: float | None  # answered: the last good write through the writer being left
    first_good_new_at: float | None  # answered: the first good write through the new writer
    failed_requests: int

    def as_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "last_good_old_at": self.last_good_old_at,
                "first_good_new_at": self.first_good_new_at, "failed_requests": self.failed_requests}


def write_interruption(results: Iterable[ProbeResult], *, since: float, old_region: str,
                       new_region: str) -> WriteInterruption:
    """A planned move of the writer (a switchover) may fail no request at all, so the interruption runs from the
    last write `old_region` acknowledged before the first good write to `new_region` sent after `since`."""
    ordered = sorted(results, key=lambda r: r.sent_at)
    first_new = next((r for r in ordered if r.ok and r.region == new_region and r.sent_at >= since), None)
    if first_new is None:
        return WriteInterruption(None, None, None, sum(1 for r in ordered if not r.ok and r.sent_at >= since))
    old = [r for r in ordered if r.ok and r.region == old_region and r.sent_at < first_new.sent_at]
    if not old:
        return WriteInterruption(None, None, first_new.answered_at, 0)
    last_old = max(old, key=lambda r: r.answered_at)
    failed = sum(1 for r in ordered if not r.ok and last_old.sent_at < r.sent_at < first_new.sent_at)
    return WriteInterruption(round(first_new.answered_at - last_old.answered_at, 3), last_old.answered_at,
                             first_new.answered_at, failed)


def rto(results: Iterable[ProbeResult], *, disaster_at: float, region_b: str) -> Rto:
    after = sorted((r for r in results if r.sent_at >= disaster_at), key=lambda r: r.sent_at)
    first_failure = next((r for r in after if not r.ok), None)
    if first_failure is None:
        return Rto(0.0, None, None, 0)
    good_b = next((r for r in after if r.ok and r.region == region_b and r.sent_at >= first_failure.sent_at), None)
    failed = sum(1 for r in after if not r.ok and (good_b is None or r.sent_at < good_b.sent_at))
    if good_b is None:
        return Rto(None, first_failure.sent_at, None, failed)
    return Rto(round(good_b.answered_at - first_failure.sent_at, 3), first_failure.sent_at, good_b.answered_at,
               failed)


def rpo(heartbeats: Sequence[ProbeResult], orders: Sequence[ProbeResult], *, region_a: str,
        heartbeats_in_b: set[int], orders_in_b: set[str], order_id: Any) -> Rpo:
    """`heartbeats_in_b`/`orders_in_b`: the keys written through A that B holds after promotion."""
    acked = [r for r in heartbeats if r.ok and r.region == region_a]
    if not acked:
        return Rpo(0.0, None, None, 0)
    newest = max(acked, key=lambda r: r.sent_at)
    present = [r for r in acked if r.seq in heartbeats_in_b]
    newest_present = max(present, key=lambda r: r.sent_at) if present else None
    lost = sorted(r.seq for r in acked if r.seq not in heartbeats_in_b)
    lost_orders = sorted(order_id(r.seq) for r in orders if r.ok and r.region == region_a
                         and order_id(r.seq) not in orders_in_b)
    seconds = 0.0 if not lost else round(newest.sent_at - (newest_present.sent_at if newest_present else
                                                           min(r.sent_at for r in acked)), 3)
    return Rpo(seconds, newest.sent_at, newest_present.sent_at if newest_present else None, len(acked), lost,
               lost_orders)
