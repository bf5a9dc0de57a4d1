"""The engine's step order, offline: what `pulumi up --stack dr` runs first, and what waits for what, on every
failover and failback (planned and unplanned, from each posture). The assertions use `happens_after` (one step
must be finished before the other starts), not the printed order."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ops.core.posture import Posture
from ops.drctl.cli import app
from ops.drctl.planning.mockplan import Plan, PlannedResource, plan_stack
from ops.drctl.planning.steps import Action, Step, StepOrder, step_order

WRITER = "pulumi-python:dynamic/aurora:WriterRegion"
RECORD = "aws:route53/record:Record"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")
REGION_A = "us-east-1"
POSTURES = [p.value for p in Posture]


def dr(posture: str, failover: bool, mode: str) -> Plan:
    return plan_stack("dr", [f"posture={posture}", f"failover={str(failover).lower()}", f"failoverMode={mode}"])


def the_writer_step(order: StepOrder) -> Step:
    (step,) = [s for s in order.steps if s.resource.type == WRITER]
    assert step.action is Action.UPDATE  # never a create/delete pair: that would be a failback and a re-promotion
    return step


def dns_steps(order: StepOrder) -> list[Step]:
    records = [s for s in order.steps if s.resource.type == RECORD]
    assert {s.resource.name for s in records} >= {"api-dns-primary"}
    return records


HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"


def is_service(r: PlannedResource) -> bool:
    """A service's Deployment or its HPA (the cluster autoscaler's Deployment, in kube-system, is neither)."""
    return r.type in (WORKLOADS[0], HPA) and r.inputs["metadata"]["namespace"] == "platform"


def floors(plan: Plan) -> dict[str, int]:
    """Each service's count: its HPA's minReplicas where it has one (it owns the Deployment's replicas), else the
    Deployment's declared replicas."""
    declared = {d.inputs["metadata"]["name"]: d.inputs["spec"].get("replicas")
                for d in plan.by_type(WORKLOADS[0]) if is_service(d)}
    return {**declared, **{h.inputs["spec"]["scaleTargetRef"]["name"]: h.inputs["spec"]["minReplicas"]
                           for h in plan.by_type(HPA)}}


def capacity_of(r: PlannedResource, plan: Plan) -> int | None:
    if r.type == NODE_GROUP:
        return r.inputs["scalingConfig"]["desiredSize"]
    if r.type == WORKLOADS[1]:
        return r.inputs["spec"]["replicas"]
    if is_service(r):
        name = r.inputs["spec"]["scaleTargetRef"]["name"] if r.type == HPA else r.inputs["metadata"]["name"]
        return floors(plan)[name]
    return None


def scale_downs(order: StepOrder, before: Plan, after: Plan) -> list[Step]:
    """B's capacity shrinking: instances deleted; the node group, Typesense and the services (a Deployment set to 0,
    an HPA's floor lowered) at fewer than before."""
    old = {r.urn: r for r in before.resources}
    found = [s for s in order.steps if s.resource.type == INSTANCE and s.action is Action.DELETE]
    for s in order.steps:
        now = capacity_of(s.resource, after)
        if now is not None and s.action is Action.UPDATE:
            was = capacity_of(old[s.resource.urn], before)
            if was is not None and now < was:
                found.append(s)
    return found


def assert_nothing_in_a(order: StepOrder) -> None:
    touched = [(s.resource.type, s.resource.name) for s in order.steps if s.resource.region == REGION_A]
    assert touched == []


@pytest.mark.parametrize("mode", ["planned", "unplanned"])
@pytest.mark.parametrize("posture", POSTURES)
def test_failover_moves_dns_only_after_the_writer_and_the_writer_after_b_has_instances(posture: str,
                                                                                       mode: str) -> None:
    """What waits for what, as the ARC plan and `drctl failover` order it: a headless B (pilot light) is promoted
    once its new instances exist and takes traffic once its services run; a B that already has an instance and
    serves (warm standby, active-active) is promoted at once and takes traffic as soon as it writes, while its new
    instances (~10 min each on AWS), nodes and Deployments grow under it."""
    before, after = dr(posture, False, mode), dr(posture, True, mode)
    order = step_order(before, after)
    writer = the_writer_step(order)
    assert writer.resource.inputs["targetRegion"] == "us-west-2" and writer.resource.inputs["mode"] == mode
    warm = posture != "pilot-light"
    created = [s for s in order.steps if s.resource.type == INSTANCE and s.action is Action.CREATE]
    assert created or posture == "active-active"  # active-active's B has production already
    for instance in created:  # a headless cluster cannot write; a warm one promotes the instance it has, and
        # gets its new readers once it writes (nothing changes the cluster under its role change)
        assert order.happens_after(writer, instance) is not warm, instance.resource.name
        assert order.happens_after(instance, writer) is warm, instance.resource.name
    workloads = [s for s in order.steps if is_service(s.resource)]  # Deployments, and HPAs raising their floor
    growth = [s for s in order.steps if s.resource.type == NODE_GROUP]
    if posture != "active-active":  # active-active already runs B at production: nothing to scale
        assert {s.resource.type for s in workloads} == {WORKLOADS[0], HPA} and growth
    for record in dns_steps(order):
        assert order.happens_after(record, writer), record.resource.name
        for step in [*workloads, *growth, *created]:  # a cold B's traffic arrives where its services run
            assert order.happens_after(record, step) is not warm, (record.resource.name, step.resource.name)
    for step in growth:  # B grows alongside the promotion rather than after it
        assert not order.happens_after(step, writer), step.resource.name
    assert_nothing_in_a(order)


def test_a_posture_flip_and_failover_in_one_update_still_promote_an_instance_that_exists() -> None:
    """Pilot light to warm standby with failover at once: the program cannot see that B has no instance yet, and it
    needs none of its knowledge: the writer waits for instance 0 (created in this very update), which a warm B
    would already have."""
    order = step_order(dr("pilot-light", False, "planned"), dr("warm-standby", True, "planned"))
    writer = the_writer_step(order)
    (first,) = [s for s in order.steps if s.resource.type == INSTANCE and s.resource.name.endswith("-0")]
    assert first.action is Action.CREATE and order.happens_after(writer, first)


@pytest.mark.parametrize("mode", ["planned", "unplanned"])
@pytest.mark.parametrize("posture", POSTURES)
def test_failback_scales_b_down_only_after_the_writer_is_back_in_a(posture: str, mode: str) -> None:
    before, after = dr(posture, True, mode), dr(posture, False, mode)  # the operator flips only `failover`
    order = step_order(before, after)
    writer = the_writer_step(order)
    assert writer.resource.inputs["targetRegion"] == REGION_A
    assert writer.resource.inputs["mode"] == "planned"  # a switchover back: RPO 0, whatever the failover was
    records = dns_steps(order)
    for record in records:
        assert order.happens_after(record, writer), record.resource.name
    shrinking = scale_downs(order, before, after)
    if posture != "active-active":  # active-active keeps B at production
        assert {s.resource.type for s in shrinking} >= {NODE_GROUP, INSTANCE, WORKLOADS[0]}
    if posture == "warm-standby":  # the critical services stay up, at a lower floor
        assert HPA in {s.resource.type for s in shrinking}
    for step in shrinking:
        assert order.happens_after(step, writer), step.resource.name
        for record in records:  # and only once DNS points at A again
            assert order.happens_after(step, record), (step.resource.name, record.resource.name)
    assert_nothing_in_a(order)


def test_a_posture_flip_while_a_writes_leaves_the_writer_alone() -> None:
    order = step_order(dr("pilot-light", False, "planned"), dr("warm-standby", False, "planned"))
    assert [s for s in order.steps if s.resource.type == RECORD] == []
    # The writer learns of B's new cache member, and only that: its targets stay A's cluster and A's cache group,
    # which already write, so its update calls no role change (tests/foundation/test_cache_writer.py).
    (writer,) = [s for s in order.steps if s.resource.type == WRITER]
    before = dr("pilot-light", False, "planned").one(WRITER, "aurora-writer").inputs
    changed = {key for key, value in writer.resource.inputs.items() if before.get(key) != value}
    assert changed == {"cacheGlobalGroupId", "cacheTargetGroupId"}
    assert writer.resource.inputs["cacheTargetGroupId"] == "dr-cache-us-east-1"


# The engine's rules, on a small made-up plan.
def resource(name: str, deps: tuple[str, ...] = (), value: object = 1, **extra: object) -> PlannedResource:
    fields = dict(urn=f"urn:{name}", type="test:index:Thing", name=name, region="us-west-2", parent=None,
                  protect=False, retainOnDelete=False, ignoreChanges=[], provider=None,
                  dependencies=[f"urn:{d}" for d in deps], inputs={"value": value})
    fields.update(extra)
    return PlannedResource(**fields)  # type: ignore[arg-type]


def plan(*resources: PlannedResource) -> Plan:
    return Plan(stack="dr", config={}, resources=list(resources))


def actions(order: StepOrder) -> list[tuple[str, str, int]]:
    return [(s.action.value, s.resource.name, s.phase) for s in order.steps]


def test_creates_and_updates_follow_dependencies_and_deletes_come_last_in_reverse() -> None:
    before = plan(resource("base"), resource("old-leaf", ("old-mid",)), resource("old-mid", ("base",)),
                  resource("user", ("base",)))
    after = plan(resource("base", value=2), resource("user", ("base",), value=2), resource("new", ("user",)))
    order = step_order(before, after)
    assert actions(order) == [("update", "base", 1), ("update", "user", 1), ("create", "new", 1),
                              ("delete", "old-leaf", 2), ("delete", "old-mid", 2)]
    base, user, new, leaf, mid = order.steps
    assert order.happens_after(new, base) and user.after == [base.index] and new.after == [user.index]
    assert order.happens_after(mid, leaf) and mid.after == [leaf.index]  # dependents go first
    assert order.happens_after(leaf, new) and not order.happens_after(base, user)


def test_an_unchanged_resource_in_between_still_orders_its_dependents() -> None:
    before = plan(resource("a"), resource("b", ("a",)), resource("c", ("b",)))
    after = plan(resource("a", value=2), resource("b", ("a",)), resource("c", ("b",), value=2))
    a, c = step_order(before, after).steps
    assert c.after == [a.index]


def test_replacements_create_first_unless_marked_delete_before_replace() -> None:
    def cluster(identifier: str, **extra: object) -> PlannedResource:
        return resource("db", type="aws:rds/cluster:Cluster", inputs={"clusterIdentifier": identifier}, **extra)

    order = step_order(plan(cluster("one")), plan(cluster("two")))
    assert actions(order) == [("replace", "db", 1), ("delete-replaced", "db", 2)]
    order = step_order(plan(cluster("one")), plan(cluster("two", deleteBeforeReplace=True)))
    assert actions(order) == [("delete-replaced", "db", 1), ("replace", "db", 1)]
    assert order.happens_after(order.steps[1], order.steps[0])
    # a change the provider makes in place is an update
    node_group = {"type": "aws:eks/nodeGroup:NodeGroup"}
    order = step_order(plan(resource("nodes", inputs={"scalingConfig": {"desiredSize": 0}}, **node_group)),
                       plan(resource("nodes", inputs={"scalingConfig": {"desiredSize": 2}}, **node_group)))
    assert actions(order) == [("update", "nodes", 1)]


def test_cli_prints_the_steps_of_a_flip() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["plan", "dr", "--diff", "failover=true", "--steps"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    writer = next(line for line in lines if "aurora-writer" in line)
    dns = next(line for line in lines if "api-dns-primary" in line)
    assert writer.split()[1:3] == ["~", "update"]
    assert f"after {writer.split()[0]}" in dns or f", {writer.split()[0]}" in dns
    assert "then the deletes, in reverse dependency order:" in result.stdout

    as_json = runner.invoke(app, ["plan", "dr", "--diff", "failover=true", "--steps", "--json"])
    assert as_json.exit_code == 0, as_json.output
    steps = json.loads(as_json.stdout)["steps"]
    (writer_step,) = [s for s in steps if s["type"] == WRITER]
    (primary,) = [s for s in steps if s["name"] == "api-dns-primary"]
    assert writer_step["index"] in primary["after"]


def test_cli_refuses_steps_without_a_flip() -> None:
    result = CliRunner().invoke(app, ["plan", "dr", "--steps"])
    assert result.exit_code == 2
    assert "--steps needs --diff" in result.output
