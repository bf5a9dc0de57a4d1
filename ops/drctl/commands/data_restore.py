"""`drctl dynamo-restore` (RB-N-05) and `drctl ses-failover` (RB-N-07).

Regions default from the stack settings (`--stack dr`, `--set KEY=VALUE`) and must be in its allowedRegions
(exit 2 naming the region). `ses-failover` takes what the program created (queue, secret, parameters, sender) from
the stack's outputs (`--outputs FILE`, else the Pulumi CLI); an explicit option wins. Dry-run unless --execute;
--execute asks first unless --yes. --json prints the run's journal; --resume RUN_ID continues a run from its
journal (ops/dr/runs/).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Annotated

import typer

from ops.core.paths import REPO_ROOT
from ops.drctl.commands.options import (AsJson, Execute, JournalDir, Overrides, Poll, Region, Resume, Stack, Timeout,
                                        Yes, allowed_region, bad_input, load_settings, refusing, resume_if_asked, start)
from ops.drctl.stack_outputs import OutputsFile, read_stack_outputs

TABLE_NAME_MAX = 255


def register(app: typer.Typer) -> None:
    app.command("dynamo-restore")(dynamo_restore)
    app.command("ses-failover")(ses_failover)


def restored_table_name(table: str, started: datetime) -> str:
    """`<table>-restored-YYYYmmddHHMM` from the run's start; it goes into the journal, so a resume reuses it."""
    name = f"{table}-restored-{started:%Y%m%d%H%M}"
    if len(name) > TABLE_NAME_MAX:
        raise bad_input(f"--table {table}: too long to name its restore {name!r} (max {TABLE_NAME_MAX})")
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
    from ops.drctl.runbooks import dynamo_restore as rb

    resume_if_asked(resume, yes, journal_dir, as_json, lambda params: rb.runbook())
    if not table:
        raise bad_input("--table is required")
    settings = load_settings(stack, set_)
    region = allowed_region(settings, "--region", region or settings.primary_region)
    params = {"table": table, "region": region, "to": to, "latest": latest, "billing_mode": billing_mode,
              "expect_count": expect_count, "target": restored_table_name(table, datetime.now(timezone.utc)),
              "timeout_s": timeout, "poll_s": poll}
    start(rb.runbook(), params, execute=execute, yes=yes, journal_dir=journal_dir, as_json=as_json,
          what=f"restore {table} in {region} to {to or 'the latest restorable time'} as {params['target']}")


def ses_failover(
    sender: Annotated[str | None, typer.Option(help="The From address critical mail uses; it or its domain must be "
                                                    "verified in SES in the target region (default: the stack "
                                                    "output sesSender).")] = None,
    region: Region = None,
    queue: Annotated[str | None, typer.Option(help="SQS queue holding the failed notifications (JSON contract in "
                                                   "ops/actions/ses.py; default: the stack output "
                                                   "sesQueueName).")] = None,
    queue_region: Annotated[str | None, typer.Option(help="Region of the queue (default: the target region, "
                                                          "so it outlives region A).")] = None,
    dead_letter_queue: Annotated[str | None, typer.Option(help="Queue for notifications SES refuses or that do "
                                                               "not match the contract (default: the stack output "
                                                               "sesDeadLetterQueueName, else leave them).")] = None,
    secret: Annotated[str | None, typer.Option(help="Secrets Manager secret with the sending credentials, "
                                                    "replicated to the target region (default: the stack output "
                                                    "sesCredentialsSecretName).")] = None,
    config_prefix: Annotated[str | None, typer.Option(help="SSM path the application reads its sending region and "
                                                           "credentials ARN from (default: the stack output "
                                                           "sesConfigPrefix).")] = None,
    ledger_table: Annotated[str, typer.Option(help="DynamoDB send ledger in the target region (created if "
                                                   "missing).")] = "critical-notifications-sent",
    start_rate: Annotated[float, typer.Option(help="Warm-up: messages per second at first.", min=0.01)] = 1,
    max_rate: Annotated[float, typer.Option(help="Warm-up ceiling (B's MaxSendRate caps it too).",
                                            min=0.01)] = 50,
    ramp_interval: Annotated[float, typer.Option(help="Seconds between doublings of the rate.", min=0.01)] = 60,
    visibility_timeout: Annotated[int, typer.Option(help="Seconds a received message stays hidden (after a "
                                                         "crash, how soon it comes back).")] = 60,
    receive_wait: Annotated[int, typer.Option(help="SQS long-poll seconds per receive.", min=0, max=20)] = 5,
    resend_in_doubt: Annotated[bool, typer.Option(help="Also send ids a crashed run left 'sending' (at-least-"
                                                       "once for those; default at-most-once).")] = False,
    stack: Stack = "dr", set_: Overrides = None, outputs: OutputsFile = None,
    execute: Execute = False, yes: Yes = False, resume: Resume = None, as_json: AsJson = False,
    journal_dir: JournalDir = None, timeout: Timeout = 3600, poll: Poll = 2,
) -> None:
    """RB-N-07: switch sending to region B (SSM config the application reads, credentials replicated in B), then
    re-send the failed critical notifications from the queue at a warm-up rate, each exactly once unless a crash
    or a lost answer from SES leaves one in doubt (listed, never sent again without --resend-in-doubt). The queue,
    dead-letter queue, secret, parameter path and sender are the dr stack's outputs unless given."""
    from ops.drctl.runbooks import ses_failover as rb

    resume_if_asked(resume, yes, journal_dir, as_json, lambda params: rb.runbook())
    settings = load_settings(stack, set_)
    with refusing():
        found = read_stack_outputs(stack, REPO_ROOT, outputs)
        sender = found.pick(sender, "sesSender", "--sender")
        queue = found.pick(queue, "sesQueueName", "--queue")
        secret = found.pick(secret, "sesCredentialsSecretName", "--secret")
        config_prefix = found.pick(config_prefix, "sesConfigPrefix", "--config-prefix")
    dead_letter_queue = dead_letter_queue or found.get("sesDeadLetterQueueName")  # optional: none leaves them
    region = allowed_region(settings, "--region", region or settings.dr_region)
    queue_region = allowed_region(settings, "--queue-region", queue_region or region)
    params = {"sender": sender, "region": region, "queue": queue, "queue_region": queue_region,
              "dead_letter_queue": dead_letter_queue, "secret": secret, "config_prefix": config_prefix,
              "ledger_table": ledger_table, "start_rate": start_rate, "max_rate": max_rate,
              "ramp_interval_s": ramp_interval, "visibility_s": visibility_timeout, "receive_wait_s": receive_wait,
              "resend_in_doubt": resend_in_doubt, "claim_tag": uuid.uuid4().hex, "timeout_s": timeout,
              "poll_s": poll}
    start(rb.runbook(), params, execute=execute, yes=yes, journal_dir=journal_dir, as_json=as_json,
          what=f"switch SES sending to {region} and re-send the notifications queued in {queue}")
