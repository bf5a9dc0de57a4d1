"""What both stacks derive the same way from settings."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.alarms import LagAlarm, half_rpo
from components.aurora import AuroraSettingsArgs
from components.base import regional_provider
from components.compute import Compute, ComputeArgs, NodeCounts, Workload
from components.network import Network
from components.registry import ContainerRegistry, ContainerRegistryArgs
from components.search_feed import SearchFeed, SearchFeedArgs
from components.storage import REPLICATION_RULE_ID
from ops.core import catalog
from ops.core.images import regional_image, registry_host, repository_of
from stacks.settings import PROJECT, Settings, Tier

def provider(settings: Settings, region: str):
    """An explicit provider for `region` (the default provider is disabled in the stack files)."""
    return regional_provider(region, {"project": PROJECT, "stack-role": settings.role.value,
                                      "managed-by": "pulumi"})


def aurora_args(settings: Settings) -> AuroraSettingsArgs:
    a = settings.aurora
    return AuroraSettingsArgs(global_cluster_id=a.global_cluster_id, engine_version=a.engine_version,
                              instance_class=a.instance_class, backup_retention_days=a.backup_retention_days,
                              database_name=a.database_name, master_username=a.master_username)


def bucket_lag_alarm(settings: Settings, name: str, tier: Tier, source: pulumi.Input[str],
                     destination: pulumi.Input[str], direction: str) -> LagAlarm:
    """S3 replication lag (seconds; published in the source bucket's region) at half the tier's RPO."""
    rpo = settings.objectives.for_tier(tier).rpo_minutes
    return LagAlarm(name=f"s3-{name}-{direction}", namespace="AWS/S3", metric="ReplicationLatency",
                    dimensions={"SourceBucket": source, "DestinationBucket": destination,
                                "RuleId": REPLICATION_RULE_ID},
                    threshold=half_rpo(rpo, unit_seconds=1),
                    description=f"S3 {name} replication {direction} lags more than half the {tier} RPO "
                                f"({rpo} min); RTC promises 15 min")


def account_id(provider) -> pulumi.Output[str]:
    """The account the stack deploys into, looked up once per stack (key policies, ECR, image URIs need it)."""
    return aws.get_caller_identity_output(opts=pulumi.InvokeOptions(provider=provider)).account_id


def compute(settings: Settings, region: str, provider, network: Network, kms_key_arn: pulumi.Input[str],
            account: pulumi.Output[str], nodes: int, replicas: dict[str, int], typesense_replicas: int,
            after: list[pulumi.Resource] | None = None) -> Compute:
    """The region's EKS cluster and workloads at the resolved counts (A: production, B: the posture table's), their
    images from the region's own ECR."""
    c = settings.compute

    def image(reference: str) -> pulumi.Output[str]:
        return account.apply(lambda resolved: regional_image(reference, resolved, region))

    return Compute(f"compute-{region}", ComputeArgs(
        region=region, provider=provider, cluster_name=c.cluster_name(region), nodegroup_name=c.nodegroup_name,
        kubernetes_version=c.kubernetes_version, subnet_ids=network.subnet_ids, kms_key_arn=kms_key_arn,
        network_ready=list(network.endpoints),
        node_instance_type=c.node_instance_type, nodes=NodeCounts(desired=nodes, max=c.max_nodes),
        workloads=[Workload(name=s.name, tier=s.tier.value, image=image(s.image), replicas=replicas[s.name],
                            port=s.port, health_path=s.health_path) for s in c.services],
        typesense_replicas=typesense_replicas, typesense_image=image(c.typesense_image),
        typesense_storage_gi=c.typesense_storage_gi, public_access_cidrs=list(c.public_access_cidrs),
        after=list(after or [])))


def search_feed(settings: Settings, region: str, provider, cluster: Compute, account: pulumi.Output[str],
                source_host: pulumi.Input[str], secret_arn: pulumi.Input[str],
                secret_key_arn: pulumi.Input[str]) -> SearchFeed:
    """RB-N-04 on a schedule in `region`, for every collection ops/dr/typesense/reindex.json configures."""
    c = settings.compute
    return SearchFeed(f"search-feed-{region}", SearchFeedArgs(
        region=region, provider=provider, kubernetes_provider=cluster.kubernetes_provider,
        cluster_name=cluster.cluster_name, namespace=cluster.namespace_name,
        after=[cluster.namespace, cluster.typesense],
        image=account.apply(lambda resolved: regional_image(c.ops_image, resolved, region)),
        schedule=c.search_feed_schedule, source_host=source_host, database=settings.aurora.database_name,
        secret_arn=secret_arn, secret_key_arn=secret_key_arn, typesense_url=cluster.typesense_url,
        collections=catalog.collections()))


def container_registry(settings: Settings, provider_a, provider_b, primary_kms_key_arn: pulumi.Input[str],
                       replica_kms_key_arn: pulumi.Input[str], account: pulumi.Output[str]) -> ContainerRegistry:
    """ECR repositories in A for every image the clusters pull from their own region, replicated to B."""
    c = settings.compute
    images = [*c.images(), c.ops_image]
    repositories = sorted({repository_of(i) for i in images if registry_host(i) is None})
    return ContainerRegistry("registry", ContainerRegistryArgs(
        repositories=repositories, primary_provider=provider_a, replica_provider=provider_b,
        replica_region=settings.dr_region, primary_kms_key_arn=primary_kms_key_arn,
        replica_kms_key_arn=replica_kms_key_arn, account_id=account))
