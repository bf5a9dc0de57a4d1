"""Region B's standing cost, counted from planned resources at list prices (pure function, then on the plans)."""
from __future__ import annotations

from typing import Any

import pytest

from ops.drctl.planning.assess import Assumptions, assess
from ops.drctl.planning.costs import HOURS_PER_MONTH, Prices, _gib, standing_costs
from ops.drctl.planning.mockplan import PlannedResource

B = "us-west-2"


def resource(type_: str, region: str | None = B, **inputs: Any) -> PlannedResource:
    return PlannedResource(urn=f"urn:{type_}:{len(inputs)}", type=type_, name="r", region=region, parent=None,
                           protect=False, retainOnDelete=False, ignoreChanges=[], provider=None, dependencies=[],
                           inputs=inputs)


def lines_by_item(*args: Any, **kwargs: Any) -> dict[str, tuple[float, float]]:
    return {line.item: (line.quantity, line.usd_month) for line in standing_costs(*args, **kwargs)}


def test_each_priced_item_counts_its_billed_units() -> None:
    dr_stack = [
        resource("aws:eks/cluster:Cluster"),
        resource("aws:ec2/vpcEndpoint:VpcEndpoint", vpcEndpointType="Interface", subnetIds=["a", "b", "c"]),
        resource("aws:ec2/vpcEndpoint:VpcEndpoint", vpcEndpointType="Gateway", routeTableIds=["rt"]),  # free
        resource("aws:route53/healthCheck:HealthCheck", region="global", type="HTTPS", requestInterval=10,
                 measureLatency=True),                                  # 3 optional features
        resource("aws:route53/healthCheck:HealthCheck", region="global", type="HTTP", requestInterval=30),
        resource("aws:cloudwatch/metricAlarm:MetricAlarm", period=60),
        resource("aws:cloudwatch/metricAlarm:MetricAlarm", period=10),  # high resolution
        resource("kubernetes:apps/v1:StatefulSet", region=None, spec={"replicas": 2, "volumeClaimTemplates": [
            {"spec": {"resources": {"requests": {"storage": "20Gi"}}}}]}),
    ]
    primary_stack = [
        resource("aws:kms/key:Key", region="us-east-1"),                # A's key: not billed in B
        resource("aws:kms/replicaKey:ReplicaKey"),                     # its replica in B is
        resource("aws:secretsmanager/secret:Secret", region="us-east-1", replicas=[{"region": B}]),
        resource("aws:eks/cluster:Cluster", region="us-east-1"),
        resource("kubernetes:apps/v1:StatefulSet", region=None, spec={"replicas": 3, "volumeClaimTemplates": [
            {"spec": {"resources": {"requests": {"storage": "20Gi"}}}}]}),  # A's cluster
    ]
    lines = lines_by_item(B, dr_stack, primary_stack)
    assert lines == {
        "EKS control plane": (1, 0.10 * HOURS_PER_MONTH),
        "VPC interface endpoints": (3, 3 * 0.01 * HOURS_PER_MONTH),
        "Route53 health checks": (2, (0.50 + 3 * 1.00) + 0.50),
        "CloudWatch alarms": (2, 0.10 + 0.30),
        "KMS keys": (1, 1.00),
        "Secrets Manager replicas": (1, 0.40),
        "Typesense volumes (gp3)": (40, 40 * 0.08),
    }


def test_prices_are_overridable_and_absent_items_are_not_listed() -> None:
    lines = lines_by_item(B, [resource("aws:eks/cluster:Cluster")], [], prices=Prices(eks_cluster_hour=0.60))
    assert lines == {"EKS control plane": (1, round(0.60 * HOURS_PER_MONTH, 2))}  # extended support


@pytest.mark.parametrize(("quantity", "gib"), [("20Gi", 20), ("512Mi", 0.5), ("1Ti", 1024), ("100G", 1e11 / 2**30)])
def test_storage_quantities(quantity: str, gib: float) -> None:
    assert _gib(quantity) == pytest.approx(gib)


def test_bad_storage_quantity_is_named() -> None:
    with pytest.raises(ValueError, match="'20 gigs'"):
        _gib("20 gigs")


def test_pilot_light_is_not_free_and_warmer_postures_add_endpoints() -> None:
    _, rows = assess("dr")
    by = {r.posture: r for r in rows}
    pilot = {line.item: line for line in by["pilot-light"].standing}
    assert by["pilot-light"].compute_usd_month == 0
    assert pilot["EKS control plane"].quantity == 1       # the control plane is kept in pilot light
    # nodes' endpoints only where nodes run; Session Manager's three, in one AZ, for the tunnel to the API
    assert pilot["VPC interface endpoints"].quantity == 3
    # planned by the primary stack, billed in B: the replicas of the Aurora master secret, the SES credentials and
    # the cache's AUTH token
    assert pilot["Secrets Manager replicas"].quantity == 3
    assert by["pilot-light"].usd_month == by["pilot-light"].standing_usd_month > 0

    warm = {line.item: line for line in by["warm-standby"].standing}
    assert warm["VPC interface endpoints"].quantity > pilot["VPC interface endpoints"].quantity
    assert by["warm-standby"].usd_month == round(by["warm-standby"].compute_usd_month
                                                 + by["warm-standby"].standing_usd_month, 2)
    assert by["pilot-light"].usd_month < by["warm-standby"].usd_month < by["active-active"].usd_month

    _, cheaper = assess("dr", assumptions=Assumptions(prices=Prices(eks_cluster_hour=0)))
    assert {r.posture: r for r in cheaper}["pilot-light"].standing_usd_month == \
        round(by["pilot-light"].standing_usd_month - 0.10 * HOURS_PER_MONTH, 2)


