"""The stage pair (Pulumi.stage-primary.yaml, Pulumi.stage-dr.yaml): production's program at smaller sizes, deployed
into production's account and regions to rehearse the annual failover test. Nothing it declares may carry one of
production's names (the same name in the same account is the same resource), its zone is its own, the account's
singletons stay production's, and a dr stack reads the primary of its own environment only."""
from __future__ import annotations

import itertools
import json

import pytest
from typer.testing import CliRunner

from ops.core import naming
from ops.core.cache import node_hour_usd
from ops.core.environments import Names
from ops.core.posture import Posture
from ops.drctl.cli import app
from ops.drctl.planning.mockplan import Plan, plan_stack
from stacks.config_files import load_stack_settings, shipped_stacks
from stacks.dr import check_pairing
from stacks.settings import ConfigError

# Per resource type, the inputs that are its name in the account (or globally: S3, IAM, CloudFront): two resources
# of the type with the same value there are one resource in AWS.
PHYSICAL_NAMES: dict[str, tuple[str, ...]] = {
    "aws:acm/certificate:Certificate": ("domainName",),
    "aws:arcregionswitch/plan:Plan": ("name",),
    "aws:backup/plan:Plan": ("name",),
    "aws:backup/vault:Vault": ("name",),
    "aws:cloudfront/cachePolicy:CachePolicy": ("name",),
    "aws:cloudfront/originAccessControl:OriginAccessControl": ("name",),
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": ("alarmName",),
    "aws:cloudwatch/logGroup:LogGroup": ("name",),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name",),
    "aws:dynamodb/table:Table": ("name",),
    "aws:ec2/securityGroup:SecurityGroup": ("name",),
    "aws:ecr/repository:Repository": ("name",),
    "aws:eks/cluster:Cluster": ("name",),
    "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup": ("globalReplicationGroupIdSuffix",),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("replicationGroupId",),
    "aws:elasticache/subnetGroup:SubnetGroup": ("name",),
    "aws:fis/experimentTemplate:ExperimentTemplate": (),  # unnamed; found by tags (checked below)
    "aws:iam/instanceProfile:InstanceProfile": ("name",),
    "aws:iam/role:Role": ("name",),
    "aws:iam/user:User": ("name",),
    "aws:kms/alias:Alias": ("name",),
    "aws:lambda/function:Function": ("name",),
    "aws:rds/cluster:Cluster": ("clusterIdentifier", "dbClusterParameterGroupName", "finalSnapshotIdentifier"),
    "aws:rds/clusterInstance:ClusterInstance": ("identifier",),
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": ("name",),
    "aws:rds/globalCluster:GlobalCluster": ("globalClusterIdentifier",),
    "aws:rds/subnetGroup:SubnetGroup": ("name",),
    "aws:resiliencehub/resiliencyPolicy:ResiliencyPolicy": ("name",),
    "aws:route53/healthCheck:HealthCheck": ("fqdn",),
    "aws:route53/record:Record": ("name",),
    "aws:s3/bucket:Bucket": ("bucket",),
    "aws:secretsmanager/secret:Secret": ("name",),
    "aws:sesv2/configurationSet:ConfigurationSet": ("configurationSetName",),
    "aws:sesv2/emailIdentity:EmailIdentity": ("emailIdentity",),
    "aws:sesv2/emailIdentityMailFromAttributes:EmailIdentityMailFromAttributes": ("mailFromDomain",),
    "aws:sns/topic:Topic": ("name",),
    "aws:sqs/queue:Queue": ("name",),
    "aws:ssm/parameter:Parameter": ("name",),
    "aws:synthetics/canary:Canary": ("name",),
}
# Types whose names live inside one of the above (a role's policies, a cluster's add-ons and node group, a
# Kubernetes object in its cluster, a zone's records by set identifier) or that have no name of their own.
SCOPED_BY_PARENT_OR_UNNAMED = (
    "kubernetes:", "pulumi:providers:", "pulumi-python:dynamic/", "random:", "aws:iam/rolePolicy:",
    "aws:iam/rolePolicyAttachment:", "aws:iam/userPolicy:", "aws:iam/accessKey:", "aws:eks/", "aws:ec2/vpc:",
    "aws:ec2/subnet:", "aws:ec2/routeTable", "aws:ec2/vpcEndpoint:", "aws:ec2/instance:", "aws:vpc/", "aws:kms/key:",
    "aws:kms/keyPolicy:", "aws:kms/replicaKey:", "aws:s3/bucket", "aws:sns/topicPolicy:", "aws:sqs/queuePolicy:",
    "aws:secretsmanager/secretVersion:", "aws:backup/selection:", "aws:sesv2/configurationSetEventDestination:",
    "aws:acm/certificateValidation:", "aws:cloudfront/distribution:", "aws:cloudcontrol/resource:",
    "aws:backup/regionSettings:", "aws:ecr/replicationConfiguration:", "aws:ecr/repositoryCreationTemplate:",
)
# The account's singletons production's stacks own: one per account (and region), so a mirror must not declare them.
ACCOUNT_SINGLETONS = {"aws:backup/regionSettings:RegionSettings",
                      "aws:ecr/replicationConfiguration:ReplicationConfiguration",
                      "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate", "aws:ecr/repository:Repository"}
