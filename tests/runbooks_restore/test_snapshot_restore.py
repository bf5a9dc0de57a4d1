"""RB-N-02 `drctl snapshot-restore` end to end against moto's server: dry-run, execute, --latest, bad input,
crash/resume, injected throttling and 5xx.

The world: the global database `dr-core` (conftest's `aurora`: writer in region A) and its secondary in region B,
placed in region B's network as the Pulumi program names it (`network-us-west-2-db` subnet group and security
group) with region B's KMS key. AWS Backup's daily recovery points of the writer were copied into region B's vault
`backup-b` (the snapshots made with CopyDBClusterSnapshot, named as AWS Backup names its copies, and registered as
the vault's recovery points); the newest copy is still being made. As RDS documents, the default snapshot listing
does not show AWS Backup's snapshots: --latest finds them through AWS Backup's API.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ops.drctl.commands.restore import restored_cluster_name
from ops.drctl.runbooks.engine import Journal
from ops.actions import backup_points
from tests.harness.aurora import DR, GLOBAL_ID, PRIMARY
from tests.harness.moto_extensions.backup_recovery_points import register_recovery_point
from tests.harness.moto_extensions.rds_snapshot_restore import set_cluster_snapshot_status
from tests.runbooks_restore.conftest import SOURCE, AuroraWorld, Drctl, client, flat, journal_of
from tests.harness.crash import run_until_crash

FAST = ("--timeout", "20", "--poll", "0.05")
NETWORK_B = f"network-{DR}-db"  # components/network.py names both the subnet group and the security group so
SECONDARY = f"{GLOBAL_ID}-{DR}"
STACK_CLASS = "db.r6g.large"  # the stack's aurora.instanceClass
VAULT_A, VAULT_B = "backup-a", "backup-b"  # CrossRegionBackup("backup") in stacks/primary.py names its vaults so


@dataclass
class SnapshotWorld:
    kms_key_b: str
    security_group_b: str
    older: str  # AWS Backup copies in region B, oldest first
    newest: str  # the newest available copy
    creating: str  # newer still, but not yet available (its recovery point CREATING)
    other_cluster: str  # a newer AWS Backup copy of a cluster outside the global database

    def clusters(self) -> dict[str, dict]:
        return {c["DBClusterIdentifier"]: c for c in client("rds", DR).describe_db_clusters()["DBClusters"]}

    def restored(self) -> list[str]:
        return sorted(name for name in self.clusters() if name.startswith(f"{GLOBAL_ID}-2"))

    def arn(self, snapshot_id: str) -> str:
        return f"arn:aws:rds:{DR}:123456789012:cluster-snapshot:{snapshot_id}"


def network_b() -> str:
    """Region B's data network as the Pulumi program makes it; returns the security group id."""
    ec2, rds = client("ec2", DR), client("rds", DR)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{n * 16}.0/20", AvailabilityZone=f"{DR}{zone}")
               ["Subnet"]["SubnetId"] for n, zone in enumerate("abc")]
    rds.create_db_subnet_group(DBSubnetGroupName=NETWORK_B, DBSubnetGroupDescription="Aurora subnets",
                               SubnetIds=subnets)
    ec2.create_security_group(GroupName="app", Description="not the database's", VpcId=vpc)
    return str(ec2.create_security_group(GroupName=NETWORK_B, Description="Aurora", VpcId=vpc)["GroupId"])


def copy_to_b(name: str, kms_key_b: str, source_cluster: str = SOURCE) -> str:
    """A snapshot of `source_cluster` in region A, copied into region B encrypted with B's key (as AWS Backup's
    copy action does); returns the copy's identifier."""
    made = client("rds", PRIMARY).create_db_cluster_snapshot(DBClusterIdentifier=source_cluster,
                                                             DBClusterSnapshotIdentifier=f"{name}-a")
    client("rds", DR).copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier=made["DBClusterSnapshot"]["DBClusterSnapshotArn"],
        TargetDBClusterSnapshotIdentifier=name, KmsKeyId=kms_key_b, SourceRegion=PRIMARY)
    return name


def vault_b() -> None:
    """Region B's copy vault as the Pulumi program makes it."""
    client("backup", DR).create_backup_vault(BackupVaultName=VAULT_B)


