"""The starting AWS state of a failover drill, built with boto3 against moto's server, plus real HTTP endpoints.

Region A (us-east-1) runs the writer cluster `dr-core-us-east-1` with two instances; region B (us-west-2) holds
the headless secondary `dr-core-us-west-2` (pilot light). Route53 has the `api.example.com` CNAME with failover
routing and a health check per region endpoint. Region B's EKS cluster `platform-us-west-2` keeps its node group
`general` at 0 nodes (pilot light), as the dr stack declares them. The health checks point at real HTTP servers on 127.0.0.1 (the
moto extension route53_health really probes loopback addresses), so "A is down" is a server answering 503.
"""
from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from ops.actions.aws import client
from tests.harness.aurora import DR, GLOBAL_ID, PRIMARY, build_aurora

ZONE, FQDN = "example.com", "api.example.com"
EKS_CLUSTER_B, NODEGROUP = f"platform-{DR}", "general"  # the dr stack's names (ComputeSettings)
ENDPOINT_A, ENDPOINT_B = "api-a.origin.example.com", "api-b.origin.example.com"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: "_Server"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        status = self.server.owner.status_for(self.path)
        body = b"ok" if status < 400 else b"down"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    owner: "Endpoint"


@dataclass
class Endpoint:
    """A real HTTP server on 127.0.0.1: 200 on every path unless told otherwise."""

    status: int = 200
    per_path: dict[str, int] = field(default_factory=dict)
    port: int = 0
    _server: _Server | None = None

    def status_for(self, path: str) -> int:
        return self.per_path.get(path, self.status)

    def start(self) -> "Endpoint":
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class World:
    endpoint_a: Endpoint
    endpoint_b: Endpoint
    zone_id: str
    health_a: str
    health_b: str
    arn_a: str
    arn_b: str

    def writer(self) -> str:
        gc = client("rds", DR).describe_global_clusters(GlobalClusterIdentifier=GLOBAL_ID)["GlobalClusters"][0]
        return next(m["DBClusterArn"] for m in gc["GlobalClusterMembers"] if m["IsWriter"])

    def records(self) -> dict[str, dict]:
        sets = client("route53", PRIMARY).list_resource_record_sets(HostedZoneId=self.zone_id)["ResourceRecordSets"]
        return {r["SetIdentifier"]: r for r in sets if r.get("SetIdentifier")}

    def instances(self, region: str) -> list[str]:
        found = client("rds", region).describe_db_instances()["DBInstances"]
        return sorted(i["DBInstanceIdentifier"] for i in found)

    def nodes_b(self) -> int:
        nodegroup = client("eks", DR).describe_nodegroup(clusterName=EKS_CLUSTER_B, nodegroupName=NODEGROUP)
        return nodegroup["nodegroup"]["scalingConfig"]["desiredSize"]


@pytest.fixture
def endpoints() -> Iterator[tuple[Endpoint, Endpoint]]:
    a, b = Endpoint().start(), Endpoint().start()
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def build_dns(port_a: int, port_b: int) -> tuple[str, str, str]:
    route53 = client("route53", PRIMARY)
    zone_id = route53.create_hosted_zone(Name=ZONE, CallerReference="zone-1")["HostedZone"]["Id"].split("/")[-1]

    def health_check(endpoint: str, port: int) -> str:
        return route53.create_health_check(CallerReference=f"hc-{endpoint}", HealthCheckConfig={
            "IPAddress": "127.0.0.1", "Port": port, "Type": "HTTP", "ResourcePath": "/healthz",
            "FullyQualifiedDomainName": endpoint, "RequestInterval": 10, "FailureThreshold": 3})["HealthCheck"]["Id"]

    health_a, health_b = health_check(ENDPOINT_A, port_a), health_check(ENDPOINT_B, port_b)
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {
            "Name": FQDN, "Type": "CNAME", "TTL": 60, "SetIdentifier": ident, "Failover": role,
            "HealthCheckId": check, "ResourceRecords": [{"Value": target}]}}
        for ident, role, check, target in (("primary", "PRIMARY", health_a, ENDPOINT_A),
                                           ("secondary", "SECONDARY", health_b, ENDPOINT_B))]})
    return zone_id, health_a, health_b


def build_compute_b(nodes: int = 0) -> None:
    """B's cluster and node group at `nodes` (pilot light 0, warm standby its floor)."""
    eks = client("eks", DR)
    eks.create_cluster(name=EKS_CLUSTER_B, roleArn=f"arn:aws:iam::123456789012:role/{EKS_CLUSTER_B}-cluster",
                       resourcesVpcConfig={"subnetIds": ["subnet-b0", "subnet-b1", "subnet-b2"]})
    eks.create_nodegroup(clusterName=EKS_CLUSTER_B, nodegroupName=NODEGROUP,
                         nodeRole=f"arn:aws:iam::123456789012:role/{EKS_CLUSTER_B}-node",
                         subnets=["subnet-b0", "subnet-b1", "subnet-b2"],
                         scalingConfig={"minSize": nodes, "desiredSize": nodes, "maxSize": 6})


IMAGE_MANIFEST = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
               "digest": "sha256:" + "0" * 64}, "layers": []})


def build_images_b(skip: tuple[str, ...] = ()) -> None:
    """B's ECR holds every image the dr stack's cluster pulls, as ECR replication from A would leave it."""
    from ops.drctl.commands.failover import regional_images
    from ops.drctl.commands.options import load_settings

    ecr = client("ecr", DR)
    for image in regional_images(load_settings("dr", None)):
        if image["repository"] in skip:
            continue
        try:
            ecr.create_repository(repositoryName=image["repository"])
        except ecr.exceptions.RepositoryAlreadyExistsException:
            pass
        ecr.put_image(repositoryName=image["repository"], imageManifest=IMAGE_MANIFEST, imageTag=image["reference"])


@pytest.fixture
def world(aws: str, endpoints: tuple[Endpoint, Endpoint]) -> World:
    return _world(endpoints, instances_b=0, nodes_b=0)


@pytest.fixture
def warm_world(aws: str, endpoints: tuple[Endpoint, Endpoint]) -> World:
    """Warm standby: B's secondary has one instance and its node group two nodes (the posture table's row)."""
    return _world(endpoints, instances_b=1, nodes_b=2)


def _world(endpoints: tuple[Endpoint, Endpoint], *, instances_b: int, nodes_b: int) -> World:
    build_compute_b(nodes_b)
    build_images_b()
    arn_a, arn_b = build_aurora(instances_b)
    zone_id, health_a, health_b = build_dns(endpoints[0].port, endpoints[1].port)
    return World(endpoint_a=endpoints[0], endpoint_b=endpoints[1], zone_id=zone_id, health_a=health_a,
                 health_b=health_b, arn_a=arn_a, arn_b=arn_b)
