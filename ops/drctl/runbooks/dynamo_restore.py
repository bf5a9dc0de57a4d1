"""RB-N-05 DynamoDB point-in-time restore: restore a table as of a time into a NEW table, verify it, print how to
swap it in. The source table is never modified.

Steps: preflight (table exists, PITR on, the time inside the PITR window, what the source has that a restore does
not copy) → restore (RestoreTableToPointInTime into `<table>-restored-YYYYmmddHHMM`, encryption with the source's
KMS key and the billing mode given explicitly) → wait-active (bounded) → enable-pitr on the copy → verify-count
(paginated Scan Select=COUNT of both tables) → swap-plan (the swap options and what to re-create by hand).

A restore does NOT copy auto scaling policies, IAM policies, CloudWatch alarms, tags, stream settings, TTL or PITR.
The runbook re-applies PITR (and SSE/billing through the restore's overrides); the rest is listed in swap-plan,
with the source's actual values, because which of them the copy needs depends on the swap chosen.

The target name is fixed when the run starts and kept in the journal's parameters, so `--resume` and a re-run of
the restore step find the same table: a new run refuses a target that exists already, while a resumed restore step
takes a target that is a restore of this source to this time as its own (done).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ops.actions import dynamodb
from ops.core.errors import BadInput
from ops.core.times import parse_time
from ops.drctl.runbooks.engine import RunContext, Runbook, Step

NAME = "RB-N-05 DynamoDB point-in-time restore"
NOT_COPIED = ("auto scaling policies", "IAM policies", "CloudWatch alarms", "tags", "stream settings", "TTL",
              "point-in-time recovery")


def _restore_time(params: dict[str, Any]) -> datetime | None:
    return parse_time(params["to"], "--to") if params.get("to") else None


def _validate(params: dict[str, Any]) -> None:
    if bool(params.get("to")) == bool(params.get("latest")):
        raise BadInput("give exactly one of --to TIME or --latest")
    _restore_time(params)
    if params.get("billing_mode") not in (None, "PAY_PER_REQUEST", "PROVISIONED"):
        raise BadInput(f"--billing-mode {params['billing_mode']!r}: expected PAY_PER_REQUEST or PROVISIONED")


def _preflight(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    ddb = ctx.client("dynamodb", p["region"])
    source = dynamodb.describe_table(ddb, p["table"])
    if source is None:
        raise BadInput(f"--table {p['table']}: no such table in {p['region']}")
    try:
        window = dynamodb.pitr_window(ddb, p["table"])
    except (dynamodb.PitrDisabled, dynamodb.TableMissing) as exc:
        raise BadInput(f"--table {p['table']}: {exc}") from None
    restore_time = _restore_time(p)
    if restore_time is not None and not window.contains(restore_time):
        raise BadInput(f"--to {p['to']}: outside the PITR window of {p['table']} "
                       f"[{window.earliest.isoformat()}, {window.latest.isoformat()}]")
    if dynamodb.describe_table(ddb, p["target"]) is not None:  # preflight runs once per run: not ours
        raise BadInput(f"target table {p['target']} already exists (another run this minute?); delete it or wait "
                       f"for the next minute")
    settings = dynamodb.source_settings(ddb, ctx.client("application-autoscaling", p["region"]),
                                        ctx.client("cloudwatch", p["region"]), source)
    return {**settings, "window": [window.earliest.isoformat(), window.latest.isoformat()],
            "restore_to": restore_time.isoformat() if restore_time else "latest restorable time",
            "source_item_count_estimate": source.get("ItemCount", 0)}


def _request(ctx: RunContext) -> dict[str, Any]:
    p, source = ctx.params, ctx.results["preflight"]
    return dynamodb.restore_request(p["table"], p["target"], restore_time=_restore_time(p),
                                    billing_mode=p.get("billing_mode") or source["billing_mode"],
                                    provisioned_throughput=source["provisioned_throughput"],
                                    kms_key_arn=source["kms_key_arn"])


def _restore(ctx: RunContext) -> dict[str, Any]:
    ddb = ctx.client("dynamodb", ctx.params["region"])
    try:
        return dynamodb.restore_to_point_in_time(ddb, _request(ctx), ctx.results["preflight"]["table_arn"])
    except ValueError as exc:  # the target appeared since preflight, and not as our restore
        raise BadInput(str(exc)) from None


def _wait_active(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    return dynamodb.wait_active(ctx.client("dynamodb", p["region"]), p["target"], timeout_s=p["timeout_s"],
                                poll_s=p["poll_s"])


def _enable_pitr(ctx: RunContext) -> dict[str, Any]:
    return dynamodb.enable_pitr(ctx.client("dynamodb", ctx.params["region"]), ctx.params["target"])


def _count_with_progress(ctx: RunContext, ddb: Any, table: str, estimate: int) -> int:
    columns = (TextColumn("counting {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=ctx.console, transient=True) as progress:
        task = progress.add_task(table, total=estimate or None)  # ItemCount: a ~6-hourly estimate, for the bar
        return dynamodb.count_items(ddb, table, on_page=lambda n: progress.advance(task, n))


def _verify_count(ctx: RunContext) -> dict[str, Any]:
    """The copy's exact count, beside the source's count now. They are the same data only when nothing was
    written to the source since the restore time, so the comparison fails the step only against --expect-count
    (a count the operator knows for that time, e.g. from the application's own ledger)."""
    p, source = ctx.params, ctx.results["preflight"]
    ddb = ctx.client("dynamodb", p["region"])
    restored = _count_with_progress(ctx, ddb, p["target"], source["source_item_count_estimate"])
    source_now = _count_with_progress(ctx, ddb, p["table"], source["source_item_count_estimate"])
    result = {"restored_items": restored, "source_items_now": source_now,
              "net_change_since_restore_time": source_now - restored,
              "compared": "restored count vs the source's count now (equal unless items were added or deleted "
                          "since the restore time)"}
    expected = p.get("expect_count")
    if expected is not None:
        if restored != expected:
            raise RuntimeError(f"{p['target']} holds {restored} items, --expect-count says {expected}")
        result["compared"] = f"restored count vs --expect-count {expected}: equal"
    return result


def swap_instructions(params: dict[str, Any], source: dict[str, Any]) -> list[str]:
    table, target, region = params["table"], params["target"], params["region"]
    lines = [
        f"Option 1 (fast): point the application's table-name setting for {table} at {target} in {region} and "
        f"roll the pods; {table} stays untouched for forensics.",
        f"Option 2 (keep the name): copy the needed items from {target} back into {table} (scan the copy, "
        f"BatchWriteItem into the source), then delete {target}.",
        f"Not copied by a restore: {', '.join(NOT_COPIED)}. Re-applied here: point-in-time recovery, "
        f"encryption (KMS key {source.get('kms_key_arn') or 'AWS owned'}), billing mode.",
    ]
    if source.get("ttl_attribute"):
        lines.append(f"Re-create TTL on {target}: dynamodb update-time-to-live --table-name {target} "
                     f"--time-to-live-specification Enabled=true,AttributeName={source['ttl_attribute']}")
    if source.get("stream", {}).get("StreamEnabled"):
        lines.append(f"Re-enable the stream on {target} (StreamViewType "
                     f"{source['stream'].get('StreamViewType')}) and re-point its consumers (Lambda triggers).")
    if source.get("tags"):
        tags = " ".join(f"Key={t['Key']},Value={t['Value']}" for t in source["tags"])
        lines.append(f"Re-tag {target}: dynamodb tag-resource --resource-arn <{target} ARN> --tags {tags}")
    if source.get("autoscaling_targets"):
        lines.append(f"Re-register auto scaling for table/{target}: {', '.join(source['autoscaling_targets'])}")
    if source.get("alarms"):
        lines.append(f"Copy the CloudWatch alarms on TableName={table} to {target}: {', '.join(source['alarms'])}")
    lines.append(f"IAM: grant the application's role access to {target} (policies naming {table} by ARN do not "
                 f"cover it).")
    return lines


def _swap_plan(ctx: RunContext) -> dict[str, Any]:
    lines = swap_instructions(ctx.params, ctx.results["preflight"])
    for line in lines:
        ctx.console.print(f"[bold]swap:[/bold] {escape(line)}", emoji=False)
    return {"instructions": lines}


def runbook() -> Runbook:
    def plan_count(ctx: RunContext) -> list[str]:
        return [f"dynamodb:Scan(TableName={t}, Select=COUNT, ConsistentRead=true) paginated"
                for t in (ctx.params["target"], ctx.params["table"])]

    return Runbook(name=NAME, validate=_validate, steps=[
        Step("preflight", "source table, PITR window, restore time, what a restore does not copy", _preflight,
             read_only=True),
        Step("restore", "RestoreTableToPointInTime into the new table", _restore,
             would_call=lambda ctx: dynamodb.plan_restore_calls(_request(ctx))),
        Step("wait-active", "the new table ACTIVE (bounded wait)", _wait_active,
             would_call=lambda ctx: [f"dynamodb:DescribeTable(TableName={ctx.params['target']}) until ACTIVE "
                                     f"(at most {ctx.params['timeout_s']:g} s)"]),
        Step("enable-pitr", "point-in-time recovery on the new table", _enable_pitr,
             would_call=lambda ctx: [f"dynamodb:UpdateContinuousBackups(TableName={ctx.params['target']}, "
                                     f"PointInTimeRecoveryEnabled=true)"]),
        Step("verify-count", "exact item counts (Scan Select=COUNT)", _verify_count, would_call=plan_count),
        Step("swap-plan", "how to swap the restored table in", _swap_plan,
             would_call=lambda ctx: ["(no API call) " + line
                                     for line in swap_instructions(ctx.params, ctx.results["preflight"])]),
    ])
