"""Aurora PostgreSQL global database: the global cluster and writer cluster in region A, the secondary in B.

Membership (`global_cluster_identifier`, `replication_source_identifier`) is never edited to fail over: that
is the known way to break a global database. Role changes go through the RDS API (components/failover.py and
`drctl failover`), and drift on those fields is ignored here. The secondary takes no master credentials (AWS
refuses them for a cross-region member); managed master passwords are not supported on global clusters, so
the password is generated here and kept in Secrets Manager with a replica in region B.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.base import child, data
from ops.core import naming
from ops.core.naming import ENGINE

MEMBERSHIP_FIELDS = ["global_cluster_identifier", "replication_source_identifier"]
# Engine upgrades go through the global cluster, which upgrades its members; ignoring the members' version
# avoids the provider's "inconsistent final plan" during an upgrade (pulumi-aws GlobalCluster docs).
IGNORED_ON_MEMBERS = [*MEMBERSHIP_FIELDS, "engine_version"]
BACKUP_WINDOW = "03:00-04:00"
# RDS master passwords may not contain / @ " or spaces.
PASSWORD_SPECIALS = "!#$%^&*()-_=+[]{}<>:?"


@dataclass
class ClusterPlacement:
    region: str
    provider: aws.Provider
    subnet_group_name: pulumi.Input[str]
    security_group_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]


@dataclass
class AuroraSettingsArgs:
    global_cluster_id: str
    engine_version: str
    instance_class: str
    backup_retention_days: int
    database_name: str
    master_username: str


def _parameter_group(owner: pulumi.Resource, name: str, engine_version: str,
                     provider: aws.Provider) -> aws.rds.ClusterParameterGroup:
    """TLS-only connections (rds.force_ssl) and connection logging for audits."""
    major = engine_version.split(".")[0]
    return aws.rds.ClusterParameterGroup(
        f"{name}-params", name=f"{name}-params", family=f"{ENGINE}{major}",
        description="dr-platform: TLS only",
        parameters=[aws.rds.ClusterParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
                    aws.rds.ClusterParameterGroupParameterArgs(name="log_connections", value="1")],
        opts=child(owner, provider))


def _instances(owner: pulumi.Resource, cluster: aws.rds.Cluster, cluster_id: str, indexes: range,
               settings: AuroraSettingsArgs, placement: ClusterPlacement, existing: Collection[str] = (),
               after: Sequence[pulumi.Resource] = ()) -> list[aws.rds.ClusterInstance]:
    """`existing`: identifiers already in the account; each is declared with the import option, which adopts it when
    the state lacks it and is a no-op when the state has it (the engine's rule for an import ID it already holds)."""
    return [
        aws.rds.ClusterInstance(
            identifier, identifier=identifier,
            cluster_identifier=cluster.id, engine=ENGINE, engine_version=settings.engine_version,
            instance_class=settings.instance_class, db_subnet_group_name=placement.subnet_group_name,
            publicly_accessible=False,
            performance_insights_enabled=True, performance_insights_kms_key_id=placement.kms_key_arn,
            auto_minor_version_upgrade=True, promotion_tier=index,
            opts=child(owner, placement.provider, import_=identifier if identifier in existing else None,
                       depends_on=list(after)))
        for index, identifier in ((i, naming.instance_id(cluster_id, i)) for i in indexes)
    ]


def _cluster_security(settings: AuroraSettingsArgs, placement: ClusterPlacement, cluster_id: str,
                      params: aws.rds.ClusterParameterGroup) -> dict:
    """Arguments both clusters share: encryption, PITR, deletion protection, IAM auth, TLS-only parameters."""
    return dict(
        cluster_identifier=cluster_id, engine=ENGINE, engine_version=settings.engine_version,
        storage_encrypted=True, kms_key_id=placement.kms_key_arn,
        backup_retention_period=settings.backup_retention_days, preferred_backup_window=BACKUP_WINDOW,
        deletion_protection=True, copy_tags_to_snapshot=True, iam_database_authentication_enabled=True,
        db_subnet_group_name=placement.subnet_group_name, vpc_security_group_ids=[placement.security_group_id],
        db_cluster_parameter_group_name=params.name, enabled_cloudwatch_logs_exports=["postgresql"],
        skip_final_snapshot=False, final_snapshot_identifier=f"{cluster_id}-final")


@dataclass
class AuroraGlobalPrimaryArgs:
    settings: AuroraSettingsArgs
    placement: ClusterPlacement
    instances: int
    secret_replica_region: str
    secret_replica_kms_key_arn: pulumi.Input[str]
    tags: dict[str, str] = field(default_factory=dict)


class AuroraGlobalPrimary(pulumi.ComponentResource):
    """The global cluster and its writer cluster in region A, with the master secret replicated to B."""

    global_cluster_id: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    cluster_id: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    secret_arn: pulumi.Output[str]
    instances: list[aws.rds.ClusterInstance]  # each with its position as promotion tier

    def __init__(self, name: str, args: AuroraGlobalPrimaryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("dr-platform:aurora:AuroraGlobalPrimary", name, None, opts)
        s, p = args.settings, args.placement
        global_cluster = aws.rds.GlobalCluster(
            f"{name}-global", global_cluster_identifier=s.global_cluster_id, engine=ENGINE,
            engine_version=s.engine_version, database_name=s.database_name, storage_encrypted=True,
            deletion_protection=True, opts=data(self, p.provider))
        password = random.RandomPassword(f"{name}-master-password", length=40, special=True,
                                         override_special=PASSWORD_SPECIALS,
                                         opts=pulumi.ResourceOptions(parent=self))
        cluster_id = naming.regional_cluster_id(s.global_cluster_id, p.region)
        params = _parameter_group(self, cluster_id, s.engine_version, p.provider)
        cluster = aws.rds.Cluster(
            cluster_id, global_cluster_identifier=global_cluster.id,
            master_username=s.master_username, master_password=password.result,
            database_name=s.database_name, tags=args.tags,
            **_cluster_security(s, p, cluster_id, params),
            opts=data(self, p.provider, ignore_changes=IGNORED_ON_MEMBERS))
        self.instances = _instances(self, cluster, cluster_id, range(args.instances), s, p)
        secret = aws.secretsmanager.Secret(
            f"{name}-master-secret", name=f"{s.global_cluster_id}/master",
            description="Aurora global database master credentials (replicated to the DR region)",
            kms_key_id=p.kms_key_arn, recovery_window_in_days=30,
            replicas=[aws.secretsmanager.SecretReplicaArgs(region=args.secret_replica_region,
                                                           kms_key_id=args.secret_replica_kms_key_arn)],
            opts=data(self, p.provider))
        aws.secretsmanager.SecretVersion(
            f"{name}-master-secret-value", secret_id=secret.id,
            secret_string=pulumi.Output.json_dumps({"username": s.master_username, "password": password.result,
                                                    "engine": "postgres", "port": 5432,
                                                    "dbname": s.database_name}),
            opts=child(self, p.provider))
        self.global_cluster_id = global_cluster.id
        self.cluster_arn = cluster.arn
        self.cluster_id = cluster.cluster_identifier
        self.endpoint = cluster.endpoint
        self.secret_arn = secret.arn
        self.register_outputs({"globalClusterId": self.global_cluster_id, "clusterArn": self.cluster_arn,
                               "clusterId": self.cluster_id, "endpoint": self.endpoint, "secretArn": self.secret_arn,
                               "instances": len(self.instances)})


@dataclass
class AuroraSecondaryArgs:
    settings: AuroraSettingsArgs
    placement: ClusterPlacement
    global_cluster_id: pulumi.Input[str]
    instances: int  # from the posture table; 0 = headless secondary
    tags: dict[str, str] = field(default_factory=dict)
    # Instances of B's cluster that exist before this `pulumi up` (stacks/dr.py finds them when B takes the writer
    # role): the ARC plan's writer-capacity step and `drctl failover` make them with the program's identifiers.
    existing_instances: Sequence[str] = ()
    # How many instances the constructor declares; `grow(after)` declares the rest once `after` is done. The dr
    # stack promotes a warm B's existing instances and adds readers only after the promotion (None: all at once).
    instances_first: int | None = None


class AuroraSecondary(pulumi.ComponentResource):
    """Region B's member of the global database: replicated storage, compute as the posture table says."""

    cluster_arn: pulumi.Output[str]
    cluster_id: pulumi.Output[str]
    reader_endpoint: pulumi.Output[str]
    instances: list[aws.rds.ClusterInstance]

    def __init__(self, name: str, args: AuroraSecondaryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("dr-platform:aurora:AuroraSecondary", name, None, opts)
        s, p = args.settings, args.placement
        cluster_id = naming.regional_cluster_id(s.global_cluster_id, p.region)
        params = _parameter_group(self, cluster_id, s.engine_version, p.provider)
        cluster = aws.rds.Cluster(
            cluster_id, global_cluster_identifier=args.global_cluster_id, tags=args.tags,
            **_cluster_security(s, p, cluster_id, params),
            opts=data(self, p.provider, ignore_changes=IGNORED_ON_MEMBERS))
        first = args.instances if args.instances_first is None else min(args.instances_first, args.instances)
        self.instances = _instances(self, cluster, cluster_id, range(first), s, p, args.existing_instances)
        self._grow = lambda after: _instances(self, cluster, cluster_id, range(first, args.instances), s, p,
                                              args.existing_instances, after)
        self.cluster_arn = cluster.arn
        self.cluster_id = cluster.cluster_identifier
        self.reader_endpoint = cluster.reader_endpoint
        self.register_outputs({"clusterArn": self.cluster_arn, "readerEndpoint": self.reader_endpoint,
                               "instances": args.instances})

    def grow(self, after: Sequence[pulumi.Resource]) -> list[aws.rds.ClusterInstance]:
        """The instances beyond `instances_first`, each created once `after` is done (none when it was not set)."""
        grown = self._grow(after)
        self.instances = [*self.instances, *grown]
        return grown
