"""RB-N-06: list Stripe events in a time window, replay them into the idempotent handler, reconcile.

A runbook like the others (ops/drctl/runbooks/engine.py): preflight (read-only: key, database, listing, counts) →
replay (oldest first, the journal checkpointed after every page) → reconcile. Dry run by default; `--resume
RUN_ID` replays the journal's own window and continues after the last page journaled. Exactly once is the
database's guarantee, not the journal's: an event id is claimed under a primary key in the transaction that
applies it, so an event replayed again (a crash between commit and checkpoint) is applied no second time.

Paging makes no assumption about order: api.stripe.com lists events newest first, localstripe oldest first.
Each next page starts after the last id of the previous one (that is what `starting_after` means in either
order), events are keyed on their ids (an id seen twice is yielded once), and paging stops only when the server
says `has_more=false`. A page that brings nothing new while claiming more is an error, not an endless loop.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ops.core.errors import BadInput
from ops.core.times import parse_time
from ops.drctl.dataplane import stripe_webhook
from ops.drctl.runbooks.engine import Journal, Runbook, RunContext, Step

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

    def show(self) -> None:
        """The report for a person, on stdout."""
        from rich.table import Table

        from ops.drctl.terminal import stdout_console

        console = stdout_console()
        mode = "replayed" if self.executed else "dry run (nothing changed; --execute replays)"
        console.print(f"Stripe events created {self.since.isoformat()} .. {self.until.isoformat()}: {mode}")
        table = Table("event type", "listed")
        for event_type, count in self.by_type.items():
            table.add_row(event_type, str(count))
        console.print(table)
        if self.executed:
            console.print(f"listed {self.listed}, processed now {self.processed_now}, already processed "
                          f"(skipped) {self.already_processed}, failed {len(self.failed)}")
            for failure in self.failed:
                console.print(f"  [red]failed[/red] {failure.event_id} ({failure.type}): {failure.error}")
        else:
            console.print(f"listed {self.listed}, already processed {self.already_processed}, "
                          f"would replay {self.to_replay}")
        if self.reconciliation is not None:
            rec = self.reconciliation
            verdict = "[green]ok[/green]" if rec.ok else "[red]MISMATCH[/red]"
            console.print(f"reconcile: {verdict}: {len(rec.unrecorded)} listed events not recorded as processed, "
                          f"{len(rec.stale)} ledger rows older than their newest event")
            for item in [*rec.unrecorded, *rec.stale][:20]:
                console.print(f"  {item}")


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
    counts: dict[str, Any] = {"processed_now": 0, "already_processed": 0, "failures": []}
    _apply(conn, chronological(events), counts)
    return ReplayReport(since=since, until=until, executed=True, listed=len(events), by_type=_count_types(events),
                        already_processed=counts["already_processed"], processed_now=counts["processed_now"],
                        failed=[FailedEvent(**f) for f in counts["failures"]], reconciliation=reconcile(conn, events))


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


# ---- the runbook (RB-N-06 through the engine: journal, --resume, exit codes) -----------------------------------

NAME = "RB-N-06 Stripe event replay"


class ListingFailed(RuntimeError):
    """The Stripe API answered with an error while listing; nothing was replayed (exit 1)."""


def run_params(*, since: datetime, until: datetime, database: str, api_key_env: str,
               api_base: str | None) -> dict[str, Any]:
    """The journal's parameters: the window fixed at the start (a resume replays the same one), the key's
    environment variable (never the key), the DSN without a password."""
    return {"since": since.isoformat(), "until": until.isoformat(), "database": database,
            "api_key_env": api_key_env, "api_base": api_base}


def _window(p: Mapping[str, Any]) -> tuple[datetime, datetime]:
    return parse_time(p["since"], "since"), parse_time(p["until"], "until")


def _connect(p: Mapping[str, Any]) -> psycopg.Connection:
    import psycopg

    try:  # autocommit: each event commits on its own
        return psycopg.connect(p["database"], autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise BadInput(f"--database: cannot connect: {str(exc).strip()}") from None


def _events(ctx: RunContext) -> list[Event]:
    """The window's events, listed once per attempt (a resume lists again: the window is fixed, the events in it
    do not change)."""
    if "events" not in ctx.memo:
        import stripe

        p = ctx.params
        key = os.environ.get(p["api_key_env"], "").strip()
        if not key:
            raise BadInput(f"environment variable {p['api_key_env']} (--api-key-env) is not set or empty: it must "
                           "hold the Stripe secret key")
        client = stripe.StripeClient(key, max_network_retries=2,
                                     base_addresses={"api": p["api_base"]} if p["api_base"] else None)
        try:
            ctx.memo["events"] = list_events(client, *_window(p))
        except stripe.AuthenticationError:
            raise BadInput(f"the Stripe API refused the key in {p['api_key_env']} (--api-key-env)") from None
        except stripe.APIConnectionError as exc:
            raise BadInput(f"--api-base {p['api_base'] or stripe.DEFAULT_API_BASE}: cannot reach the Stripe API: "
                           f"{exc.user_message or exc}") from None
        except stripe.StripeError as exc:
            raise ListingFailed(f"listing events failed: {exc.user_message or exc}") from None
    return ctx.memo["events"]


def _preflight(ctx: RunContext) -> dict[str, Any]:
    """Read-only: the key, the database, the listing and what is processed already. A run that will replay
    refuses a read-only database here, before anything is written (every event would fail the same way)."""
    with _connect(ctx.params) as conn:
        events = _events(ctx)
        if ctx.execute:
            try:
                require_writable(conn)
            except ReadOnlyDatabase as exc:
                raise BadInput(f"--database {exc}") from None
        report = plan(conn, events, *_window(ctx.params))
    return {"listed": report.listed, "by_type": report.by_type, "already_processed": report.already_processed,
            "to_replay": report.to_replay}


def _pages(events: list[Event]) -> list[list[Event]]:
    ordered = chronological(events)
    return [ordered[i:i + PAGE_SIZE] for i in range(0, len(ordered), PAGE_SIZE)]


def _resume_point(pages: list[list[Event]], progress: dict[str, Any]) -> int:
    """The first page an earlier attempt did not finish. Its last finished page must end with the event it
    journaled; otherwise (an event of the window's last second listed since) replay from the start: the handler
    applies an event already processed not a second time, it only counts it as already processed."""
    done = int(progress.get("pages_done", 0))
    if done and done <= len(pages) and pages[done - 1][-1]["id"] == progress.get("last_event_id"):
        return done
    return 0


def _replay(ctx: RunContext) -> dict[str, Any]:
    """Oldest first, one transaction per event, a checkpoint in the journal after each page of PAGE_SIZE events;
    a resume retries the events that failed and continues after the last page journaled. Exactly once stays the
    database's: the processed event ids are a primary key claimed in the transaction of the effect."""
    events, earlier = _events(ctx), ctx.progress
    pages = _pages(events)
    first = _resume_point(pages, earlier)
    carried = earlier if first else {}
    progress: dict[str, Any] = {"listed": len(events), "pages": len(pages), "pages_done": first,
                                "last_event_id": carried.get("last_event_id"),
                                "processed_now": int(carried.get("processed_now", 0)),
                                "already_processed": int(carried.get("already_processed", 0)), "failures": []}
    by_id = {e["id"]: e for e in events}
    retry = [by_id[f["event_id"]] for f in carried.get("failures", []) if f["event_id"] in by_id]
    with _connect(ctx.params) as conn:
        require_writable(conn)
        stripe_webhook.apply_schema(conn)
        _apply(conn, retry, progress)
        for number, page in enumerate(pages[first:], start=first + 1):
            _apply(conn, page, progress)
            progress.update(pages_done=number, last_event_id=page[-1]["id"])
            ctx.checkpoint(dict(progress), f"page-{number}")
    progress["failed"] = len(progress["failures"])
    if progress["failures"]:
        ctx.checkpoint(dict(progress), "failed")
        raise RuntimeError(f"{len(progress['failures'])} of {len(events)} events failed (first: "
                           f"{progress['failures'][0]['event_id']}: {progress['failures'][0]['error']}); the others "
                           f"are applied. Fix the cause, then --resume {ctx.run_id} retries the failed ones")
    return progress


def _apply(conn: psycopg.Connection, events: list[Event], progress: dict[str, Any]) -> None:
    for event in events:
        try:
            result = stripe_webhook.handle_event(conn, json.dumps(event).encode(), signature=None, secret=None,
                                                 replayed=True)
        except Exception as exc:  # one bad event must not stop the others; it is reported and fails the run
            progress["failures"].append(vars(FailedEvent(str(event.get("id")), str(event.get("type")), repr(exc))))
            continue
        progress["processed_now" if result.outcome == "processed" else "already_processed"] += 1


def _plan_replay(ctx: RunContext) -> list[str]:
    pre = ctx.results["preflight"]
    return [f"replay {pre['listed']} events oldest first into the handler (replayed=true), one transaction each, "
            f"journaled every {PAGE_SIZE}: {pre['to_replay']} not processed yet"]


def _reconcile(ctx: RunContext) -> dict[str, Any]:
    with _connect(ctx.params) as conn:
        found = reconcile(conn, _events(ctx))
    result = {**vars(found), "ok": found.ok}
    if not found.ok:
        ctx.checkpoint(result, "mismatch")
        raise RuntimeError(f"reconcile: {len(found.unrecorded)} listed events not recorded as processed, "
                           f"{len(found.stale)} ledger rows older than their newest event")
    return result


def _plan_reconcile(ctx: RunContext) -> list[str]:
    return ["every listed event is in stripe_processed_events; every ledger row the window touches is as new as "
            "its newest listed event"]


def _validate(params: dict[str, Any]) -> None:
    since, until = _window(params)
    if until < since:
        raise BadInput(f"--until {until.isoformat()} is before --since {since.isoformat()}")


def report_of(journal: Journal) -> ReplayReport:
    """The replay's report, from its journal (a dry run: the preflight's counts; a run: the replay's)."""
    since, until = _window(journal.params)
    pre, done = journal.step("preflight").result, journal.step("replay").result
    executed = journal.mode == "execute"
    report = ReplayReport(since=since, until=until, executed=executed, listed=int(pre.get("listed", 0)),
                          by_type=dict(pre.get("by_type", {})),
                          already_processed=int(pre.get("already_processed", 0)))
    if executed and done:
        report.listed = int(done["listed"])
        report.already_processed, report.processed_now = int(done["already_processed"]), int(done["processed_now"])
        report.failed = [FailedEvent(**f) for f in done["failures"]]
    reconciled = journal.step("reconcile").result
    if reconciled:
        report.reconciliation = Reconciliation(unrecorded=list(reconciled["unrecorded"]),
                                               stale=list(reconciled["stale"]))
    return report


def runbook() -> Runbook:
    return Runbook(NAME, validate=_validate, summary=lambda journal: report_of(journal).as_dict(),
                   show=lambda journal: report_of(journal).show(), steps=[
        Step("preflight", "the key, the database, the window's events and how many are processed already",
             _preflight, read_only=True),
        Step("replay", "each event into the idempotent handler, oldest first", _replay, would_call=_plan_replay),
        Step("reconcile", "every listed event recorded, every ledger row as new as its newest event", _reconcile,
             would_call=_plan_reconcile),
    ])
