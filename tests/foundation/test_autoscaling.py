"""Autoscaling and disruption on the plan of the real program: an HPA and a PDB for every service wherever it runs,
bounded by the posture table; budgets that keep critical services serving and never block a drain; the Cluster
Autoscaler with a least-privilege role through Pod Identity, its ceiling the posture's; and the order a real
`pulumi up` creates them in."""
from __future__ import annotations

import itertools
import json

import pytest

from components.autoscaling import autoscaler_policy, disruption_budget
from ops.core.posture import Posture, capacity
from ops.drctl.planning.diff import diff_plans
from ops.drctl.planning.mockplan import Plan, plan_stack
from ops.drctl.planning.steps import Action, step_order
from stacks.config_files import load_stack_settings

HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ADDON = "aws:eks/addon:Addon"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
SETTINGS = load_stack_settings("dr")
SERVICES = {s.name: s for s in SETTINGS.compute.services}


def by_name(plan: Plan, type_: str) -> dict[str, object]:
    """The services' resources of a type, by service name."""
    return {r.inputs["metadata"]["name"]: r for r in plan.by_type(type_) if r.inputs["metadata"].get("namespace")
            == "platform" and r.inputs["metadata"]["name"] in SERVICES}


def expected_counts(plan: Plan) -> dict[str, int]:
    """What the posture table resolves for this plan's region."""
    posture = Posture(plan.config.get("posture", "pilot-light")) if plan.stack == "dr" else Posture.PILOT_LIGHT
    failover = str(plan.config.get("failover", False)).lower() == "true"
    cap = capacity(posture, failover, SETTINGS.aurora.instances, SETTINGS.compute.production())
    return dict(cap.replicas_b if plan.stack == "dr" else cap.replicas_a)


def all_plans(primary_plan: Plan, dr_plans: dict) -> list[Plan]:
    return [primary_plan, *dr_plans.values()]


def test_every_running_service_has_an_hpa_and_a_pdb_bounded_by_the_posture_table(primary_plan: Plan,
                                                                                  dr_plans: dict) -> None:
    for plan in all_plans(primary_plan, dr_plans):
        counts, hpas, pdbs = expected_counts(plan), by_name(plan, HPA), by_name(plan, PDB)
        running = {name for name, count in counts.items() if count > 0}
        assert set(hpas) == running and set(pdbs) == running, (plan.stack, plan.config.get("posture"))
        for name in running:
            spec = hpas[name].inputs["spec"]
            assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
            assert spec["minReplicas"] == counts[name] >= 1  # the floor: the posture's count, never 0
            assert spec["maxReplicas"] == SERVICES[name].autoscaling_max >= spec["minReplicas"]
            (metric,) = spec["metrics"]
            assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["type"] == "Utilization"


def test_disruption_budgets_keep_critical_services_serving_and_never_block_a_drain(primary_plan: Plan,
                                                                                   dr_plans: dict) -> None:
    for plan in all_plans(primary_plan, dr_plans):
        counts = expected_counts(plan)
        deployments = by_name(plan, DEPLOYMENT)
        for name, pdb in by_name(plan, PDB).items():
            spec, floor = pdb.inputs["spec"], counts[name]
            pod_labels = deployments[name].inputs["spec"]["template"]["metadata"]["labels"]
            assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
            assert spec["unhealthyPodEvictionPolicy"] == "AlwaysAllow"  # a crash-looping pod cannot wedge a drain
            if SERVICES[name].tier.value == "critical":
                assert spec == {**spec, "minAvailable": floor - 1} and "maxUnavailable" not in spec
                assert 1 <= spec["minAvailable"] < floor  # one always serves; at the floor one can be evicted
            else:
                assert spec["maxUnavailable"] == 1 and "minAvailable" not in spec


