"""Route53 for the API record: change sets generated from the DNS layout, applied with UPSERTs, health status.

The layout matches what the Pulumi dr stack creates (components/dns.py): the CNAME `<record>.<zone>` with
failover routing (set identifiers `primary` / `secondary`) or weighted routing (`region-a` / `region-b`), each
record carrying the health check of the endpoint it points at. Change sets are plain ChangeBatch JSON (what
`aws route53 change-resource-record-sets --change-batch` takes), except that health check ids, which only exist
in the account, are written as `{{health-check:<endpoint fqdn>}}` and resolved when the change set is applied.
"""
from __future__ import annotations

import copy
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from ops.actions.polling import poll_until
from ops.core import naming

PLACEHOLDER = re.compile(r"^\{\{health-check:(?P<endpoint>[^}]+)\}\}$")


@dataclass(frozen=True)
class DnsLayout:
    zone_name: str
    fqdn: str
    ttl: int
    routing: str  # failover | weighted
    primary_endpoint: str  # region A's origin
    dr_endpoint: str  # region B's origin


def health_check_placeholder(endpoint: str) -> str:
    return f"{{{{health-check:{endpoint}}}}}"


def change_batch(layout: DnsLayout, *, writer: str, weights: tuple[int, int], comment: str) -> dict[str, Any]:
    """The ChangeBatch that points the API at `writer` ("a" or "b"). `weights` = (region-a, region-b), used by
    weighted routing; failover routing makes the writer's endpoint PRIMARY and the other SECONDARY."""
    endpoints = {"a": layout.primary_endpoint, "b": layout.dr_endpoint}
    standby = "b" if writer == "a" else "a"

    def upsert(set_identifier: str, endpoint: str, **routing: Any) -> dict[str, Any]:
        return {"Action": "UPSERT", "ResourceRecordSet": {
            "Name": layout.fqdn, "Type": "CNAME", "TTL": layout.ttl, "SetIdentifier": set_identifier, **routing,
            "HealthCheckId": health_check_placeholder(endpoint), "ResourceRecords": [{"Value": endpoint}]}}

    if layout.routing == "failover":
        changes = [upsert(naming.PRIMARY_RECORD, endpoints[writer], Failover="PRIMARY"),
                   upsert(naming.SECONDARY_RECORD, endpoints[standby], Failover="SECONDARY")]
    else:
        changes = [upsert(naming.weighted_record("a"), endpoints["a"], Weight=weights[0]),
                   upsert(naming.weighted_record("b"), endpoints["b"], Weight=weights[1])]
    return {"Comment": comment, "Changes": changes}


def render(batch: dict[str, Any]) -> str:
    """The committed file's exact text (stable key order, trailing newline) so a test can compare it."""
    return json.dumps(batch, indent=2) + "\n"


def endpoints_in(batch: dict[str, Any]) -> list[str]:
    return sorted({m["endpoint"] for c in batch["Changes"]
                   if (m := PLACEHOLDER.match(c["ResourceRecordSet"].get("HealthCheckId", "")))})


def resolve(batch: dict[str, Any], health_checks: dict[str, str]) -> dict[str, Any]:
    """Replace each health-check placeholder with the id of the check on that endpoint."""
    resolved = copy.deepcopy(batch)
    for change in resolved["Changes"]:
        record = change["ResourceRecordSet"]
        match = PLACEHOLDER.match(record.get("HealthCheckId", ""))
        if match:
            endpoint = match["endpoint"]
            if endpoint not in health_checks:
                raise LookupError(f"no Route53 health check on endpoint {endpoint!r}")
            record["HealthCheckId"] = health_checks[endpoint]
    return resolved