def backup_copy_to_b(name: str, kms_key_b: str, source_cluster: str = SOURCE, status: str = "COMPLETED") -> str:
    """What AWS Backup's copy action leaves in region B: the copied DB cluster snapshot, and its recovery point
    in region B's vault (Status `status`, ResourceArn the source cluster in region A)."""
    copy_to_b(name, kms_key_b, source_cluster)
    register_recovery_point(DR, VAULT_B, name, status=status,
                            source_vault_arn=f"arn:aws:backup:{PRIMARY}:123456789012:backup-vault:{VAULT_A}")
    return name


@pytest.fixture
def snapshots(aurora: AuroraWorld) -> SnapshotWorld:
    kms_key_b = client("kms", DR).create_key(Description="dr-core storage, region B")["KeyMetadata"]["Arn"]
    security_group_b = network_b()
    client("rds", DR).create_db_cluster(
        DBClusterIdentifier=SECONDARY, GlobalClusterIdentifier=GLOBAL_ID, Engine="aurora-postgresql",
        EngineVersion="15.8", DBSubnetGroupName=NETWORK_B, VpcSecurityGroupIds=[security_group_b],
        StorageEncrypted=True, KmsKeyId=kms_key_b, Tags=[{"Key": "tier", "Value": "critical"}])
    vault_b()
    older = backup_copy_to_b("awsbackup:copyjob-0001", kms_key_b)
    newest = backup_copy_to_b("awsbackup:copyjob-0002", kms_key_b)
    creating = backup_copy_to_b("awsbackup:copyjob-0003", kms_key_b, status="CREATING")
    set_cluster_snapshot_status(DR, creating, "creating")
    client("rds", PRIMARY).create_db_cluster(DBClusterIdentifier="reporting", Engine="aurora-postgresql",
                                             MasterUsername="report", MasterUserPassword="not-a-secret-2")
    other_cluster = backup_copy_to_b("awsbackup:copyjob-0004", kms_key_b, source_cluster="reporting")
    return SnapshotWorld(kms_key_b=kms_key_b, security_group_b=security_group_b, older=older, newest=newest,
                         creating=creating, other_cluster=other_cluster)


def assert_restored(world: SnapshotWorld, name: str, snapshot_id: str, run_id: str) -> None:
    """The new cluster in region B is available from the snapshot, placed in B's network, with a writer."""
    restored = world.clusters()[name]
    assert restored["Status"] == "available"
    assert (restored["Engine"], restored["EngineVersion"]) == ("aurora-postgresql", "15.8")
    assert restored["StorageEncrypted"] and restored["KmsKeyId"] == world.kms_key_b
    assert restored["DBSubnetGroup"] == NETWORK_B
    assert [g["VpcSecurityGroupId"] for g in restored["VpcSecurityGroups"]] == [world.security_group_b]
    assert restored["DeletionProtection"] and restored["IAMDatabaseAuthenticationEnabled"]
    assert restored["CopyTagsToSnapshot"]
    tags = {t["Key"]: t["Value"] for t in restored["TagList"]}
    assert tags["drctl:run-id"] == run_id and tags["drctl:restored-from"] == world.arn(snapshot_id)
    assert tags["tier"] == "critical"  # kept from region B's cluster, whose settings it copies
    assert restored["MasterUsername"] == "dbadmin"  # the snapshot's
    assert not restored.get("GlobalClusterIdentifier")  # standalone, not a member of the global database
    assert [(m["DBInstanceIdentifier"], m["IsClusterWriter"]) for m in restored["DBClusterMembers"]] == \
        [(f"{name}-writer", True)]
    writer = client("rds", DR).describe_db_instances(DBInstanceIdentifier=f"{name}-writer")["DBInstances"][0]
    assert writer["DBInstanceStatus"] == "available" and writer["DBInstanceClass"] == STACK_CLASS
    members = client("rds", PRIMARY).describe_global_clusters(GlobalClusterIdentifier=GLOBAL_ID)["GlobalClusters"]
    assert sorted(m["DBClusterArn"].split(":")[-1] for m in members[0]["GlobalClusterMembers"]) == \
        sorted([SOURCE, SECONDARY])


