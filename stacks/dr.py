"""Region B: the secondary Aurora cluster, its network, the API's DNS, which region writes, and — when `failover`
is true — reverse S3 replication. Every capacity comes from the posture table."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.alarms import AlertSubscriber, LagAlarm, ReplicationAlarms, ReplicationAlarmsArgs, half_rpo
from components.aurora import AuroraSecondary, AuroraSecondaryArgs, ClusterPlacement
from components.canary import CanaryArgs, RegionCanary
from components.dns import ApiDns, ApiDnsArgs, RegionEndpoint
from components.failover import AuroraWriterRegion, AuroraWriterRegionArgs
from components.network import Network, NetworkArgs
from components.region_switch import DetectionAlarm
from components.storage import BucketReplication, BucketReplicationArgs, failed_replication_alarm
from ops.core.environments import PRODUCTION
from ops.core.posture import Capacity, Region, capacity
from stacks.cache import cache_role, dr_cache
from stacks.common import (account_id, api_access_path, aurora_args, bucket_lag_alarm, compute, export_all,
                           export_api_access, export_environment, export_next_steps, provider, replication_checks,
                           search_feed, stack_name)
from stacks.drills import export_drill_templates, q3_search_lost
from stacks.email import dr_email
from stacks.recovery_plan import region_switch
from stacks.resilience import resilience_hub
from stacks.settings import ConfigError, Settings, Tier


def build(settings: Settings) -> None:
    a, b = settings.primary_region, settings.dr_region
    # Only region B's provider: during a regional outage this stack must not need region A's APIs.
    provider_b = provider(settings, b)
    cap = capacity(settings.posture, settings.failover, settings.aurora.instances, settings.compute.production(),
                   cache_nodes=settings.cache.nodes)
    primary = pulumi.StackReference(settings.primary_stack)
    # A stage dr stack reading production's primary (or production's dr a stage primary) would fail over the other
    # environment's database: refuse it (production's primary exports no environment).
    primary.get_output("environment").apply(lambda theirs: check_pairing(settings, theirs))
    replica_key_arn = primary.require_output("kmsReplicaKeyArn")

    b_writes = cap.writer_region is Region.B
    standing = capacity(settings.posture, False, settings.aurora.instances, settings.compute.production())  # A writes
    network = Network(settings.names.network(b), NetworkArgs(
        cidr=settings.network.dr_cidr, provider=provider_b, region=b, private_cluster_endpoints=cap.eks_nodes_b > 0))
    secondary = AuroraSecondary("aurora", AuroraSecondaryArgs(
        settings=aurora_args(settings),
        placement=ClusterPlacement(region=b, provider=provider_b, subnet_group_name=network.db_subnet_group_name,
                                   security_group_id=network.db_security_group_id, kms_key_arn=replica_key_arn),
        global_cluster_id=primary.require_output("globalClusterId"), instances=cap.aurora_instances_b,
        existing_instances=instances_made_outside(settings, b, provider_b) if b_writes else (),
        # a warm B promotes the instances it had and gets its new readers after (below); a headless B needs them all
        instances_first=standing.aurora_instances_b if b_writes and not standing.headless_b else None))

    account = account_id(provider_b)
    # Which cluster writes: A's, or B's with `failover: true`. What must follow the role change depends on it, so
    # the engine runs it after the move (an update waits for its dependencies' updates; deletes come last):
    # - B writes (failover): B has an instance to promote first (a headless cluster's new ones: it cannot write
    #   without; a warm B's existing ones, its new readers, ~10 min each, added once it writes: nothing changes the
    #   cluster under its role change) and B's capacity scales up alongside. DNS moves once B writes and, where B
    #   served nothing before (pilot light), once B's services run: a warm B takes the traffic at the capacity it
    #   has and grows under it, as the ARC plan and `drctl failover` order it.
    # - A writes (failback, and any posture flip meanwhile): DNS moves back once A writes again, and only then does
    #   B's capacity shrink (nodes, then pods); instances beyond the posture go at the end, as every delete does.

    def b_cache(after: list[pulumi.Resource]):
        return dr_cache(settings, cap, primary, provider_b, network, replica_key_arn, after=after)

    # The cache: B's member is promoted after it exists and is resized (failover), shrinks after A's is primary
    # again. (A warm B's member exists already and could be promoted first and resized after, but the program
    # cannot tell it from one new with this flip, e.g. pilot light to warm standby and failover in one update.)
    cache_b = b_cache(after=[]) if b_writes else None
    writer = AuroraWriterRegion("aurora-writer", AuroraWriterRegionArgs(
        global_cluster_id=primary.require_output("globalClusterId"),
        target_cluster_arn=secondary.cluster_arn if b_writes else primary.require_output("primaryClusterArn"),
        target_region=b if b_writes else a,
        mode=settings.failover_mode.value if b_writes else "planned",  # failback is a switchover: RPO 0
        cache=cache_role(settings, cap, primary, cache_b)),  # B's Global Datastore member follows the writer
        opts=pulumi.ResourceOptions(depends_on=secondary.instances if b_writes else []))
    secondary.grow(after=[writer])
    if not b_writes:
        cache_b = b_cache(after=[writer])

    access = api_access_path(settings, b, provider_b, network, settings.network.dr_cidr, replica_key_arn)
    # Q3's drill deletes B's Typesense pods: only where the table runs Typesense in B (and the workloads exist).
    q3_drill = cap.typesense_replicas_b > 0 and settings.compute.workloads

    def b_compute(after: list[pulumi.Resource]):
        return compute(settings, b, provider_b, network, replica_key_arn, account, nodes=cap.eks_nodes_b,
                       replicas=dict(cap.replicas_b), typesense_replicas=cap.typesense_replicas_b, access=access,
                       after=after, max_nodes=cap.eks_max_nodes_b, typesense_fis_target=q3_drill)

    if b_writes:
        cluster = b_compute(after=[])
        # DNS waits for B to write and B's services to run, not for the cache: a promoted member is the writer's
        # dependency already, and a cold one (pilot light's failover) starts empty, so services that treat the
        # cache as soft (the contract: docs/architecture.md#the-cache) serve from Aurora meanwhile, as under the
        # ARC plan, whose DNS step has no cache step before it.
        dns = api_dns(settings, cap, provider_b, after=[writer] if standing.serves_in_b else
                      [writer, *cluster.deployments, *cluster.autoscalers])
    else:
        dns = api_dns(settings, cap, provider_b, after=[writer])
        cluster = b_compute(after=[dns])
    if cap.search_feed_b and cluster.deploys_workloads:
        # The master secret's replica in B keeps the primary's name and suffix; only the region differs.
        secret_b = primary.require_output("masterSecretArn").apply(lambda arn: arn.replace(f":{a}:", f":{b}:", 1))
        search_feed(settings, b, provider_b, cluster, account, source_host=secondary.reader_endpoint,
                    secret_arn=secret_b, secret_key_arn=replica_key_arn)

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
            lag_alarms.append(failed_replication_alarm(spec.name, "b-to-a", side["drName"], side["primaryName"]))
            BucketReplication(f"replication-{spec.name}-b-to-a", BucketReplicationArgs(
                source_bucket=side["drName"], source_arn=side["drArn"], source_key_arn=replica_key_arn,
                source_region=b, destination_arn=side["primaryArn"],
                destination_key_arn=primary.require_output("kmsPrimaryKeyArn"), destination_region=a,
                provider=provider_b))

    # Detection from B: A's paths probed from B, alarming in B, so declaring A down needs nothing of A. It runs in
    # every posture and after failover too (then it tells when A has recovered, for the failback): no posture row.
    canary = RegionCanary("canary-a", CanaryArgs(
        name=settings.names.canary_of_a, region=b, target_host=settings.dns.primary_endpoint,
        paths=settings.canary_paths,
        rate_minutes=settings.detection.canary_rate_minutes,
        bucket_name=pulumi.Output.from_input(account).apply(lambda acct: settings.names.canary_bucket(b, acct)),
        kms_key_arn=replica_key_arn, account_id=account, provider=provider_b, role_prefix=settings.names.project))

    dr_email(settings, provider_b, account, replica_key_arn, primary)

    alarms = ReplicationAlarms("replication-alarms-b", ReplicationAlarmsArgs(
        region=b, alarms=[*lag_alarms, canary.alarm], provider=provider_b, account_id=account,
        subscribers=[AlertSubscriber(s.protocol, s.endpoint) for s in settings.alerts.subscriptions],
        names=settings.names))

    drills = ({"Q3": q3_search_lost(b, provider_b, account, cluster,
                                    stop_alarm_arns=[alarms.alarm_arns[canary.alarm.name]], names=settings.names)}
              if q3_drill else {})

    # AWS's failover engine, sized by the posture table: a declared failover is one approval away.
    plan = region_switch(settings, cap, provider_b, account, primary, secondary.cluster_arn, replica_key_arn,
                         [DetectionAlarm(canary.alarm.name, alarms.alarm_arns[canary.alarm.name])],
                         depends_on=[secondary, cluster, dns, alarms, *([cache_b] if cache_b else [])],
                         deployments=[s.name for s in settings.compute.services] if cluster.deploys_workloads else [])
    hub = resilience_hub(settings, provider_b, account, primary, secondary.cluster_arn, cluster)

    export_all({
        "posture": settings.posture.value,
        "failover": settings.failover,
        "writerRegion": a if cap.writer_region is Region.A else b,
        "secondaryClusterArn": secondary.cluster_arn,
        "auroraInstancesB": cap.aurora_instances_b,
        "apiFqdn": settings.dns.fqdn,
        "alertsTopicArn": alarms.topic_arn,
        "canaryName": canary.canary_name,
        "regionSwitchPlanArn": plan.plan_arn,
        "regionSwitchApprovalRoleArn": plan.approval_role_arn,
        "eksClusterName": cluster.cluster_name,
        "eksNodegroupName": cluster.nodegroup_name,
        "eksNodesB": cap.eks_nodes_b,
        "eksMaxNodesB": cap.eks_max_nodes_b,
        "replicasB": dict(cap.replicas_b),
        "typesenseReplicasB": cap.typesense_replicas_b,
        "searchFeedB": cap.search_feed_b,
        "resilienceHubApps": hub.app_arns,
    })
    export_drill_templates(drills)
    export_api_access(settings, b, cluster, access)
    export_environment(settings)
    export_next_steps(settings, stack_name(settings), replication_checks(settings, account))


def instances_made_outside(settings: Settings, region: str, provider: pulumi.ProviderResource) -> list[str]:
    """B's Aurora instances that already exist when B takes the writer role: the ARC plan's writer-capacity step and
    `drctl failover` (API mode) create them with the program's identifiers, so declaring them plainly would fail on
    DBInstanceAlreadyExists. Only a failed-over `pulumi up` asks (B's provider exists by then); the component
    declares each with the import option, a no-op for those already in the state."""
    found = aws.rds.get_instances(filters=[{"name": "db-cluster-id", "values": [settings.aurora.cluster_id(region)]}],
                                  opts=pulumi.InvokeOptions(provider=provider))
    return list(found.instance_identifiers)


def check_pairing(settings: Settings, primary_environment: str | None) -> None:
    theirs = primary_environment or PRODUCTION
    if theirs != settings.environment:
        raise ConfigError("primaryStack", f"{settings.primary_stack} is the {theirs} environment's primary stack; "
                                          f"this dr stack is {settings.environment}'s")


def api_dns(settings: Settings, cap: Capacity, provider_b, after: list[pulumi.Resource]) -> ApiDns:
    """The API's records: PRIMARY (or the weights) on the writer region, moved only after `after`."""
    dns = settings.dns
    endpoints = {Region.A: RegionEndpoint("a", dns.primary_endpoint, cap.dns_weight_a),
                 Region.B: RegionEndpoint("b", dns.dr_endpoint, cap.dns_weight_b)}
    standby = Region.A if cap.writer_region is Region.B else Region.B
    return ApiDns("api-dns", ApiDnsArgs(zone_name=dns.zone_name, record_name=dns.record_name,
                                        routing=dns.routing.value, ttl=dns.ttl,
                                        health_check_path=dns.health_check_path, writer=endpoints[cap.writer_region],
                                        standby=endpoints[standby], provider=provider_b, after=after))
