"""Region B: the secondary Aurora cluster, its network, the API's DNS, and — when `failover` is true — the
promotion step and reverse S3 replication. Every capacity comes from the posture table."""
from __future__ import annotations

import pulumi

from components.alarms import LagAlarm, ReplicationAlarms, ReplicationAlarmsArgs, half_rpo
from components.aurora import AuroraSecondary, AuroraSecondaryArgs, ClusterPlacement
from components.dns import ApiDns, ApiDnsArgs, RegionEndpoint
from components.failover import AuroraPromotion, AuroraPromotionArgs
from components.network import Network, NetworkArgs
from components.posture import Region, capacity
from components.storage import BucketReplication, BucketReplicationArgs
from stacks.common import (account_id, api_access_path, aurora_args, bucket_lag_alarm, compute, export_api_access,
                           export_next_steps, provider, replication_checks, search_feed)
from stacks.settings import Settings, Tier


def build(settings: Settings) -> None:
    a, b = settings.primary_region, settings.dr_region
    # Only region B's provider: during a regional outage this stack must not need region A's APIs.
    provider_b = provider(settings, b)
    cap = capacity(settings.posture, settings.failover, settings.aurora.instances, settings.compute.production())
    primary = pulumi.StackReference(settings.primary_stack)
    replica_key_arn = primary.require_output("kmsReplicaKeyArn")

    network = Network(f"network-{b}", NetworkArgs(cidr=settings.network.dr_cidr, provider=provider_b, region=b,
                                                  private_cluster_endpoints=cap.eks_nodes_b > 0))
    secondary = AuroraSecondary("aurora", AuroraSecondaryArgs(
        settings=aurora_args(settings),
        placement=ClusterPlacement(region=b, provider=provider_b, subnet_group_name=network.db_subnet_group_name,
                                   security_group_id=network.db_security_group_id, kms_key_arn=replica_key_arn),
        global_cluster_id=primary.require_output("globalClusterId"), instances=cap.aurora_instances_b))

    account = account_id(provider_b)
    access = api_access_path(settings, b, provider_b, network, settings.network.dr_cidr, replica_key_arn)
    cluster = compute(settings, b, provider_b, network, replica_key_arn, account, nodes=cap.eks_nodes_b,
                      replicas=dict(cap.replicas_b), typesense_replicas=cap.typesense_replicas_b, access=access)
    if cap.search_feed_b and cluster.deploys_workloads:
        # The master secret's replica in B keeps the primary's name and suffix; only the region differs.
        secret_b = primary.require_output("masterSecretArn").apply(lambda arn: arn.replace(f":{a}:", f":{b}:", 1))
        search_feed(settings, b, provider_b, cluster, account, source_host=secondary.reader_endpoint,
                    secret_arn=secret_b, secret_key_arn=replica_key_arn)

    if cap.promote_aurora:
        AuroraPromotion("aurora-promotion", AuroraPromotionArgs(
            global_cluster_id=primary.require_output("globalClusterId"), target_cluster_arn=secondary.cluster_arn,
            target_region=b, failback_cluster_arn=primary.require_output("primaryClusterArn"), failback_region=a,
            mode=settings.failover_mode.value),
            opts=pulumi.ResourceOptions(depends_on=secondary.instances))  # a headless cluster cannot write

    lag_alarms: list[LagAlarm] = []
    if cap.writer_region is Region.A:  # B is the secondary: its lag (ms, published in B) is the RDS RPO
        rpo = settings.objectives.for_tier(Tier.CRITICAL).rpo_minutes  # the relational core serves every tier
        lag_alarms.append(LagAlarm(
            name=f"aurora-{b}", namespace="AWS/RDS", metric="AuroraGlobalDBReplicationLag",
            dimensions={"DBClusterIdentifier": secondary.cluster_id}, threshold=half_rpo(rpo, unit_seconds=0.001),
            description=f"Aurora secondary in {b} lags more than half the critical RPO ({rpo} min)"))

    if cap.s3_replication_from is Region.B:
        buckets = primary.require_output("buckets")
        for spec in settings.buckets:
            side = buckets.apply(lambda all_buckets, name=spec.name: all_buckets[name])
            lag_alarms.append(bucket_lag_alarm(settings, spec.name, spec.tier, side["drName"], side["primaryName"],
                                               "b-to-a"))
            BucketReplication(f"replication-{spec.name}-b-to-a", BucketReplicationArgs(
                source_bucket=side["drName"], source_arn=side["drArn"], source_key_arn=replica_key_arn,
                source_region=b, destination_arn=side["primaryArn"],
                destination_key_arn=primary.require_output("kmsPrimaryKeyArn"), destination_region=a,
                provider=provider_b))

    alarms = ReplicationAlarms("replication-alarms-b", ReplicationAlarmsArgs(region=b, alarms=lag_alarms,
                                                                             provider=provider_b, account_id=account))

    dns = settings.dns
    endpoints = {Region.A: RegionEndpoint("a", dns.primary_endpoint, cap.dns_weight_a),
                 Region.B: RegionEndpoint("b", dns.dr_endpoint, cap.dns_weight_b)}
    standby = Region.A if cap.writer_region is Region.B else Region.B
    ApiDns("api-dns", ApiDnsArgs(zone_name=dns.zone_name, record_name=dns.record_name, routing=dns.routing.value,
                                 ttl=dns.ttl, health_check_path=dns.health_check_path,
                                 writer=endpoints[cap.writer_region], standby=endpoints[standby],
                                 provider=provider_b))

    pulumi.export("posture", settings.posture.value)
    pulumi.export("failover", settings.failover)
    pulumi.export("writerRegion", a if cap.writer_region is Region.A else b)
    pulumi.export("secondaryClusterArn", secondary.cluster_arn)
    pulumi.export("auroraInstancesB", cap.aurora_instances_b)
    pulumi.export("apiFqdn", dns.fqdn)
    pulumi.export("alertsTopicArn", alarms.topic_arn)
    pulumi.export("eksClusterName", cluster.cluster_name)
    pulumi.export("eksNodegroupName", cluster.nodegroup_name)
    pulumi.export("eksNodesB", cap.eks_nodes_b)
    pulumi.export("replicasB", dict(cap.replicas_b))
    pulumi.export("typesenseReplicasB", cap.typesense_replicas_b)
    pulumi.export("searchFeedB", cap.search_feed_b)
    export_api_access(settings, b, cluster, access)
    export_next_steps(settings, "dr", replication_checks(settings, account))