def test_the_api_jump_host_is_priced_with_its_root_volume_and_an_unknown_type_is_named() -> None:
    jump = resource("aws:ec2/instance:Instance", instanceType="t4g.nano", rootBlockDevice={"volumeSize": 8})
    assert lines_by_item(B, [jump], []) == {"EC2 instances (API jump host)": (1, round(0.0042 * HOURS_PER_MONTH, 2)),
                                            "EC2 root volumes (gp3)": (8, 8 * 0.08)}
    with pytest.raises(ValueError, match="'m7g.large'"):
        standing_costs(B, [resource("aws:ec2/instance:Instance", instanceType="m7g.large")], [])


def test_pilot_light_pays_for_its_tunnel_in_one_az() -> None:
    _, rows = assess("dr")
    pilot = {line.item: line for line in {r.posture: r for r in rows}["pilot-light"].standing}
    assert pilot["EC2 instances (API jump host)"].quantity == 1
    assert pilot["VPC interface endpoints"].usd_month == round(3 * 0.01 * HOURS_PER_MONTH, 2)
    _, private = assess("dr", overrides=["compute.apiAccess=private"])  # from inside the VPC: no tunnel to pay
    pilot_private = {line.item for line in {r.posture: r for r in private}["pilot-light"].standing}
    assert "EC2 instances (API jump host)" not in pilot_private and "VPC interface endpoints" not in pilot_private


def test_a_canary_is_priced_per_run_from_its_schedule(dr_plan) -> None:
    every_minute = resource("aws:synthetics/canary:Canary", schedule={"expression": "rate(1 minute)"})
    every_five = resource("aws:synthetics/canary:Canary", schedule={"expression": "rate(5 minutes)"})
    runs = HOURS_PER_MONTH * 60
    assert lines_by_item(B, [every_minute, every_five], []) == {
        "Synthetics canary runs": (runs + runs / 5, round((runs + runs / 5) * 0.0012, 2))}
    with pytest.raises(ValueError, match="canary schedule"):
        standing_costs(B, [resource("aws:synthetics/canary:Canary", schedule={"expression": "cron(0 * * * ? *)"})],
                       [])
    planned = {line.item: line for line in standing_costs(B, dr_plan.resources, [])}
    assert planned["Synthetics canary runs"].quantity == runs  # the dr stack's one canary, every minute


def test_the_email_parts_bill_their_secret_replica_and_events_key_and_nothing_else_at_rest() -> None:
    """RB-N-07's queue, DLQ, parameters, identity and configuration set cost nothing standing in B (per use only);
    the credentials' replica and the events topic's key do, and are counted."""
    from ops.drctl.planning.costs import FREE_AT_REST
    from ops.drctl.planning.mockplan import plan_stack

    primary, dr = plan_stack("primary"), plan_stack("dr")
    email_b = [r for r in dr.resources if "email" in r.urn or "failed-notifications" in r.urn]
    assert {r.type for r in email_b if r.type.startswith("aws:")} - {"aws:route53/record:Record"} <= \
        {*FREE_AT_REST, "aws:kms/key:Key"}
    lines = lines_by_item(B, email_b, [r for r in primary.resources if "ses-credentials" in r.urn])
    assert lines == {"KMS keys": (1, 1.00), "Secrets Manager replicas": (1, 0.40)}


def test_the_arc_region_switch_plan_is_billed_per_plan_per_month_in_every_posture() -> None:
    """$70 per plan per month (ARC pricing, Region switch), whatever the posture; its Lambdas bill per run only."""
    assert lines_by_item(B, [resource("aws:arcregionswitch/plan:Plan"), resource("aws:lambda/function:Function")],
                         []) == {"ARC Region switch plans": (1, 70.0)}
    for failover in (False, True):
        _, rows = assess("dr", failover=failover)
        for row in rows:
            assert {(l.item, l.quantity, l.usd_month) for l in row.standing} >= {("ARC Region switch plans", 1, 70.0)}
    assert lines_by_item(B, [resource("aws:arcregionswitch/plan:Plan")], [],
                         Prices(region_switch_plan_month=0))["ARC Region switch plans"] == (1, 0.0)
