"""`drctl stripe-replay` (RB-N-06): replay Stripe events since a point into the idempotent webhook handler.

Dry run by default: lists the events in the window, counts them by type and says how many are already processed.
`--execute` replays them (`replayed=true`, no signature check: they come from the API itself), then reconciles.
The API key is read from an environment variable only, never from a flag or a file.
"""
from __future__ import annotations

import json
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ops.drctl.dataplane.stripe_replay import ReplayReport

STRIPE_EVENT_RETENTION = timedelta(days=30)  # /v1/events only goes back 30 days


class BadInput(ValueError):
    """Exit 2: names the offending option or value; nothing was changed."""


class ListingFailed(RuntimeError):
    """Exit 1: the Stripe API answered with an error while listing; nothing was replayed."""


def register(app: typer.Typer) -> None:
    app.command(name="stripe-replay")(stripe_replay)


def stripe_replay(
    since: Annotated[str, typer.Option(help="Replay events created at/after TIME: ISO 8601 (UTC if no zone) "
                                            "or unix seconds.")],
    until: Annotated[str | None, typer.Option(help="...and at/before TIME (default: when the run starts).")] = None,
    database: Annotated[str, typer.Option(help="libpq DSN/URL of the handler's database; empty uses the PG* "
                                               "environment (PGHOST, PGPASSWORD, ...).")] = "",
    api_key_env: Annotated[str, typer.Option(help="Environment variable holding the Stripe secret key.")]
        = "STRIPE_API_KEY",
    api_base: Annotated[str | None, typer.Option(help="Stripe API base URL (e.g. a local server).")] = None,
    execute: Annotated[bool, typer.Option("--execute", help="Replay (default: dry run, changes nothing).")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """RB-N-06: list Stripe events in [--since, --until], replay them into the idempotent handler, reconcile."""
    try:
        report = _run(since, until, database, api_key_env, api_base, execute)
    except BadInput as exc:
        print(f"stripe-replay: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    except ListingFailed as exc:
        print(f"stripe-replay: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def parse_time(value: str, option: str) -> datetime:
    """ISO 8601 or unix seconds; an ISO time without a zone is taken as UTC, and the operator is told so."""
    if re.fullmatch(r"\d+(\.\d+)?", value.strip()):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise BadInput(f"{option} {value!r}: unix seconds out of range") from None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadInput(f"{option} {value!r} is neither ISO 8601 (2024-05-01T12:00:00+02:00) nor unix seconds") \
            from None
    if parsed.tzinfo is None:
        print(f"stripe-replay: {option} {value!r} has no time zone: UTC assumed", file=sys.stderr)
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _window(since: str, until: str | None) -> tuple[datetime, datetime]:
    start = parse_time(since, "--since")
    # Without --until the window ends now: new events keep arriving, and an oldest-first listing would
    # otherwise chase them forever.
    end = parse_time(until, "--until") if until is not None else datetime.now(UTC)
    if end < start:
        if until is None:  # the operator gave no --until: name what they gave
            raise BadInput(f"--since {start.isoformat()} is in the future (now is {end.isoformat()})")
        raise BadInput(f"--until {end.isoformat()} is before --since {start.isoformat()}")
    if start < datetime.now(UTC) - STRIPE_EVENT_RETENTION:
        print(f"stripe-replay: --since {start.isoformat()} is more than 30 days ago; Stripe keeps events for "
              "30 days, older ones will not be listed", file=sys.stderr)
    return start, end


def _api_key(variable: str) -> str:
    key = os.environ.get(variable, "").strip()
    if not key:
        raise BadInput(f"environment variable {variable} (--api-key-env) is not set or empty: it must hold the "
                       "Stripe secret key")
    return key


def _run(since: str, until: str | None, database: str, api_key_env: str, api_base: str | None,
         execute: bool) -> ReplayReport:
    import psycopg
    import stripe

    from ops.drctl.dataplane import stripe_replay

    start, end = _window(since, until)
    client = stripe.StripeClient(_api_key(api_key_env), max_network_retries=2,
                                 base_addresses={"api": api_base} if api_base else None)
    try:
        conn = psycopg.connect(database, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise BadInput(f"--database: cannot connect: {str(exc).strip()}") from None
    with conn:
        try:
            events = stripe_replay.list_events(client, start, end)
        except stripe.AuthenticationError:
            raise BadInput(f"the Stripe API refused the key in {api_key_env} (--api-key-env)") from None
        except stripe.APIConnectionError as exc:
            raise BadInput(f"--api-base {api_base or stripe.DEFAULT_API_BASE}: cannot reach the Stripe API: "
                           f"{exc.user_message or exc}") from None
        except stripe.StripeError as exc:
            raise ListingFailed(f"listing events failed: {exc.user_message or exc}") from None
        if not execute:
            return stripe_replay.plan(conn, events, start, end)
        try:
            return stripe_replay.replay(conn, events, start, end)
        except stripe_replay.ReadOnlyDatabase as exc:
            raise BadInput(f"--database {exc}") from None


def _print_report(report: ReplayReport) -> None:
    from ops.drctl.terminal import stdout_console
    from rich.table import Table

    console = stdout_console()
    mode = "replayed" if report.executed else "dry run (nothing changed; --execute replays)"
    console.print(f"Stripe events created {report.since.isoformat()} .. {report.until.isoformat()}: {mode}")
    table = Table("event type", "listed")
    for event_type, count in report.by_type.items():
        table.add_row(event_type, str(count))
    console.print(table)
    if report.executed:
        console.print(f"listed {report.listed}, processed now {report.processed_now}, already processed "
                      f"(skipped) {report.already_processed}, failed {len(report.failed)}")
        for failure in report.failed:
            console.print(f"  [red]failed[/red] {failure.event_id} ({failure.type}): {failure.error}")
    else:
        console.print(f"listed {report.listed}, already processed {report.already_processed}, "
                      f"would replay {report.to_replay}")
    if report.reconciliation is not None:
        rec = report.reconciliation
        verdict = "[green]ok[/green]" if rec.ok else "[red]MISMATCH[/red]"
        console.print(f"reconcile: {verdict}: {len(rec.unrecorded)} listed events not recorded as processed, "
                      f"{len(rec.stale)} ledger rows older than their newest event")
        for item in [*rec.unrecorded, *rec.stale][:20]:
            console.print(f"  {item}")