def test_dry_run_lists_the_calls_and_changes_nothing(snapshots: SnapshotWorld, drctl: Drctl, faults) -> None:
    code, output = drctl("snapshot-restore", "--snapshot", snapshots.newest, "--json", *FAST)
    assert code == 0, output
    run = journal_of(output)
    assert run.status == "planned" and run.step("preflight").state == "done"
    assert run.params["region"] == DR  # the stack's drRegion
    name = run.params["new_cluster_id"]
    restore_call, = run.step("restore").would_call
    assert restore_call.startswith(f"rds:RestoreDBClusterFromSnapshot(DBClusterIdentifier={name}, "
                                   f"SnapshotIdentifier={snapshots.arn(snapshots.newest)}, "
                                   "Engine=aurora-postgresql, EngineVersion=15.8")
    for expected in (f"DBSubnetGroupName={NETWORK_B}", f"VpcSecurityGroupIds=[{snapshots.security_group_b}]",
                     f"KmsKeyId={snapshots.kms_key_b}", "EnableIAMDatabaseAuthentication=True",
                     "DeletionProtection=True", "CopyTagsToSnapshot=True", f"drctl:run-id={run.run_id}",
                     f"drctl:restored-from={snapshots.arn(snapshots.newest)}"):
        assert expected in restore_call, expected
    writer_call, = run.step("writer").would_call
    assert f"rds:CreateDBInstance(DBInstanceIdentifier={name}-writer, DBClusterIdentifier={name}" in writer_call
    assert f"DBInstanceClass={STACK_CLASS}" in writer_call
    assert [s.name for s in run.steps if s.state == "planned"] == ["restore", "wait-cluster", "writer",
                                                                    "wait-writer"]
    assert run.step("preflight").result["settings_from"] == f"DB cluster {SECONDARY}"
    assert snapshots.restored() == []
    assert faults.calls("rds", "RestoreDBClusterFromSnapshot") == faults.calls("rds", "CreateDBInstance") == 0


def test_an_automated_snapshot_is_found_by_its_identifier(snapshots: SnapshotWorld, drctl: Drctl) -> None:
    automated, = [s for s in client("rds", DR).describe_db_cluster_snapshots(SnapshotType="automated")
                  ["DBClusterSnapshots"] if s["DBClusterIdentifier"] == SECONDARY]
    code, output = drctl("snapshot-restore", "--snapshot", automated["DBClusterSnapshotIdentifier"], "--json", *FAST)
    assert code == 0, output
    preflight = journal_of(output).step("preflight").result
    assert (preflight["snapshot"], preflight["snapshot_type"]) == (automated["DBClusterSnapshotIdentifier"],
                                                                   "automated")
    assert preflight["restore_request"]["SnapshotIdentifier"] == automated["DBClusterSnapshotArn"]


def test_execute_restores_the_snapshot_as_a_new_cluster_with_a_writer(snapshots: SnapshotWorld,
                                                                      drctl: Drctl) -> None:
    code, output = drctl("snapshot-restore", "--snapshot", snapshots.older, "--execute", "--yes", "--json", *FAST)
    assert code == 0, output
    run = journal_of(output)
    name = run.params["new_cluster_id"]
    assert name.startswith(f"{GLOBAL_ID}-") and len(name) == len(GLOBAL_ID) + 13  # dr-core-YYYYmmddHHMM
    assert snapshots.restored() == [name]
    assert_restored(snapshots, name, snapshots.older, run.run_id)
    assert run.step("preflight").result["kms_key_from"] == "snapshot"
    done = run.step("wait-writer").result
    assert done["endpoint"] == snapshots.clusters()[name]["Endpoint"] and done["writer"] == f"{name}-writer"
    assert all(c["request_id"] for c in run.step("restore").api_calls)


def test_latest_picks_the_newest_available_snapshot_of_the_global_database(snapshots: SnapshotWorld,
                                                                           drctl: Drctl) -> None:
    code, output = drctl("snapshot-restore", "--latest", "--execute", "--yes", *FAST)
    assert code == 0, output
    name, = snapshots.restored()
    tags = {t["Key"]: t["Value"] for t in snapshots.clusters()[name]["TagList"]}
    # Not the one still being made, nor the newer snapshot of another cluster, nor the older copy.
    assert tags["drctl:restored-from"] == snapshots.arn(snapshots.newest)
    assert f"restored cluster {name} endpoint: {snapshots.clusters()[name]['Endpoint']}" in flat(output)


def manual_snapshot_b(name: str) -> str:
    """A manual snapshot of region B's cluster: one RDS's own listing shows."""
    client("rds", DR).create_db_cluster_snapshot(DBClusterIdentifier=SECONDARY, DBClusterSnapshotIdentifier=name)
    return name


