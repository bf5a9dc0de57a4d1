"""The dr stack's Resilience Hub apps (components/resilience_hub.py): one per tier, built from both stacks.

They live in region B, beside the posture they assess: the dr stack already reads region A's resources through its
StackReference, needs only B's APIs to declare them (Resilience Hub maps resources of other regions by ARN), and the
apps and their assessments stay reachable while A is down.
"""
from __future__ import annotations

import pulumi

from components.compute import Compute, ComputeArgs
from components.resilience_hub import AppResource, EksWorkloads, ResilienceHub, ResilienceHubArgs, TierApp
from stacks.settings import Settings, Tier

DATABASE = ("database", "AWS::ResilienceHub::DatabaseAppComponent")
STORAGE = ("storage", "AWS::ResilienceHub::StorageAppComponent")


def resilience_hub(settings: Settings, provider_b, account: pulumi.Input[str], primary: pulumi.StackReference,
                   secondary_cluster_arn: pulumi.Input[str], cluster_b: Compute) -> ResilienceHub:
    a, b = settings.primary_region, settings.dr_region
    buckets, tables = primary.require_output("buckets"), primary.require_output("tables")
    cluster_a_arn = pulumi.Output.all(account, primary.require_output("eksClusterName")).apply(
        lambda v: f"arn:aws:eks:{a}:{v[0]}:cluster/{v[1]}")
    namespace = ComputeArgs.namespace  # the workloads' namespace on both clusters (the default: stacks/common.py)

    def app(tier: Tier) -> TierApp:
        resources = [
            AppResource("aurora-global", "AWS::RDS::GlobalCluster", _global_arn(account, primary), a, *DATABASE),
            AppResource(f"aurora-{a}", "AWS::RDS::DBCluster", primary.require_output("primaryClusterArn"), a,
                        *DATABASE),
            AppResource(f"aurora-{b}", "AWS::RDS::DBCluster", secondary_cluster_arn, b, *DATABASE),
        ]  # the relational core serves every tier
        for spec in (s for s in settings.buckets if s.tier is tier):
            side = buckets.apply(lambda all_buckets, name=spec.name: all_buckets[name])
            resources += [AppResource(f"bucket-{spec.name}-{a}", "AWS::S3::Bucket", side["primaryArn"], a, *STORAGE),
                          AppResource(f"bucket-{spec.name}-{b}", "AWS::S3::Bucket", side["drArn"], b, *STORAGE)]
        for spec in (s for s in settings.tables if s.tier is tier):
            arn_a = tables.apply(lambda all_tables, name=spec.name: all_tables[name])
            resources += [AppResource(f"table-{spec.name}-{a}", "AWS::DynamoDB::Table", arn_a, a, *DATABASE),
                          AppResource(f"table-{spec.name}-{b}", "AWS::DynamoDB::Table",
                                      arn_a.apply(lambda arn: arn.replace(f":{a}:", f":{b}:", 1)), b, *DATABASE)]
        services = [s.name for s in settings.compute.services if s.tier is tier]
        workloads = [EksWorkloads(primary.require_output("eksClusterName"), cluster_a_arn, namespace, a, services)]
        if cluster_b.deploys_workloads:
            workloads.append(EksWorkloads(cluster_b.cluster_name, cluster_b.cluster_arn, namespace, b, services))
        objective = settings.objectives.for_tier(tier)
        return TierApp(tier.value, objective.rto_minutes, objective.rpo_minutes, resources,
                       workloads if services else [])

    return ResilienceHub("resilience-hub", ResilienceHubArgs(
        apps=[app(tier) for tier in Tier], failover_region=b, account_id=account,
        provider=provider_b, names=settings.names))


def _global_arn(account: pulumi.Input[str], primary: pulumi.StackReference) -> pulumi.Output[str]:
    """A global cluster's ARN has no region: arn:aws:rds::ACCOUNT:global-cluster:ID."""
    return pulumi.Output.all(account, primary.require_output("globalClusterId")).apply(
        lambda v: f"arn:aws:rds::{v[0]}:global-cluster:{v[1]}")
