"""The DR matrix declared to AWS Resilience Hub (stacks/resilience.py): a policy per tier with the config's
objectives, and per tier an app of what serves it in both regions, so AWS assesses the numbers CI checks."""
from __future__ import annotations

import json

import pytest

from ops.drctl.planning.costs import Prices, standing_costs
from ops.drctl.planning.mockplan import Plan, plan_stack
from stacks.config_files import load_stack_settings
from stacks.settings import Tier

POLICY = "aws:resiliencehub/resiliencyPolicy:ResiliencyPolicy"
APP = "aws:cloudcontrol/resource:Resource"


def policies(plan: Plan) -> dict[str, dict]:
    return {r.inputs["name"].removeprefix("dr-platform-"): r.inputs for r in plan.by_type(POLICY)}


def apps(plan: Plan) -> dict[str, dict]:
    found = {}
    for r in plan.by_type(APP):
        assert r.inputs["typeName"] == "AWS::ResilienceHub::App" and r.region == "us-west-2"
        state = json.loads(r.inputs["desiredState"])
        state["AppTemplateBody"] = json.loads(state["AppTemplateBody"])
        found[state["Name"].removeprefix("dr-platform-")] = state
    return found


def test_each_tiers_policy_is_the_configs_objective_for_every_disruption(dr_plans: dict) -> None:
    objectives = load_stack_settings("dr").objectives
    for plan in dr_plans.values():
        found = policies(plan)
        assert set(found) == {t.value for t in Tier}
        for tier in Tier:
            objective = objectives.for_tier(tier)
            assert found[tier.value]["tier"] == {"critical": "Critical", "standard": "Important"}[tier.value]
            assert found[tier.value]["policy"] == {
                disruption: {"rto": f"{objective.rto_minutes}m", "rpo": f"{objective.rpo_minutes}m"}
                for disruption in ("az", "hardware", "software", "region")}


def test_a_changed_objective_changes_the_policy() -> None:
    found = policies(plan_stack("dr", ["objectives.critical.rtoMinutes=45", "objectives.critical.rpoMinutes=4",
                                       "objectives.standard.rtoMinutes=240", "objectives.standard.rpoMinutes=30"]))
    assert found["critical"]["policy"]["region"] == {"rto": "45m", "rpo": "4m"}
    assert found["standard"]["policy"]["az"] == {"rto": "240m", "rpo": "30m"}


def test_each_app_maps_its_tiers_stores_in_both_regions_and_its_services(dr_plan: Plan) -> None:
    settings = load_stack_settings("dr")
    a, b = settings.primary_region, settings.dr_region
    found = apps(dr_plan)
    policy_arns = {r.inputs["name"]: f"arn:aws:resiliencehub:{b}:123456789012:{r.inputs['name']}"
                   for r in dr_plan.by_type(POLICY)}
    for tier in Tier:
        app = found[tier.value]
        assert app["ResiliencyPolicyArn"] == policy_arns[f"dr-platform-{tier.value}"]
        assert app["PermissionModel"]["Type"] == "RoleBased" and app["AppAssessmentSchedule"] == "Daily"
        template = app["AppTemplateBody"]
        mapped = {m["ResourceName"]: m["PhysicalResourceId"] for m in app["ResourceMappings"]
                  if m["MappingType"] == "Resource"}
        named = {r["name"]: r for r in template["resources"]}
        # every template resource is mapped: by ARN, or through its cluster/namespace's EKS mapping
        eks_sources = {m["EksSourceName"] for m in app["ResourceMappings"] if m["MappingType"] == "EKS"}
        for name, resource in named.items():
            assert name in mapped or resource["logicalResourceId"].get("eksSourceName") in eks_sources, name
        assert {mapped[f"aurora-{region}"]["AwsRegion"] for region in (a, b)} == {a, b}
        assert mapped["aurora-global"]["Identifier"].startswith("arn:aws:rds::123456789012:global-cluster:")
        for spec in (s for s in settings.tables if s.tier is tier):
            for region in (a, b):
                assert mapped[f"table-{spec.name}-{region}"] == {
                    "Type": "Arn", "Identifier": f"arn:aws:dynamodb:{region}:123456789012:table/{spec.name}",
                    "AwsRegion": region, "AwsAccountId": "123456789012"}
        for spec in settings.buckets:
            assert (f"bucket-{spec.name}-{b}" in mapped) is (spec.tier is tier)
        services = {s.name for s in settings.compute.services if s.tier is tier}
        deployed = {r["logicalResourceId"]["identifier"] for r in template["resources"]
                    if r["type"] == "AWS::EKS::Deployment"}
        assert deployed == services
        assert eks_sources == {f"platform-{a}/platform", f"platform-{b}/platform"}
        assert template["additionalInfo"]["failover-regions"] == [
            json.dumps([{"region": b, "accounts": [{"id": "123456789012"}]}])]


@pytest.mark.parametrize("posture", ["pilot-light", "warm-standby"])
def test_resilience_hub_is_a_standing_cost_in_b(dr_plans: dict, primary_plan: Plan, posture: str) -> None:
    plan = dr_plans[(posture, False)]
    lines = {line.item: line for line in standing_costs("us-west-2", plan.resources, primary_plan.resources)}
    assert (lines["Resilience Hub apps"].quantity, lines["Resilience Hub apps"].usd_month) == (
        len(Tier), len(Tier) * Prices().resilience_hub_app_month)
