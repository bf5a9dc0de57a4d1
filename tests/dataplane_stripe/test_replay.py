"""Replay over a real localstripe (both listing orders) into real PostgreSQL: exactly the window, exactly once,
also when run twice or twice at once; failures are counted and reconciled."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from ops.drctl.dataplane.stripe_replay import ReplayReport, list_events, replay
from ops.drctl.sandbox.stripe import local_stripe
from tests.dataplane_stripe.conftest import StripeWorld, seeded_world


@pytest.fixture(scope="module", params=["oldest_first", "newest_first"])
def world(request: pytest.FixtureRequest) -> Iterator[StripeWorld]:
    with local_stripe(newest_first=request.param == "newest_first") as url:
        yield seeded_world(url)


def _replay(world: StripeWorld, dsn: str) -> ReplayReport:
    since, until = (datetime.fromtimestamp(s, UTC) for s in (world.since, world.until))
    with psycopg.connect(dsn, autocommit=True) as conn:
        return replay(conn, list_events(world.client(), since, until), since, until)


def _processed(conn: psycopg.Connection) -> dict[str, bool]:
    return dict(conn.execute("SELECT event_id, replayed FROM stripe_processed_events").fetchall())


def test_replays_exactly_the_events_created_in_the_window(world: StripeWorld, database: str,
                                                          conn: psycopg.Connection) -> None:
    report = _replay(world, database)
    window = world.window_ids()
    assert (report.listed, report.processed_now, report.already_processed, report.failed) == \
        (len(window), len(window), 0, [])
    assert report.reconciliation is not None and report.reconciliation.ok and report.ok
    processed = _processed(conn)
    assert set(processed) == window and all(processed.values())  # all recorded as replayed
    # applied oldest first whatever the listing order: every customer renamed in the window shows the rename
    assert conn.execute("SELECT count(*) FROM stripe_customers WHERE name = 'renamed'").fetchone()[0] == 10
    assert conn.execute("SELECT count(*), count(*) FILTER (WHERE status = 'succeeded') FROM stripe_payments"
                        ).fetchone() == (12, 12)
    assert conn.execute("SELECT count(*) FROM stripe_invoices WHERE status = 'paid'").fetchone()[0] == 4


def test_a_second_run_processes_nothing_again(world: StripeWorld, database: str) -> None:
    first, second = _replay(world, database), _replay(world, database)
    assert first.processed_now == len(world.window_ids())
    assert (second.processed_now, second.already_processed, second.failed) == (0, len(world.window_ids()), [])
    assert second.ok


def test_two_concurrent_runs_process_each_event_exactly_once(world: StripeWorld, database: str,
                                                              conn: psycopg.Connection) -> None:
    reports: list[ReplayReport] = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        reports.append(_replay(world, database))

    runners = [threading.Thread(target=run) for _ in range(2)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join(60)
    n = len(world.window_ids())
    assert len(reports) == 2 and all(r.ok and r.processed_now + r.already_processed == n for r in reports)
    assert sum(r.processed_now for r in reports) == n
    assert set(_processed(conn)) == world.window_ids()


def test_failed_events_are_counted_left_unprocessed_and_applied_by_the_next_run(
        world: StripeWorld, database: str, conn: psycopg.Connection) -> None:
    from ops.drctl.dataplane.stripe_webhook import apply_schema

    apply_schema(conn)
    conn.execute("ALTER TABLE stripe_payments ADD CONSTRAINT refuse_payments CHECK (amount < 0)")
    report = _replay(world, database)
    payments = {e for e in world.window_ids() if e in _payment_event_ids(world)}
    assert {f.event_id for f in report.failed} == payments and len(payments) == 12
    assert report.processed_now == len(world.window_ids()) - 12 and not report.ok
    assert report.reconciliation is not None and set(report.reconciliation.unrecorded) == payments

    conn.execute("ALTER TABLE stripe_payments DROP CONSTRAINT refuse_payments")
    again = _replay(world, database)
    assert (again.processed_now, again.failed, again.ok) == (12, [], True)


def _payment_event_ids(world: StripeWorld) -> set[str]:
    from localstripe.resources import store
    return {e.id for key, e in list(store.items()) if key.startswith("event:") and e.type.startswith("payment_intent.")}
