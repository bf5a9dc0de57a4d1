"""`drctl cutback` on the distribution the primary stack's plan declares, created in moto from the planned inputs,
reading distribution and critical paths from the plan's outputs (--outputs FILE) as a real run reads the stack's."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from ops.actions.aws import client
from ops.drctl.planning.mockplan import Plan, plan_stack
from tests.harness.cdn_plan import (
    create_planned_distribution,
    distribution_config,
    planned_distribution,
    write_outputs,
)
from tests.harness.moto_extensions.cloudfront_origin_groups import origin_groups
from tests.runbooks_failover.conftest import ENDPOINT_A, ENDPOINT_B, World
from tests.runbooks_failover.test_cloudfront import make_distribution
from tests.runbooks_failover.test_cutback_smoke import failed_over_dns
from tests.runbooks_failover.test_failover import drctl, journal


@pytest.fixture(scope="module")
def primary_plan() -> Plan:
    return plan_stack("primary")


def invalidated(distribution_id: str) -> list[str]:
    cloudfront = client("cloudfront", "us-east-1")
    items = cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"].get("Items", [])
    return sorted(path for item in items for path in cloudfront.get_invalidation(
        DistributionId=distribution_id, Id=item["Id"])["Invalidation"]["InvalidationBatch"]["Paths"]["Items"])


def test_the_planned_distribution_is_created_with_both_origin_groups(world: World, primary_plan: Plan) -> None:
    cloudfront = client("cloudfront", "us-east-1")
    distribution = create_planned_distribution(cloudfront, primary_plan)
    config = cloudfront.get_distribution_config(Id=distribution)["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]["Items"]}
    assert origins["api-a"]["DomainName"] == ENDPOINT_A and origins["api-b"]["DomainName"] == ENDPOINT_B
    assert origins["api-a"]["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert {"media-a", "media-b"} <= set(origins)
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "api"
    failover = [500, 502, 503, 504]
    assert origin_groups(distribution) == [{"Id": "api", "Members": ["api-a", "api-b"], "StatusCodes": failover},
                                           {"Id": "media", "Members": ["media-a", "media-b"], "StatusCodes": failover}]


def test_an_origin_group_behaviour_that_allows_writes_is_refused_as_aws_does(world: World,
                                                                           primary_plan: Plan) -> None:
    config = distribution_config(planned_distribution(primary_plan), "writes")
    config["DefaultCacheBehavior"]["AllowedMethods"] = {
        "Quantity": 7, "Items": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
        "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}}
    with pytest.raises(ClientError) as refused:
        client("cloudfront", "us-east-1").create_distribution(DistributionConfig=config)
    assert refused.value.response["Error"]["Code"] == "InvalidArgument"


def test_cutback_invalidates_the_planned_critical_paths_read_from_the_outputs(world: World, tmp_path: Path,
                                                                             primary_plan: Plan) -> None:
    failed_over_dns(world)
    distribution = create_planned_distribution(client("cloudfront", "us-east-1"), primary_plan)
    outputs = write_outputs(primary_plan, tmp_path / "primary.json", cdnDistributionId=distribution)
    code, output = drctl(tmp_path, "cutback", "--outputs", str(outputs), "--healthy-for-seconds", "0.2",
                         "--execute", "--yes", "--json")
    assert code == 0, output
    run = journal(tmp_path, output)
    assert run.params["distribution_id"] == distribution
    critical = primary_plan.outputs["cdnCriticalPaths"]
    assert critical and run.params["paths"] == critical
    assert invalidated(distribution) == sorted(critical)
    assert world.records()["primary"]["ResourceRecords"][0]["Value"] == ENDPOINT_A


def test_explicit_options_win_over_the_outputs(world: World, tmp_path: Path, primary_plan: Plan) -> None:
    failed_over_dns(world)
    planned = create_planned_distribution(client("cloudfront", "us-east-1"), primary_plan)
    other = make_distribution(client("cloudfront", "us-east-1"))
    outputs = write_outputs(primary_plan, tmp_path / "primary.json", cdnDistributionId=planned)
    code, output = drctl(tmp_path, "cutback", "--outputs", str(outputs), "--distribution", other,
                         "--healthy-for-seconds", "0.1", "--execute", "--yes", "--json")
    assert code == 0, output
    assert invalidated(other) == sorted(primary_plan.outputs["cdnCriticalPaths"])  # paths still from the outputs
    assert invalidated(planned) == []


def test_a_missing_output_names_the_option_and_the_output(world: World, tmp_path: Path,
                                                          primary_plan: Plan) -> None:
    outputs = tmp_path / "primary.json"
    outputs.write_text(json.dumps({k: v for k, v in primary_plan.outputs.items() if k != "cdnDistributionId"}))
    code, output = drctl(tmp_path, "cutback", "--outputs", str(outputs), "--execute", "--yes")
    flat = " ".join(output.split())
    assert code == 2 and "--distribution" in flat and "'cdnDistributionId'" in flat and str(outputs) in flat, output
    code, output = drctl(tmp_path, "cutback", "--distribution", "E1")  # no outputs, no Pulumi CLI: --paths
    flat = " ".join(output.split())
    assert code == 2 and "--paths" in flat and "'cdnCriticalPaths'" in flat, output
