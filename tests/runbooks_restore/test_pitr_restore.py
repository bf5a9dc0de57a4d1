"""RB-N-02 `drctl pitr-restore` end to end against moto's server: dry-run, execute, bad input, crash/resume,
injected throttling and 5xx."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ops.drctl.commands.restore import restored_cluster_name
from ops.drctl.runbooks.engine import Journal
from tests.harness.aurora import DR, GLOBAL_ID, PRIMARY
from tests.runbooks_restore.conftest import SOURCE, WRITER_CLASS, AuroraWorld, Drctl, client, flat, journal_of
from tests.harness.crash import run_until_crash

FAST = ("--timeout", "20", "--poll", "0.05")


def restore_time(world: AuroraWorld) -> str:
    """A time inside the source's restorable window."""
    earliest = world.clusters()[SOURCE]["EarliestRestorableTime"].astimezone(timezone.utc)
    return (earliest + timedelta(microseconds=1000)).isoformat()


def restored_names(world: AuroraWorld) -> list[str]:
    return sorted(name for name in world.clusters() if name.startswith(f"{GLOBAL_ID}-2"))


def assert_restored(world: AuroraWorld, name: str) -> None:
    """The new cluster is available with a writer and keeps the source's configuration; the source is intact."""
    rds = client("rds", PRIMARY)
    restored, source = world.clusters()[name], world.clusters()[SOURCE]
    assert restored["Status"] == "available"
    assert [(m["DBInstanceIdentifier"], m["IsClusterWriter"]) for m in restored["DBClusterMembers"]] == \
        [(f"{name}-writer", True)]
    writer = rds.describe_db_instances(DBInstanceIdentifier=f"{name}-writer")["DBInstances"][0]
    assert writer["DBInstanceStatus"] == "available" and writer["DBInstanceClass"] == WRITER_CLASS
    for field in ("Engine", "EngineVersion", "DBSubnetGroup", "KmsKeyId", "IAMDatabaseAuthenticationEnabled",
                  "DeletionProtection", "CopyTagsToSnapshot", "Port", "DBClusterParameterGroup"):
        assert restored[field] == source[field], field
    assert restored["DBSubnetGroup"] == world.subnet_group and restored["KmsKeyId"] == world.kms_key
    assert [g["VpcSecurityGroupId"] for g in restored["VpcSecurityGroups"]] == [world.security_group]
    assert restored["IAMDatabaseAuthenticationEnabled"] and restored["DeletionProtection"]
    assert {"Key": "tier", "Value": "critical"} in restored["TagList"]
    assert not restored.get("GlobalClusterIdentifier")  # standalone, not a member of the global database
    members = rds.describe_global_clusters(GlobalClusterIdentifier=GLOBAL_ID)["GlobalClusters"][0]
    assert [m["DBClusterArn"].split(":")[-1] for m in members["GlobalClusterMembers"]] == [SOURCE]
    assert source["Status"] == "available" and len(source["DBClusterMembers"]) == 2


def test_dry_run_lists_the_calls_and_changes_nothing(aurora: AuroraWorld, drctl: Drctl, faults) -> None:
    code, output = drctl("pitr-restore", "--cluster", SOURCE, "--latest", "--json", *FAST)
    assert code == 0, output
    run = journal_of(output)
    assert run.status == "planned" and run.step("preflight").state == "done"
    name = run.params["new_cluster_id"]
    restore_call, = run.step("restore").would_call
    assert restore_call.startswith(f"rds:RestoreDBClusterToPointInTime(DBClusterIdentifier={name}, "
                                   f"SourceDBClusterIdentifier={SOURCE}, UseLatestRestorableTime=True")
    for expected in (f"DBSubnetGroupName={aurora.subnet_group}", f"VpcSecurityGroupIds=[{aurora.security_group}]",
                     f"KmsKeyId={aurora.kms_key}", "EnableIAMDatabaseAuthentication=True",
                     "DeletionProtection=True", "CopyTagsToSnapshot=True", f"drctl:run-id={run.run_id}"):
        assert expected in restore_call, expected
    writer_call, = run.step("writer").would_call
    assert f"DBInstanceIdentifier={name}-writer" in writer_call and f"DBInstanceClass={WRITER_CLASS}" in writer_call
    assert restored_names(aurora) == []
    assert faults.calls("rds", "RestoreDBClusterToPointInTime") == faults.calls("rds", "CreateDBInstance") == 0