def test_the_budget_rule_itself() -> None:
    assert disruption_budget("critical", 3).min_available == 2
    assert disruption_budget("critical", 2).min_available == 1
    assert disruption_budget("standard", 1).max_unavailable == 1
    with pytest.raises(ValueError, match="at least 2"):  # minAvailable 1 at 1 replica: every drain blocked
        disruption_budget("critical", 1)


def test_a_running_service_leaves_its_replicas_to_the_hpa_and_a_stopped_one_is_pinned_at_0(primary_plan: Plan,
                                                                                           dr_plans: dict) -> None:
    """Pulumi's server-side apply forces a declared `replicas` over the HPA's count at every apply: a running
    Deployment declares none. At 0 there is no HPA (minReplicas >= 1) and Pulumi holds the 0."""
    for plan in all_plans(primary_plan, dr_plans):
        hpas = by_name(plan, HPA)
        for name, deployment in by_name(plan, DEPLOYMENT).items():
            spec = deployment.inputs["spec"]
            assert ("replicas" not in spec) == (name in hpas), name
            if name not in hpas:
                assert spec["replicas"] == 0
            else:
                assert deployment.urn in hpas[name].dependencies  # the HPA comes after its target


def states() -> list[Plan]:
    return [plan_stack("dr", ["posture=pilot-light"]), plan_stack("dr", ["posture=warm-standby"]),
            plan_stack("dr", ["posture=warm-standby", "failover=true"])]


@pytest.fixture(scope="module")
def flips() -> list[Plan]:
    return states()


def test_pilot_light_to_warm_standby_to_failover_changes_exactly_what_the_table_says(flips: list[Plan]) -> None:
    compute = SETTINGS.compute.production()
    rows = [capacity(Posture.PILOT_LIGHT, False, 2, compute), capacity(Posture.WARM_STANDBY, False, 2, compute),
            capacity(Posture.WARM_STANDBY, True, 2, compute)]
    for plan, cap in zip(flips, rows):
        floors = {n: h.inputs["spec"]["minReplicas"] for n, h in by_name(plan, HPA).items()}
        assert floors == {n: c for n, c in cap.replicas_b.items() if c > 0}
        (group,) = plan.by_type(NODE_GROUP)
        assert group.inputs["scalingConfig"] == {"desiredSize": cap.eks_nodes_b, "minSize": cap.eks_nodes_b,
                                                 "maxSize": max(cap.eks_max_nodes_b, 1)}
        assert plan.outputs["eksMaxNodesB"] == cap.eks_max_nodes_b
        autoscalers = [d for d in plan.by_type(DEPLOYMENT) if d.inputs["metadata"]["name"] == "cluster-autoscaler"]
        assert len(autoscalers) == (1 if cap.eks_nodes_b > 0 else 0)  # it runs on the nodes it scales
    for (before, after), (was, now) in zip(itertools.pairwise(flips), itertools.pairwise(rows)):
        diff = diff_plans(before, after)
        touched = {r.inputs["metadata"]["name"] for r in [*diff.added, *diff.removed] if r.type == HPA} | \
            {c.resource.inputs["metadata"]["name"] for c in diff.changed if c.resource.type == HPA}
        moved = {n for n in now.replicas_b if now.replicas_b[n] != was.replicas_b[n]}
        # every HPA that stays is applied (its posture row changes: components/autoscaling.py), and only its floor
        # moves with it, where the table moves it
        stays = {n for n in now.replicas_b if now.replicas_b[n] > 0 and was.replicas_b[n] > 0}
        assert touched == moved | stays
        for change in (c for c in diff.changed if c.resource.type == HPA):
            name = change.resource.inputs["metadata"]["name"]
            floor = {"spec.minReplicas"} if name in moved else set()
            assert {c.path for c in change.changes} == {"metadata.annotations.dr-platform/scaling-row", *floor}


