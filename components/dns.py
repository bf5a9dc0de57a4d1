"""Route53 for the API: health checks on each region's endpoint and the API record, with failover routing
(PRIMARY carries the writer region's health check, so DNS fails over by itself even when Route53's control
plane is unavailable) or weighted routing with weights from the posture table."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.base import child
from ops.core import naming

HEALTH_CHECK_INTERVAL_S = 10  # fast health checks: 10 s × 3 failures = 30 s to detect
HEALTH_CHECK_FAILURES = 3


@dataclass
class RegionEndpoint:
    key: str  # "a" or "b"
    endpoint: str
    weight: int


@dataclass
class ApiDnsArgs:
    zone_name: str
    record_name: str
    routing: str  # failover | weighted
    ttl: int
    health_check_path: str
    writer: RegionEndpoint
    standby: RegionEndpoint
    provider: aws.Provider
    # what must be done before the records move: the writer's role change (stacks/dr.py)
    after: list[pulumi.Resource] = field(default_factory=list)


class ApiDns(pulumi.ComponentResource):
    def __init__(self, name: str, args: ApiDnsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("dr-platform:dns:ApiDns", name, None, opts)
        zone = aws.route53.get_zone_output(name=args.zone_name, private_zone=False,
                                           opts=pulumi.InvokeOutputOptions(parent=self, provider=args.provider))
        checks = {
            region.key: aws.route53.HealthCheck(
                f"{name}-health-{region.key}", type="HTTPS", fqdn=region.endpoint, port=443,
                resource_path=args.health_check_path, request_interval=HEALTH_CHECK_INTERVAL_S,
                failure_threshold=HEALTH_CHECK_FAILURES, measure_latency=True,
                tags={"Name": f"{args.record_name}-{region.key}"}, opts=child(self, args.provider))
            for region in sorted((args.writer, args.standby), key=lambda r: r.key)
        }
        fqdn = f"{args.record_name}.{args.zone_name}"

        def record(set_identifier: str, region: RegionEndpoint, **routing: object) -> aws.route53.Record:
            return aws.route53.Record(
                f"{name}-{set_identifier}", zone_id=zone.zone_id, name=fqdn, type="CNAME", ttl=args.ttl,
                records=[region.endpoint], set_identifier=set_identifier, health_check_id=checks[region.key].id,
                opts=child(self, args.provider, depends_on=list(args.after)), **routing)  # type: ignore[arg-type]

        if args.routing == "failover":
            record(naming.PRIMARY_RECORD, args.writer, failover_routing_policies=[{"type": "PRIMARY"}])
            record(naming.SECONDARY_RECORD, args.standby, failover_routing_policies=[{"type": "SECONDARY"}])
        else:
            for region in sorted((args.writer, args.standby), key=lambda r: r.key):
                record(naming.weighted_record(region.key), region,
                       weighted_routing_policies=[{"weight": region.weight}])
        self.register_outputs({"fqdn": fqdn})
