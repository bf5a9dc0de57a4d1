"""`drctl dynamo-restore` (RB-N-05) and `drctl ses-failover` (RB-N-07).

Regions default from the stack settings (`--stack dr`, `--set KEY=VALUE`) and must be in its allowedRegions
(exit 2 naming the region). Dry-run unless --execute; --execute asks first unless --yes. --json prints the run's
journal; --resume RUN_ID continues a run from its journal (ops/dr/runs/).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated

import typer

from scripts.commands.failover import (AsJson, Execute, JournalDir, Overrides, Poll, Resume, Stack, Timeout, Yes,
                                       _bad_input, load_settings, resume_if_asked, start)

if TYPE_CHECKING:
    from stacks.settings import Settings

TABLE_NAME_MAX = 255
Region = Annotated[str | None, typer.Option(help="Region (default from the stack settings); must be in "
                                                 "allowedRegions.")]


def register(app: typer.Typer) -> None:
    app.command("dynamo-restore")(dynamo_restore)


def allowed_region(settings: "Settings", option: str, region: str) -> str:
    if region not in settings.allowed_regions:
        raise _bad_input(f"{option} {region}: not in allowedRegions {settings.allowed_regions}")
    return region


def restored_table_name(table: str, started: datetime) -> str:
    """`<table>-restored-YYYYmmddHHMM` from the run's start; it goes into the journal, so a resume reuses it."""
    name = f"{table}-restored-{started:%Y%m%d%H%M}"
    if len(name) > TABLE_NAME_MAX:
        raise _bad_input(f"--table {table}: too long to name its restore {name!r} (max {TABLE_NAME_MAX})")
    return name


def dynamo_restore(
    table: Annotated[str, typer.Option(help="Source table (any existing table in the region).")] = "",
    to: Annotated[str | None, typer.Option(help="Restore time, ISO 8601 with timezone, inside the PITR "
                                                "window.")] = None,
    latest: Annotated[bool, typer.Option(help="Restore to the latest restorable time instead of --to.")] = False,
    region: Region = None,
    billing_mode: Annotated[str | None, typer.Option(help="PAY_PER_REQUEST or PROVISIONED (default: the "
                                                          "source's).")] = None,
    expect_count: Annotated[int | None, typer.Option(help="Fail unless the restored table holds exactly this "
                                                          "many items.", min=0)] = None,
    stack: Stack = "dr", set_: Overrides = None,
    execute: Execute = False, yes: Yes = False, resume: Resume = None, as_json: AsJson = False,
    journal_dir: JournalDir = None, timeout: Timeout = 3600, poll: Poll = 10,
) -> None:
    """RB-N-05: restore a DynamoDB table to a point in time into a new table, verify its item count, print how
    to swap it in. Not copied by any restore: auto scaling, IAM, CloudWatch alarms, tags, streams, TTL, PITR (PITR,
    SSE and billing mode are re-applied; the rest is printed)."""
    from scripts.runbooks import dynamo_restore as rb

    resume_if_asked(resume, yes, journal_dir, as_json, lambda params: rb.runbook())
    if not table:
        raise _bad_input("--table is required")
    settings = load_settings(stack, set_)
    region = allowed_region(settings, "--region", region or settings.primary_region)
    params = {"table": table, "region": region, "to": to, "latest": latest, "billing_mode": billing_mode,
              "expect_count": expect_count, "target": restored_table_name(table, datetime.now(timezone.utc)),
              "timeout_s": timeout, "poll_s": poll}
    start(rb.runbook(), params, execute=execute, yes=yes, journal_dir=journal_dir, as_json=as_json,
          what=f"restore {table} in {region} to {to or 'the latest restorable time'} as {params['target']}")
