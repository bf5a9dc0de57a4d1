"""The names `drctl verify` checks are the names the Pulumi program gives: Targets.of (from the settings) against
the offline plan of both stacks, as A writes and after failover (what `pulumi up` would create), for production's
pair and for stage's (`drctl verify --stack stage-dr` must look for stage's resources, never production's)."""
from __future__ import annotations

from collections import defaultdict

import pytest

from ops.actions.backup_points import resource_name
from ops.drctl.commands.restore import backup_vault_name
from ops.drctl.planning.mockplan import Plan, plan_stack
from ops.drctl.runbooks.verify import REPLICATION_RULE_ID, Targets
from stacks.config_files import load_stack_settings


def _by_region(plans: list[Plan], type_: str, key: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for plan in plans:
        for resource in plan.by_type(type_):
            found[str(resource.region)].add(resource.inputs[key])
    return dict(found)


@pytest.mark.parametrize("pair", [("primary", "dr"), ("stage-primary", "stage-dr")], ids="-".join)
@pytest.mark.parametrize("overrides", [[], ["failover=true"], ["posture=warm-standby"]], ids=str)
def test_the_checked_names_are_the_names_both_stacks_plan(overrides: list[str], pair: tuple[str, str]) -> None:
    settings = load_stack_settings(pair[1], overrides)
    targets = Targets.of(settings, vault=backup_vault_name(settings, settings.dr_region))
    primary, dr = plan_stack(pair[0]), plan_stack(pair[1], overrides)
    plans = [primary, dr]

    assert _by_region(plans, "aws:cloudwatch/metricAlarm:MetricAlarm", "name") == {
        region: set(names) for region, names in targets.alarms.items() if names}
    assert _by_region(plans, "aws:rds/cluster:Cluster", "clusterIdentifier") == {
        region: {cluster_id} for region, cluster_id in targets.clusters.items()}
    buckets: dict[str, set[str]] = defaultdict(set)
    for names in targets.buckets.values():
        for region, bucket in names.items():
            buckets[region].add(bucket)
    # the canary's artifacts and the CDN's access logs are evidence, not data the DR matrix covers: verify leaves
    # them out
    not_data = (settings.names.project_name("canary-"), settings.names.project_name("cdn-logs-"))
    planned = {region: {name for name in names if not name.startswith(not_data)}
               for region, names in _by_region(plans, "aws:s3/bucket:Bucket", "bucket").items()}
    assert planned == dict(buckets)
    planned_rules = {(r.inputs["bucket"], r.region, rule["id"], rule["destination"]["bucket"])
                     for plan in plans for r in plan.by_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
                     for rule in r.inputs["rules"]}
    assert planned_rules == {(r.source_bucket, r.source_region, REPLICATION_RULE_ID,
                              f"arn:aws:s3:::{r.destination_bucket}") for r in targets.replications}
    tables = primary.by_type("aws:dynamodb/table:Table")
    assert {t.inputs["name"] for t in tables} == set(targets.tables)
    assert all([r["regionName"] for r in t.inputs["replicas"]] == [targets.dr_region] for t in tables)
    assert targets.vault in _by_region(plans, "aws:backup/vault:Vault", "name")[targets.dr_region]
    (selection,) = primary.by_type("aws:backup/selection:Selection")
    assert sorted(resource_name(arn) for arn in selection.inputs["resources"]) == sorted(
        name for _, name in targets.backed_up)
    assert {c.inputs["fqdn"] for c in dr.by_type("aws:route53/healthCheck:HealthCheck")} == set(
        targets.endpoints.values())
    planned_groups = {str(g.region): (g.inputs["clusterName"], g.inputs["nodeGroupName"],
                                      g.inputs["scalingConfig"]["minSize"], g.inputs["scalingConfig"]["maxSize"])
                      for plan in plans for g in plan.by_type("aws:eks/nodeGroup:NodeGroup")}
    assert planned_groups == {region: (g.cluster, g.nodegroup, g.floor, g.ceiling)
                              for region, g in targets.node_groups.items()}
    assert _by_region(plans, "aws:sesv2/emailIdentity:EmailIdentity", "emailIdentity") == {
        region: {targets.email_domain} for region in targets.mail_from}
    assert _by_region(plans, "aws:sesv2/emailIdentityMailFromAttributes:EmailIdentityMailFromAttributes",
                      "mailFromDomain") == {region: {domain} for region, domain in targets.mail_from.items()}
    assert [d.inputs["comment"] for d in primary.by_type("aws:cloudfront/distribution:Distribution")] == [
        targets.cdn_name]
    (plan,) = dr.by_type("aws:arcregionswitch/plan:Plan")
    assert (plan.inputs["name"], str(plan.region)) == (targets.region_switch_plan, targets.dr_region)
    alarm_arns = {a["mapBlockKey"]: a["resourceIdentifier"] for a in plan.inputs.get("associatedAlarms") or []}
    red = {alarm_arns[c["associatedAlarmName"]] for t in plan.inputs.get("triggers") or []
           if (t["action"], t["targetRegion"]) == ("activate", targets.dr_region) for c in t["conditions"]
           if c["condition"] == "red"}
    assert red == ({f"arn:aws:cloudwatch:{targets.dr_region}:123456789012:alarm:{targets.plan_trigger_alarm}"}
                   if targets.plan_trigger_alarm else set())
    (datastore,) = primary.by_type("aws:elasticache/globalReplicationGroup:GlobalReplicationGroup")
    assert datastore.inputs["globalReplicationGroupIdSuffix"] == targets.cache_name
    assert _by_region(plans, "aws:elasticache/replicationGroup:ReplicationGroup", "replicationGroupId") == {
        region: {group} for region, group in {**targets.cache_members, **targets.cold_caches}.items()}


def test_stage_names_are_not_production_names() -> None:
    """What verify would look up for stage shares no name with production's: a stage check never passes on
    production's resources."""
    stage = load_stack_settings("stage-dr")
    production = load_stack_settings("dr")
    ours = Targets.of(stage, vault=backup_vault_name(stage, stage.dr_region))
    theirs = Targets.of(production, vault=backup_vault_name(production, production.dr_region))
    assert ours.global_cluster_id == "stage-dr-core" and ours.vault == "stage-backup-b"
    assert not set(ours.clusters.values()) & set(theirs.clusters.values())
    assert not {n for names in ours.alarms.values() for n in names} & {n for names in theirs.alarms.values()
                                                                        for n in names}
    assert not set(ours.tables) & set(theirs.tables)
    assert not set(ours.endpoints.values()) & set(theirs.endpoints.values())