def test_restore_to_a_time_creates_an_available_cluster_with_a_writer(aurora: AuroraWorld, drctl: Drctl) -> None:
    moment = restore_time(aurora)
    code, output = drctl("pitr-restore", "--cluster", SOURCE, "--to", moment, "--execute", "--yes", "--json", *FAST)
    assert code == 0, output
    run = journal_of(output)
    name = run.params["new_cluster_id"]
    assert name.startswith(f"{GLOBAL_ID}-") and len(name) == len(GLOBAL_ID) + 13  # dr-core-YYYYmmddHHMM
    assert restored_names(aurora) == [name]
    assert_restored(aurora, name)
    assert run.step("preflight").result["restore_to"] == moment
    assert run.step("preflight").result["restore_request"]["RestoreToTime"] == moment
    done = run.step("wait-writer").result
    assert done["endpoint"] == aurora.clusters()[name]["Endpoint"] and done["writer"] == f"{name}-writer"
    operations = [c["operation"] for c in run.step("restore").api_calls]
    assert "RestoreDBClusterToPointInTime" in operations and all(c["request_id"] for c in run.step("restore").api_calls)


def test_latest_prints_the_endpoint_and_a_rerun_is_refused_nothing_overwritten(aurora: AuroraWorld,
                                                                               drctl: Drctl) -> None:
    code, output = drctl("pitr-restore", "--cluster", SOURCE, "--latest", "--instance-class", "db.r6g.2xlarge",
                         "--execute", "--yes", *FAST)
    assert code == 0, output
    name, = restored_names(aurora)
    assert f"restored cluster {name} endpoint: {aurora.clusters()[name]['Endpoint']}" in flat(output)
    writer = client("rds", PRIMARY).describe_db_instances(DBInstanceIdentifier=f"{name}-writer")["DBInstances"][0]
    assert writer["DBInstanceClass"] == "db.r6g.2xlarge"
    # Another run in the same minute would reuse the name: the cluster is not this run's, so exit 2.
    taken = restored_cluster_name(GLOBAL_ID, datetime.now(timezone.utc))
    if taken == name:
        code, output = drctl("pitr-restore", "--cluster", SOURCE, "--latest", "--execute", "--yes", *FAST)
        assert code == 2 and f"DB cluster {name} already exists and was not created by this run" in flat(output)


def test_restoring_the_headless_secondary_gives_a_standalone_cluster_in_its_region(aurora: AuroraWorld,
                                                                                   drctl: Drctl) -> None:
    rds_b = client("rds", DR)
    rds_b.create_db_cluster(DBClusterIdentifier=f"{GLOBAL_ID}-{DR}", GlobalClusterIdentifier=GLOBAL_ID,
                            Engine="aurora-postgresql", EngineVersion="15.8")
    code, output = drctl("pitr-restore", "--cluster", f"{GLOBAL_ID}-{DR}", "--region", DR, "--latest",
                         "--execute", "--yes", "--json", *FAST)
    assert code == 0, output
    run = journal_of(output)
    name = run.params["new_cluster_id"]
    restored = rds_b.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]
    assert restored["Status"] == "available" and not restored.get("GlobalClusterIdentifier")
    assert restored["MasterUsername"] == "dbadmin"  # the global writer's user: same storage
    writer = rds_b.describe_db_instances(DBInstanceIdentifier=f"{name}-writer")["DBInstances"][0]
    assert writer["DBInstanceClass"] == "db.r6g.large"  # no source writer: the stack's aurora.instanceClass
    assert run.step("preflight").result["instance_class_from"].startswith("stack setting aurora.instanceClass")
    assert restored_names(aurora) == []  # nothing in region A


def test_a_name_taken_by_someone_else_is_bad_input(aurora: AuroraWorld, drctl: Drctl, faults) -> None:
    now = datetime.now(timezone.utc)
    rds = client("rds", PRIMARY)
    for minute in (now, now + timedelta(minutes=1)):  # whichever minute the run starts in
        rds.create_db_cluster(DBClusterIdentifier=restored_cluster_name(GLOBAL_ID, minute),
                              Engine="aurora-postgresql", MasterUsername="someone", MasterUserPassword="else-123456")
    code, output = drctl("pitr-restore", "--cluster", SOURCE, "--latest", "--execute", "--yes", *FAST)
    assert code == 2 and "already exists and was not created by this run" in flat(output), output
    assert faults.calls("rds", "RestoreDBClusterToPointInTime") == 0


def test_bad_input_found_in_aws_exits_2_and_changes_nothing(aurora: AuroraWorld, drctl: Drctl, faults) -> None:
    for args, named in [
        (["--cluster", SOURCE, "--to", "2001-01-01T00:00:00Z"],
         "--to 2001-01-01T00:00:00+00:00 is outside the restorable window of dr-core-us-east-1: "),
        (["--cluster", "dr-core-nope", "--latest"], "--cluster dr-core-nope: no DB cluster of that name in us-east-1"),
        (["--cluster", SOURCE, "--latest", "--region", "us-west-2"], "no DB cluster of that name in us-west-2"),
    ]:
        code, output = drctl("pitr-restore", *args, "--execute", "--yes", *FAST)
        assert code == 2 and named in flat(output), output
    assert restored_names(aurora) == []
    assert faults.calls("rds", "RestoreDBClusterToPointInTime") == 0