def listed_in_b() -> list[str]:
    """DescribeDBClusterSnapshots in region B without SnapshotType, as --latest's RDS lookup asks."""
    return [s["DBClusterSnapshotIdentifier"] for s in
            client("rds", DR).describe_db_cluster_snapshots()["DBClusterSnapshots"]]


def test_latest_takes_a_newer_aws_backup_copy_over_an_older_rds_snapshot(snapshots: SnapshotWorld,
                                                                       drctl: Drctl) -> None:
    older_manual = manual_snapshot_b("manual-before-the-copy")
    copy = backup_copy_to_b("awsbackup:copyjob-0005", snapshots.kms_key_b)
    # As RDS documents, its default listing leaves AWS Backup's snapshots out: only the Backup API finds the copy.
    assert older_manual in listed_in_b() and copy not in listed_in_b()
    code, output = drctl("snapshot-restore", "--latest", "--execute", "--yes", "--json", *FAST)
    assert code == 0, output
    run = journal_of(output)
    preflight = run.step("preflight").result
    assert (preflight["snapshot"], preflight["snapshot_from"], preflight["recovery_point_arn"]) == \
        (copy, "aws-backup", snapshots.arn(copy))
    assert (preflight["backup_vault"], preflight["backup_vault_note"]) == (VAULT_B, None)
    name, = snapshots.restored()
    assert_restored(snapshots, name, copy, run.run_id)


def test_latest_takes_a_newer_rds_snapshot_over_the_aws_backup_copies(snapshots: SnapshotWorld,
                                                                     drctl: Drctl) -> None:
    manual = manual_snapshot_b("manual-after-the-copies")
    code, output = drctl("snapshot-restore", "--latest", "--execute", "--yes", "--json", *FAST)
    assert code == 0, output
    run = journal_of(output)
    preflight = run.step("preflight").result
    assert (preflight["snapshot"], preflight["snapshot_from"], preflight["recovery_point_arn"]) == \
        (manual, "rds-snapshot", None)
    name, = snapshots.restored()
    tags = {t["Key"]: t["Value"] for t in snapshots.clusters()[name]["TagList"]}
    assert tags["drctl:restored-from"] == snapshots.arn(manual)


def test_dry_run_of_latest_lists_the_backup_lookup_and_changes_nothing(snapshots: SnapshotWorld, drctl: Drctl,
                                                                        faults) -> None:
    code, output = drctl("snapshot-restore", "--latest", "--json", *FAST)
    assert code == 0, output
    run = journal_of(output)
    preflight = run.step("preflight")
    assert preflight.result["looked_in"] == [
        f"rds:DescribeDBClusterSnapshots(Filters=[db-cluster-id={SOURCE},{SECONDARY}])",
        f"backup:ListRecoveryPointsByBackupVault(BackupVaultName={VAULT_B}, ByResourceType=Aurora)"]
    assert [c["operation"] for c in preflight.api_calls].count("ListRecoveryPointsByBackupVault") == 1
    assert (preflight.result["snapshot_from"], preflight.result["recovery_point_arn"]) == \
        ("aws-backup", snapshots.arn(snapshots.newest))
    restore_call, = run.step("restore").would_call
    assert f"SnapshotIdentifier={snapshots.arn(snapshots.newest)}," in restore_call
    assert snapshots.restored() == []
    assert faults.calls("rds", "RestoreDBClusterFromSnapshot") == faults.calls("rds", "CreateDBInstance") == 0


def test_latest_ignores_newer_recovery_points_not_completed_or_of_another_cluster(snapshots: SnapshotWorld,
                                                                                  drctl: Drctl) -> None:
    # Newer than `newest`, each with an available snapshot: only the recovery point's status rules them out.
    unfinished = [backup_copy_to_b(f"awsbackup:copyjob-01{n}", snapshots.kms_key_b, status=status)
                  for n, status in enumerate(["PARTIAL", "EXPIRED", "DELETING"])]
    assert snapshots.other_cluster  # the fixture's newer copy of `reporting`, a cluster outside the database
    code, output = drctl("snapshot-restore", "--latest", "--execute", "--yes", "--json", *FAST)
    assert code == 0, output
    run = journal_of(output)
    preflight = run.step("preflight").result
    assert (preflight["snapshot"], preflight["snapshot_from"]) == (snapshots.newest, "aws-backup")
    assert preflight["not_available"] == [f"{snapshots.creating} (recovery point CREATING)",
                                          f"{unfinished[0]} (recovery point PARTIAL)",
                                          f"{unfinished[1]} (recovery point EXPIRED)",
                                          f"{unfinished[2]} (recovery point DELETING)"]
    name, = snapshots.restored()
    assert_restored(snapshots, name, snapshots.newest, run.run_id)


