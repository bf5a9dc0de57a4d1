"""DynamoDB point-in-time restore actions: the PITR window, an idempotent restore into a new table, a bounded wait
for ACTIVE, PITR on the copy, and an exact item count.

What a PITR restore does NOT copy (AWS RestoreTableToPointInTime): auto scaling policies, IAM policies, CloudWatch
metrics and alarms, tags, stream settings, TTL settings and PITR itself. GSIs/LSIs, capacity and encryption come
from the source's *current* settings unless overridden. `source_settings` reads what the restore would lose so a
runbook can re-apply it or hand it to the operator.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ops.actions.aws import error_code
from ops.actions.polling import poll_until

COUNT_PAGE_LIMIT = 1000  # items evaluated per Scan page (each page is also capped at 1 MB by DynamoDB)


class TableMissing(LookupError):
    """No such table in that region."""


class PitrDisabled(ValueError):
    """The table has point-in-time recovery off, so it cannot be restored to a time."""


@dataclass(frozen=True)
class PitrWindow:
    earliest: datetime
    latest: datetime

    def contains(self, when: datetime) -> bool:
        return self.earliest <= when <= self.latest


def describe_table(ddb: Any, table: str) -> dict[str, Any] | None:
    try:
        return ddb.describe_table(TableName=table)["Table"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise


def pitr_window(ddb: Any, table: str) -> PitrWindow:
    """The restorable window; TableMissing or PitrDisabled name the table."""
    pitr = _pitr_description(ddb, table)
    if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
        raise PitrDisabled(f"table {table!r} has point-in-time recovery disabled; it cannot be restored to a time")
    return PitrWindow(earliest=pitr["EarliestRestorableDateTime"], latest=pitr["LatestRestorableDateTime"])


def source_settings(ddb: Any, autoscaling: Any, cloudwatch: Any, table: dict[str, Any]) -> dict[str, Any]:
    """What the source has that a restore either takes from the source (billing, SSE) or loses (the rest)."""
    name, arn = table["TableName"], table["TableArn"]
    sse = table.get("SSEDescription") or {}
    ttl = ddb.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
    tags = ddb.list_tags_of_resource(ResourceArn=arn).get("Tags", [])
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="dynamodb",
                                                    ResourceIds=[f"table/{name}"]).get("ScalableTargets", [])
    alarms = [alarm["AlarmName"]
              for page in cloudwatch.get_paginator("describe_alarms").paginate()
              for alarm in page.get("MetricAlarms", [])
              if any(d.get("Name") == "TableName" and d.get("Value") == name for d in alarm.get("Dimensions", []))]
    return {
        "table_arn": arn,
        "billing_mode": (table.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED",
        "provisioned_throughput": {k: table.get("ProvisionedThroughput", {}).get(k, 0)
                                   for k in ("ReadCapacityUnits", "WriteCapacityUnits")},
        "kms_key_arn": sse.get("KMSMasterKeyArn") if sse.get("Status") == "ENABLED" else None,
        "stream": table.get("StreamSpecification") or {"StreamEnabled": False},
        "ttl_attribute": ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") == "ENABLED" else None,
        "tags": tags,
        "autoscaling_targets": [t["ScalableDimension"] for t in targets],
        "alarms": alarms,
    }


def restore_request(source: str, target: str, *, restore_time: datetime | None, billing_mode: str,
                    provisioned_throughput: dict[str, int] | None, kms_key_arn: str | None) -> dict[str, Any]:
    """RestoreTableToPointInTime arguments: latest restorable time when `restore_time` is None; encryption with
    the source's KMS key and the billing mode stated explicitly rather than left to the source's current state."""
    request: dict[str, Any] = {"SourceTableName": source, "TargetTableName": target,
                               "BillingModeOverride": billing_mode}
    if restore_time is None:
        request["UseLatestRestorableTime"] = True
    else:
        request["RestoreDateTime"] = restore_time
    if billing_mode == "PROVISIONED" and provisioned_throughput:
        request["ProvisionedThroughputOverride"] = provisioned_throughput
    if kms_key_arn:
        request["SSESpecificationOverride"] = {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": kms_key_arn}
    return request


def restore_to_point_in_time(ddb: Any, request: dict[str, Any], source_arn: str) -> dict[str, Any]:
    """Start the restore unless the target already holds a restore of this source (a re-run): idempotent.
    A target table that exists for any other reason is refused rather than reused."""
    target = request["TargetTableName"]
    existing = describe_table(ddb, target)
    if existing is None:
        try:
            described = ddb.restore_table_to_point_in_time(**request)["TableDescription"]
            return {"changed": True, **_restore_summary(described)}
        except ClientError as exc:
            if error_code(exc) != "TableAlreadyExistsException":  # a lost response: the first attempt won
                raise
            existing = describe_table(ddb, target) or {}
    if not _is_restore_of(existing, source_arn, request.get("RestoreDateTime")):
        raise ValueError(f"table {target!r} already exists and is not a restore of {source_arn} to the time asked")
    return {"changed": False, **_restore_summary(existing)}


def _is_restore_of(described: dict[str, Any], source_arn: str, restore_time: datetime | None) -> bool:
    summary = described.get("RestoreSummary") or {}
    if summary.get("SourceTableArn") != source_arn:
        return False
    restored_to = summary.get("RestoreDateTime")
    # AWS resolves a restore time to the second
    return restore_time is None or (isinstance(restored_to, datetime)
                                    and abs((restored_to - restore_time).total_seconds()) < 1)


def _restore_summary(described: dict[str, Any]) -> dict[str, Any]:
    summary = described.get("RestoreSummary") or {}
    restored_to = summary.get("RestoreDateTime")
    return {"table": described["TableName"], "table_arn": described["TableArn"],
            "status": described.get("TableStatus"),
            "restore_date_time": restored_to.isoformat() if isinstance(restored_to, datetime) else restored_to}


def wait_active(ddb: Any, table: str, *, timeout_s: float, poll_s: float) -> dict[str, Any]:
    """Bounded wait until the table is ACTIVE and no longer restoring."""
    def ready(described: dict[str, Any] | None) -> bool:
        return bool(described) and described["TableStatus"] == "ACTIVE" and not (
            (described.get("RestoreSummary") or {}).get("RestoreInProgress"))

    described = poll_until(lambda: describe_table(ddb, table), ready, timeout_s=timeout_s, poll_s=poll_s,
                           what=f"table {table} ACTIVE")
    return {"status": described["TableStatus"]}


def enable_pitr(ddb: Any, table: str) -> dict[str, Any]:
    """Turn PITR on (a restore never copies it); a no-op when it is on already."""
    try:
        pitr_window(ddb, table)
        return {"changed": False}
    except PitrDisabled:
        ddb.update_continuous_backups(TableName=table,
                                      PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        return {"changed": True}


def count_items(ddb: Any, table: str, *, on_page: Callable[[int], None] | None = None) -> int:
    """Exact item count: a paginated Scan with Select=COUNT (DescribeTable's ItemCount is refreshed only about
    every six hours, so it cannot verify a restore)."""
    total = 0
    paginator = ddb.get_paginator("scan")
    for page in paginator.paginate(TableName=table, Select="COUNT", ConsistentRead=True,
                                   PaginationConfig={"PageSize": COUNT_PAGE_LIMIT}):
        total += page["Count"]
        if on_page is not None:
            on_page(page["Count"])
    return total


def plan_restore_calls(request: dict[str, Any]) -> list[str]:
    args = ", ".join(f"{k}={v.isoformat() if isinstance(v, datetime) else v}" for k, v in request.items())
    return [f"dynamodb:RestoreTableToPointInTime({args})"]


def pitr_status(ddb: Any, table: str) -> str:
    """PointInTimeRecoveryStatus of the table in the client's region (ENABLED or DISABLED), read-only; TableMissing
    when there is no such table there."""
    return str(_pitr_description(ddb, table).get("PointInTimeRecoveryStatus", "DISABLED"))


def _pitr_description(ddb: Any, table: str) -> dict[str, Any]:
    """DescribeContinuousBackups' PointInTimeRecoveryDescription ({} when absent); TableMissing names the table."""
    try:
        backups = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    except ClientError as exc:
        if error_code(exc) in ("TableNotFoundException", "ResourceNotFoundException"):
            raise TableMissing(f"table {table!r} does not exist") from None
        raise
    return dict(backups.get("PointInTimeRecoveryDescription", {}))


def replica_statuses(described: dict[str, Any]) -> dict[str, str]:
    """ReplicaStatus per region of a global table (version 2019.11.21) as DescribeTable lists its replicas."""
    return {str(replica["RegionName"]): str(replica.get("ReplicaStatus", "")) for replica in
            described.get("Replicas", [])}