def test_the_autoscaler_scales_only_this_node_group_through_pod_identity(primary_plan: Plan, dr_plans: dict) -> None:
    for plan in all_plans(primary_plan, dr_plans):
        region = "us-east-1" if plan.stack == "primary" else "us-west-2"
        cluster, nodegroup = f"platform-{region}", SETTINGS.compute.nodegroup_name
        (role,) = [r for r in plan.by_type("aws:iam/role:Role") if r.name.endswith("cluster-autoscaler-role")]
        assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [{
            "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"]}]
        assert not [a for a in plan.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                    if a.inputs.get("role") == role.inputs["name"]]  # no managed policy: only the inline one
        (policy,) = [p for p in plan.by_type("aws:iam/rolePolicy:RolePolicy")
                     if p.inputs.get("role") == role.inputs["name"]]
        assert json.loads(policy.inputs["policy"]) == json.loads(
            autoscaler_policy(region, "123456789012", cluster, nodegroup))
        read, describe, scale = json.loads(policy.inputs["policy"])["Statement"]
        assert all(action.split(":")[1].startswith(("Describe", "Get")) for action in read["Action"])
        assert scale["Action"] == ["autoscaling:SetDesiredCapacity",
                                   "autoscaling:TerminateInstanceInAutoScalingGroup"]
        assert scale["Condition"] == {"StringEquals": {"aws:ResourceTag/eks:cluster-name": cluster,
                                                       "aws:ResourceTag/eks:nodegroup-name": nodegroup}}
        assert describe["Resource"] == f"arn:aws:eks:{region}:123456789012:nodegroup/{cluster}/{nodegroup}/*"
        (association,) = [a for a in plan.by_type(ASSOCIATION) if a.inputs["serviceAccount"] == "cluster-autoscaler"]
        assert association.inputs["namespace"] == "kube-system"
        assert association.inputs["roleArn"] == f"arn:aws:iam::123456789012:role/{role.inputs['name']}"
        agent = [a for a in plan.by_type(ADDON) if a.inputs["addonName"] == "eks-pod-identity-agent"]
        assert {agent[0].urn, policy.urn} <= set(association.dependencies)


