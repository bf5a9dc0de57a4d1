"""`drctl stripe-replay` (RB-N-06): replay Stripe events since a point into the idempotent webhook handler.

Dry run by default: lists the events in the window, counts them by type and says how many are already processed.
`--execute` replays them (`replayed=true`, no signature check: they come from the API itself), then reconciles.
Like every runbook: a journal per run (ops/dr/runs/ or --journal-dir), `--resume RUN_ID` continues the journal's
window after its last replayed page, `--json` prints the journal with the replay's report; exit 0 done, 1 a step
failed (an event, the listing, the reconciliation), 2 bad input (nothing changed). Replaying is idempotent, so
`--execute` does not ask for confirmation. The API key is read from an environment variable only, never from a
flag or a file, and the --database DSN holds no password (PGPASSWORD or ~/.pgpass), since it is journaled.
"""
from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from ops.core.errors import BadInput
from ops.core.times import TIME_EXAMPLE, has_zone, parse_time
from ops.drctl.commands.options import (AsJson, JournalDir, Resume, dsn_without_password, refusing, resume_if_asked,
                                        run_book)

STRIPE_EVENT_RETENTION = timedelta(days=30)  # /v1/events only goes back 30 days


def register(app: typer.Typer) -> None:
    app.command(name="stripe-replay")(stripe_replay)


def stripe_replay(
    since: Annotated[str | None, typer.Option(help="Replay events created at/after TIME: ISO 8601 (UTC if no "
                                                   "zone) or unix seconds. Required unless --resume.")] = None,
    until: Annotated[str | None, typer.Option(help="...and at/before TIME (default: when the run starts).")] = None,
    database: Annotated[str, typer.Option(help="libpq DSN/URL of the handler's database, without a password; "
                                               "empty uses the PG* environment (PGHOST, PGPASSWORD, ...).")] = "",
    api_key_env: Annotated[str, typer.Option(help="Environment variable holding the Stripe secret key.")]
        = "STRIPE_API_KEY",
    api_base: Annotated[str | None, typer.Option(help="Stripe API base URL (e.g. a local server).")] = None,
    execute: Annotated[bool, typer.Option("--execute", help="Replay (default: dry run, changes nothing).")] = False,
    resume: Resume = None, as_json: AsJson = False, journal_dir: JournalDir = None,
) -> None:
    """RB-N-06: list Stripe events in [--since, --until], replay them into the idempotent handler, reconcile."""
    from ops.drctl.dataplane import stripe_replay as rb

    resume_if_asked(resume, True, journal_dir, as_json, lambda params: rb.runbook(), ask=False)
    if since is None:
        print("bad input: --since is required (or --resume RUN_ID)", file=sys.stderr)
        raise typer.Exit(2)
    with refusing():
        start, end = _window(since, until)
    params = rb.run_params(since=start, until=end, database=dsn_without_password(database, "--database") if database
                           else "", api_key_env=api_key_env, api_base=api_base)
    run_book(rb.runbook(), params, execute=execute, resume=None, journal_dir=journal_dir, as_json=as_json)


def time_or_unix_seconds(value: str, option: str) -> datetime:
    """ISO 8601 or unix seconds; an ISO time without a zone is taken as UTC, and the operator is told so."""
    if re.fullmatch(r"\d+(\.\d+)?", value.strip()):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise BadInput(f"{option} {value!r}: unix seconds out of range") from None
    try:
        moment = parse_time(value, option, naive_is_utc=True)
    except BadInput:
        raise BadInput(f"{option} {value!r} is neither ISO 8601 ({TIME_EXAMPLE}) nor unix seconds") from None
    if not has_zone(value):
        print(f"stripe-replay: {option} {value!r} has no time zone: UTC assumed", file=sys.stderr)
    return moment


def _window(since: str, until: str | None) -> tuple[datetime, datetime]:
    start = time_or_unix_seconds(since, "--since")
    # Without --until the window ends now: new events keep arriving, and an oldest-first listing would
    # otherwise chase them forever.
    end = time_or_unix_seconds(until, "--until") if until is not None else datetime.now(UTC)
    if end < start:
        if until is None:  # the operator gave no --until: name what they gave
            raise BadInput(f"--since {start.isoformat()} is in the future (now is {end.isoformat()})")
        raise BadInput(f"--until {end.isoformat()} is before --since {start.isoformat()}")
    if start < datetime.now(UTC) - STRIPE_EVENT_RETENTION:
        print(f"stripe-replay: --since {start.isoformat()} is more than 30 days ago; Stripe keeps events for "
              "30 days, older ones will not be listed", file=sys.stderr)
    return start, end
