"""RB-N-06 through the runbook engine: a journal per run, --resume after a crash mid-replay, exit codes."""
from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from ops.drctl.cli import app
from ops.drctl.runbooks.engine import Journal
from tests.dataplane_stripe.conftest import API_KEY, StripeWorld
from tests.harness.crash import run_until_crash


def _window(world: StripeWorld, database: str) -> list[str]:
    return ["stripe-replay", "--since", str(world.since), "--until", str(world.until), "--database", database,
            "--api-base", world.url]


def _drctl(*args: str) -> tuple[int, str]:
    """Exit code and output: with --json, stdout only (the engine logs to stderr)."""
    result = CliRunner().invoke(app, list(args), env={"STRIPE_API_KEY": API_KEY})
    return result.exit_code, result.stdout if "--json" in args else result.output


def _processed(database: str) -> dict[str, int]:
    """event id -> how many times the handler recorded it as processed (the primary key keeps it at most 1)."""
    with psycopg.connect(database) as conn:
        return dict(conn.execute("SELECT event_id, count(*) FROM stripe_processed_events GROUP BY event_id")
                    .fetchall())


def _only_journal(journal_dir: Path) -> Journal:
    (path,) = journal_dir.glob("*.json")
    return Journal.model_validate_json(path.read_text())


def test_a_dry_run_and_a_run_are_journaled(stripe_world: StripeWorld, database: str, tmp_path: Path) -> None:
    planned, executed = tmp_path / "planned", tmp_path / "executed"
    code, out = _drctl(*_window(stripe_world, database), "--journal-dir", str(planned), "--json")
    assert code == 0, out
    journal = _only_journal(planned)
    assert (journal.runbook, journal.mode, journal.status) == ("RB-N-06 Stripe event replay", "dry-run", "planned")
    assert [(s.name, s.state) for s in journal.steps] == [("preflight", "done"), ("replay", "planned"),
                                                          ("reconcile", "planned")]
    assert json.loads(out)["run_id"] == journal.run_id and "password" not in journal.params["database"]

    code, out = _drctl(*_window(stripe_world, database), "--journal-dir", str(executed), "--execute", "--json")
    assert code == 0, out
    journal = _only_journal(executed)
    assert journal.status == "done" and all(s.state == "done" for s in journal.steps)
    assert journal.step("replay").result["processed_now"] == len(stripe_world.window_ids())
    assert journal.step("reconcile").result["ok"] is True


def test_killed_mid_replay_a_resume_continues_after_the_last_page_each_event_once(
        stripe_world: StripeWorld, database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window = stripe_world.window_ids()
    assert len(window) > 100, "the world must hold more than one page"
    monkeypatch.setenv("STRIPE_API_KEY", API_KEY)
    journal_dir = tmp_path / "runs"
    run_id = run_until_crash("replay@page-1", journal_dir, *_window(stripe_world, database), "--execute")

    crashed = Journal.load(journal_dir, run_id)
    assert crashed.step("replay").state == "running"
    assert crashed.step("replay").result["pages_done"] == 1
    after_crash = _processed(database)
    assert len(after_crash) == 100 and set(after_crash) <= window  # the first page, committed before the kill

    code, out = _drctl("stripe-replay", "--resume", run_id, "--journal-dir", str(journal_dir), "--json")
    assert code == 0, out
    report = json.loads(out)
    # the resume did not walk the first page again: nothing was found already processed
    assert (report["processed_now"], report["already_processed"], report["failed"]) == (len(window), 0, 0)
    assert report["ok"] and report["reconciliation"] == {"unrecorded": [], "stale": []}
    processed = _processed(database)
    assert set(processed) == window and set(processed.values()) == {1}

    code, out = _drctl("stripe-replay", "--resume", run_id, "--journal-dir", str(journal_dir), "--json")
    assert code == 0, out  # a finished run resumed repeats nothing
    assert _processed(database) == processed


def test_failed_events_fail_the_run_and_a_resume_retries_only_them(stripe_world: StripeWorld, database: str,
                                                                   tmp_path: Path) -> None:
    from ops.drctl.dataplane.stripe_webhook import apply_schema

    with psycopg.connect(database, autocommit=True) as conn:
        apply_schema(conn)
        conn.execute("ALTER TABLE stripe_customers ADD CONSTRAINT refuse_customers CHECK (customer_id = '')")
    journal_dir = tmp_path / "runs"
    code, out = _drctl(*_window(stripe_world, database), "--journal-dir", str(journal_dir), "--execute", "--json")
    first = json.loads(out)
    assert code == 1 and first["failed"] > 0 and first["status"] == "failed"
    assert first["processed_now"] + first["failed"] == first["listed"]

    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("ALTER TABLE stripe_customers DROP CONSTRAINT refuse_customers")
    code, out = _drctl("stripe-replay", "--resume", first["run_id"], "--journal-dir", str(journal_dir), "--json")
    report = json.loads(out)
    assert code == 0, out
    assert (report["processed_now"], report["already_processed"], report["failed"]) == (first["listed"], 0, 0)
    assert report["ok"] and set(_processed(database)) == stripe_world.window_ids()


def test_resume_of_an_unknown_run_is_bad_input(tmp_path: Path) -> None:
    code, out = _drctl("stripe-replay", "--resume", "no-such-run", "--journal-dir", str(tmp_path))
    assert code == 2 and "--resume no-such-run: no journal" in out