VARIANTS = list(itertools.product([p.value for p in Posture], (False, True)))


def _variants(primary: str, dr: str) -> list[Plan]:
    return [plan_stack(primary), *(plan_stack(dr, [f"posture={p}", f"failover={str(f).lower()}"]) for p, f in VARIANTS)]


@pytest.fixture(scope="module")
def production() -> list[Plan]:
    return _variants("primary", "dr")


@pytest.fixture(scope="module")
def stage() -> list[Plan]:
    return _variants("stage-primary", "stage-dr")


def _physical_names(plans: list[Plan]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for plan in plans:
        for r in plan.resources:
            for key in PHYSICAL_NAMES.get(r.type, ()):
                if isinstance(r.inputs.get(key), str):
                    found.setdefault(r.type, set()).add(r.inputs[key])
            if r.type == "aws:cloudcontrol/resource:Resource":  # a Resilience Hub app: its name is in the state
                found.setdefault(r.type, set()).add(json.loads(r.inputs["desiredState"])["Name"])
    return found


def test_every_resource_type_is_classified(production: list[Plan], stage: list[Plan]) -> None:
    """A resource type added to the program is either named in PHYSICAL_NAMES (and so checked below) or known to
    be named inside its parent: nothing new escapes the collision check unseen."""
    types = {r.type for plan in [*production, *stage] for r in plan.resources if not r.type.startswith("dr-platform:")}
    unclassified = {t for t in types if t not in PHYSICAL_NAMES and not t.startswith(SCOPED_BY_PARENT_OR_UNNAMED)}
    assert unclassified == set()


def test_no_stage_resource_has_a_production_name(production: list[Plan], stage: list[Plan]) -> None:
    ours, theirs = _physical_names(stage), _physical_names(production)
    shared = {t: sorted(ours[t] & theirs.get(t, set())) for t in ours if ours[t] & theirs.get(t, set())}
    assert shared == {}
    # not vacuous: stage names every kind of resource production names, the registry's repositories aside
    assert set(ours) == set(theirs) - {"aws:ecr/repository:Repository"}
    assert "stage-dr-core" in ours["aws:rds/globalCluster:GlobalCluster"]
    assert {"stage-platform-us-east-1", "stage-platform-us-west-2"} == ours["aws:eks/cluster:Cluster"]
    assert "dr-platform-stage-ses-credentials" not in ours["aws:secretsmanager/secret:Secret"]
    assert "dr-platform-stage/ses-credentials" in ours["aws:secretsmanager/secret:Secret"]
    assert {"/dr-platform-stage/ses/region", "/dr-platform-stage/ses/credentials-secret-arn"} == ours[
        "aws:ssm/parameter:Parameter"]


def test_production_names_are_the_ones_naming_spells() -> None:
    """Production's Names are ops/core/naming.py's, byte for byte: production's plans do not move."""
    names = Names()
    assert names.is_production and names.tags() == {}
    assert names.network("us-east-1") == naming.network_name("us-east-1")
    assert names.eks_cluster("us-west-2") == naming.eks_cluster_name("us-west-2")
    assert names.nodegroup_path("us-west-2") == naming.nodegroup_path("us-west-2")
    assert names.backup_vault("b") == naming.backup_vault_name(naming.BACKUP_COMPONENT, "b")
    assert names.canary_of_a == naming.CANARY_OF_A
    assert (names.failed_notifications_queue, names.failed_notifications_dlq) == (
        naming.FAILED_NOTIFICATIONS_QUEUE, naming.FAILED_NOTIFICATIONS_DLQ)
    assert (names.ses_credentials_secret, names.ses_config_prefix, names.ses_configuration_set,
            names.ses_sender_user) == (naming.SES_CREDENTIALS_SECRET, naming.SES_CONFIG_PREFIX,
                                       naming.SES_CONFIGURATION_SET, naming.SES_SENDER_USER)
    assert names.fis_role_name("Q2", "us-east-1") == naming.fis_role_name("Q2", "us-east-1")
    assert names.fis_log_group("Q2", "us-east-1") == naming.fis_log_group("Q2", "us-east-1")


def test_the_stage_canary_name_fits_synthetics_limit() -> None:
    assert Names("stage").canary_of_a == "stage-probe-region-a"
    assert len(Names("abcdef").canary_of_a) <= 21  # the longest environment name the pattern admits


def test_production_plans_carry_no_environment(production: list[Plan]) -> None:
    for plan in production:
        assert "environment" not in plan.outputs
        assert "stage" not in json.dumps([r.inputs for r in plan.resources])


def test_stage_resources_are_tagged_and_its_drill_template_is_told_apart(stage: list[Plan]) -> None:
    for plan in stage:
        assert plan.outputs["environment"] == "stage"
        for provider in plan.by_type("pulumi:providers:aws"):
            tags = provider.inputs["defaultTags"]
            tags = json.loads(tags) if isinstance(tags, str) else tags
            assert tags["tags"]["environment"] == "stage"
    (template,) = stage[0].by_type("aws:fis/experimentTemplate:ExperimentTemplate")
    assert template.inputs["tags"][naming.FIS_DRILL_TAG] == "Q2" and template.inputs["tags"]["environment"] == "stage"


def test_the_account_singletons_stay_production_s(production: list[Plan], stage: list[Plan]) -> None:
    """ECR's replication configuration and creation template and AWS Backup's region settings exist once per
    account (and region): production's primary declares them, stage's does not (its clusters pull production's
    images from the same registry)."""
    assert ACCOUNT_SINGLETONS <= {r.type for r in production[0].resources}
    assert not ACCOUNT_SINGLETONS & {r.type for plan in stage for r in plan.resources}
    assert load_stack_settings("stage-primary").manage_account_settings is False
    assert stage[0].outputs["nextSteps"]  # still says what to do next, without pushing into production's registry


def test_stage_is_smaller_than_production() -> None:
    for role in ("primary", "dr"):
        prod, stage = load_stack_settings(role), load_stack_settings(f"stage-{role}")
        assert stage.aurora.instances < prod.aurora.instances
        assert stage.compute.nodes < prod.compute.nodes and stage.compute.max_nodes < prod.compute.max_nodes
        assert stage.compute.typesense_replicas < prod.compute.typesense_replicas
        assert sum(s.replicas for s in stage.compute.services) < sum(s.replicas for s in prod.compute.services)
        assert [s.name for s in stage.compute.services] == [s.name for s in prod.compute.services]
        assert [s.image for s in stage.compute.services] == [s.image for s in prod.compute.services]  # a mirror
        assert stage.cache.nodes < prod.cache.nodes
        assert node_hour_usd(stage.cache.node_type) < node_hour_usd(prod.cache.node_type)
    # B must be able to run what stage's A runs, as in production
    assert load_stack_settings("stage-primary").compute == load_stack_settings("stage-dr").compute
    assert load_stack_settings("stage-primary").cache == load_stack_settings("stage-dr").cache


def test_stage_routes_and_probes_inside_its_own_zone(stage: list[Plan]) -> None:
    zone = load_stack_settings("stage-dr").dns.zone_name
    assert zone == "stage.example.com" != load_stack_settings("dr").dns.zone_name
    records = {r.inputs["name"] for plan in stage for r in plan.by_type("aws:route53/record:Record")}
    assert records and all(name.rstrip(".").endswith(f".{zone}") or name == zone for name in records)
    checks = {r.inputs["fqdn"] for plan in stage for r in plan.by_type("aws:route53/healthCheck:HealthCheck")}
    assert checks == {f"api-a.origin.{zone}", f"api-b.origin.{zone}"}
    identities = {r.inputs["emailIdentity"] for plan in stage
                  for r in plan.by_type("aws:sesv2/emailIdentity:EmailIdentity")}
    assert identities == {zone}


def test_shipped_stacks_list_production_first() -> None:
    assert shipped_stacks() == ["primary", "dr", "stage-primary", "stage-dr"]


@pytest.mark.parametrize(("stack", "primary"), [("stage-dr", "organization/dr-platform/primary"),
                                                ("dr", "organization/dr-platform/stage-primary")])
def test_a_dr_stack_paired_with_another_environment_exits_2_naming_primary_stack(stack: str, primary: str) -> None:
    result = CliRunner().invoke(app, ["plan", stack, "--set", f"primaryStack={primary}"])
    assert result.exit_code == 2, result.output
    assert "primaryStack" in result.output and "environment" in result.output


def test_the_program_refuses_the_same_pairing_at_pulumi_up() -> None:
    """stacks/dr.py checks the primary's `environment` output (production's exports none) during `pulumi up`."""
    stage = load_stack_settings("stage-dr")
    check_pairing(stage, "stage")
    check_pairing(load_stack_settings("dr"), None)
    with pytest.raises(ConfigError) as raised:
        check_pairing(stage, None)
    assert raised.value.key == "primaryStack"
    with pytest.raises(ConfigError):
        check_pairing(load_stack_settings("dr"), "stage")


@pytest.mark.parametrize(("override", "key"), [
    ("dns.zoneName=example.com", "dns.zoneName"),
    ("dns.primaryEndpoint=api-a.origin.example.com", "dns.primaryEndpoint"),
    ("dns.drEndpoint=api-b.origin.example.com", "dns.drEndpoint"),
    ("environment=Stage", "environment"),
    ("environment=staging1", "environment"),
    ("buckets[0].name=a-bucket-name-of-forty-four-characters-long-xx", "buckets[0].name"),
])
def test_bad_stage_config_exits_2_naming_the_key(override: str, key: str) -> None:
    result = CliRunner().invoke(app, ["plan", "stage-dr", "--set", override])
    assert result.exit_code == 2, result.output
    assert f"dr-platform:{key}:" in result.output
