"""RB-N-05 `drctl dynamo-restore` end to end against moto's server (with tests/harness/moto_extensions/
dynamodb_pitr.py giving RestoreTableToPointInTime AWS's as-of-a-time semantics)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from ops.drctl.runbooks.engine import Journal
from tests.runbooks_data_restore.conftest import PRIMARY, aws_client, drctl, drctl_process, journal, only_run_id

TABLE = "payments-idempotency"


@dataclass
class Source:
    restore_to: datetime  # items 0-19 as written, before the later changes
    kms_key_arn: str

    @property
    def iso(self) -> str:
        return self.restore_to.isoformat().replace("+00:00", "Z")


def put(ddb: Any, key: str, amount: int) -> None:
    ddb.put_item(TableName=TABLE, Item={"idempotencyKey": {"S": key}, "amount": {"N": str(amount)}})


def items(table: str) -> dict[str, int]:
    found = aws_client("dynamodb", PRIMARY).scan(TableName=table)["Items"]
    return {i["idempotencyKey"]["S"]: int(i["amount"]["N"]) for i in found}


def tables() -> set[str]:
    return set(aws_client("dynamodb", PRIMARY).list_tables()["TableNames"])


@pytest.fixture
def source(aws: str) -> Source:
    """A PITR-enabled, KMS-encrypted table with TTL, tags, auto scaling and an alarm; 20 items at the restore
    time, then 5 deleted, 10 added and one updated after it."""
    ddb = aws_client("dynamodb", PRIMARY)
    key_arn = aws_client("kms", PRIMARY).create_key(Description="ddb")["KeyMetadata"]["Arn"]
    ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "idempotencyKey", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "idempotencyKey", "AttributeType": "S"}],
                     SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn},
                     Tags=[{"Key": "tier", "Value": "critical"}])
    ddb.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    ddb.update_continuous_backups(TableName=TABLE,
                                  PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    aws_client("cloudwatch", PRIMARY).put_metric_alarm(
        AlarmName="payments-throttles", MetricName="ThrottledRequests", Namespace="AWS/DynamoDB", Statistic="Sum",
        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
        Dimensions=[{"Name": "TableName", "Value": TABLE}])
    for n in range(20):
        put(ddb, f"k{n:02d}", n)
    time.sleep(0.02)
    restore_to = datetime.fromtimestamp(round(time.time(), 3), timezone.utc)  # after every write above
    time.sleep(0.02)  # and before every write below
    for n in range(5):
        ddb.delete_item(TableName=TABLE, Key={"idempotencyKey": {"S": f"k{n:02d}"}})
    for n in range(20, 30):
        put(ddb, f"k{n:02d}", n)
    ddb.update_item(TableName=TABLE, Key={"idempotencyKey": {"S": "k10"}}, UpdateExpression="SET amount = :a",
                    ExpressionAttributeValues={":a": {"N": "999"}})
    return Source(restore_to=restore_to, kms_key_arn=key_arn)


def restored_name(run: Journal) -> str:
    return str(run.params["target"])


def test_execute_restores_the_table_as_of_the_time(source: Source, tmp_path: Path) -> None:
    code, output = drctl(tmp_path, "dynamo-restore", "--table", TABLE, "--to", source.iso, "--execute", "--yes",
                         "--json", "--poll", "0.05", "--timeout", "30")
    assert code == 0, output
    run = journal(output)
    target = restored_name(run)
    assert target.startswith(f"{TABLE}-restored-") and len(target) == len(TABLE) + len("-restored-") + 12
    assert items(target) == {f"k{n:02d}": n for n in range(20)}  # no deletes, adds or update after the time
    assert len(items(TABLE)) == 25 and items(TABLE)["k10"] == 999  # the source is untouched
    ddb = aws_client("dynamodb", PRIMARY)
    described = ddb.describe_table(TableName=target)["Table"]
    assert described["TableStatus"] == "ACTIVE"
    assert described["SSEDescription"]["KMSMasterKeyArn"] == source.kms_key_arn
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert abs(described["RestoreSummary"]["RestoreDateTime"] - source.restore_to) < timedelta(milliseconds=1)
    pitr = ddb.describe_continuous_backups(TableName=target)["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert run.step("enable-pitr").result == {"changed": True}
    verified = run.step("verify-count").result
    assert (verified["restored_items"], verified["source_items_now"], verified["net_change_since_restore_time"]) \
        == (20, 25, 5)
    swap = "\n".join(run.step("swap-plan").result["instructions"])
    for expected in (f"at {target}", "AttributeName=expires", "Key=tier,Value=critical", "payments-throttles",
                     "IAM", "stream settings"):
        assert expected in swap
    assert all(call["request_id"] for call in run.step("restore").api_calls)


def test_dry_run_prints_the_calls_and_changes_nothing(source: Source, tmp_path: Path) -> None:
    before = tables()
    code, output = drctl(tmp_path, "dynamo-restore", "--table", TABLE, "--to", source.iso, "--json")
    assert code == 0, output
    run = journal(output)
    assert run.status == "planned" and tables() == before
    (restore_call,) = run.step("restore").would_call
    assert restore_call.startswith(f"dynamodb:RestoreTableToPointInTime(SourceTableName={TABLE}, "
                                   f"TargetTableName={run.params['target']}")
    assert f"RestoreDateTime={source.restore_to.isoformat()}" in restore_call, restore_call
    assert f"SSESpecificationOverride={{'Enabled': True, 'SSEType': 'KMS', 'KMSMasterKeyId': " \
           f"'{source.kms_key_arn}'}}" in restore_call
    assert run.step("preflight").result["ttl_attribute"] == "expires"
    assert any("Option 1" in line for line in run.step("swap-plan").would_call)


def test_latest_restorable_time_and_expected_count(source: Source, tmp_path: Path) -> None:
    code, output = drctl(tmp_path, "dynamo-restore", "--table", TABLE, "--latest", "--expect-count", "25",
                         "--execute", "--yes", "--json", "--poll", "0.05", "--timeout", "30")
    assert code == 0, output
    run = journal(output)
    assert items(restored_name(run)) == items(TABLE)
    assert run.step("verify-count").result["compared"] == "restored count vs --expect-count 25: equal"


def test_a_count_other_than_expected_fails_the_run(source: Source, tmp_path: Path) -> None:
    code, output = drctl(tmp_path, "dynamo-restore", "--table", TABLE, "--to", source.iso, "--expect-count", "21",
                         "--execute", "--yes", "--json", "--poll", "0.05", "--timeout", "30")
    assert code == 1, output
    run = journal(output)
    assert run.step("verify-count").state == "failed" and "holds 20 items" in (run.step("verify-count").error or "")


BAD_INPUTS = [
    (["--to", "yesterday"], "--to 'yesterday' is not an ISO 8601 time"),
    (["--to", "2026-11-22T10:00:00"], "give a timezone"),
    (["--to", "2001-01-01T00:00:00Z"], "--to 2001-01-01T00:00:00Z: outside the PITR window of payments-idempotency"),
    (["--to", "2999-01-01T00:00:00+00:00"], "--to 2999-01-01T00:00:00+00:00: outside the PITR window"),
    ([], "exactly one of --to TIME or --latest"),
    (["--latest", "--region", "eu-west-1"], "--region eu-west-1: not in allowedRegions"),
    (["--latest", "--billing-mode", "FREE"], "--billing-mode 'FREE'"),
    (["--latest", "--set", "allowedRegions=[]"], "allowedRegions"),
]


def test_bad_input_exits_2_naming_it_and_changes_nothing(source: Source, tmp_path: Path) -> None:
    before = tables()
    for args, named in BAD_INPUTS:
        code, output = drctl(tmp_path, "dynamo-restore", "--table", TABLE, *args, "--execute", "--yes")
        assert code == 2, (args, output)
        assert named in " ".join(output.split()), (args, output)
    assert tables() == before


def test_unknown_table_and_pitr_disabled_are_bad_input(source: Source, tmp_path: Path) -> None:
    code, output = drctl(tmp_path, "dynamo-restore", "--table", "no-such-table", "--latest", "--execute", "--yes")
    assert code == 2 and "no-such-table" in output
    aws_client("dynamodb", PRIMARY).create_table(
        TableName="sessions", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "sessionId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sessionId", "AttributeType": "S"}])
    code, output = drctl(tmp_path, "dynamo-restore", "--table", "sessions", "--latest", "--execute", "--yes")
    assert code == 2 and "'sessions' has point-in-time recovery disabled" in " ".join(output.split())
    assert tables() == {TABLE, "sessions"}


def test_a_new_run_refuses_a_target_that_exists_already(source: Source, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    taken = {f"{TABLE}-restored-{at:%Y%m%d%H%M}" for at in (now, now + timedelta(minutes=1))}  # minute boundary
    for name in taken:
        aws_client("dynamodb", PRIMARY).create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "idempotencyKey", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "idempotencyKey", "AttributeType": "S"}])
    code, output = drctl(tmp_path, "dynamo-restore", "--table", TABLE, "--latest", "--execute", "--yes")
    assert code == 2 and "already exists (another run this minute?)" in " ".join(output.split())
    assert tables() == {TABLE, *taken}


def test_crash_after_restore_then_resume_does_not_restore_again(source: Source, tmp_path: Path, faults) -> None:
    crashed = drctl_process(tmp_path, "dynamo-restore", "--table", TABLE, "--to", source.iso, "--execute", "--yes",
                            "--poll", "0.05", "--timeout", "30", env={"DRCTL_CRASH_AFTER_STEP": "restore"})
    _, stderr = crashed.communicate(timeout=120)
    assert crashed.returncode == 137, stderr
    run_id = only_run_id(tmp_path)
    state = Journal.load(tmp_path / "runs", run_id)
    target = restored_name(state)
    assert state.step("restore").state == "done" and state.step("wait-active").state == "pending"
    assert target in tables()

    time.sleep(0.05)
    resumed = drctl_process(tmp_path, "dynamo-restore", "--resume", run_id, "--yes")
    _, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    assert "restore: done in an earlier attempt, not repeated" in " ".join(stderr.split())
    assert Journal.load(tmp_path / "runs", run_id).status == "done"
    assert faults.calls("dynamodb", "RestoreTableToPointInTime") == 1
    assert items(target) == {f"k{n:02d}": n for n in range(20)}


def test_rerunning_the_restore_step_reuses_the_table_from_this_run(source: Source, tmp_path: Path) -> None:
    """The restore step alone is idempotent: a target that already holds a restore of this source is taken."""
    from ops.actions import dynamodb

    ddb = aws_client("dynamodb", PRIMARY)
    arn = ddb.describe_table(TableName=TABLE)["Table"]["TableArn"]
    request = dynamodb.restore_request(TABLE, f"{TABLE}-restored-x", restore_time=source.restore_to,
                                       billing_mode="PAY_PER_REQUEST", provisioned_throughput=None,
                                       kms_key_arn=source.kms_key_arn)
    assert dynamodb.restore_to_point_in_time(ddb, request, arn)["changed"] is True
    assert dynamodb.restore_to_point_in_time(ddb, request, arn)["changed"] is False
    with pytest.raises(ValueError, match="is not a restore of"):
        dynamodb.restore_to_point_in_time(ddb, {**request, "TargetTableName": TABLE}, arn)
    earlier = {**request, "RestoreDateTime": source.restore_to - timedelta(seconds=5)}
    with pytest.raises(ValueError, match="to the time asked"):
        dynamodb.restore_to_point_in_time(ddb, earlier, arn)


def test_throttling_and_5xx_are_retried_and_the_run_completes(source: Source, tmp_path: Path, faults) -> None:
    faults.inject("dynamodb", "RestoreTableToPointInTime", 1, status=400, code="ThrottlingException")
    faults.inject("dynamodb", "Scan", 1, status=500, code="InternalServerError")
    faults.inject("dynamodb", "DescribeContinuousBackups", 1, status=503, code="ServiceUnavailable")
    code, output = drctl(tmp_path, "dynamo-restore", "--table", TABLE, "--to", source.iso, "--execute", "--yes",
                         "--json", "--poll", "0.05", "--timeout", "30")
    assert code == 0, output
    run = journal(output)
    assert faults.calls("dynamodb", "RestoreTableToPointInTime") == 2
    assert run.step("verify-count").result["restored_items"] == 20
    assert len(items(restored_name(run))) == 20


def test_restore_time_window_from_the_extension_follows_aws(source: Source) -> None:
    """describe_continuous_backups: earliest = when PITR was enabled, latest = now (LATEST_LAG_S = 0 here)."""
    pitr = aws_client("dynamodb", PRIMARY).describe_continuous_backups(TableName=TABLE)[
        "ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    now = datetime.now(timezone.utc)
    assert pitr["EarliestRestorableDateTime"] < source.restore_to
    assert now - timedelta(seconds=5) < pitr["LatestRestorableDateTime"] <= now + timedelta(seconds=1)