def test_without_the_backup_vault_in_the_region_latest_uses_rds_snapshots_and_says_so(snapshots: SnapshotWorld,
                                                                                      drctl: Drctl) -> None:
    client("backup", DR).delete_backup_vault(BackupVaultName=VAULT_B)
    automated, = [s for s in client("rds", DR).describe_db_cluster_snapshots(SnapshotType="automated")
                  ["DBClusterSnapshots"] if s["DBClusterIdentifier"] == SECONDARY]
    code, output = drctl("snapshot-restore", "--latest", "--execute", "--yes", "--json", *FAST)
    assert code == 0, output
    run = journal_of(output)
    preflight = run.step("preflight").result
    # Region B's automated snapshot, older than the AWS Backup copies, which RDS's listing does not show.
    assert (preflight["snapshot"], preflight["snapshot_type"], preflight["snapshot_from"]) == \
        (automated["DBClusterSnapshotIdentifier"], "automated", "rds-snapshot")
    assert preflight["recovery_point_arn"] is None
    assert (preflight["backup_vault"], preflight["backup_vault_note"]) == \
        (VAULT_B, f"backup vault {VAULT_B} does not exist in {DR}: RDS snapshots only")
    assert preflight["looked_in"][-1].startswith("backup:ListRecoveryPointsByBackupVault")
    name, = snapshots.restored()
    tags = {t["Key"]: t["Value"] for t in snapshots.clusters()[name]["TagList"]}
    assert tags["drctl:restored-from"] == automated["DBClusterSnapshotArn"]
    assert snapshots.clusters()[name]["Status"] == "available"


def test_a_backup_vault_named_that_does_not_exist_is_bad_input(snapshots: SnapshotWorld, drctl: Drctl,
                                                               faults) -> None:
    code, output = drctl("snapshot-restore", "--latest", "--backup-vault", "missing", "--execute", "--yes", *FAST)
    assert code == 2 and f"--backup-vault missing: no backup vault of that name in {DR}" in flat(output), output
    assert snapshots.restored() == []
    assert faults.calls("rds", "RestoreDBClusterFromSnapshot") == faults.calls("rds", "CreateDBInstance") == 0


def test_a_backup_vault_the_role_may_not_read_falls_back_to_rds_snapshots_unless_named(snapshots: SnapshotWorld,
                                                                                       drctl: Drctl, faults) -> None:
    faults.inject("backup", "ListRecoveryPointsByBackupVault", 1, status=400, code="AccessDeniedException")
    code, output = drctl("snapshot-restore", "--latest", "--backup-vault", VAULT_B, "--execute", "--yes", *FAST)
    assert code == 1 and "AccessDeniedException" in flat(output), output  # named on purpose: the run fails
    assert snapshots.restored() == []

    faults.inject("backup", "ListRecoveryPointsByBackupVault", 1, status=400, code="AccessDeniedException")
    code, output = drctl("snapshot-restore", "--latest", "--execute", "--yes", "--json", *FAST)
    assert code == 0, output
    preflight = journal_of(output).step("preflight").result
    assert preflight["snapshot_from"] == "rds-snapshot" and preflight["recovery_point_arn"] is None
    assert preflight["backup_vault_note"] == (f"backup vault {VAULT_B}: AccessDeniedException on "
                                              f"ListRecoveryPointsByBackupVault in {DR}: RDS snapshots only")
    assert len(snapshots.restored()) == 1


def test_recovery_points_are_read_page_by_page(snapshots: SnapshotWorld, drctl: Drctl, faults,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backup_points, "PAGE_SIZE", 1)
    newest = backup_copy_to_b("awsbackup:copyjob-0005", snapshots.kms_key_b)  # listed last: on the last page
    code, output = drctl("snapshot-restore", "--latest", "--backup-vault", VAULT_B, "--execute", "--yes", "--json",
                         *FAST)
    assert code == 0, output
    run = journal_of(output)
    assert faults.calls("backup", "ListRecoveryPointsByBackupVault") == 5  # one page per recovery point
    assert run.step("preflight").result["recovery_point_arn"] == snapshots.arn(newest)
    name, = snapshots.restored()
    assert_restored(snapshots, name, newest, run.run_id)


