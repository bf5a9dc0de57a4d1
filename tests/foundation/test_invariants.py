"""The invariants a DR platform cannot lose, checked on the plan of the real program for every posture."""
from __future__ import annotations

import json

import pytest

from ops.drctl.planning.mockplan import Plan
from stacks.config_files import load_stack_settings

CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
TABLE = "aws:dynamodb/table:Table"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
DATA_TYPES = {CLUSTER, "aws:rds/globalCluster:GlobalCluster", "aws:s3/bucket:Bucket", TABLE,
              "aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey", "aws:backup/vault:Vault",
              "aws:secretsmanager/secret:Secret"}


def all_plans(primary_plan: Plan, dr_plans: dict) -> list[Plan]:
    return [primary_plan, *dr_plans.values()]


def test_aurora_keeps_point_in_time_recovery_for_the_configured_days(primary_plan: Plan, dr_plans: dict) -> None:
    days = load_stack_settings("primary").aurora.backup_retention_days
    clusters = [r for plan in all_plans(primary_plan, dr_plans) for r in plan.by_type(CLUSTER)]
    assert len(clusters) == 1 + len(dr_plans)
    for cluster in clusters:
        assert cluster.inputs["backupRetentionPeriod"] == days >= 7
        assert cluster.inputs["storageEncrypted"] is True and cluster.inputs["kmsKeyId"].startswith("arn:aws:kms:")
        assert cluster.inputs["deletionProtection"] is True
        assert cluster.inputs["copyTagsToSnapshot"] is True
        assert cluster.inputs["iamDatabaseAuthenticationEnabled"] is True


def test_pilot_light_secondary_is_headless_and_has_no_credentials(dr_plan: Plan) -> None:
    assert dr_plan.by_type(INSTANCE) == []
    (secondary,) = dr_plan.by_type(CLUSTER)
    assert secondary.region == "us-west-2"
    assert secondary.inputs["globalClusterIdentifier"] == "dr-core"
    for credential in ("masterUsername", "masterPassword", "manageMasterUserPassword"):
        assert credential not in secondary.inputs


def test_primary_cluster_joins_the_global_cluster_with_generated_secret_credentials(primary_plan: Plan) -> None:
    (cluster,) = primary_plan.by_type(CLUSTER)
    assert cluster.inputs["globalClusterIdentifier"] == "dr-core"
    assert cluster.inputs["masterPassword"] == "[secret]"  # generated, never in config
    assert "manageMasterUserPassword" not in cluster.inputs  # not supported on global clusters
    (secret,) = primary_plan.by_type("aws:secretsmanager/secret:Secret")
    assert secret.inputs["replicas"] == [{"kmsKeyId": primary_plan.outputs["kmsReplicaKeyArn"],
                                          "region": "us-west-2"}]
    assert len(primary_plan.by_type(INSTANCE)) == load_stack_settings("primary").aurora.instances


def test_membership_drift_is_ignored_on_both_clusters(primary_plan: Plan, dr_plans: dict) -> None:
    for plan in all_plans(primary_plan, dr_plans):
        for cluster in plan.by_type(CLUSTER):
            assert {"globalClusterIdentifier", "replicationSourceIdentifier"} <= set(cluster.ignoreChanges)


def test_aurora_connections_are_tls_only(primary_plan: Plan, dr_plan: Plan) -> None:
    for plan in (primary_plan, dr_plan):
        (params,) = plan.by_type("aws:rds/clusterParameterGroup:ClusterParameterGroup")
        assert {"name": "rds.force_ssl", "value": "1"} in params.inputs["parameters"]


