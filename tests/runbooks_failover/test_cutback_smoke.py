"""RB-N-08 cutback (CDN invalidation, DNS back to A only after A is healthy long enough), `drctl smoke`, and EKS
node group scaling — against moto's server and real HTTP servers on 127.0.0.1."""
from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ops.actions import route53
from ops.actions.aurora import promote_secondary
from ops.actions.aws import client
from ops.actions.eks import NodegroupTarget, scale_nodegroup
from ops.drctl.commands.failover import FAILOVER_CHANGE_SET, change_sets
from ops.drctl.commands.options import load_settings
from ops.drctl.cli import app
from tests.runbooks_failover.conftest import DR, ENDPOINT_A, ENDPOINT_B, GLOBAL_ID, PRIMARY, Endpoint, World
from tests.runbooks_failover.test_cloudfront import make_distribution
from tests.runbooks_failover.test_failover import drctl, journal


def failed_over_dns(world: World) -> None:
    """Route53 as a failover left it: the API record points at B."""
    batch = change_sets(load_settings("dr", None))[FAILOVER_CHANGE_SET]
    resolved = route53.resolve(batch, {ENDPOINT_A: world.health_a, ENDPOINT_B: world.health_b})
    route53.apply_change_batch(client("route53", PRIMARY), world.zone_id, resolved, timeout_s=10, poll_s=0.05)
    assert world.records()["primary"]["ResourceRecords"][0]["Value"] == ENDPOINT_B


def test_cutback_invalidates_then_moves_dns_back_once_a_is_healthy(world: World, tmp_path: Path) -> None:
    failed_over_dns(world)
    distribution = make_distribution(client("cloudfront", "us-east-1"))
    code, output = drctl(tmp_path, "cutback", "--distribution", distribution, "--paths", "/index.html",
                         "--paths", "/api/v1/*", "--healthy-for-seconds", "0.3", "--execute", "--yes", "--json")
    assert code == 0, output
    run = journal(tmp_path, output)
    assert run.step("wait-a-healthy").result["healthy_for_s"] >= 0.3
    ids = run.step("invalidate").result["invalidations"]
    listed = client("cloudfront", "us-east-1").list_invalidations(DistributionId=distribution)
    assert sorted(i["Id"] for i in listed["InvalidationList"]["Items"]) == sorted(ids) and len(ids) == 2
    primary = world.records()["primary"]
    assert (primary["ResourceRecords"][0]["Value"], primary["HealthCheckId"]) == (ENDPOINT_A, world.health_a)


class FlappingEndpoint(Endpoint):
    """Healthy for the first `healthy_answers` requests, then 503: A passes preflight and fails while waited on."""

    healthy_answers: int = 1

    def status_for(self, path: str) -> int:
        self.healthy_answers -= 1
        return 200 if self.healthy_answers >= 0 else 503


def b_writes(world: World) -> None:
    """The global database as a failover left it: B's cluster is the writer."""
    promote_secondary(client("rds", DR), global_cluster_id=GLOBAL_ID, target_cluster_arn=world.arn_b,
                      mode="planned", timeout_s=10, poll_s=0.05)
    assert world.writer() == world.arn_b


def test_cutback_refuses_while_b_is_the_writer(world: World, tmp_path: Path, faults) -> None:
    """DNS to A while B writes would send traffic to a read-only region: exit 2, nothing changed."""
    failed_over_dns(world)
    b_writes(world)
    distribution = make_distribution(client("cloudfront", "us-east-1"))
    changes_before = faults.calls("route53", "ChangeResourceRecordSets")
    code, output = drctl(tmp_path, "cutback", "--distribution", distribution, "--paths", "/api/v1/*",
                         "--healthy-for-seconds", "0.1",
                         "--execute", "--yes")
    assert code == 2, output
    flat = " ".join(output.split())
    assert f"{GLOBAL_ID}-{PRIMARY}" in flat and "is not the writer" in flat and world.arn_b in flat, output
    assert "drctl failback" in flat
    assert world.records()["primary"]["ResourceRecords"][0]["Value"] == ENDPOINT_B
    assert faults.calls("cloudfront", "CreateInvalidation") == 0
    assert faults.calls("route53", "ChangeResourceRecordSets") == changes_before


