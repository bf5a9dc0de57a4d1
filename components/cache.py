"""ElastiCache for Valkey: a Multi-AZ replication group in region A that is the primary of a Global Datastore, and
region B's replication group as the posture table says (none, a Global Datastore secondary, or a cold standalone).

Every group encrypts at rest with its region's KMS key (the multi-Region key's primary in A, its replica in B) and
in transit, and takes clients only with the AUTH token: a generated token kept in Secrets Manager (encrypted with
A's key, replicated to B with B's key, as the Aurora master secret is); B's groups read it from B's replica, so no
token is in config and B's side needs nothing of region A.

A secondary takes only what AWS lets a Global Datastore member choose (CreateReplicationGroup with
GlobalReplicationGroupId; the provider refuses the rest as conflicting): node type, engine and version, parameter
group and the encryption switches come from the primary. It names its own subnets, security group, KMS key, AUTH
token and node count (a member may have its own number of replicas). Roles change through the writer change
(components/failover.py), never here: membership is fixed at creation, and a member that leaves is wiped.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.base import child, data
from ops.core import cache as facts
from ops.core import naming
from ops.core.posture import CacheB


@dataclass
class CacheSettingsArgs:
    name: str  # `<name>-<region>` replication groups, the Global Datastore's suffix, the secret `<name>/auth`
    node_type: str
    engine_version: str


@dataclass
class CachePlacement:
    region: str
    provider: aws.Provider
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    subnet_ids: list[pulumi.Input[str]]
    kms_key_arn: pulumi.Input[str]


def _network(owner: pulumi.Resource, group_id: str, placement: CachePlacement) -> tuple[pulumi.Output[str],
                                                                                     pulumi.Output[str]]:
    """The group's subnet group (every private subnet: one node per AZ) and a security group admitting the Valkey
    port from the VPC's own CIDR only."""
    subnets = aws.elasticache.SubnetGroup(group_id, name=group_id, description="dr-platform cache subnets",
                                          subnet_ids=placement.subnet_ids, opts=child(owner, placement.provider))
    group = aws.ec2.SecurityGroup(f"{group_id}-sg", name=f"{group_id}-cache", vpc_id=placement.vpc_id,
                                  description=f"Valkey: {facts.PORT} from inside the VPC only",
                                  opts=child(owner, placement.provider))
    aws.vpc.SecurityGroupIngressRule(f"{group_id}-valkey", security_group_id=group.id, cidr_ipv4=placement.vpc_cidr,
                                     ip_protocol="tcp", from_port=facts.PORT, to_port=facts.PORT,
                                     description="valkey (TLS) from the VPC", opts=child(owner, placement.provider))
    return subnets.name, group.id


def _highly_available(nodes: int) -> dict:
    """Multi-AZ with automatic failover: a replica in another AZ takes over when the primary's AZ fails."""
    return dict(num_cache_clusters=nodes, multi_az_enabled=True, automatic_failover_enabled=True, port=facts.PORT,
                auto_minor_version_upgrade=True, apply_immediately=True)


@dataclass
class CachePrimaryArgs:
    settings: CacheSettingsArgs
    placement: CachePlacement
    nodes: int
    secret_replica_region: str
    secret_replica_kms_key_arn: pulumi.Input[str]