def test_bucket_replication_has_rtc_metrics_and_delete_markers(primary_plan: Plan) -> None:
    configs = primary_plan.by_type(REPLICATION)
    assert len(configs) == len(load_stack_settings("primary").buckets) == 2
    for config in configs:
        (rule,) = config.inputs["rules"]
        assert rule["status"] == "Enabled"
        assert rule["deleteMarkerReplication"] == {"status": "Enabled"}
        destination = rule["destination"]
        assert destination["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
        assert destination["metrics"] == {"eventThreshold": {"minutes": 15}, "status": "Enabled"}
        assert destination["bucket"].endswith("-us-west-2")
        assert destination["encryptionConfiguration"]["replicaKmsKeyId"] == primary_plan.outputs["kmsReplicaKeyArn"]
        assert config.region == "us-east-1"


def test_replication_role_is_least_privilege(primary_plan: Plan) -> None:
    for policy in primary_plan.by_type("aws:iam/rolePolicy:RolePolicy"):
        statements = json.loads(policy.inputs["policy"])["Statement"]
        actions = {a for s in statements for a in s["Action"]}
        assert not any(a.endswith("*") for a in actions)
        assert all("*" not in r.split(":::")[-1].rstrip("/*") for s in statements for r in s["Resource"])


def test_buckets_are_versioned_encrypted_private_and_tls_only(primary_plan: Plan) -> None:
    buckets = primary_plan.by_type("aws:s3/bucket:Bucket")
    assert len(buckets) == 5  # each configured bucket in A and its replica in B, and the CDN's access logs
    for kind, check in {
        "aws:s3/bucketVersioning:BucketVersioning":
            lambda r: r.inputs["versioningConfiguration"]["status"] == "Enabled",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
            lambda r: r.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
            lambda r: all(r.inputs[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                                "restrictPublicBuckets")),
        "aws:s3/bucketPolicy:BucketPolicy":
            lambda r: json.loads(r.inputs["policy"])["Statement"][0]["Condition"] ==
            {"Bool": {"aws:SecureTransport": "false"}},
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration":
            lambda r: r.inputs["rules"][0]["noncurrentVersionExpiration"]["noncurrentDays"] > 0,
    }.items():
        found = primary_plan.by_type(kind)
        assert len(found) == len(buckets), kind
        assert all(check(r) for r in found), kind


def test_tables_have_pitr_on_table_and_replica(primary_plan: Plan) -> None:
    tables = primary_plan.by_type(TABLE)
    assert len(tables) == 2
    for table in tables:
        assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
        assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
        assert table.inputs["streamEnabled"] is True
        assert table.inputs["serverSideEncryption"]["enabled"] is True
        (replica,) = table.inputs["replicas"]
        assert replica["regionName"] == "us-west-2"
        assert replica["pointInTimeRecovery"] is True
        assert replica["kmsKeyArn"] == primary_plan.outputs["kmsReplicaKeyArn"]


def test_backups_are_copied_to_the_dr_region(primary_plan: Plan) -> None:
    (plan,) = primary_plan.by_type("aws:backup/plan:Plan")
    (rule,) = plan.inputs["rules"]
    (copy,) = rule["copyActions"]
    assert copy["destinationVaultArn"] == primary_plan.outputs["backupVaults"]["dr"]
    assert ":us-west-2:" in copy["destinationVaultArn"]
    vaults = {v.region for v in primary_plan.by_type("aws:backup/vault:Vault")}
    assert vaults == {"us-east-1", "us-west-2"}
    (selection,) = primary_plan.by_type("aws:backup/selection:Selection")
    assert primary_plan.outputs["primaryClusterArn"] in selection.inputs["resources"]


@pytest.mark.parametrize("routing", ["failover"])
def test_primary_record_is_health_checked_and_points_at_region_a(dr_plan: Plan, routing: str) -> None:
    records = {r.inputs["setIdentifier"]: r for r in dr_plan.by_type("aws:route53/record:Record")}
    assert set(records) == {"primary", "secondary"}
    primary = records["primary"]
    assert primary.inputs["failoverRoutingPolicies"] == [{"type": "PRIMARY"}]
    assert primary.inputs["records"] == ["api-a.origin.example.com"]
    checks = {c.name: c for c in dr_plan.by_type("aws:route53/healthCheck:HealthCheck")}
    check = checks[primary.inputs["healthCheckId"]]
    assert check.inputs["fqdn"] == "api-a.origin.example.com"
    assert check.inputs["type"] == "HTTPS" and check.inputs["requestInterval"] == 10


def test_every_resource_lands_in_its_region(primary_plan: Plan, dr_plans: dict) -> None:
    for plan in all_plans(primary_plan, dr_plans):
        custom = [r for r in plan.resources if r.type.startswith("aws:")]
        for r in custom:
            assert r.provider and r.provider.split("::")[-2] in ("aws-us-east-1", "aws-us-west-2"), r.urn
            if r.type.startswith(("aws:iam/", "aws:route53/", "aws:cloudfront/")):  # CloudFront: in A's stack
                assert r.region == "global"
            elif plan.stack == "dr":
                assert r.region == "us-west-2", r.urn  # the dr stack never needs region A's APIs
            else:
                # what A's replication writes into: replica buckets, the key replica, the backup copy vault (and
                # B's AWS Backup settings), the template ECR replication creates B's repositories from
                in_b = (r.name.startswith("bucket-") and (r.name.endswith("-b") or "-b-" in r.name)) or \
                    r.name in {"data-key-replica", "data-key-replica-alias", "data-key-replica-policy",
                               "backup-vault-b", "backup-settings-b",
                               "registry-replicas"}
                assert r.region == ("us-west-2" if in_b else "us-east-1"), r.urn
    assert [p.inputs["region"] for p in dr_plans[("pilot-light", False)].by_type("pulumi:providers:aws")] == \
        ["us-west-2"]


def alerting(r) -> bool:
    """The alerts topic's own key encrypts notifications in flight, not data: it is not protected."""
    return "$dr-platform:alarms:ReplicationAlarms::" in (r.parent or "")


def test_data_is_protected_and_retained(primary_plan: Plan, dr_plans: dict) -> None:
    data = [r for plan in all_plans(primary_plan, dr_plans) for r in plan.resources
            if r.type in DATA_TYPES and not alerting(r)]
    assert {r.type for r in data} == DATA_TYPES
    for r in data:
        assert r.protect and r.retainOnDelete, r.urn
    for table in primary_plan.by_type(TABLE):
        assert table.inputs["deletionProtectionEnabled"] is True


def test_kms_key_is_multi_region_with_rotation_and_its_replica_in_b(primary_plan: Plan) -> None:
    # the alerts topic's key and the drill log's key (components/drill_faults.py) each serve one service's use
    (key,) = [k for k in primary_plan.by_type("aws:kms/key:Key")
              if not alerting(k) and "$dr-platform:drills:DrillExperiment::" not in (k.parent or "")]
    assert key.inputs["multiRegion"] is True and key.inputs["enableKeyRotation"] is True
    (replica,) = primary_plan.by_type("aws:kms/replicaKey:ReplicaKey")
    assert replica.region == "us-west-2"
    assert replica.inputs["primaryKeyArn"] == primary_plan.outputs["kmsPrimaryKeyArn"]


def test_components_parent_their_children(primary_plan: Plan) -> None:
    components = [r for r in primary_plan.resources if r.type.startswith("dr-platform:")]
    assert {c.type.split(":")[1] for c in components} >= {"kms", "network", "aurora", "storage", "tables", "backup"}
    for component in components:
        assert primary_plan.children(component.urn), component.urn
    orphans = [r for r in primary_plan.resources if r.type.startswith("aws:") and r.parent is None]
    assert orphans == []
