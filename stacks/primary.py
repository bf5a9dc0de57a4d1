"""Region A: production data stores, plus what A's replication writes into in region B (the multi-Region key's
replica, replica buckets, the backup copy vault), since A's resources must name them when they are created.
Nothing here branches on posture: region B's capacity is the dr stack's business."""
from __future__ import annotations

import pulumi

from components.alarms import AlertSubscriber, LagAlarm, ReplicationAlarms, ReplicationAlarmsArgs, half_rpo
from components.aurora import AuroraGlobalPrimary, AuroraGlobalPrimaryArgs, ClusterPlacement
from components.backup import BackupArgs, CrossRegionBackup
from components.kms import MultiRegionKey, MultiRegionKeyArgs
from components.network import Network, NetworkArgs
from components.region_switch import RegionSwitchPrincipal, RegionSwitchPrincipalArgs
from components.storage import (
    BucketReplication,
    BucketReplicationArgs,
    SecureBucket,
    SecureBucketArgs,
    failed_replication_alarm,
)
from components.tables import GlobalTable, GlobalTableArgs
from ops.core import naming
from ops.core.posture import capacity
from stacks.cache import primary_cache
from stacks.common import (account_id, api_access_path, aurora_args, bucket_lag_alarm, compute, container_registry,
                           export_all, export_api_access, export_environment, export_next_steps, provider,
                           push_commands, stack_name)
from stacks.cdn import build_cdn, media_reader
from stacks.drills import export_drill_templates, q2_az_outage
from stacks.email import primary_email
from stacks.settings import Settings