def test_the_autoscaler_pod_pulls_from_ecr_and_discovers_its_node_group(primary_plan: Plan, dr_plans: dict) -> None:
    for plan in (primary_plan, dr_plans[("warm-standby", False)], dr_plans[("pilot-light", True)]):
        region = "us-east-1" if plan.stack == "primary" else "us-west-2"
        (deployment,) = [d for d in plan.by_type(DEPLOYMENT) if d.inputs["metadata"]["name"] == "cluster-autoscaler"]
        assert deployment.inputs["metadata"]["namespace"] == "kube-system" and deployment.inputs["spec"]["replicas"] == 1
        pod = deployment.inputs["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["image"] == \
            f"123456789012.dkr.ecr.{region}.amazonaws.com/{SETTINGS.compute.cluster_autoscaler_image}"
        assert (f"--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,"
                f"k8s.io/cluster-autoscaler/platform-{region},eks:nodegroup-name={SETTINGS.compute.nodegroup_name}"
                in container["command"])
        assert pod["serviceAccountName"] == "cluster-autoscaler" and pod["securityContext"]["runAsNonRoot"] is True
        (association,) = [a for a in plan.by_type(ASSOCIATION) if a.inputs["serviceAccount"] == "cluster-autoscaler"]
        (group,) = plan.by_type(NODE_GROUP)
        assert {association.urn, group.urn} <= set(deployment.dependencies)


def test_hpas_have_metrics_server_wherever_they_exist(primary_plan: Plan, dr_plans: dict) -> None:
    for plan in all_plans(primary_plan, dr_plans):
        addons = {a.inputs["addonName"]: a for a in plan.by_type(ADDON)}
        hpas = plan.by_type(HPA)
        assert ("metrics-server" in addons) == bool(hpas), (plan.stack, plan.config.get("posture"))
        for hpa in hpas:
            assert addons["metrics-server"].urn in hpa.dependencies
        if hpas:  # a Deployment: like the EBS driver, ACTIVE only once it runs, so after the nodes
            (group,) = plan.by_type(NODE_GROUP)
            assert group.urn in addons["metrics-server"].dependencies


def test_the_private_network_reaches_the_auto_scaling_api(primary_plan: Plan, dr_plans: dict) -> None:
    """No egress: the autoscaler's SetDesiredCapacity goes through an interface endpoint, wherever nodes run."""
    for plan in all_plans(primary_plan, dr_plans):
        (group,) = plan.by_type(NODE_GROUP)
        services = {e.inputs["serviceName"].rsplit(".", 1)[-1] for e in plan.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
        if group.inputs["scalingConfig"]["desiredSize"] > 0:
            assert {"autoscaling", "ec2", "eks", "eks-auth"} <= services


def test_pulumi_up_from_pilot_light_to_warm_standby_creates_in_a_working_order(flips: list[Plan]) -> None:
    order = step_order(flips[0], flips[1])
    created = {s.resource.name: s for s in order.steps if s.action is Action.CREATE}
    updated = {s.resource.name: s for s in order.steps if s.action is Action.UPDATE}
    group = updated["compute-us-west-2-nodes"]
    metrics = created["compute-us-west-2-metrics-server"]
    autoscaler = created["compute-us-west-2-cluster-autoscaler"]
    assert order.happens_after(metrics, group) and order.happens_after(autoscaler, group)
    for service in ("payments", "auth", "users"):
        hpa, deployment = created[f"compute-us-west-2-{service}-hpa"], updated[f"compute-us-west-2-{service}"]
        assert order.happens_after(hpa, deployment) and order.happens_after(hpa, metrics)
        assert order.happens_after(created[f"compute-us-west-2-{service}-pdb"], deployment)
    for name in ("catalog", "search", "notifications"):  # still at 0: no HPA, no PDB
        assert f"compute-us-west-2-{name}-hpa" not in created


def test_failback_to_pilot_light_deletes_the_hpas_at_the_end_after_pinning_their_targets_at_0() -> None:
    before, after = plan_stack("dr", ["posture=pilot-light", "failover=true"]), plan_stack("dr", ["posture=pilot-light"])
    order = step_order(before, after)
    deletes = [s for s in order.steps if s.resource.type in (HPA, PDB)]
    assert deletes and all(s.action is Action.DELETE and s.phase == 2 for s in deletes)
    pinned = [s for s in order.steps if s.resource.type == DEPLOYMENT and s.action is Action.UPDATE
              and s.resource.inputs["spec"].get("replicas") == 0]
    assert len(pinned) == len(SERVICES)
    assert all(order.happens_after(d, p) for d in deletes for p in pinned)


def test_the_first_deploy_mirrors_the_autoscaler_from_the_kubernetes_registry() -> None:
    """Not Docker Hub: `docker pull autoscaling/cluster-autoscaler` would fetch nothing (or someone else's)."""
    steps = plan_stack("primary", ["compute.workloads=false"]).outputs["nextSteps"]
    image = SETTINGS.compute.cluster_autoscaler_image
    target = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{image}"
    assert f"docker pull --platform linux/amd64 registry.k8s.io/{image}" in steps
    assert f"docker tag registry.k8s.io/{image} {target} && docker push {target}" in steps


def test_typesense_loses_at_most_one_raft_peer_to_a_drain(primary_plan: Plan, dr_plans: dict) -> None:
    for plan in all_plans(primary_plan, dr_plans):
        (statefulset,) = plan.by_type("kubernetes:apps/v1:StatefulSet")
        budgets = [p for p in plan.by_type(PDB) if p.inputs["metadata"]["name"] == "typesense"]
        if statefulset.inputs["spec"]["replicas"] == 0:
            assert budgets == []
            continue
        (budget,) = budgets
        assert budget.inputs["spec"]["maxUnavailable"] == 1 and statefulset.urn in budget.dependencies
        assert budget.inputs["spec"]["selector"]["matchLabels"].items() <= \
            statefulset.inputs["spec"]["template"]["metadata"]["labels"].items()