class CachePrimary(pulumi.ComponentResource):
    """Region A: the AUTH token and its secret (replicated to B), the replication group, and the Global Datastore
    whose primary it is."""

    global_group_id: pulumi.Output[str]
    replication_group_id: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    secret_arn: pulumi.Output[str]

    def __init__(self, name: str, args: CachePrimaryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("dr-platform:cache:CachePrimary", name, None, opts)
        s, p = args.settings, args.placement
        token = random.RandomPassword(f"{name}-auth-token", length=facts.AUTH_TOKEN_LENGTH, special=True,
                                      override_special=facts.AUTH_TOKEN_SPECIALS,
                                      opts=pulumi.ResourceOptions(parent=self))
        secret = aws.secretsmanager.Secret(
            f"{name}-auth-secret", name=naming.cache_auth_secret(s.name),
            description="ElastiCache AUTH token of the dr-platform cache (replicated to the DR region)",
            kms_key_id=p.kms_key_arn, recovery_window_in_days=30,
            replicas=[aws.secretsmanager.SecretReplicaArgs(region=args.secret_replica_region,
                                                           kms_key_id=args.secret_replica_kms_key_arn)],
            opts=data(self, p.provider))
        aws.secretsmanager.SecretVersion(f"{name}-auth-secret-value", secret_id=secret.id,
                                         secret_string=token.result, opts=child(self, p.provider))
        group_id = naming.cache_member_id(s.name, p.region)
        subnet_group, security_group = _network(self, group_id, p)
        group = aws.elasticache.ReplicationGroup(
            group_id, replication_group_id=group_id, description="dr-platform cache (Global Datastore primary)",
            engine=facts.ENGINE, engine_version=s.engine_version, node_type=s.node_type,
            at_rest_encryption_enabled=True, kms_key_id=p.kms_key_arn, transit_encryption_enabled=True,
            auth_token=token.result, subnet_group_name=subnet_group, security_group_ids=[security_group],
            **_highly_available(args.nodes), opts=data(self, p.provider))
        datastore = aws.elasticache.GlobalReplicationGroup(
            f"{name}-global", global_replication_group_id_suffix=s.name, primary_replication_group_id=group.id,
            global_replication_group_description="dr-platform cache: A's primary, B's secondary by posture",
            opts=data(self, p.provider))
        self.global_group_id = datastore.global_replication_group_id
        self.replication_group_id = group.replication_group_id
        self.endpoint = group.primary_endpoint_address
        self.secret_arn = secret.arn
        self.register_outputs({"globalGroupId": self.global_group_id, "replicationGroupId": self.replication_group_id,
                               "endpoint": self.endpoint, "secretArn": self.secret_arn})


@dataclass
class CacheRegionBArgs:
    settings: CacheSettingsArgs
    placement: CachePlacement
    role: CacheB  # the posture table's cache_b: SECONDARY or STANDALONE
    nodes: int
    global_group_id: pulumi.Input[str]  # A's Global Datastore (a secondary joins it)
    auth_secret_arn: pulumi.Input[str]  # B's replica of the AUTH secret
    after: list[pulumi.Resource] = field(default_factory=list)  # the group changes only once these have


class CacheRegionB(pulumi.ComponentResource):
    """Region B's cache: a Global Datastore secondary (warm standby, active-active, and their failover, where the
    writer change promotes it) or a cold standalone group (pilot light's failover: nothing in B to promote, and a
    secondary cannot join while A is down)."""

    replication_group_id: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    group: aws.elasticache.ReplicationGroup

    def __init__(self, name: str, args: CacheRegionBArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("dr-platform:cache:CacheRegionB", name, None, opts)
        s, p = args.settings, args.placement
        token = aws.secretsmanager.get_secret_version_output(
            secret_id=args.auth_secret_arn, opts=pulumi.InvokeOutputOptions(parent=self, provider=p.provider))
        auth_token = pulumi.Output.secret(token.secret_string)
        if args.role is CacheB.SECONDARY:
            group_id = naming.cache_member_id(s.name, p.region)
            membership = dict(description="dr-platform cache (Global Datastore secondary)",
                              global_replication_group_id=args.global_group_id)
        else:
            group_id = naming.cold_cache_id(s.name, p.region)
            membership = dict(description="dr-platform cache (cold standalone: pilot light's failover)",
                              engine=facts.ENGINE, engine_version=s.engine_version, node_type=s.node_type,
                              at_rest_encryption_enabled=True, transit_encryption_enabled=True)
        subnet_group, security_group = _network(self, group_id, p)
        self.group = aws.elasticache.ReplicationGroup(
            group_id, replication_group_id=group_id, kms_key_id=p.kms_key_arn, auth_token=auth_token,
            subnet_group_name=subnet_group, security_group_ids=[security_group], **membership,
            **_highly_available(args.nodes), opts=child(self, p.provider, depends_on=list(args.after)))
        self.replication_group_id = self.group.replication_group_id
        self.endpoint = self.group.primary_endpoint_address
        self.register_outputs({"replicationGroupId": self.replication_group_id, "endpoint": self.endpoint})
