"""Components on their own, under `@pulumi.runtime.test`: typed args in, the right children out."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aurora import AuroraSecondary, AuroraSecondaryArgs, AuroraSettingsArgs, ClusterPlacement
from components.kms import MultiRegionKey, MultiRegionKeyArgs
from tests.foundation.conftest import RecordingMocks


SETTINGS = AuroraSettingsArgs(global_cluster_id="dr-core", engine_version="15.8", instance_class="db.r6g.large",
                              backup_retention_days=7, database_name="app", master_username="dbadmin")


def placement() -> ClusterPlacement:
    return ClusterPlacement(region="us-west-2", provider=aws.Provider("b", region="us-west-2"),
                            subnet_group_name="db", security_group_id="sg-1", kms_key_arn="arn:aws:kms:k")


@pulumi.runtime.test
def test_headless_secondary_declares_a_cluster_without_credentials_and_no_instances(mocks: RecordingMocks):
    secondary = AuroraSecondary("aurora", AuroraSecondaryArgs(settings=SETTINGS, placement=placement(),
                                                              global_cluster_id="dr-core", instances=0))

    def check(arn: str) -> None:
        (cluster,) = mocks.of_type("aws:rds/cluster:Cluster")
        assert arn.endswith("dr-core-us-west-2")
        assert "masterUsername" not in cluster.inputs and "masterPassword" not in cluster.inputs
        assert cluster.inputs["globalClusterIdentifier"] == "dr-core"
        assert mocks.of_type("aws:rds/clusterInstance:ClusterInstance") == []
        assert secondary.instances == []

    return secondary.cluster_arn.apply(check)


@pulumi.runtime.test
def test_secondary_instances_follow_the_count_given(mocks: RecordingMocks):
    secondary = AuroraSecondary("aurora", AuroraSecondaryArgs(settings=SETTINGS, placement=placement(),
                                                              global_cluster_id="dr-core", instances=2))

    def check(_: list[str]) -> None:
        instances = mocks.of_type("aws:rds/clusterInstance:ClusterInstance")
        assert sorted(i.inputs["identifier"] for i in instances) == ["dr-core-us-west-2-0", "dr-core-us-west-2-1"]
        assert all(i.inputs["publiclyAccessible"] is False for i in instances)

    return pulumi.Output.all(secondary.cluster_arn, *[i.arn for i in secondary.instances]).apply(check)


@pulumi.runtime.test
def test_multi_region_key_replicates_into_the_replica_provider(mocks: RecordingMocks):
    key = MultiRegionKey("data-key", MultiRegionKeyArgs(
        alias="dr", primary_provider=aws.Provider("a", region="us-east-1"),
        replica_provider=aws.Provider("b", region="us-west-2")))

    def check(arns: list[str]) -> None:
        primary_arn, replica_arn = arns
        (replica,) = mocks.of_type("aws:kms/replicaKey:ReplicaKey")
        assert replica.inputs["primaryKeyArn"] == primary_arn
        assert replica.provider and "::b::" in replica.provider

    return pulumi.Output.all(key.primary_arn, key.replica_arn).apply(check)

