"""The whole stack configuration as one pydantic model.

Keys are the camelCase names `pulumi config set --path` writes (`aurora.instanceClass`, `objectives.critical.
rtoMinutes`). Unknown keys, wrong types and impossible values are rejected before any resource is declared,
with a `ConfigError` that names the key. Scalar defaults are also declared, typed, in Pulumi.yaml (the CLI
applies them there); a test keeps the two in step.
"""
from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator)
from pydantic.alias_generators import to_camel

from components.posture import ComputeProduction, Posture, ServiceCount

PROJECT = "dr-platform"
PROJECT_DIR = Path(__file__).resolve().parent.parent
REGION_PATTERN = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
# S3 bucket names: 3-63 chars, lowercase, digits, dots, hyphens; we add a region suffix (up to 15 chars).
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,46}[a-z0-9]$"


class ConfigError(ValueError):
    """Invalid stack configuration; `key` is the dotted config path that is wrong."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"{PROJECT}:{key}: {message}")


class Role(StrEnum):
    PRIMARY = "primary"
    DR = "dr"


class FailoverMode(StrEnum):
    PLANNED = "planned"  # SwitchoverGlobalCluster: A healthy, RPO 0
    UNPLANNED = "unplanned"  # FailoverGlobalCluster AllowDataLoss: A gone, RPO = replication lag


class Tier(StrEnum):
    CRITICAL = "critical"
    STANDARD = "standard"


class ApiAccess(StrEnum):
    """How `pulumi up` reaches each cluster's Kubernetes API (the endpoint is private unless CIDRs open it)."""
    TUNNEL = "tunnel"    # SSM port forwarding through the region's jump host (components/access.py), no inbound
    PRIVATE = "private"  # the endpoint itself: `pulumi up` runs inside the VPC or over VPN/peering
    PUBLIC = "public"    # the public endpoint, open only to compute.publicAccessCidrs


class DnsRouting(StrEnum):
    FAILOVER = "failover"
    WEIGHTED = "weighted"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


