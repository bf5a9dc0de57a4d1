"""What a config flip followed by `pulumi up --stack dr` changes."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from ops.drctl.cli import app
from ops.drctl.planning.diff import diff_plans
from ops.drctl.planning.mockplan import Plan, plan_stack
from stacks.config_files import load_stack_settings

INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
HPA, PDB = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "kubernetes:policy/v1:PodDisruptionBudget"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
ADDON = "aws:eks/addon:Addon"
WRITER = "pulumi-python:dynamic/aurora:WriterRegion"


def changes(diff) -> dict[tuple[str, str], dict[str, tuple]]:
    return {(c.resource.type, c.resource.name): {x.path: (x.old, x.new) for x in c.changes} for c in diff.changed}


def test_pilot_light_to_warm_standby_adds_one_instance_and_the_minimal_compute_in_b(dr_plans: dict) -> None:
    diff = diff_plans(dr_plans[("pilot-light", False)], dr_plans[("warm-standby", False)])
    # the cache's Global Datastore secondary in B (tests/foundation/test_cache.py), which the writer now names, and
    # the ARC plan's promotion function for it
    cache = [r for r in diff.added if r.name.startswith(("dr-cache-", "region-switch-cache-promotion"))
             or r.type == "dr-platform:cache:CacheRegionB"]
    assert {r.name for r in cache} == {"cache-b", "dr-cache-us-west-2", "dr-cache-us-west-2-sg",
                                       "dr-cache-us-west-2-valkey", "region-switch-cache-promotion",
                                       *(f"region-switch-cache-promotion-{part}" for part in ("role", "logs",
                                                                                               "action", "runtime"))}
    diff.added = [r for r in diff.added if r not in cache]
    # the EBS CSI driver comes with the nodes (its controller cannot become ACTIVE on none), and so do the VPC
    # endpoints the nodes need to join (interface endpoints cost per AZ-hour: none while B has no nodes)
    endpoints = [e for e in diff.added if e.type.startswith("aws:ec2/") or e.type.startswith("aws:vpc/")]
    assert {e.name for e in endpoints} == {
        "network-us-west-2-endpoints", "network-us-west-2-endpoints-https", "network-us-west-2-s3",
        *(f"network-us-west-2-{service}" for service in ("ec2", "ecr-api", "ecr-dkr", "sts", "eks", "eks-auth",
                                                          "logs", "secretsmanager", "autoscaling"))}
    # and B's search feed (RB-N-04 on a schedule, from B's new reader): its role, grant, identity, account, jobs
    feed = [r for r in diff.added if r.parent and "dr-platform:search:SearchFeed" in r.parent
            or r.type == "dr-platform:search:SearchFeed"]
    assert {r.type for r in feed} == {
        "dr-platform:search:SearchFeed", "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation", "kubernetes:core/v1:ServiceAccount",
        "kubernetes:batch/v1:CronJob"}
    # the running critical services' HPAs and PDBs; metrics-server and the cluster autoscaler come with the nodes
    scaling = [r for r in diff.added if r.type in (HPA, PDB) or "cluster-autoscaler" in r.name]
    assert sorted(r.name for r in scaling if r.type in (HPA, PDB)) == sorted(
        [*(f"compute-us-west-2-{name}-{kind}" for name in ("payments", "auth", "users") for kind in ("hpa", "pdb")),
         "compute-us-west-2-typesense-pdb"])
    assert {r.type.split(":")[-1] for r in scaling if r.type not in (HPA, PDB)} == {
        "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment"}
    # and Q3's FIS drill, now that B runs Typesense (tests/foundation/test_drill_q3.py): its template, role, log,
    # stop alarm, and what FIS's pod is given in the cluster
    drill = [r for r in diff.added if r.name == "drill-q3" or r.name.startswith("drill-q3-")]
    assert sorted(r.type.rsplit(":", 1)[-1] for r in drill) == [
        "AccessEntry", "CompositeAlarm", "DrillExperiment", "ExperimentTemplate", "Key", "LogGroup", "Role", "Role",
        "RoleBinding", "ServiceAccount"]
    rest = [r for r in diff.added if r not in endpoints and r not in feed and r not in scaling and r not in drill]
    assert sorted((r.type, r.name, r.region) for r in rest) == [
        (ADDON, "compute-us-west-2-aws-ebs-csi-driver", "us-west-2"),
        (ADDON, "compute-us-west-2-metrics-server", "us-west-2"), (INSTANCE, "dr-core-us-west-2-0", "us-west-2")]
    # the ARC plan loses its writer-capacity step: warm standby has an instance to promote
    assert sorted(r.name for r in diff.removed) == [
        "region-switch-writer-capacity", "region-switch-writer-capacity-action", "region-switch-writer-capacity-logs",
        "region-switch-writer-capacity-role", "region-switch-writer-capacity-runtime"]
    changed = changes(diff)
    # and its approval no longer waits beside B's capacity: B's 2 nodes grow under the traffic instead, DNS moving
    # beside them once B writes
    prepared = changed.pop(("aws:arcregionswitch/plan:Plan", "region-switch-plan"))
    assert prepared["workflows[0].steps[0].name"] == ("prepare-and-approve", "approve-failover")
    old, new = prepared["workflows[0].steps[1].parallelConfigs[0].steps"]
    assert [s["name"] for s in new] == [*(s["name"] for s in old), "elasticache-global-dr-cache"]  # beside Aurora's
    assert prepared["workflows[0].steps[2].name"] == ("route53-health-checks", "serve-and-grow")
    assert "policy" in changed.pop(("aws:iam/rolePolicy:RolePolicy", "region-switch-execution-policy"))
    assert changed.pop((NODE_GROUP, "compute-us-west-2-nodes")) == {
        "scalingConfig.desiredSize": (0, 2), "scalingConfig.minSize": (0, 2), "scalingConfig.maxSize": (1, 3)}
    # the drill's target: FIS monitors pod faults only where the root filesystem is writable
    assert changed.pop((STATEFUL_SET, "compute-us-west-2-typesense")) == {
        "spec.replicas": (0, 1),
        "spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem": (True, False)}
    assert changed.pop((WRITER, "aurora-writer")) == {"cacheGlobalGroupId": (None, "ldgnf-dr-cache"),
                                                      "cacheTargetGroupId": (None, "dr-cache-us-east-1")}
    # critical services leave their count to their new HPAs (floor 2); standard services stay at 0
    assert changed == {(DEPLOYMENT, f"compute-us-west-2-{name}"): {"spec.replicas": (0, None)}
                       for name in ("payments", "auth", "users")}


def test_failover_scales_nodes_deployments_and_typesense_to_production(dr_plans: dict) -> None:
    settings = load_stack_settings("dr").compute
    changed = changes(diff_plans(dr_plans[("pilot-light", False)], dr_plans[("pilot-light", True)]))
    assert changed[(NODE_GROUP, "compute-us-west-2-nodes")]["scalingConfig.desiredSize"] == (0, settings.nodes)
    after = dr_plans[("pilot-light", True)]
    for service in settings.services:  # each Deployment hands its count to an HPA at the production floor
        assert changed[(DEPLOYMENT, f"compute-us-west-2-{service.name}")] == {"spec.replicas": (0, None)}
        hpa = after.one(HPA, f"compute-us-west-2-{service.name}-hpa")
        assert hpa.inputs["spec"]["minReplicas"] == service.replicas
    assert changed[(STATEFUL_SET, "compute-us-west-2-typesense")] == {
        "spec.replicas": (0, settings.typesense_replicas),
        "spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem": (True, False)}  # Q3's target now
    # from warm standby only what is not yet at production changes
    changed = changes(diff_plans(dr_plans[("warm-standby", False)], dr_plans[("warm-standby", True)]))
    assert changed[(NODE_GROUP, "compute-us-west-2-nodes")]["scalingConfig.desiredSize"] == (2, settings.nodes)
    assert changed[(HPA, "compute-us-west-2-payments-hpa")] == {
        "spec.minReplicas": (2, 3), "metadata.annotations.dr-platform/scaling-row": (
            "warm-standby", "warm-standby-failed-over")}
    assert (DEPLOYMENT, "compute-us-west-2-payments") not in changed  # the HPA already owns its count
    assert changed[(DEPLOYMENT, "compute-us-west-2-catalog")] == {"spec.replicas": (0, None)}


def test_failover_promotes_scales_flips_dns_and_reverses_replication(dr_plans: dict) -> None:
    before, after = dr_plans[("pilot-light", False)], dr_plans[("pilot-light", True)]
    diff = diff_plans(before, after)
    added = {(r.type, r.name) for r in diff.added}
    # the writer region always exists: the flip changes its target (an update, never a replacement)
    assert not any(r.type == WRITER for r in diff.added + diff.removed)
    assert changes(diff)[(WRITER, "aurora-writer")] == {
        "targetClusterArn": (after.outputs["secondaryClusterArn"].replace("us-west-2", "us-east-1"),
                             after.outputs["secondaryClusterArn"]),
        "targetRegion": ("us-east-1", "us-west-2")}
    writer = after.one(WRITER, "aurora-writer")
    assert writer.inputs["mode"] == "planned"
    assert {(INSTANCE, "dr-core-us-west-2-0"), (INSTANCE, "dr-core-us-west-2-1")} <= added  # production: 2
    assert (ADDON, "compute-us-west-2-aws-ebs-csi-driver") in added  # Typesense's volumes need the driver
    # a headless cluster cannot become the writer: the role change waits for B's instances
    assert {i.urn for i in after.by_type(INSTANCE)} <= set(writer.dependencies)
    reverse = [r for r in diff.added if r.type == "aws:s3/bucketReplicationConfig:BucketReplicationConfig"]
    assert len(reverse) == 2
    for config in reverse:
        assert config.region == "us-west-2"
        destination = config.inputs["rules"][0]["destination"]
        assert destination["bucket"].endswith("-us-east-1")
        assert destination["replicationTime"]["status"] == "Enabled"
    changed = {c.resource.name: {x.path: (x.old, x.new) for x in c.changes} for c in diff.changed}
    assert changed["api-dns-primary"]["records[0]"] == ("api-a.origin.example.com", "api-b.origin.example.com")
    assert changed["api-dns-primary"]["healthCheckId"] == ("api-dns-health-a", "api-dns-health-b")
    # B writes now: the secondary's lag alarm goes, and the ARC plan's capacity Lambdas (B is at the failover row:
    # nothing left to prepare); nothing else is removed. B -> A replication gets its own alarms.
    assert sorted((r.type, r.name) for r in diff.removed if not r.name.startswith("region-switch-")) == [
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "replication-alarms-b-aurora-us-west-2")]
    assert {r.type for r in diff.removed if r.name.startswith("region-switch-")} == {
        "aws:lambda/function:Function", "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy",
        "aws:cloudwatch/logGroup:LogGroup"}
    assert {"replication-alarms-b-s3-creator-media-b-to-a",
            "replication-alarms-b-s3-creator-kyc-documents-b-to-a"} <= {name for _, name in added}


def test_unplanned_failover_uses_the_failover_api_mode() -> None:
    plan = plan_stack("dr", ["failover=true", "failoverMode=unplanned"])
    assert plan.one(WRITER, "aurora-writer").inputs["mode"] == "unplanned"


def test_weighted_routing_flips_weights_on_failover() -> None:
    def weights(plan: Plan) -> dict[str, int]:
        return {r.inputs["setIdentifier"]: r.inputs["weightedRoutingPolicies"][0]["weight"]
                for r in plan.by_type("aws:route53/record:Record") if "setIdentifier" in r.inputs}  # the API's
    assert weights(plan_stack("dr", ["dns.routing=weighted"])) == {"region-a": 100, "region-b": 0}
    assert weights(plan_stack("dr", ["dns.routing=weighted", "failover=true"])) == {"region-a": 0, "region-b": 100}
    assert weights(plan_stack("dr", ["dns.routing=weighted", "posture=active-active"])) == \
        {"region-a": 50, "region-b": 50}


def test_failback_is_the_reverse_flip(dr_plans: dict) -> None:
    diff = diff_plans(dr_plans[("warm-standby", True)], dr_plans[("warm-standby", False)])
    assert changes(diff)[(WRITER, "aurora-writer")]["targetRegion"] == ("us-west-2", "us-east-1")
    # failing back is a switchover (RPO 0), even when the failover was unplanned
    assert plan_stack("dr", ["failoverMode=unplanned"]).one(WRITER, "aurora-writer").inputs["mode"] == "planned"
    assert [r.name for r in diff.removed if r.type == INSTANCE] == ["dr-core-us-west-2-1"]  # back to 1 warm


def test_cli_diff_json_reports_added_and_changed() -> None:
    result = CliRunner().invoke(app, ["plan", "dr", "--diff", "failover=true", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["flip"] == ["failover=true"]
    assert any(c["type"] == WRITER and c["name"] == "aurora-writer" for c in payload["changed"])
    assert any(c["name"] == "api-dns-primary" for c in payload["changed"])
    changed = {c["name"] for c in payload["changed"]}
    assert {"compute-us-west-2-nodes", "compute-us-west-2-payments", "compute-us-west-2-typesense"} <= changed


def test_cli_plan_json_has_the_documented_shape() -> None:
    result = CliRunner().invoke(app, ["plan", "dr", "--set", "posture=warm-standby", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"stack", "config", "resources", "outputs"}
    assert payload["config"]["posture"] == "warm-standby"
    resource = payload["resources"][0]
    assert {"urn", "type", "name", "region", "parent", "protect", "ignoreChanges", "inputs"} <= set(resource)
    assert payload["outputs"]["auroraInstancesB"] == 1


def test_cli_plan_table_groups_by_component() -> None:
    result = CliRunner().invoke(app, ["plan", "primary"])
    assert result.exit_code == 0, result.output
    assert "plan: stack primary" in result.output and "AuroraGlobalPrimary" in result.output