def test_cutback_refuses_while_a_is_unhealthy(world: World, tmp_path: Path, faults) -> None:
    failed_over_dns(world)
    world.endpoint_a.per_path["/healthz"] = 503
    distribution = make_distribution(client("cloudfront", "us-east-1"))
    code, output = drctl(tmp_path, "cutback", "--distribution", distribution, "--paths", "/api/v1/*",
                         "--healthy-for-seconds", "0.2",
                         "--healthy-timeout", "1", "--execute", "--yes")
    assert code == 2, output
    flat = " ".join(output.split())
    assert f"health check of {ENDPOINT_A}" in flat and "HTTP Status Code 503" in flat, output
    assert world.records()["primary"]["ResourceRecords"][0]["Value"] == ENDPOINT_B
    assert faults.calls("cloudfront", "CreateInvalidation") == 0


def test_cutback_leaves_dns_on_b_when_a_flaps_while_waited_on(world: World, tmp_path: Path) -> None:
    failed_over_dns(world)
    flapping = FlappingEndpoint().start()
    try:
        client("route53", PRIMARY).update_health_check(HealthCheckId=world.health_a, Port=flapping.port)
        distribution = make_distribution(client("cloudfront", "us-east-1"))
        code, output = drctl(tmp_path, "cutback", "--distribution", distribution, "--paths", "/api/v1/*",
                         "--healthy-for-seconds", "0.2",
                             "--healthy-timeout", "1", "--execute", "--yes", "--json")
    finally:
        flapping.stop()
    assert code == 1, output
    run = journal(tmp_path, output)
    assert run.step("wait-a-healthy").state == "failed" and "HTTP Status Code 503" in run.step("wait-a-healthy").error
    assert run.step("dns").state == "pending"
    assert world.records()["primary"]["ResourceRecords"][0]["Value"] == ENDPOINT_B


def test_cutback_bad_input(world: World, tmp_path: Path) -> None:
    code, output = drctl(tmp_path, "cutback", "--distribution", "ENOPE", "--paths", "/api/v1/*", "--execute", "--yes")
    assert code == 2 and "ENOPE" in output
    code, output = drctl(tmp_path, "cutback", "--distribution", "E1", "--paths", "no-slash")
    assert code == 2 and "no-slash" in output


def test_smoke_passes_and_fails_on_a_real_server(tmp_path: Path) -> None:
    server = Endpoint(per_path={"/api/v1/payments/health": 500}).start()
    try:
        ok = CliRunner().invoke(app, ["smoke", "--base-url", server.url, "--path", "/healthz", "--json"])
        assert ok.exit_code == 0 and json.loads(ok.output)["checks"][0]["status"] == 200
        failing = CliRunner().invoke(app, ["smoke", "--base-url", server.url, "--json"])
        assert failing.exit_code == 1
        checks = {c["url"].removeprefix(server.url): c["ok"] for c in json.loads(failing.output)["checks"]}
        assert checks == {"/healthz": True, "/api/v1/auth/health": True, "/api/v1/payments/health": False}
    finally:
        server.stop()
    refused = CliRunner().invoke(app, ["smoke", "--base-url", "http://127.0.0.1:9", "--path", "/healthz",
                                       "--timeout", "1"])
    assert refused.exit_code == 1 and "FAIL" in refused.output
    assert CliRunner().invoke(app, ["smoke", "--base-url", "not a url"]).exit_code == 2


def test_scale_nodegroup_raises_desired_size(aws: str) -> None:
    eks = client("eks", DR)
    eks.create_cluster(name="dr", roleArn="arn:aws:iam::123456789012:role/eks",
                       resourcesVpcConfig={"subnetIds": ["subnet-1"]})
    eks.create_nodegroup(clusterName="dr", nodegroupName="general", nodeRole="arn:aws:iam::123456789012:role/n",
                         subnets=["subnet-1"], scalingConfig={"minSize": 0, "maxSize": 2, "desiredSize": 1})
    target = NodegroupTarget.parse("dr/general=6")
    assert scale_nodegroup(eks, target, timeout_s=10, poll_s=0.05) == {"changed": True, "desired": 6, "previous": 1}
    scaling = eks.describe_nodegroup(clusterName="dr", nodegroupName="general")["nodegroup"]["scalingConfig"]
    assert scaling == {"minSize": 0, "maxSize": 6, "desiredSize": 6}
    assert scale_nodegroup(eks, target, timeout_s=10, poll_s=0.05)["changed"] is False
