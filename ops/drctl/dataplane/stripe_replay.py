"""RB-N-06: list Stripe events in a time window, replay them into the idempotent handler, reconcile.

Paging makes no assumption about order: api.stripe.com lists events newest first, localstripe oldest first.
Each next page starts after the last id of the previous one (that is what `starting_after` means in either
order), events are keyed on their ids (an id seen twice is yielded once), and paging stops only when the server
says `has_more=false`. A page that brings nothing new while claiming more is an error, not an endless loop.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ops.drctl.dataplane import stripe_webhook

if TYPE_CHECKING:
    import psycopg
    import stripe

PAGE_SIZE = 100  # Stripe's maximum for list endpoints
Event = Mapping[str, Any]
PageFetcher = Callable[[dict[str, Any]], tuple[list[Event], bool]]


class PagingError(RuntimeError):
    """The server claimed more events but the next page brought none that were new."""


def iter_events(fetch_page: PageFetcher, params: Mapping[str, Any]) -> Iterator[Event]:
    """Every event the listing returns, each once, in the server's order, whatever that order is."""
    seen: set[str] = set()
    cursor: str | None = None
    while True:
        page, has_more = fetch_page({**params, "limit": PAGE_SIZE,
                                     **({"starting_after": cursor} if cursor else {})})
        fresh = [event for event in page if event["id"] not in seen]
        for event in fresh:
            seen.add(event["id"])
            yield event
        if not has_more:
            return
        if not fresh:
            raise PagingError(f"has_more=true but the page after {cursor!r} brought no new events")
        cursor = page[-1]["id"]


def chronological(events: list[Event]) -> list[Event]:
    """Oldest first, for applying: each ledger row keeps the state of the last event applied among events of
    the same second (`created` has no finer resolution). The listing's own order breaks those ties: it runs
    one way or the other, which its first and last events tell. A listing within one second tells nothing;
    it is taken to run newest first, as api.stripe.com documents its lists."""
    runs_newest_first = len(events) > 1 and int(events[0]["created"]) >= int(events[-1]["created"])
    in_listing_order = list(reversed(events)) if runs_newest_first else list(events)
    return sorted(in_listing_order, key=lambda e: int(e["created"]))  # stable: ties keep listing order


def stripe_page_fetcher(client: stripe.StripeClient) -> PageFetcher:
    def fetch(params: dict[str, Any]) -> tuple[list[Event], bool]:
        page = client.v1.events.list(params)  # type: ignore[arg-type]
        return [event.to_dict() for event in page.data], bool(page.has_more)
    return fetch