def test_a_throttled_backup_lookup_is_retried(snapshots: SnapshotWorld, drctl: Drctl, faults) -> None:
    faults.inject("backup", "ListRecoveryPointsByBackupVault", 2, status=400, code="ThrottlingException")
    code, output = drctl("snapshot-restore", "--latest", "--execute", "--yes", "--json", *FAST)
    assert code == 0, output
    run = journal_of(output)
    assert faults.calls("backup", "ListRecoveryPointsByBackupVault") == 3  # two throttled, one served
    assert run.step("preflight").result["recovery_point_arn"] == snapshots.arn(snapshots.newest)
    name, = snapshots.restored()
    assert_restored(snapshots, name, snapshots.newest, run.run_id)


def test_the_harness_lists_recovery_points_as_aws_backup_documents(snapshots: SnapshotWorld) -> None:
    backup = client("backup", DR)
    first = backup.list_recovery_points_by_backup_vault(BackupVaultName=VAULT_B, ByResourceType="Aurora",
                                                        MaxResults=2)
    rest = backup.list_recovery_points_by_backup_vault(BackupVaultName=VAULT_B, ByResourceType="Aurora",
                                                       MaxResults=2, NextToken=first["NextToken"])
    assert "NextToken" not in rest
    points = first["RecoveryPoints"] + rest["RecoveryPoints"]
    assert [p["RecoveryPointArn"] for p in points] == [snapshots.arn(s) for s in (
        snapshots.older, snapshots.newest, snapshots.creating, snapshots.other_cluster)]
    point = points[0]
    assert point["ResourceArn"] == f"arn:aws:rds:{PRIMARY}:123456789012:cluster:{SOURCE}"  # the source, in A
    assert (point["ResourceType"], point["Status"], point["BackupVaultName"]) == ("Aurora", "COMPLETED", VAULT_B)
    assert point["SourceBackupVaultArn"].endswith(f":backup-vault:{VAULT_A}")
    assert point["EncryptionKeyArn"] == snapshots.kms_key_b and point["IsEncrypted"]
    assert [p["Status"] for p in points] == ["COMPLETED", "COMPLETED", "CREATING", "COMPLETED"]
    assert backup.list_recovery_points_by_backup_vault(BackupVaultName=VAULT_B,
                                                       ByResourceType="DynamoDB")["RecoveryPoints"] == []
    for request, code in [({"BackupVaultName": "missing"}, "ResourceNotFoundException"),
                          ({"BackupVaultName": VAULT_B, "NextToken": "not-a-token"}, "InvalidParameterValueException"),
                          ({"BackupVaultName": VAULT_B, "MaxResults": 1001}, "InvalidParameterValueException")]:
        with pytest.raises(backup.exceptions.ClientError) as raised:
            backup.list_recovery_points_by_backup_vault(**request)
        assert raised.value.response["Error"]["Code"] == code, request


def test_a_kms_key_and_instance_class_given_are_used(snapshots: SnapshotWorld, drctl: Drctl) -> None:
    other_key = client("kms", DR).create_key(Description="restores")["KeyMetadata"]["Arn"]
    code, output = drctl("snapshot-restore", "--snapshot", snapshots.arn(snapshots.newest), "--kms-key", other_key,
                         "--instance-class", "db.r6g.2xlarge", "--execute", "--yes", "--json", *FAST)
    assert code == 0, output
    name, = snapshots.restored()
    assert snapshots.clusters()[name]["KmsKeyId"] == other_key
    writer = client("rds", DR).describe_db_instances(DBInstanceIdentifier=f"{name}-writer")["DBInstances"][0]
    assert writer["DBInstanceClass"] == "db.r6g.2xlarge"


