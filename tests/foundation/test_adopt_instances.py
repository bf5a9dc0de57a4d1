"""B's Aurora instances made outside Pulumi (the ARC plan's writer-capacity step, `drctl failover` in API mode) carry
the program's own identifiers, so the `pulumi up --stack dr` that follows such a failover would fail on AWS's
DBInstanceAlreadyExists. The program finds them in B's cluster and declares them with the import option: the engine
adopts them (an identifier already in the state is an ordinary resource again), and creates only the rest."""
from __future__ import annotations

from ops.actions.aurora import missing_instance_ids
from ops.drctl.planning.mockplan import plan_stack
from ops.drctl.planning.steps import Action, step_order

INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
CLUSTER_B = "dr-core-us-west-2"


def _instances_b(plan) -> dict[str, str | None]:
    return {r.inputs["identifier"]: r.importId for r in plan.by_type(INSTANCE) if r.region == "us-west-2"}


def test_instances_the_plan_created_in_b_are_adopted_not_created_again() -> None:
    failed_over = ["posture=pilot-light", "failover=true"]
    made_by_arc = {CLUSTER_B: [f"{CLUSTER_B}-0"]}  # the writer-capacity step got one of two so far
    plan = plan_stack("dr", failed_over, existing_db_instances=made_by_arc)
    assert _instances_b(plan) == {f"{CLUSTER_B}-0": f"{CLUSTER_B}-0", f"{CLUSTER_B}-1": None}
    order = step_order(plan_stack("dr", ["posture=pilot-light"]), plan)
    actions = {s.resource.inputs["identifier"]: s.action for s in order.steps if s.resource.type == INSTANCE}
    assert actions == {f"{CLUSTER_B}-0": Action.IMPORT, f"{CLUSTER_B}-1": Action.CREATE}
    # nothing outside Pulumi: plain creates, and the plan is what it always was (no importId key at all)
    fresh = plan_stack("dr", failed_over)
    assert set(_instances_b(fresh).values()) == {None}
    assert all("importId" not in r for r in fresh.to_json()["resources"])


def test_the_out_of_band_steps_name_instances_as_the_program_does() -> None:
    """What the ARC step and `drctl failover` create (ops.actions.aurora.scale_instances, asked against moto for a
    cluster with no instance yet) is what the program declares for the failover row, so adoption finds them all."""
    import boto3
    from moto import mock_aws

    plan = plan_stack("dr", ["posture=pilot-light", "failover=true"])
    with mock_aws():
        rds = boto3.client("rds", region_name="us-west-2", aws_access_key_id="testing",
                           aws_secret_access_key="testing")
        assert missing_instance_ids(rds, CLUSTER_B, 2) == sorted(_instances_b(plan))


def test_steady_state_asks_nothing_of_the_account() -> None:
    """Only a failed-over plan looks for instances made outside Pulumi: a first deploy (nothing in B, its provider
    not created yet) and every posture flip run no invoke for it."""
    made = {CLUSTER_B: [f"{CLUSTER_B}-0"]}
    steady = plan_stack("dr", ["posture=warm-standby"], existing_db_instances=made)
    assert set(_instances_b(steady).values()) == {None}
