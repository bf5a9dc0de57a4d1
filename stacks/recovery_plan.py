"""The dr stack's ARC Region switch plan (components/region_switch.py), its steps sized by the posture table: what
B lacks in its current row against the failover row is what the plan adds before the approval."""
from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.region_switch import (AuroraTarget, CachePromotion, CachePromotionArgs, DetectionAlarm, EksTarget,
                                      ExtraRecoveryStep, RegionSwitch, RegionSwitchArgs, cache_recovery_step)
from ops.core import naming
from ops.core.posture import CacheB, Capacity, Region, capacity
from stacks.settings import Settings, Tier


def cache_store(settings: Settings) -> str:
    return f"elasticache-global:{settings.cache.name}"


def stores_with_a_role(settings: Settings, cap: Capacity) -> list[str]:
    """The stores whose writer role a failover moves: the plan must have a step for each (policy rule
    region-switch-covers-every-store). DynamoDB global tables are not among them: every replica accepts writes
    (multi-active), so B's tables take writes the moment B's services do; there is nothing to promote. The S3
    buckets neither: B's replicas are readable and writable buckets of their own; reverse replication follows the
    `failover` flip (stacks/dr.py). The cache's Global Datastore is, where the posture table gives B a member (its
    secondary is read-only until promoted)."""
    return [f"aurora-global:{settings.aurora.global_cluster_id}",
            *([cache_store(settings)] if cap.cache_b is CacheB.SECONDARY else [])]


def cache_steps(settings: Settings, cap: Capacity, provider_b: aws.Provider, account: pulumi.Input[str],
                primary: pulumi.StackReference, kms_key_arn: pulumi.Input[str]) -> list[ExtraRecoveryStep]:
    """The cache's promotion, where B keeps a Global Datastore member (warm standby, active-active, and their failed-
    over state, whose failback promotes A's): B's function here, A's from the primary stack, one step listing both.
    Nothing where B keeps none (pilot light): there is no member to promote, and the cold cache its failover needs
    is a new replication group (~15 min), which `pulumi up` with `failover: true` creates from the posture table's
    failover row (ARC has no block that creates one, and a Lambda creating it would leave a group the program does
    not own); the estimate keeps those minutes (ops/drctl/planning/assess.py, "cold cache in B")."""
    if cap.cache_b is not CacheB.SECONDARY:
        return []
    a, b = settings.primary_region, settings.dr_region
    promotion = CachePromotion("region-switch-cache-promotion", CachePromotionArgs(
        region=b, account_id=account, global_group_id=primary.require_output("cacheGlobalGroupId"),
        replication_group_id=naming.cache_member_id(settings.cache.name, b), kms_key_arn=kms_key_arn,
        provider=provider_b, function_prefix=settings.names.project))
    return [cache_recovery_step(cache_store(settings), {a: primary.require_output("cachePromotionFunctionArn"),
                                                        b: promotion.function_arn}, depends_on=[promotion])]


def region_switch(settings: Settings, cap: Capacity, provider_b: aws.Provider, account: pulumi.Input[str],
                  primary: pulumi.StackReference, secondary_cluster_arn: pulumi.Input[str], kms_key_arn: pulumi.Input[str],
                  trigger_alarms: Sequence[DetectionAlarm], depends_on: Sequence[pulumi.Resource],
                  deployments: Sequence[str], extra_steps: Sequence[ExtraRecoveryStep] = ()) -> RegionSwitch:
    a, b = settings.primary_region, settings.dr_region
    failed_over = capacity(settings.posture, True, settings.aurora.instances, settings.compute.production())
    b_writes = cap.writer_region is Region.B
    global_id = primary.require_output("globalClusterId")
    dns = settings.dns
    writer, standby = (b, a) if b_writes else (a, b)
    records = ({naming.PRIMARY_RECORD: writer, naming.SECONDARY_RECORD: standby} if dns.routing.value == "failover"
               else {naming.weighted_record("a"): a, naming.weighted_record("b"): b})
    zone = aws.route53.get_zone_output(name=dns.zone_name, private_zone=False,
                                       opts=pulumi.InvokeOutputOptions(provider=provider_b))
    return RegionSwitch("region-switch", RegionSwitchArgs(
        plan_name=settings.names.region_switch_plan, primary_region=a, recovery_region=b, account_id=account, provider=provider_b,
        execution_role_name=primary.require_output("regionSwitchExecutionRoleName"),
        execution_role_arn=primary.require_output("regionSwitchExecutionRoleArn"), kms_key_arn=kms_key_arn,
        aurora=AuroraTarget(
            global_cluster_id=global_id,
            global_cluster_arn=pulumi.Output.all(account, global_id).apply(
                lambda v: f"arn:aws:rds::{v[0]}:global-cluster:{v[1]}"),
            cluster_arns={a: primary.require_output("primaryClusterArn"), b: secondary_cluster_arn},
            recovery_cluster_id=naming.regional_cluster_id(settings.aurora.global_cluster_id, b),
            instance_class=settings.aurora.instance_class),
        eks=EksTarget(cluster_names={a: settings.names.eks_cluster(a), b: settings.names.eks_cluster(b)},
                      nodegroup_name=settings.compute.nodegroup_name, namespace="platform",
                      deployments=list(deployments),
                      # B's HPAs exist where the posture runs the service in B (components/compute.py)
                      autoscaled_in_recovery=[d for d in deployments if cap.replicas_b.get(d, 0) > 0]),
        hosted_zone_id=zone.zone_id, record_name=dns.fqdn, record_set_regions=records,
        writer_instances_to_create=failed_over.aurora_instances_b if cap.headless_b and not b_writes else 0,
        nodes_to_reach=failed_over.eks_nodes_b if cap.eks_nodes_b < failed_over.eks_nodes_b else 0,
        compute_gates_promotion=not cap.serves_in_b,
        trigger_alarms=[] if b_writes else list(trigger_alarms),  # a failback is always started by a person
        stores_with_a_role=stores_with_a_role(settings, cap),
        recovery_time_objective_minutes=settings.objectives.for_tier(Tier.CRITICAL).rto_minutes,
        extra_steps=[*cache_steps(settings, cap, provider_b, account, primary, kms_key_arn), *extra_steps],
        depends_on=list(depends_on),
        approval_role_name=settings.names.region_switch_approval_role, function_prefix=settings.names.project))