def test_without_a_cluster_in_the_region_the_pulumi_named_network_is_used(snapshots: SnapshotWorld,
                                                                          drctl: Drctl) -> None:
    rds_b = client("rds", DR)
    rds_b.remove_from_global_cluster(GlobalClusterIdentifier=GLOBAL_ID,
                                     DbClusterIdentifier=snapshots.clusters()[SECONDARY]["DBClusterArn"])
    rds_b.delete_db_cluster(DBClusterIdentifier=SECONDARY, SkipFinalSnapshot=True)
    code, output = drctl("snapshot-restore", "--latest", "--execute", "--yes", "--json", *FAST)
    assert code == 0, output
    run = journal_of(output)
    assert run.step("preflight").result["settings_from"].startswith(f"network {NETWORK_B} / {NETWORK_B}")
    restored = snapshots.clusters()[run.params["new_cluster_id"]]
    assert restored["DBSubnetGroup"] == NETWORK_B and restored["KmsKeyId"] == snapshots.kms_key_b
    assert [g["VpcSecurityGroupId"] for g in restored["VpcSecurityGroups"]] == [snapshots.security_group_b]


def test_without_a_cluster_or_the_network_in_the_region_is_bad_input(aurora: AuroraWorld, drctl: Drctl,
                                                                     faults) -> None:
    key = client("kms", DR).create_key()["KeyMetadata"]["Arn"]
    vault_b()
    backup_copy_to_b("awsbackup:copyjob-0001", key)
    code, output = drctl("snapshot-restore", "--latest", "--execute", "--yes", *FAST)
    assert code == 2 and f"DB subnet group {NETWORK_B} does not exist" in flat(output), output
    assert faults.calls("rds", "RestoreDBClusterFromSnapshot") == 0


def test_a_name_taken_by_someone_else_is_bad_input(snapshots: SnapshotWorld, drctl: Drctl, faults) -> None:
    now = datetime.now(timezone.utc)
    for minute in (now, now + timedelta(minutes=1)):  # whichever minute the run starts in
        client("rds", DR).create_db_cluster(DBClusterIdentifier=restored_cluster_name(GLOBAL_ID, minute),
                                            Engine="aurora-postgresql", MasterUsername="someone",
                                            MasterUserPassword="else-123456")
    code, output = drctl("snapshot-restore", "--latest", "--execute", "--yes", *FAST)
    assert code == 2 and "already exists and was not created by this run" in flat(output), output
    assert faults.calls("rds", "RestoreDBClusterFromSnapshot") == 0


def test_bad_snapshots_found_in_aws_exit_2_and_change_nothing(snapshots: SnapshotWorld, drctl: Drctl,
                                                              faults) -> None:
    for args, named in [
        (["--snapshot", "nope"], f"--snapshot nope: no DB cluster snapshot of that name in {DR}"),
        (["--snapshot", snapshots.creating], f"--snapshot {snapshots.creating} is creating, not available"),
        (["--snapshot", f"{snapshots.older}-a"],  # region A's original: not in region B
         f"--snapshot {snapshots.older}-a: no DB cluster snapshot of that name in {DR}"),
    ]:
        code, output = drctl("snapshot-restore", *args, "--execute", "--yes", *FAST)
        assert code == 2 and named in flat(output), output
    assert snapshots.restored() == []
    assert faults.calls("rds", "RestoreDBClusterFromSnapshot") == 0


def test_latest_with_no_available_snapshot_is_bad_input(aurora: AuroraWorld, drctl: Drctl, faults) -> None:
    network_b()
    key = client("kms", DR).create_key()["KeyMetadata"]["Arn"]
    vault_b()  # the recovery point says COMPLETED, but RDS does not report its snapshot available yet
    set_cluster_snapshot_status(DR, backup_copy_to_b("awsbackup:copyjob-0001", key), "creating")
    code, output = drctl("snapshot-restore", "--latest", "--execute", "--yes", *FAST)
    assert code == 2, output
    assert (f"--latest: no available DB cluster snapshot of {SOURCE} or {SECONDARY} in {DR}; not available: "
            "awsbackup:copyjob-0001 (creating)") in flat(output)
    assert faults.calls("rds", "RestoreDBClusterFromSnapshot") == 0


