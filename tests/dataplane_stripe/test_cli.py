"""`drctl stripe-replay` end to end on a real localstripe and PostgreSQL: dry run, execute, re-run, bad input."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import psycopg
import pytest
from typer.testing import CliRunner

from ops.drctl.cli import app
from ops.drctl.sandbox.postgres import free_port
from tests.dataplane_stripe.conftest import API_KEY, StripeWorld, tables

LEDGER_TABLES = {"stripe_processed_events", "stripe_payments", "stripe_invoices", "stripe_customers"}


def _drctl(world: StripeWorld, database: str, *args: str, env: dict[str, str] | None = None,
           window: bool = True) -> tuple[int, str]:
    times = ["--since", str(world.since), "--until", str(world.until)] if window else []
    result = CliRunner().invoke(app, ["stripe-replay", *times, "--database", database, "--api-base", world.url,
                                      *args], env={"STRIPE_API_KEY": API_KEY, **(env or {})})
    return result.exit_code, result.output


def test_dry_run_lists_and_counts_by_type_and_changes_nothing(stripe_world: StripeWorld, database: str) -> None:
    code, out = _drctl(stripe_world, database)
    n = len(stripe_world.window_ids())
    assert code == 0, out
    assert f"listed {n}, already processed 0, would replay {n}" in out
    assert "customer.created" in out and "dry run" in out
    assert tables(database) == set()


def test_execute_replays_then_a_rerun_skips_everything(stripe_world: StripeWorld, database: str) -> None:
    n = len(stripe_world.window_ids())
    code, out = _drctl(stripe_world, database, "--execute")
    assert code == 0, out
    assert f"listed {n}, processed now {n}, already processed (skipped) 0, failed 0" in out
    assert "reconcile: ok" in out
    assert LEDGER_TABLES <= tables(database)

    code, out = _drctl(stripe_world, database, "--json")
    assert code == 0 and json.loads(out)["already_processed"] == n and json.loads(out)["to_replay"] == 0

    code, out = _drctl(stripe_world, database, "--execute", "--json")
    report = json.loads(out)
    assert code == 0 and (report["processed_now"], report["already_processed"], report["failed"]) == (0, n, 0)
    assert sum(report["by_type"].values()) == n


def test_iso_times_and_a_default_until_of_now(stripe_world: StripeWorld, database: str) -> None:
    since = datetime.fromtimestamp(stripe_world.since, UTC).replace(tzinfo=None).isoformat()
    result = CliRunner().invoke(app, ["stripe-replay", "--since", since, "--database", database, "--api-base",
                                      stripe_world.url, "--json"], env={"STRIPE_API_KEY": API_KEY})
    assert result.exit_code == 0, result.output
    assert "has no time zone: UTC assumed" in result.stderr
    assert json.loads(result.stdout)["listed"] == len(stripe_world.event_ids(stripe_world.since))


def test_a_failed_event_exits_1(stripe_world: StripeWorld, database: str) -> None:
    from ops.drctl.dataplane.stripe_webhook import apply_schema

    with psycopg.connect(database, autocommit=True) as conn:
        apply_schema(conn)
        conn.execute("ALTER TABLE stripe_customers ADD CONSTRAINT refuse_customers CHECK (customer_id = '')")
    code, out = _drctl(stripe_world, database, "--execute", "--json")
    report = json.loads(out)
    assert code == 1 and report["failed"] > 0 and not report["ok"]
    assert report["processed_now"] + report["failed"] == report["listed"]


@pytest.mark.parametrize(("args", "env", "named"), [
    (["--since", "yesterday-ish"], {}, "--since 'yesterday-ish'"),
    (["--since", "99999999999999999"], {}, "--since '99999999999999999'"),
    (["--since", "2024-05-01", "--until", "2024-13-01"], {}, "--until '2024-13-01'"),
    (["--since", "2024-05-02T00:00:00Z", "--until", "2024-05-01T00:00:00Z"], {}, "is before --since"),
    (["--since", "0", "--api-key-env", "DRCTL_NO_SUCH_KEY"], {}, "DRCTL_NO_SUCH_KEY"),
    (["--since", "0"], {"STRIPE_API_KEY": ""}, "STRIPE_API_KEY"),
    (["--since", "0"], {"STRIPE_API_KEY": "pk_not_a_secret_key"}, "refused the key in STRIPE_API_KEY"),
    (["--since", "0", "--database", f"postgresql://postgres@127.0.0.1:{free_port()}/none"], {}, "--database"),
    (["--since", "0", "--api-base", f"http://127.0.0.1:{free_port()}"], {}, "--api-base"),
])
def test_bad_input_exits_2_names_it_and_changes_nothing(stripe_world: StripeWorld, database: str, args: list[str],
                                                        env: dict[str, str], named: str) -> None:
    code, out = _drctl(stripe_world, database, "--execute", *args, env=env, window=False)
    assert code == 2, out
    assert named in out
    assert tables(database) == set()


def test_a_read_only_database_is_refused_naming_it_and_changes_nothing(stripe_world: StripeWorld,
                                                                      database: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(database)["dbname"]
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    code, out = _drctl(stripe_world, database, "--execute")
    assert code == 2, out
    assert "Traceback" not in out and "ReadOnlySqlTransaction" not in out
    assert f"--database {name}" in out and "read-only" in out
    assert tables(database) == set()
    code, out = _drctl(stripe_world, database)  # a dry run only reads: fine on a replica
    assert code == 0, out


def test_a_future_since_without_until_names_since_only(stripe_world: StripeWorld, database: str) -> None:
    code, out = _drctl(stripe_world, database, "--since", "2999-01-01T00:00:00Z", window=False)
    assert code == 2, out
    assert "--since 2999-01-01T00:00:00+00:00 is in the future" in " ".join(out.split())
    assert "--until" not in out