def build(settings: Settings) -> None:
    a, b = settings.primary_region, settings.dr_region
    provider_a, provider_b = provider(settings, a), provider(settings, b)
    key = MultiRegionKey("data-key", MultiRegionKeyArgs(alias=settings.names.data_key_alias,
                                                        primary_provider=provider_a,
                                                        replica_provider=provider_b))
    cap = capacity(settings.posture, False, settings.aurora.instances, settings.compute.production(),
                   cache_nodes=settings.cache.nodes)
    network = Network(settings.names.network(a), NetworkArgs(
        cidr=settings.network.primary_cidr, provider=provider_a, region=a,
        private_cluster_endpoints=cap.eks_nodes_a > 0))
    aurora = AuroraGlobalPrimary("aurora", AuroraGlobalPrimaryArgs(
        settings=aurora_args(settings),
        placement=ClusterPlacement(region=a, provider=provider_a, subnet_group_name=network.db_subnet_group_name,
                                   security_group_id=network.db_security_group_id, kms_key_arn=key.primary_arn),
        instances=cap.aurora_instances_a,
        secret_replica_region=b, secret_replica_kms_key_arn=key.replica_arn))

    account = account_id(provider_a)
    primary_cache(settings, provider_a, network, key.primary_arn, key.replica_arn, account)

    # ECR's replication configuration and creation template are the account's: a mirror pulls production's images
    registry = (container_registry(settings, provider_a, provider_b, key.primary_arn, key.replica_arn, account)
                if settings.manage_account_settings else None)
    access = api_access_path(settings, a, provider_a, network, settings.network.primary_cidr, key.primary_arn)
    cluster = compute(settings, a, provider_a, network, key.primary_arn, account, nodes=cap.eks_nodes_a,
                      replicas=dict(cap.replicas_a), typesense_replicas=cap.typesense_replicas_a, access=access,
                      max_nodes=cap.eks_max_nodes_a)

    buckets: dict[str, dict[str, pulumi.Output[str]]] = {}
    lag_alarms: list[LagAlarm] = []
    serves_media = settings.cdn.enabled and settings.cdn.media_bucket is not None
    cdn_reader, resolve_cdn_reader = media_reader() if serves_media else (None, lambda _arn: None)
    media: dict[str, pulumi.Output[str]] | None = None
    for spec in settings.buckets:
        reader = cdn_reader if spec.name == settings.cdn.media_bucket else None
        bucket_a = SecureBucket(f"bucket-{spec.name}-a", SecureBucketArgs(
            bucket_name=naming.bucket_name(spec.name, a), kms_key_arn=key.primary_arn, provider=provider_a,
            tier=spec.tier.value, cloudfront_reader_arn=reader))
        bucket_b = SecureBucket(f"bucket-{spec.name}-b", SecureBucketArgs(
            bucket_name=naming.bucket_name(spec.name, b), kms_key_arn=key.replica_arn, provider=provider_b,
            tier=spec.tier.value, cloudfront_reader_arn=reader))
        if reader is not None:
            media = {"primaryDomain": bucket_a.regional_domain_name, "drDomain": bucket_b.regional_domain_name,
                     "primaryName": bucket_a.name, "drName": bucket_b.name}
        BucketReplication(f"replication-{spec.name}-a-to-b", BucketReplicationArgs(
            source_bucket=bucket_a.name, source_arn=bucket_a.arn, source_key_arn=key.primary_arn, source_region=a,
            destination_arn=bucket_b.arn, destination_key_arn=key.replica_arn, destination_region=b,
            provider=provider_a, depends_on=[bucket_a.versioning, bucket_b.versioning]))
        buckets[spec.name] = {"primaryName": bucket_a.name, "primaryArn": bucket_a.arn,
                              "drName": bucket_b.name, "drArn": bucket_b.arn}
        lag_alarms.append(bucket_lag_alarm(settings, spec.name, spec.tier, bucket_a.name, bucket_b.name, "a-to-b"))
        lag_alarms.append(failed_replication_alarm(spec.name, "a-to-b", bucket_a.name, bucket_b.name))

    tables = {spec.name: GlobalTable(f"table-{spec.name}", GlobalTableArgs(
        table_name=spec.name, hash_key=spec.hash_key, tier=spec.tier.value, kms_key_arn=key.primary_arn,
        replica_region=b, replica_kms_key_arn=key.replica_arn, provider=provider_a)).arn
        for spec in settings.tables}

    for spec in settings.tables:  # DynamoDB publishes ReplicationLatency (ms) in the source region, per receiver
        rpo = settings.objectives.for_tier(spec.tier).rpo_minutes
        lag_alarms.append(LagAlarm(
            name=f"dynamodb-{spec.name}-a-to-b", namespace="AWS/DynamoDB", metric="ReplicationLatency",
            dimensions={"TableName": spec.name, "ReceivingRegion": b}, threshold=half_rpo(rpo, unit_seconds=0.001),
            description=f"DynamoDB {spec.name} replication to {b} lags more than half the {spec.tier} RPO ({rpo} min)"))
    alarms = ReplicationAlarms("replication-alarms-a", ReplicationAlarmsArgs(
        region=a, alarms=lag_alarms, provider=provider_a, account_id=account,
        subscribers=[AlertSubscriber(s.protocol, s.endpoint) for s in settings.alerts.subscriptions],
        names=settings.names))

    backup = CrossRegionBackup(settings.names.backup_component, BackupArgs(
        primary_provider=provider_a, dr_provider=provider_b, primary_kms_key_arn=key.primary_arn,
        dr_kms_key_arn=key.replica_arn,
        resource_arns=[aurora.cluster_arn, *tables.values(), *(v["primaryArn"] for v in buckets.values())],
        manage_region_settings=settings.manage_account_settings))

    primary_email(settings, provider_a, account, key.primary_arn, key.replica_arn)
    if settings.cdn.enabled:  # the primary stack owns the CDN: stacks/cdn.py says why
        build_cdn(settings, provider_a, lambda region: provider_b if region == b else provider(settings, region),
                  key, account, media, resolve_cdn_reader)
    drill_q2 = q2_az_outage(a, provider_a, account, network, cluster, aurora.cluster_arn, cap.aurora_instances_a,
                            stop_alarm_arns=list(alarms.alarm_arns.values()), names=settings.names)

    # The dr stack's ARC Region switch plan runs as this role; ARC reads A's replica counts through its entry.
    switch = RegionSwitchPrincipal("region-switch", RegionSwitchPrincipalArgs(
        cluster_name=cluster.cluster_name, namespace="platform", provider=provider_a, after=[cluster],
        role_name=settings.names.region_switch_execution_role))
    # The dr stack reads these through its StackReference.
    export_all({
        "primaryRegion": a,
        "drRegion": b,
        "kmsPrimaryKeyArn": key.primary_arn,
        "kmsReplicaKeyArn": key.replica_arn,
        "globalClusterId": aurora.global_cluster_id,
        "primaryClusterArn": aurora.cluster_arn,
        "regionSwitchExecutionRoleArn": switch.role_arn,
        "regionSwitchExecutionRoleName": switch.role_name,
        "primaryClusterEndpoint": aurora.endpoint,
        "masterSecretArn": aurora.secret_arn,
        "buckets": buckets,
        "tables": tables,
        "alertsTopicArn": alarms.topic_arn,
        **({"imageRepositories": registry.repository_urls} if registry is not None else {}),
        "eksClusterName": cluster.cluster_name,
        "eksNodegroupName": cluster.nodegroup_name,
        "backupVaults": {"primary": backup.primary_vault_arn, "dr": backup.dr_vault_arn},
    })
    export_drill_templates({"Q2": drill_q2})
    export_api_access(settings, a, cluster, access)
    export_environment(settings)
    export_next_steps(settings, stack_name(settings), push_commands(settings, account) if registry is not None
                      else ["images: production's registry (manageAccountSettings false): nothing to push"])