@pytest.mark.parametrize("args, named", [
    (["--snapshot", "daily", "--latest"], "exactly one of --snapshot ID_OR_ARN and --latest"),
    ([], "exactly one of --snapshot ID_OR_ARN and --latest"),
    (["--latest", "--region", "eu-west-1"], "--region eu-west-1: not in allowedRegions"),
    (["--snapshot", f"arn:aws:rds:{PRIMARY}:123456789012:cluster-snapshot:daily"],
     f"is in {PRIMARY}, not {DR}: RDS restores a snapshot only in its own region"),
    (["--snapshot", "arn:aws:s3:::daily"], "is not a DB cluster snapshot ARN"),
    (["--latest", "--set", "drRegion=eu-west-1"], "drRegion"),
    (["--latest", "--resume", "no-such-run"], "--resume no-such-run: no journal"),
    (["--snapshot", "daily", "--backup-vault", VAULT_B], "--backup-vault is only looked in with --latest"),
    (["--latest", "--backup-vault", "no such vault!"], "is not a backup vault name"),
])
def test_malformed_input_exits_2_before_any_call(aws: str, drctl: Drctl, faults, args: list[str], named: str) -> None:
    code, output = drctl("snapshot-restore", *args, "--execute", "--yes", *FAST)
    assert code == 2 and named in flat(output), output
    assert faults.calls("rds", "DescribeDBClusterSnapshots") == faults.calls("rds", "DescribeDBClusters") == 0
    assert faults.calls("backup", "ListRecoveryPointsByBackupVault") == 0


def test_crash_after_restore_then_resume_does_not_restore_again(snapshots: SnapshotWorld, tmp_path: Path,
                                                                drctl: Drctl, faults) -> None:
    run_id = run_until_crash("restore", tmp_path / "runs", "snapshot-restore", "--snapshot", snapshots.newest,
                             "--execute", "--yes", *FAST)
    state = Journal.load(tmp_path / "runs", run_id)
    assert state.step("restore").state == "done" and state.step("writer").state == "pending"
    name = state.params["new_cluster_id"]
    assert snapshots.restored() == [name] and snapshots.clusters()[name]["DBClusterMembers"] == []

    code, output = drctl("snapshot-restore", "--resume", run_id, "--yes")
    assert code == 0, output
    assert "restore: done in an earlier attempt, not repeated" in flat(output)
    assert Journal.load(tmp_path / "runs", run_id).status == "done"
    assert snapshots.restored() == [name]  # same name after the resume, no second cluster
    assert_restored(snapshots, name, snapshots.newest, run_id)
    assert faults.calls("rds", "RestoreDBClusterFromSnapshot") == 1
    assert faults.calls("rds", "CreateDBInstance") == 1


def test_a_rerun_of_the_restore_step_finds_its_own_cluster(snapshots: SnapshotWorld, tmp_path: Path,
                                                           drctl: Drctl, faults) -> None:
    """A crash after RestoreDBClusterFromSnapshot reached RDS but before the journal said so: the resumed step
    finds the cluster by its run-id tag and does not ask again."""
    run_id = run_until_crash("wait-cluster", tmp_path / "runs", "snapshot-restore", "--latest", "--execute",
                             "--yes", *FAST)
    journal = Journal.load(tmp_path / "runs", run_id)
    for step in ("restore", "wait-cluster"):  # as if the process died before recording them
        journal.step(step).state, journal.step(step).result = "pending", {}
    journal.save(tmp_path / "runs")

    code, output = drctl("snapshot-restore", "--resume", run_id, "--yes", "--json")
    assert code == 0, output
    assert journal_of(output).step("restore").result == {"cluster": journal.params["new_cluster_id"],
                                                         "created": False}
    assert faults.calls("rds", "RestoreDBClusterFromSnapshot") == 1
    assert_restored(snapshots, journal.params["new_cluster_id"], snapshots.newest, run_id)


def test_throttling_and_5xx_are_retried_and_the_run_completes(snapshots: SnapshotWorld, drctl: Drctl,
                                                              faults) -> None:
    faults.inject("rds", "DescribeDBClusterSnapshots", 1, status=503, code="ServiceUnavailable")
    faults.inject("rds", "RestoreDBClusterFromSnapshot", 2, status=400, code="Throttling")
    faults.inject("rds", "CreateDBInstance", 1, status=500, code="InternalFailure")
    faults.inject("rds", "DescribeDBClusters", 1, status=503, code="ServiceUnavailable")
    code, output = drctl("snapshot-restore", "--latest", "--execute", "--yes", "--json", *FAST)
    assert code == 0, output
    run = journal_of(output)
    name, = snapshots.restored()
    assert_restored(snapshots, name, snapshots.newest, run.run_id)
    assert faults.calls("rds", "RestoreDBClusterFromSnapshot") == 3  # two throttled, one served
    assert faults.calls("rds", "CreateDBInstance") == 2
    restore = run.step("restore")
    assert [c["operation"] for c in restore.api_calls].count("RestoreDBClusterFromSnapshot") == 1