class AuroraSettings(Strict):
    global_cluster_id: str = Field("dr-core", pattern=r"^[a-z][a-z0-9-]{0,40}[a-z0-9]$")
    engine_version: str = Field("15.8", pattern=r"^\d+\.\d+$")
    instance_class: str = Field("db.r6g.large", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")
    instances: int = Field(2, ge=1, le=16, description="production writer + readers")
    backup_retention_days: int = Field(7, ge=1, le=35)
    database_name: str = Field("app", pattern=r"^[a-z][a-z0-9_]{0,62}$")
    master_username: str = Field("dbadmin", pattern=r"^[a-z][a-z0-9_]{0,15}$")

    def cluster_id(self, region: str) -> str:
        return f"{self.global_cluster_id}-{region}"


class BucketSettings(Strict):
    name: str = Field(pattern=BUCKET_PATTERN)
    tier: Tier


class TableSettings(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,255}$")
    tier: Tier
    hash_key: str = Field(min_length=1, max_length=255)


class DnsSettings(Strict):
    zone_name: str = Field("example.com", pattern=r"^([a-z0-9-]+\.)+[a-z]{2,}$")
    record_name: str = Field("api", pattern=r"^[a-z0-9-]+(\.[a-z0-9-]+)*$")
    routing: DnsRouting = DnsRouting.FAILOVER
    ttl: int = Field(60, ge=1, le=86400)
    primary_endpoint: str = Field("api-a.origin.example.com", pattern=r"^([a-z0-9-]+\.)+[a-z]{2,}$")
    dr_endpoint: str = Field("api-b.origin.example.com", pattern=r"^([a-z0-9-]+\.)+[a-z]{2,}$")
    health_check_path: str = Field("/healthz", pattern=r"^/")

    @property
    def fqdn(self) -> str:
        return f"{self.record_name}.{self.zone_name}"


class Objective(Strict):
    rto_minutes: int = Field(gt=0)
    rpo_minutes: int = Field(ge=0)


class Objectives(Strict):
    # The DR matrix of seed 004 §2.
    critical: Objective = Objective(rto_minutes=60, rpo_minutes=5)
    standard: Objective = Objective(rto_minutes=240, rpo_minutes=60)

    @model_validator(mode="after")
    def critical_is_stricter(self) -> Self:
        if self.critical.rto_minutes > self.standard.rto_minutes:
            raise ValueError("critical.rtoMinutes may not exceed standard.rtoMinutes")
        if self.critical.rpo_minutes > self.standard.rpo_minutes:
            raise ValueError("critical.rpoMinutes may not exceed standard.rpoMinutes")
        return self

    def for_tier(self, tier: Tier) -> Objective:
        return getattr(self, Tier(tier).value)


class NetworkSettings(Strict):
    primary_cidr: str = Field("10.10.0.0/16", pattern=r"^\d+\.\d+\.\d+\.\d+/16$")
    dr_cidr: str = Field("10.20.0.0/16", pattern=r"^\d+\.\d+\.\d+\.\d+/16$")


# EC2 instance types: family (letters, generation digit, attributes) . size, e.g. m6i.large, c7g.2xlarge, m7i.metal-24xl
INSTANCE_TYPE_PATTERN = r"^[a-z]+\d+[a-z0-9-]*\.(nano|micro|small|medium|large|\d*xlarge|metal(-\d+xl)?)$"
# Kubernetes object names (RFC 1035 labels), also used as the container and Service names.
K8S_NAME_PATTERN = r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
# An image reference pinned by tag (not `latest`) or by digest: REPO[:TAG][@sha256:HEX].
IMAGE_PATTERN = re.compile(r"^(?P<repo>[a-z0-9][a-z0-9._/:-]*?)(:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
                           r"(@(?P<digest>sha256:[0-9a-f]{64}))?$")


def pinned_image(image: str) -> str:
    match = IMAGE_PATTERN.match(image)
    if not match or "/" in (match["tag"] or "") or not (match["tag"] or match["digest"]):
        raise ValueError(f"{image!r} must be pinned: REPO:TAG or REPO@sha256:DIGEST")
    if match["tag"] == "latest" and not match["digest"]:
        raise ValueError(f"{image!r}: ':latest' is not a pin (a rebuild in B could run other code than A)")
    return image


class ServiceSettings(Strict):
    name: str = Field(pattern=K8S_NAME_PATTERN)
    tier: Tier
    image: str
    replicas: int = Field(ge=1, le=100, description="production replicas (region A, and B when it serves)")
    port: int = Field(ge=1, le=65535)
    health_path: str = Field("/healthz", pattern=r"^/")

    @field_validator("image")
    @classmethod
    def image_is_pinned(cls, image: str) -> str:
        return pinned_image(image)


def _service(name: str, tier: Tier, replicas: int) -> ServiceSettings:
    # No registry host: the image lives in the region's own ECR (components/registry.py replicates A's to B).
    return ServiceSettings(name=name, tier=tier, image=f"creator-platform/{name}:1.0.0", replicas=replicas,
                           port=8080)


DEFAULT_SERVICES = [_service("payments", Tier.CRITICAL, 3), _service("auth", Tier.CRITICAL, 3),
                    _service("users", Tier.CRITICAL, 2), _service("catalog", Tier.STANDARD, 2),
                    _service("search", Tier.STANDARD, 2), _service("notifications", Tier.STANDARD, 2)]


class ComputeSettings(Strict):
    # EKS 1.34: in standard support as of late 2026 (1.31's extended support ends 2026-11); bump with the
    # EKS release calendar. Minor versions only ("1.34"), as EKS takes them.
    kubernetes_version: str = Field("1.34", pattern=r"^1\.\d{2}$")
    node_instance_type: str = Field("m6i.large", pattern=INSTANCE_TYPE_PATTERN)
    nodes: int = Field(3, ge=1, le=100, description="production node count (one per AZ at the default)")
    max_nodes: int = Field(6, ge=1, le=450)
    # Empty: the API endpoint is private only (deploy from inside the VPC or over VPN/peering). CIDRs here turn
    # the public endpoint on, restricted to them; 0.0.0.0/0 is refused.
    public_access_cidrs: list[str] = Field(default_factory=list)
    # How the Kubernetes provider reaches the API. `tunnel` works from a clean account with nothing opened: the
    # provider talks to https://127.0.0.1:<tunnelPort> while `drctl tunnel` forwards that port to the endpoint.
    api_access: ApiAccess = ApiAccess.TUNNEL
    tunnel_port: int = Field(8443, ge=1024, le=65535, description="local port of the SSM tunnel to the API")
    # false: everything AWS (cluster, nodes, add-ons, ECR) and no Kubernetes object. The first `pulumi up` of a new
    # stack runs with false (no image is pushed yet, and the tunnel needs the cluster); its nextSteps output says
    # what to push, then true. Not a pause switch: on a stack that runs the workloads, false deletes them.
    workloads: bool = True
    services: list[ServiceSettings] = Field(default_factory=lambda: list(DEFAULT_SERVICES), min_length=1)
    typesense_replicas: int = Field(3, ge=1, le=5, description="production Typesense nodes: odd, for Raft")
    typesense_image: str = "typesense/typesense:0.24.1"
    # Each Typesense pod's EBS volume (gp3: 1 GiB to 16 TiB). Fixed once a pod's claim exists: growing it means
    # patching the claims (the StorageClass allows expansion), then this setting.
    typesense_storage_gi: int = Field(20, ge=1, le=16384)
    # The toolkit's own image (ops/images/drctl/Dockerfile), for the search feed's CronJob in B.
    ops_image: str = "creator-platform/drctl:1.0.0"
    # When B's search feed rebuilds B's index (cron, UTC). Hourly: a full rebuild of the configured catalog takes
    # minutes, so an hour bounds how stale B's search is when it must take over.
    search_feed_schedule: str = Field("17 * * * *", pattern=r"^\S+( \S+){4}$")

    def cluster_name(self, region: str) -> str:
        return f"platform-{region}"

    nodegroup_name: ClassVar[str] = "general"

    def images(self) -> list[str]:
        """Every image the cluster runs: the services' and Typesense's."""
        return [s.image for s in self.services] + [self.typesense_image]

    def production(self) -> ComputeProduction:
        """What PRODUCTION means for the posture table's compute rows."""
        return ComputeProduction(nodes=self.nodes, typesense_replicas=self.typesense_replicas,
                                 services=tuple(ServiceCount(s.name, s.tier.value, s.replicas) for s in self.services))

    @field_validator("typesense_image", "ops_image")
    @classmethod
    def image_is_pinned(cls, image: str) -> str:
        return pinned_image(image)

    @field_validator("typesense_replicas")
    @classmethod
    def odd(cls, replicas: int) -> int:
        if replicas % 2 == 0:
            raise ValueError("must be odd: Typesense's Raft needs a majority of an odd count")
        return replicas

    @field_validator("public_access_cidrs")
    @classmethod
    def restricted(cls, cidrs: list[str]) -> list[str]:
        for cidr in cidrs:
            if not re.match(r"^\d+\.\d+\.\d+\.\d+/\d+$", cidr):
                raise ValueError(f"{cidr!r} is not an IPv4 CIDR")
            if cidr.endswith("/0"):
                raise ValueError(f"{cidr}: the API endpoint may not be open to the whole internet")
        return cidrs

    @model_validator(mode="after")
    def coherent(self) -> Self:
        if self.max_nodes < self.nodes:
            raise _KeyedError("compute.maxNodes", f"must be at least compute.nodes ({self.nodes}), got "
                                                  f"{self.max_nodes}")
        names = [s.name for s in self.services]
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate:
            raise _KeyedError("compute.services", f"name {duplicate!r} appears twice")
        if "typesense" in names:
            raise _KeyedError("compute.services", "'typesense' is the search StatefulSet's name")
        if self.api_access is ApiAccess.PUBLIC and not self.public_access_cidrs:
            raise _KeyedError("compute.publicAccessCidrs", "compute.apiAccess 'public' needs the CIDRs allowed to "
                                                           "reach the public endpoint (0.0.0.0/0 is refused)")
        return self


class Settings(Strict):
    role: Role
    posture: Posture = Posture.PILOT_LIGHT
    failover: bool = False
    failover_mode: FailoverMode = FailoverMode.PLANNED
    primary_region: str = Field("us-east-1", pattern=REGION_PATTERN)
    dr_region: str = Field("us-west-2", pattern=REGION_PATTERN)
    allowed_regions: list[str] = Field(default_factory=lambda: ["us-east-1", "us-west-2"], min_length=2)
    primary_stack: str = Field("", pattern=r"^([A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+){0,2})?$")
    aurora: AuroraSettings = AuroraSettings()
    network: NetworkSettings = NetworkSettings()
    buckets: list[BucketSettings] = Field(default_factory=list)
    tables: list[TableSettings] = Field(default_factory=list)
    dns: DnsSettings = DnsSettings()
    objectives: Objectives = Objectives()
    compute: ComputeSettings = ComputeSettings()

    @field_validator("allowed_regions")
    @classmethod
    def regions_look_like_regions(cls, regions: list[str]) -> list[str]:
        for region in regions:
            if not re.match(REGION_PATTERN, region):
                raise ValueError(f"{region!r} is not an AWS region name")
        return regions

    @model_validator(mode="after")
    def coherent(self) -> Self:
        if self.dr_region == self.primary_region:
            raise _KeyedError("drRegion", f"must differ from primaryRegion ({self.primary_region})")
        for key, region in (("primaryRegion", self.primary_region), ("drRegion", self.dr_region)):
            if region not in self.allowed_regions:
                raise _KeyedError(key, f"{region} is not in allowedRegions {self.allowed_regions}: data may "
                                       "only be replicated inside that list")
        if self.role is Role.DR and not self.primary_stack:
            raise _KeyedError("primaryStack", "the dr stack needs the primary stack's name to read its outputs")
        if self.network.primary_cidr == self.network.dr_cidr:
            raise _KeyedError("network.drCidr", "must differ from network.primaryCidr (failback routes)")
        for key, items in (("buckets", self.buckets), ("tables", self.tables)):
            names = [item.name for item in items]
            duplicate = next((n for n in names if names.count(n) > 1), None)
            if duplicate:
                raise _KeyedError(key, f"name {duplicate!r} appears twice")
        return self

    @property
    def region(self) -> str:
        """The region this stack deploys into."""
        return self.primary_region if self.role is Role.PRIMARY else self.dr_region


class _KeyedError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


def _loc_to_key(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
        else:
            parts.append(str(item))
    return ".".join(parts)


def parse(values: dict[str, Any]) -> Settings:
    """Validate project config values (keys without the `dr-platform:` prefix) into Settings."""
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, _KeyedError):
            raise ConfigError(cause.key, str(cause)) from None
        key = _loc_to_key(error["loc"]) or "(root)"
        given = error.get("input")
        shown = "" if isinstance(given, (dict, list)) or error["type"] == "missing" else f" (got {given!r})"
        raise ConfigError(key, f"{error['msg']}{shown}") from None


def decode_pulumi_config(raw: dict[str, Any]) -> dict[str, Any]:
    """Pulumi hands config to the program as strings keyed `project:key`; objects and lists arrive as JSON.

    Other namespaces (aws:, pulumi:) are not ours and are left alone."""
    values: dict[str, Any] = {}
    for full_key, value in raw.items():
        namespace, _, key = full_key.partition(":")
        if namespace != PROJECT:
            continue
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ConfigError(key, f"is not valid JSON: {exc.msg}") from None
        values[key] = value
    return values


def from_pulumi() -> Settings:
    """Settings of the running Pulumi program (real engine or mocks)."""
    from pulumi.runtime import config as runtime_config

    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return parse(decode_pulumi_config(raw))