def hosted_zone_id(route53: Any, zone_name: str) -> str:
    wanted = zone_name.rstrip(".") + "."
    zones = route53.list_hosted_zones_by_name(DNSName=wanted, MaxItems="10")["HostedZones"]
    public = [z for z in zones if z["Name"] == wanted and not z.get("Config", {}).get("PrivateZone")]
    if not public:
        raise LookupError(f"no public hosted zone named {zone_name!r}")
    return str(public[0]["Id"]).split("/")[-1]


def health_checks_by_endpoint(route53: Any) -> dict[str, str]:
    """Health check id per endpoint FQDN (the checks the stack creates, one per region endpoint)."""
    found: dict[str, str] = {}
    for page in route53.get_paginator("list_health_checks").paginate():
        for check in page["HealthChecks"]:
            fqdn = check["HealthCheckConfig"].get("FullyQualifiedDomainName")
            if fqdn:
                found.setdefault(fqdn.rstrip("."), check["Id"])
    return found


def health_status(route53: Any, health_check_id: str) -> tuple[bool, list[str]]:
    """(healthy, the checkers' reports): healthy when every checker's last report is a Success."""
    observations = route53.get_health_check_status(HealthCheckId=health_check_id)["HealthCheckObservations"]
    reports = [o.get("StatusReport", {}).get("Status", "") for o in observations]
    return bool(reports) and all(r.startswith("Success") for r in reports), reports


def _comparable(record: dict[str, Any]) -> tuple:
    values = tuple(sorted(v["Value"].rstrip(".") for v in record.get("ResourceRecords", [])))
    return (record.get("SetIdentifier"), record.get("Type"), record.get("Failover"), record.get("Weight"),
            record.get("HealthCheckId"), values, record.get("TTL"))


def records_in_place(route53: Any, zone_id: str, batch: dict[str, Any]) -> bool:
    """True when every UPSERT of the (resolved) batch already matches the zone: nothing to apply."""
    name = batch["Changes"][0]["ResourceRecordSet"]["Name"]
    current = route53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=name)["ResourceRecordSets"]
    existing = {_comparable(r) for r in current if r["Name"].rstrip(".") == name.rstrip(".")}
    return all(_comparable(c["ResourceRecordSet"]) in existing for c in batch["Changes"])


def apply_change_batch(route53: Any, zone_id: str, batch: dict[str, Any], *, timeout_s: float = 300,
                       poll_s: float = 5) -> dict[str, Any]:
    """UPSERT the batch unless it is already in place, then wait (bounded) until Route53 reports INSYNC."""
    if records_in_place(route53, zone_id, batch):
        return {"changed": False}
    change = route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch=batch)["ChangeInfo"]
    change_id = str(change["Id"]).split("/")[-1]
    poll_until(lambda: route53.get_change(Id=change_id)["ChangeInfo"]["Status"], lambda s: s == "INSYNC",
               timeout_s=timeout_s, poll_s=poll_s, what=f"Route53 change {change_id} to be INSYNC")
    return {"changed": True, "change_id": change_id}


def wait_healthy_for(route53: Any, health_check_id: str, *, healthy_for_s: float, timeout_s: float,
                     poll_s: float) -> dict[str, Any]:
    """Poll until the health check has reported healthy continuously for `healthy_for_s`; WaitTimeout if the
    deadline comes first (the last reports are in the message)."""
    now = time.monotonic
    state: dict[str, Any] = {"since": None}

    def observe() -> dict[str, Any]:
        healthy, reports = health_status(route53, health_check_id)
        if not healthy:
            state["since"] = None
        elif state["since"] is None:
            state["since"] = now()
        return {"healthy": healthy, "healthy_for_s": 0.0 if state["since"] is None else now() - state["since"],
                "reports": reports}

    seen = poll_until(observe, lambda s: s["healthy"] and s["healthy_for_s"] >= healthy_for_s,
                      timeout_s=timeout_s, poll_s=poll_s,
                      what=f"health check {health_check_id} to be healthy for {healthy_for_s:g} s")
    return {"healthy_for_s": round(seen["healthy_for_s"], 3), "reports": seen["reports"]}