@pytest.mark.parametrize("args, named", [
    (["--cluster", SOURCE, "--to", "2026-11-22T09:30:00"], "--to '2026-11-22T09:30:00' has no time zone"),
    (["--cluster", SOURCE, "--to", "yesterday"], "--to 'yesterday' is not an ISO 8601 time"),
    (["--cluster", SOURCE, "--to", "2001-01-01T00:00:00Z", "--latest"], "exactly one of --to TIME and --latest"),
    (["--cluster", SOURCE], "exactly one of --to TIME and --latest"),
    (["--latest"], "--cluster is required"),
    (["--cluster", SOURCE, "--latest", "--region", "eu-west-1"], "--region eu-west-1: not in allowedRegions"),
    (["--cluster", SOURCE, "--latest", "--set", "primaryRegion=eu-west-1"], "primaryRegion"),
    (["--cluster", SOURCE, "--latest", "--resume", "no-such-run"], "--resume no-such-run: no journal"),
    (["--cluster", SOURCE, "--latest", "--instance-class", "db.r99.huge"], "--instance-class 'db.r99.huge'"),
    (["--cluster", SOURCE, "--latest", "--instance-class", "foo"], "--instance-class 'foo'"),
    (["--cluster", SOURCE, "--latest", "--instance-class", "db.m6g.large"], "--instance-class 'db.m6g.large'"),
    (["--cluster", SOURCE, "--latest", "--instance-class", "r6g.large"], "--instance-class 'r6g.large'"),
    (["--cluster", SOURCE, "--latest", "--instance-class", ""], "--instance-class ''"),
])
def test_malformed_input_exits_2_before_any_call(aws: str, drctl: Drctl, faults, args: list[str], named: str) -> None:
    code, output = drctl("pitr-restore", *args, "--execute", "--yes", *FAST)
    assert code == 2 and named in flat(output), output
    assert faults.calls("rds", "DescribeDBClusters") == faults.calls("rds", "RestoreDBClusterToPointInTime") == 0


@pytest.mark.parametrize("instance_class", ["db.r6g.large", "db.serverless", "db.r7g.16xlarge", "db.t4g.medium",
                                            "db.x2g.xlarge", "db.r6gd.4xlarge", "db.r8g.48xlarge"])
def test_valid_instance_classes_are_taken(aurora: AuroraWorld, drctl: Drctl, instance_class: str) -> None:
    code, output = drctl("pitr-restore", "--cluster", SOURCE, "--latest", "--instance-class", instance_class,
                         "--json", *FAST)
    assert code == 0, output
    assert journal_of(output).params["instance_class"] == instance_class


def test_execute_without_a_terminal_needs_yes(aws: str, drctl: Drctl, faults) -> None:
    code, output = drctl("pitr-restore", "--cluster", SOURCE, "--latest", "--execute", *FAST)
    assert code == 2 and "--yes" in output
    assert faults.calls("rds", "DescribeDBClusters") == 0


def test_crash_after_restore_then_resume_does_not_restore_again(aurora: AuroraWorld, tmp_path: Path, drctl: Drctl,
                                                                faults) -> None:
    run_id = run_until_crash("restore", tmp_path / "runs", "pitr-restore", "--cluster", SOURCE, "--to",
                             restore_time(aurora), "--execute", "--yes", *FAST)
    state = Journal.load(tmp_path / "runs", run_id)
    assert state.step("restore").state == "done" and state.step("writer").state == "pending"
    name = state.params["new_cluster_id"]
    assert restored_names(aurora) == [name] and aurora.clusters()[name]["DBClusterMembers"] == []

    code, output = drctl("pitr-restore", "--resume", run_id, "--yes")
    assert code == 0, output
    assert "restore: done in an earlier attempt, not repeated" in flat(output)
    assert Journal.load(tmp_path / "runs", run_id).status == "done"
    assert restored_names(aurora) == [name]  # same name after the resume, no second cluster
    assert_restored(aurora, name)
    assert faults.calls("rds", "RestoreDBClusterToPointInTime") == 1
    assert faults.calls("rds", "CreateDBInstance") == 1


def test_throttling_and_5xx_are_retried_and_the_run_completes(aurora: AuroraWorld, drctl: Drctl, faults) -> None:
    faults.inject("rds", "RestoreDBClusterToPointInTime", 2, status=400, code="Throttling")
    faults.inject("rds", "CreateDBInstance", 1, status=500, code="InternalFailure")
    faults.inject("rds", "DescribeDBClusters", 1, status=503, code="ServiceUnavailable")
    code, output = drctl("pitr-restore", "--cluster", SOURCE, "--latest", "--execute", "--yes", "--json", *FAST)
    assert code == 0, output
    name, = restored_names(aurora)
    assert_restored(aurora, name)
    assert faults.calls("rds", "RestoreDBClusterToPointInTime") == 3  # two throttled, one served
    assert faults.calls("rds", "CreateDBInstance") == 2
    restore = journal_of(output).step("restore")
    assert [c["operation"] for c in restore.api_calls].count("RestoreDBClusterToPointInTime") == 1
