"""The CDN the offline plan declares, created in moto's server from the plan's own inputs, and the plan's outputs
written the way `pulumi stack output --json` prints them, with moto's ids in place of the mock's. So a runbook test
runs on the distribution the program would create, and reads it the way an operator's run does (--outputs FILE).

The planned inputs are Pulumi's (camelCase, nested lists); CloudFront's API wants its own shape (Quantity/Items
lists, upper-case acronyms). `distribution_config` translates the one into the other, field by field, and refuses
a planned field it does not know, so a field the program adds later is not silently left out of the test.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ops.drctl.planning.mockplan import Plan, PlannedResource

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"


def _items(values: list[Any] | None) -> dict[str, Any]:
    values = list(values or [])
    return {"Quantity": len(values), "Items": values} if values else {"Quantity": 0}


def _origin(planned: dict[str, Any]) -> dict[str, Any]:
    origin: dict[str, Any] = {"Id": planned["originId"], "DomainName": planned["domainName"],
                              "ConnectionAttempts": planned["connectionAttempts"],
                              "ConnectionTimeout": planned["connectionTimeout"]}
    custom = planned.get("customOriginConfig")
    if custom:
        origin["CustomOriginConfig"] = {
            "HTTPPort": custom["httpPort"], "HTTPSPort": custom["httpsPort"],
            "OriginProtocolPolicy": custom["originProtocolPolicy"],
            "OriginSslProtocols": _items(custom["originSslProtocols"]),
            "OriginReadTimeout": custom["originReadTimeout"], "OriginKeepaliveTimeout": custom["originKeepaliveTimeout"]}
    else:  # an S3 origin read through origin access control: no identity
        origin["S3OriginConfig"] = {"OriginAccessIdentity": ""}
        origin["OriginAccessControlId"] = planned["originAccessControlId"]
    unknown = set(planned) - {"originId", "domainName", "connectionAttempts", "connectionTimeout",
                              "customOriginConfig", "originAccessControlId"}
    assert not unknown, f"planned origin fields the harness does not translate: {unknown}"
    return origin


def _behaviour(planned: dict[str, Any]) -> dict[str, Any]:
    behaviour: dict[str, Any] = {
        "TargetOriginId": planned["targetOriginId"], "ViewerProtocolPolicy": planned["viewerProtocolPolicy"],
        "AllowedMethods": {**_items(planned["allowedMethods"]), "CachedMethods": _items(planned["cachedMethods"])},
        "CachePolicyId": planned["cachePolicyId"], "Compress": planned.get("compress", False)}
    if "pathPattern" in planned:
        behaviour["PathPattern"] = planned["pathPattern"]
    if "originRequestPolicyId" in planned:
        behaviour["OriginRequestPolicyId"] = planned["originRequestPolicyId"]
    unknown = set(planned) - {"targetOriginId", "viewerProtocolPolicy", "allowedMethods", "cachedMethods",
                              "cachePolicyId", "compress", "pathPattern", "originRequestPolicyId"}
    assert not unknown, f"planned cache behaviour fields the harness does not translate: {unknown}"
    return behaviour


def distribution_config(planned: PlannedResource, caller_reference: str) -> dict[str, Any]:
    """CloudFront's DistributionConfig for the planned distribution's inputs."""
    i = planned.inputs
    logging = i["loggingConfig"]
    certificate = i["viewerCertificate"]
    config = {
        "CallerReference": caller_reference, "Comment": i["comment"], "Enabled": i["enabled"],
        "Aliases": _items(i["aliases"]), "PriceClass": i["priceClass"], "HttpVersion": i["httpVersion"],
        "IsIPV6Enabled": i["isIpv6Enabled"],
        "Origins": _items([_origin(o) for o in i["origins"]]),
        "OriginGroups": _items([{
            "Id": g["originId"],
            "FailoverCriteria": {"StatusCodes": _items(g["failoverCriteria"]["statusCodes"])},
            "Members": _items([{"OriginId": m["originId"]} for m in g["members"]])} for g in i["originGroups"]]),
        "DefaultCacheBehavior": _behaviour(i["defaultCacheBehavior"]),
        "CacheBehaviors": _items([_behaviour(b) for b in i.get("orderedCacheBehaviors") or []]),
        "ViewerCertificate": {"ACMCertificateArn": certificate["acmCertificateArn"],
                              "SSLSupportMethod": certificate["sslSupportMethod"],
                              "MinimumProtocolVersion": certificate["minimumProtocolVersion"]},
        "Logging": {"Enabled": True, "IncludeCookies": logging["includeCookies"], "Bucket": logging["bucket"],
                    "Prefix": logging["prefix"]},
        "Restrictions": {"GeoRestriction": {"RestrictionType": i["restrictions"]["geoRestriction"]["restrictionType"],
                                            "Quantity": 0}},
    }
    unknown = set(i) - {"comment", "enabled", "aliases", "priceClass", "httpVersion", "isIpv6Enabled", "origins",
                        "originGroups", "defaultCacheBehavior", "orderedCacheBehaviors", "viewerCertificate",
                        "loggingConfig", "restrictions", "tags"}
    assert not unknown, f"planned distribution fields the harness does not translate: {unknown}"
    return config


def planned_distribution(plan: Plan) -> PlannedResource:
    (distribution,) = plan.by_type(DISTRIBUTION)
    return distribution


def create_planned_distribution(cloudfront: Any, plan: Plan) -> str:
    """CreateDistribution with the planned inputs; returns the id moto gave it."""
    created = cloudfront.create_distribution(
        DistributionConfig=distribution_config(planned_distribution(plan), f"plan-{plan.stack}"))
    return str(created["Distribution"]["Id"])


def create_planned_bucket(s3: Any, plan: Plan, name: str) -> None:
    """The planned bucket `name`, with the versioning the plan gives it (a region's own client: us-east-1 here)."""
    (bucket,) = [b for b in plan.by_type(BUCKET) if b.inputs["bucket"] == name]
    s3.create_bucket(Bucket=name)
    (versioning,) = [v for v in plan.by_type(VERSIONING) if v.parent == bucket.parent and
                     v.name == f"{bucket.name}-versioning"]
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={
        "Status": versioning.inputs["versioningConfiguration"]["status"]})


def write_outputs(plan: Plan, path: Path, **replaced: Any) -> Path:
    """The plan's outputs as `pulumi stack output --json` prints them, with `replaced` (e.g. moto's distribution
    id) in place of the mock's values."""
    unknown = set(replaced) - set(plan.outputs)
    assert not unknown, f"not outputs of the plan: {unknown}"
    path.write_text(json.dumps({**plan.outputs, **replaced}, indent=2))
    return path