def window_params(since: datetime, until: datetime) -> dict[str, Any]:
    """Stripe's `created` is whole seconds; widening the window to whole seconds is harmless (replay is
    idempotent), narrowing it could miss an event."""
    return {"created": {"gte": int(since.timestamp()), "lte": -int(-until.timestamp() // 1)}}


def list_events(client: stripe.StripeClient, since: datetime, until: datetime) -> list[Event]:
    return list(iter_events(stripe_page_fetcher(client), window_params(since, until)))


@dataclass
class FailedEvent:
    event_id: str
    type: str
    error: str


@dataclass
class Reconciliation:
    unrecorded: list[str] = field(default_factory=list)  # listed but absent from stripe_processed_events
    stale: list[str] = field(default_factory=list)  # ledger rows older than the newest listed event for them

    @property
    def ok(self) -> bool:
        return not self.unrecorded and not self.stale


@dataclass
class ReplayReport:
    since: datetime
    until: datetime
    executed: bool
    listed: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    already_processed: int = 0  # before this run (dry run) or skipped by it (execute)
    processed_now: int = 0
    failed: list[FailedEvent] = field(default_factory=list)
    reconciliation: Reconciliation | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and (self.reconciliation is None or self.reconciliation.ok)

    @property
    def to_replay(self) -> int:
        """Dry run: events a replay would process now."""
        return self.listed - self.already_processed

    def as_dict(self) -> dict[str, Any]:
        counts = ({"processed_now": self.processed_now, "failed": len(self.failed),
                   "failures": [vars(f) for f in self.failed]} if self.executed else {"to_replay": self.to_replay})
        return {"since": self.since.isoformat(), "until": self.until.isoformat(), "executed": self.executed,
                "listed": self.listed, "by_type": self.by_type, "already_processed": self.already_processed,
                **counts,
                "reconciliation": None if self.reconciliation is None else vars(self.reconciliation),
                "ok": self.ok}


def processed_ids(conn: psycopg.Connection, event_ids: Iterable[str]) -> set[str]:
    if not stripe_webhook.schema_present(conn):
        return set()
    rows = conn.execute("SELECT event_id FROM stripe_processed_events WHERE event_id = ANY(%s)",
                        (list(event_ids),)).fetchall()
    return {row[0] for row in rows}


def plan(conn: psycopg.Connection, events: list[Event], since: datetime, until: datetime) -> ReplayReport:
    """Dry run: what a replay would do. Reads only; a missing schema means nothing was processed yet."""
    done = processed_ids(conn, (e["id"] for e in events))
    return ReplayReport(since=since, until=until, executed=False, listed=len(events),
                        by_type=_count_types(events), already_processed=len(done))


class ReadOnlyDatabase(RuntimeError):
    """The database takes no writes (a hot standby, or default_transaction_read_only on): nothing was replayed."""


def require_writable(conn: psycopg.Connection) -> None:
    if conn.execute("SHOW transaction_read_only").fetchone()[0] == "on":
        info = conn.info
        raise ReadOnlyDatabase(f"{info.dbname} on {info.host}:{info.port} is read-only (transaction_read_only is "
                               "on: a replica, or default_transaction_read_only set); replay writes, so point it "
                               "at the handler's writable database. Nothing was replayed")


def replay(conn: psycopg.Connection, events: list[Event], since: datetime, until: datetime) -> ReplayReport:
    """Feed every event to the handler in replay mode, oldest first, one transaction each; then reconcile.
    `conn` must be in autocommit mode so each event commits on its own. A read-only database is refused first
    (ReadOnlyDatabase), since every event would otherwise fail the same way."""
    require_writable(conn)
    stripe_webhook.apply_schema(conn)
    report = ReplayReport(since=since, until=until, executed=True, listed=len(events), by_type=_count_types(events))
    for event in chronological(events):
        try:
            result = stripe_webhook.handle_event(conn, json.dumps(event).encode(), signature=None, secret=None,
                                                 replayed=True)
        except Exception as exc:  # one bad event must not stop the others; it is reported and fails the run
            report.failed.append(FailedEvent(str(event.get("id")), str(event.get("type")), repr(exc)))
            continue
        if result.outcome == "processed":
            report.processed_now += 1
        else:
            report.already_processed += 1
    report.reconciliation = reconcile(conn, events)
    return report


def reconcile(conn: psycopg.Connection, events: list[Event]) -> Reconciliation:
    """Every listed event is recorded as processed, and every ledger row the window touches is at least as new
    as the newest listed event for its object."""
    recorded = processed_ids(conn, (e["id"] for e in events))
    result = Reconciliation(unrecorded=sorted(e["id"] for e in events if e["id"] not in recorded))
    for ledger, newest in _newest_per_object(events).items():
        rows = dict(conn.execute(
            f"SELECT {ledger.key}, extract(epoch FROM last_event_created)::bigint FROM {ledger.table} "
            f"WHERE {ledger.key} = ANY(%s)", (list(newest),)).fetchall())
        result.stale += sorted(f"{ledger.table}:{oid}" for oid, created in newest.items()
                               if rows.get(oid) is None or rows[oid] < created)
    return result


def _newest_per_object(events: Iterable[Event]) -> dict[stripe_webhook.Ledger, dict[str, int]]:
    """For each ledger, object id -> `created` of the newest listed event about that object."""
    newest: dict[stripe_webhook.Ledger, dict[str, int]] = {}
    for event in events:
        obj = event.get("data", {}).get("object", {})
        ledger = stripe_webhook.ledger_for(obj)
        if ledger is not None:
            per_object = newest.setdefault(ledger, {})
            per_object[obj["id"]] = max(per_object.get(obj["id"], 0), int(event["created"]))
    return newest


def _count_types(events: Iterable[Event]) -> dict[str, int]:
    return dict(sorted(Counter(str(e.get("type")) for e in events).items()))
