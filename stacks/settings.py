"""The whole stack configuration as one pydantic model.

Keys are the camelCase names `pulumi config set --path` writes (`aurora.instanceClass`, `objectives.critical.
rtoMinutes`). Unknown keys, wrong types and impossible values are rejected before any resource is declared,
with a `ConfigError` that lists every problem found, each naming its key (checks across keys run once the keys
they compare are valid themselves). Scalar defaults are also declared, typed, in Pulumi.yaml (the CLI
applies them there); a test keeps the two in step.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Self, TypeVar

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator,
                      model_validator)
from pydantic.alias_generators import to_camel

from ops.core import cache as cache_facts
from ops.core import naming
from ops.core.environments import ENVIRONMENT_PATTERN, PRODUCTION, PROJECT, Names, valid_environment
from ops.core.paths import REPO_ROOT
from ops.core.posture import ComputeProduction, Posture, ServiceCount

PROJECT_DIR = REPO_ROOT
REGION_PATTERN = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
# S3 bucket names: 3-63 chars, lowercase, digits, dots, hyphens; we add a region suffix (up to 15 chars).
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,46}[a-z0-9]$"
# A DNS name of two labels or more (example.com), and a record's name within its zone (api, cdn.edge).
DOMAIN_PATTERN = r"^([a-z0-9-]+\.)+[a-z]{2,}$"
RECORD_NAME_PATTERN = r"^[a-z0-9-]+(\.[a-z0-9-]+)*$"
# Aurora's DB instance classes: db.serverless, or a memory-optimized (r, x) or burstable (t) family with a size
# (AWS's "Supported DB engines for DB instance classes"); whether a region and version offer it is AWS's answer.
AURORA_INSTANCE_CLASS_PATTERN = r"^db\.(serverless|[rxt]\d+[a-z]*\.(micro|small|medium|large|\d{0,2}xlarge))$"


class ConfigError(ValueError):
    """Invalid stack configuration: `problems` is every (dotted config path, message) found, `key` the first's."""

    def __init__(self, key: str, message: str, more: Sequence[tuple[str, str]] = ()) -> None:
        self.key = key
        self.problems = [(key, message), *more]
        super().__init__("\n".join(f"{PROJECT}:{k}: {m}" for k, m in self.problems))

    @classmethod
    def of(cls, problems: Sequence[tuple[str, str]]) -> Self:
        (key, message), *more = problems
        return cls(key, message, more)

    def report(self) -> str:
        """What the CLI prints: one problem on one line, several as a list."""
        if len(self.problems) == 1:
            return f"invalid config: {self}"
        return f"invalid config, {len(self.problems)} problems:\n" + "\n".join(f"  {line}" for line in
                                                                                 str(self).splitlines())


_T = TypeVar("_T")


class _KeyedError(ValueError):
    """A validator's problems, each with the key it is about (which pydantic's location cannot say)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(message for _, message in problems))


def _accepted(value: _T, problems: list[tuple[str, str]]) -> _T:
    """The value when nothing is wrong with it; otherwise every problem at once, each naming its key."""
    if problems:
        raise _KeyedError(problems)
    return value


def _duplicates(names: list[str]) -> list[str]:
    return sorted({name for name in names if names.count(name) > 1})


def _checked_paths(key: str, paths: list[str], pattern: str, requirement: str) -> list[str]:
    """`paths` when each matches `pattern` and none appears twice; else every problem, each path's by its index."""
    problems = [(f"{key}[{index}]", f"{path!r} {requirement}")
                for index, path in enumerate(paths) if not re.match(pattern, path)]
    problems += [(key, f"path {path!r} appears twice") for path in _duplicates(paths)]
    return _accepted(paths, problems)


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
    instance_class: str = Field("db.r6g.large", pattern=AURORA_INSTANCE_CLASS_PATTERN)
    instances: int = Field(2, ge=1, le=16, description="production writer + readers")
    backup_retention_days: int = Field(7, ge=1, le=35)
    database_name: str = Field("app", pattern=r"^[a-z][a-z0-9_]{0,62}$")
    master_username: str = Field("dbadmin", pattern=r"^[a-z][a-z0-9_]{0,15}$")

    def cluster_id(self, region: str) -> str:
        return naming.regional_cluster_id(self.global_cluster_id, region)


class BucketSettings(Strict):
    name: str = Field(pattern=BUCKET_PATTERN)
    tier: Tier


class TableSettings(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,255}$")
    tier: Tier
    hash_key: str = Field(min_length=1, max_length=255)


class DnsSettings(Strict):
    zone_name: str = Field("example.com", pattern=DOMAIN_PATTERN)
    record_name: str = Field("api", pattern=RECORD_NAME_PATTERN)
    routing: DnsRouting = DnsRouting.FAILOVER
    ttl: int = Field(60, ge=1, le=86400)
    primary_endpoint: str = Field("api-a.origin.example.com", pattern=DOMAIN_PATTERN)
    dr_endpoint: str = Field("api-b.origin.example.com", pattern=DOMAIN_PATTERN)
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
        problems = [(f"objectives.critical.{key}", f"may not exceed objectives.standard.{key} ({standard})")
                    for key, critical, standard in (
                        ("rtoMinutes", self.critical.rto_minutes, self.standard.rto_minutes),
                        ("rpoMinutes", self.critical.rpo_minutes, self.standard.rpo_minutes))
                    if critical > standard]
        return _accepted(self, problems)

    def for_tier(self, tier: Tier) -> Objective:
        return getattr(self, Tier(tier).value)


class NetworkSettings(Strict):
    primary_cidr: str = Field("10.10.0.0/16", pattern=r"^\d+\.\d+\.\d+\.\d+/16$")
    dr_cidr: str = Field("10.20.0.0/16", pattern=r"^\d+\.\d+\.\d+\.\d+/16$")

    @model_validator(mode="after")
    def distinct(self) -> Self:
        if self.primary_cidr == self.dr_cidr:
            raise _KeyedError([("network.drCidr", "must differ from network.primaryCidr (failback routes)")])
        return self


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


PinnedImage = Annotated[str, AfterValidator(pinned_image)]


class ServiceSettings(Strict):
    name: str = Field(pattern=K8S_NAME_PATTERN)
    tier: Tier
    image: PinnedImage
    replicas: int = Field(ge=1, le=100, description="production replicas (region A, and B when it serves)")
    port: int = Field(ge=1, le=65535)
    health_path: str = Field("/healthz", pattern=r"^/")
    # The HorizontalPodAutoscaler's ceiling in either region (its floor is the posture table's replicas); unset:
    # twice the production replicas.
    max_replicas: int | None = Field(None, ge=1, le=1000)

    @property
    def autoscaling_max(self) -> int:
        return self.max_replicas if self.max_replicas is not None else 2 * self.replicas


def _service(name: str, tier: Tier, replicas: int) -> ServiceSettings:
    # No registry host: the image lives in the region's own ECR (components/registry.py replicates A's to B).
    return ServiceSettings(name=name, tier=tier, image=f"creator-platform/{name}:1.0.0", replicas=replicas,
                           port=8080)


DEFAULT_SERVICES = [_service("payments", Tier.CRITICAL, 3), _service("auth", Tier.CRITICAL, 3),
                    _service("users", Tier.CRITICAL, 2), _service("catalog", Tier.STANDARD, 2),
                    _service("search", Tier.STANDARD, 2), _service("notifications", Tier.STANDARD, 2)]


def scaling_problems(services: Sequence[ServiceSettings]) -> list[tuple[str, str]]:
    """An autoscaler ceiling below its floor; a critical service too small for a disruption budget that keeps one
    pod serving and still lets a drain evict one (components/autoscaling.py)."""
    problems = []
    for index, s in enumerate(services):
        if s.max_replicas is not None and s.max_replicas < s.replicas:
            problems.append((f"compute.services[{index}].maxReplicas",
                             f"{s.max_replicas} is below replicas ({s.replicas}), the autoscaler's floor"))
        if s.tier is Tier.CRITICAL and s.replicas < 2:
            problems.append((f"compute.services[{index}].replicas",
                             (f"critical service {s.name!r} needs at least 2: its disruption budget keeps one "
                              "serving while a node drain evicts the other")))
    return problems


class ComputeSettings(Strict):
    # EKS 1.34: in standard support as of late 2026 (1.31's extended support ends 2026-11); bump with the
    # EKS release calendar. Minor versions only ("1.34"), as EKS takes them.
    kubernetes_version: str = Field("1.34", pattern=r"^1\.\d{2}$")
    node_instance_type: str = Field("m6i.large", pattern=INSTANCE_TYPE_PATTERN)
    nodes: int = Field(3, ge=1, le=100, description="production node count (one per AZ at the default)")
    max_nodes: int = Field(6, ge=1, le=450, validate_default=True)
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
    typesense_image: PinnedImage = "typesense/typesense:0.24.1"
    # Each Typesense pod's EBS volume (gp3: 1 GiB to 16 TiB). Fixed once a pod's claim exists: growing it means
    # patching the claims (the StorageClass allows expansion), then this setting.
    typesense_storage_gi: int = Field(20, ge=1, le=16384)
    # The Kubernetes Cluster Autoscaler (components/autoscaling.py), mirrored from registry.k8s.io into ECR like
    # Typesense from Docker Hub (stacks/common.py push_commands): its minor must be compute.kubernetesVersion's.
    cluster_autoscaler_image: PinnedImage = Field("autoscaling/cluster-autoscaler:v1.34.2", validate_default=True)
    # The toolkit's own image (ops/images/drctl/Dockerfile), for the search feed's CronJob in B.
    ops_image: PinnedImage = "creator-platform/drctl:1.0.0"
    # When B's search feed rebuilds B's index (cron, UTC). Hourly: a full rebuild of the configured catalog takes
    # minutes, so an hour bounds how stale B's search is when it must take over.
    search_feed_schedule: str = Field("17 * * * *", pattern=r"^\S+( \S+){4}$")

    nodegroup_name: ClassVar[str] = naming.NODEGROUP_NAME

    def images(self) -> list[str]:
        """Every image the cluster runs: the services', Typesense's and the cluster autoscaler's."""
        return [s.image for s in self.services] + [self.typesense_image, self.cluster_autoscaler_image]

    def production(self) -> ComputeProduction:
        """What PRODUCTION means for the posture table's compute rows."""
        return ComputeProduction(nodes=self.nodes, max_nodes=self.max_nodes, typesense_replicas=self.typesense_replicas,
                                 services=tuple(ServiceCount(s.name, s.tier.value, s.replicas) for s in self.services))

    @field_validator("cluster_autoscaler_image")
    @classmethod
    def autoscaler_matches_kubernetes(cls, image: str, info: ValidationInfo) -> str:
        # The Cluster Autoscaler's minor must be the cluster's (its README: "use the version matching your
        # Kubernetes minor"): another minor's scheduler simulation disagrees with the real scheduler.
        version = info.data.get("kubernetes_version")
        tag = image.split("@", 1)[0].rsplit(":", 1)[-1]
        if version is not None and not tag.startswith(f"v{version}."):
            raise _KeyedError([("compute.clusterAutoscalerImage",
                                f"{image!r}: the tag must be v{version}.x, compute.kubernetesVersion's minor")])
        return image

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

    @field_validator("max_nodes")
    @classmethod
    def room_for_production(cls, max_nodes: int, info: ValidationInfo) -> int:
        nodes = info.data.get("nodes")
        if nodes is not None and max_nodes < nodes:
            raise _KeyedError([("compute.maxNodes", f"must be at least compute.nodes ({nodes}), got {max_nodes}")])
        return max_nodes

    @field_validator("services")
    @classmethod
    def names_free(cls, services: list[ServiceSettings]) -> list[ServiceSettings]:
        names = [s.name for s in services]
        problems = [("compute.services", f"name {name!r} appears twice") for name in _duplicates(names)]
        problems += scaling_problems(services)
        if "typesense" in names:
            problems.append(("compute.services", "'typesense' is the search StatefulSet's name"))
        return _accepted(services, problems)

    @model_validator(mode="after")
    def public_access_needs_cidrs(self) -> Self:
        if self.api_access is ApiAccess.PUBLIC and not self.public_access_cidrs:
            raise _KeyedError([("compute.publicAccessCidrs", "compute.apiAccess 'public' needs the CIDRs "
                                "allowed to reach the public endpoint (0.0.0.0/0 is refused)")])
        return self


# email and email-json deliver to the same kind of address.
_EMAIL_ENDPOINT = (r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$", "an email address (the recipient confirms by mail)")
# What SNS delivers an alarm to, and what each protocol's endpoint looks like. Plain http is refused (TLS only);
# firehose and application need roles or platform apps this program does not manage.
SUBSCRIPTION_ENDPOINTS: dict[str, tuple[str, str]] = {
    "email": _EMAIL_ENDPOINT,
    "email-json": _EMAIL_ENDPOINT,
    "https": (r"^https://[A-Za-z0-9.-]+(:\d+)?(/\S*)?$", "an https:// URL (the endpoint confirms the subscription)"),
    "sms": (r"^\+[1-9]\d{6,14}$", "a phone number in E.164 form (+15555550100)"),
    "sqs": (r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$",
            "an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)"),
    "lambda": (r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]+)?$",
               "a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)"),
}


class SubscriptionSettings(Strict):
    protocol: str
    endpoint: str

    @field_validator("protocol")
    @classmethod
    def known_protocol(cls, protocol: str) -> str:
        if protocol == "http":
            raise ValueError("plain http would carry alerts unencrypted: use https")
        if protocol not in SUBSCRIPTION_ENDPOINTS:
            raise ValueError(f"must be one of {', '.join(SUBSCRIPTION_ENDPOINTS)}")
        return protocol


class AlertSettings(Strict):
    # Who hears the replication alarms: every endpoint subscribes to the alerts topic of each stack's region.
    subscriptions: list[SubscriptionSettings] = Field(default_factory=list)

    @model_validator(mode="after")
    def endpoints_fit_their_protocols(self) -> Self:
        problems: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for index, subscription in enumerate(self.subscriptions):
            pattern, shape = SUBSCRIPTION_ENDPOINTS[subscription.protocol]
            if not re.match(pattern, subscription.endpoint):
                problems.append((f"alerts.subscriptions[{index}].endpoint",
                                 f"{subscription.endpoint!r} is not {shape}, as protocol {subscription.protocol} "
                                 "needs"))
            pair = (subscription.protocol, subscription.endpoint)
            if pair in seen:
                problems.append((f"alerts.subscriptions[{index}]",
                                 f"{subscription.protocol} {subscription.endpoint} appears twice"))
            seen.add(pair)
        return _accepted(self, problems)


class DetectionSettings(Strict):
    # The canary in B probing A's endpoint (dns.primaryEndpoint) over HTTPS; empty paths: dns.healthCheckPath.
    canary_paths: list[str] = Field(default_factory=list, max_length=20)
    canary_rate_minutes: int = Field(1, ge=1, le=60)

    @field_validator("canary_paths")
    @classmethod
    def paths_are_absolute(cls, paths: list[str]) -> list[str]:
        return _checked_paths("detection.canaryPaths", paths, r"^/[A-Za-z0-9._~/?&=%-]*$", "must start with '/'")


class EmailSettings(Strict):
    # Critical mail (RB-N-07, components/email.py): an SES domain identity with Easy DKIM in both regions, its DKIM
    # and MAIL FROM records in the dns.zoneName zone (so the domain is that zone or a subdomain of it).
    sender_domain: str = Field("example.com", pattern=DOMAIN_PATTERN)
    sender_local_part: str = Field("no-reply", pattern=r"^[A-Za-z0-9._%+-]{1,64}$")
    # Each region's MAIL FROM domain is <mailFromSubdomain>.<region>.<senderDomain>: its MX names that region's
    # feedback endpoint, so one name cannot serve both regions.
    mail_from_subdomain: str = Field("mail", pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

    @property
    def sender(self) -> str:
        return f"{self.sender_local_part}@{self.sender_domain}"

    def mail_from_domain(self, region: str) -> str:
        return naming.mail_from_domain(self.mail_from_subdomain, region, self.sender_domain)
# CloudFront's managed price classes: which edge locations serve (and bill) requests.
CDN_PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")


class CdnSettings(Strict):
    """The CloudFront distribution in front of the API and the media (components/cdn.py), owned by the primary
    stack. Paths under apiPathPrefix/<service>/ reach the API, paths matching mediaPathPattern the media bucket."""
    enabled: bool = True
    record_name: str = Field("cdn", pattern=RECORD_NAME_PATTERN)  # cdn.<dns.zoneName>
    price_class: str = "PriceClass_100"
    api_path_prefix: str = Field("/api/v1", pattern=r"^(/[A-Za-z0-9._~-]+)+$")
    # The bucket (one of `buckets`) served under mediaPathPattern, from A with B's replica as the failover; its
    # objects live under the same prefix as their URL path (/media/x.jpg is the key media/x.jpg). None: no media.
    media_bucket: str | None = None
    media_path_pattern: str = Field("/media/*", pattern=r"^(/[A-Za-z0-9._~-]+)+/\*$")
    # What `drctl cutback` and `drctl s3-undelete` invalidate (stack output cdnCriticalPaths). Each path is one
    # service's (apiPathPrefix/<service>...) or the media's. Empty: every critical service's prefix, and the media.
    critical_paths: list[str] = Field(default_factory=list, max_length=15)
    log_retention_days: int = Field(90, ge=1, le=3650)

    @field_validator("price_class")
    @classmethod
    def known_price_class(cls, price_class: str) -> str:
        if price_class not in CDN_PRICE_CLASSES:
            raise ValueError(f"must be one of {', '.join(CDN_PRICE_CLASSES)}")
        return price_class

    @field_validator("critical_paths")
    @classmethod
    def paths_are_invalidation_paths(cls, paths: list[str]) -> list[str]:
        return _checked_paths("cdn.criticalPaths", paths, r"^/[A-Za-z0-9._~/%-]*\*?$",
                              "must start with '/' and have '*' only at its end")

    @property
    def media_prefix(self) -> str:
        return self.media_path_pattern.removesuffix("*")

    def service_prefix(self, service: str) -> str:
        return f"{self.api_path_prefix}/{service}"

    def owner_of(self, path: str, services: Sequence[str]) -> str | None:
        """The service a critical path belongs to, "media", or None."""
        if self.media_bucket and path.startswith(self.media_prefix):
            return "media"
        for service in services:
            prefix = self.service_prefix(service)
            if path == prefix or path.startswith((f"{prefix}/", f"{prefix}*")):
                return service
        return None


class CacheSettings(Strict):
    """ElastiCache for Valkey in A (a Global Datastore primary), and B's member as the posture table says."""
    # Names A's and B's replication groups (`<name>-<region>`), the Global Datastore's suffix and the AUTH secret.
    name: str = Field("dr-cache", pattern=r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$")
    node_type: str = "cache.m7g.large"
    engine_version: str = Field("8.0", pattern=r"^\d+\.\d+$")
    nodes: int = Field(3, ge=cache_facts.MIN_NODES, le=6,
                       description="production nodes in A (primary + replicas, one per AZ at the default)")

    @field_validator("node_type")
    @classmethod
    def priced_and_global(cls, node_type: str) -> str:
        if node_type not in cache_facts.NODE_HOUR_USD:
            raise ValueError(f"{node_type!r} is not in the cache price list (ops/core/cache.py): Global Datastore "
                             f"takes {', '.join(sorted(cache_facts.NODE_HOUR_USD))}")
        return node_type


# The configured names a non-production environment prefixes with its own (ops/core/environments.py): each is
# only ever a physical name, so every reader (program, runbooks, policy) gets the environment's at once.
SCOPED_NAMES = (("aurora", "globalClusterId", "dr-core"), ("cache", "name", "dr-cache"))
SCOPED_LIST_NAMES = ("buckets", "tables")


def _scoped_config(values: Any) -> Any:
    """The config with a non-production environment's prefix on every configured physical name (`dr-core` →
    `stage-dr-core`, bucket `creator-media` → `stage-creator-media`, and `cdn.mediaBucket` with it). Production's
    config is returned as it is; an invalid environment too (its own key reports it)."""
    if not isinstance(values, dict):
        return values
    environment = values.get("environment", PRODUCTION)
    if environment == PRODUCTION or not isinstance(environment, str) or not valid_environment(environment):
        return values
    names, scoped = Names(environment), dict(values)
    for key, field, default in SCOPED_NAMES:
        section = scoped.get(key, {})
        if isinstance(section, dict) and isinstance(section.get(field, default), str):
            scoped[key] = {**section, field: names.scoped(section.get(field, default))}
    for key in SCOPED_LIST_NAMES:
        items = scoped.get(key)
        if isinstance(items, list):
            scoped[key] = [{**item, "name": names.scoped(item["name"])}
                           if isinstance(item, dict) and isinstance(item.get("name"), str) else item
                           for item in items]
    cdn = scoped.get("cdn")
    if isinstance(cdn, dict) and isinstance(cdn.get("mediaBucket"), str):
        scoped["cdn"] = {**cdn, "mediaBucket": names.scoped(cdn["mediaBucket"])}
    return scoped


class Settings(Strict):
    role: Role
    # production, or a mirror deployed into the same account and regions (stage): ops/core/environments.py
    environment: str = Field(PRODUCTION, pattern=ENVIRONMENT_PATTERN)
    # false on a mirror: the account-wide singletons production's stacks already own (ECR's replication
    # configuration and creation template, with the repositories the clusters pull; AWS Backup's region
    # settings) are not declared a second time
    manage_account_settings: bool = True
    posture: Posture = Posture.PILOT_LIGHT
    failover: bool = False
    failover_mode: FailoverMode = FailoverMode.PLANNED
    # The checks across keys are field validators reading the keys declared before them (info.data holds those
    # that are valid), so they report alongside every other key's problem; validate_default runs them on defaults.
    primary_region: str = Field("us-east-1", pattern=REGION_PATTERN)
    dr_region: str = Field("us-west-2", pattern=REGION_PATTERN, validate_default=True)
    allowed_regions: list[str] = Field(default_factory=lambda: ["us-east-1", "us-west-2"], min_length=2,
                                       validate_default=True)
    primary_stack: str = Field("", pattern=r"^([A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+){0,2})?$", validate_default=True)
    aurora: AuroraSettings = AuroraSettings()
    network: NetworkSettings = NetworkSettings()
    buckets: list[BucketSettings] = Field(default_factory=list)
    tables: list[TableSettings] = Field(default_factory=list)
    dns: DnsSettings = DnsSettings()
    objectives: Objectives = Objectives()
    compute: ComputeSettings = ComputeSettings()
    alerts: AlertSettings = AlertSettings()
    detection: DetectionSettings = DetectionSettings()
    email: EmailSettings = Field(default_factory=EmailSettings, validate_default=True)
    cdn: CdnSettings = Field(default_factory=CdnSettings, validate_default=True)
    cache: CacheSettings = CacheSettings()

    @model_validator(mode="before")
    @classmethod
    def environment_names(cls, values: Any) -> Any:
        return _scoped_config(values)

    @field_validator("dns")
    @classmethod
    def own_zone(cls, dns: DnsSettings, info: ValidationInfo) -> DnsSettings:
        """A mirror has its own zone (`<environment>.<domain>`) and its endpoints are in it: the canary and the
        health checks of stage must never probe production's API, nor its records land in production's zone."""
        environment = info.data.get("environment")
        if environment in (None, PRODUCTION):
            return dns
        problems = [] if dns.zone_name.startswith(f"{environment}.") else [
            ("dns.zoneName", f"{dns.zone_name!r}: the {environment} environment's zone is its own, "
                             f"{environment}.<domain> (production's zone is production's)")]
        problems += [(key, f"{endpoint!r} is not in dns.zoneName ({dns.zone_name}): the {environment} environment "
                           "probes and routes to its own endpoints only")
                     for key, endpoint in (("dns.primaryEndpoint", dns.primary_endpoint),
                                           ("dns.drEndpoint", dns.dr_endpoint))
                     if not endpoint.endswith(f".{dns.zone_name}")]
        return _accepted(dns, problems)

    @field_validator("dr_region")
    @classmethod
    def differs_from_primary(cls, region: str, info: ValidationInfo) -> str:
        primary = info.data.get("primary_region")
        if region == primary:
            raise _KeyedError([("drRegion", f"must differ from primaryRegion ({primary})")])
        return region

    @field_validator("allowed_regions")
    @classmethod
    def regions_are_allowed(cls, regions: list[str], info: ValidationInfo) -> list[str]:
        for region in regions:
            if not re.match(REGION_PATTERN, region):
                raise ValueError(f"{region!r} is not an AWS region name")
        problems = [(key, f"{info.data[field]} is not in allowedRegions {regions}: data may only be replicated "
                          "inside that list")
                    for key, field in (("primaryRegion", "primary_region"), ("drRegion", "dr_region"))
                    if field in info.data and info.data[field] not in regions]
        return _accepted(regions, problems)

    @field_validator("primary_stack")
    @classmethod
    def named_for_dr(cls, name: str, info: ValidationInfo) -> str:
        if info.data.get("role") is Role.DR and not name:
            raise _KeyedError([("primaryStack", "the dr stack needs the primary stack's name to read its outputs")])
        return name

    @field_validator("buckets", "tables")
    @classmethod
    def names_unique(cls, items: list[BucketSettings] | list[TableSettings], info: ValidationInfo) -> list:
        key = to_camel(info.field_name or "")
        duplicates = _duplicates([item.name for item in items])
        if duplicates:
            raise _KeyedError([(key, f"name {name!r} appears twice") for name in duplicates])
        return items

    @field_validator("email")
    @classmethod
    def sender_domain_in_zone(cls, email: EmailSettings, info: ValidationInfo) -> EmailSettings:
        dns = info.data.get("dns")
        if dns is not None and not (email.sender_domain == dns.zone_name
                                    or email.sender_domain.endswith(f".{dns.zone_name}")):
            reason = (f"{email.sender_domain!r} is not dns.zoneName ({dns.zone_name}) or a subdomain of it: its DKIM "
                      "and MAIL FROM records go there")
            raise _KeyedError([("email.senderDomain", reason)])
        return email
    @field_validator("cdn")
    @classmethod
    def cdn_paths_belong(cls, cdn: CdnSettings, info: ValidationInfo) -> CdnSettings:
        """Each critical path is a configured service's or the media's; the media bucket is a configured bucket."""
        problems: list[tuple[str, str]] = []
        buckets = [b.name for b in info.data.get("buckets") or []]
        if cdn.media_bucket is not None and "buckets" in info.data and cdn.media_bucket not in buckets:
            problems.append(("cdn.mediaBucket", f"{cdn.media_bucket!r} is not one of buckets ({', '.join(buckets)})"))
        compute = info.data.get("compute")
        if compute is not None:
            services = [s.name for s in compute.services]
            media = f" or under the media path {cdn.media_path_pattern}" if cdn.media_bucket else ""
            problems += [(f"cdn.criticalPaths[{index}]",
                          f"{path!r} belongs to no service of compute.services ({', '.join(services)}): expected "
                          f"{cdn.api_path_prefix}/<service>...{media}")
                         for index, path in enumerate(cdn.critical_paths) if cdn.owner_of(path, services) is None]
        return _accepted(cdn, problems)

    @property
    def cdn_critical_paths(self) -> list[str]:
        """What the runbooks invalidate: the configured paths, or every critical service's prefix and the media."""
        if self.cdn.critical_paths:
            return list(self.cdn.critical_paths)
        paths = [f"{self.cdn.service_prefix(s.name)}/*" for s in self.compute.services if s.tier is Tier.CRITICAL]
        return paths + ([self.cdn.media_path_pattern] if self.cdn.media_bucket else [])

    @property
    def canary_paths(self) -> list[str]:
        """What the canary in B probes on A: the configured paths, or the DNS health check's."""
        return list(self.detection.canary_paths) or [self.dns.health_check_path]

    @property
    def names(self) -> Names:
        """Every physical name of this stack's environment (ops/core/environments.py)."""
        return Names(self.environment)

    @property
    def region(self) -> str:
        """The region this stack deploys into."""
        return self.primary_region if self.role is Role.PRIMARY else self.dr_region


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
        raise ConfigError.of([problem for error in exc.errors() for problem in _problems(error)]) from None


def _problems(error: Any) -> list[tuple[str, str]]:
    """One pydantic error as (key, message) pairs: a _KeyedError brings its own keys."""
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, _KeyedError):
        return cause.problems
    key = _loc_to_key(error["loc"]) or "(root)"
    given = error.get("input")
    shown = "" if isinstance(given, (dict, list)) or error["type"] == "missing" else f" (got {given!r})"
    return [(key, f"{error['msg']}{shown}")]


def decode_pulumi_config(raw: dict[str, Any]) -> dict[str, Any]:
    """Pulumi hands config to the program as strings keyed `project:key`; objects and lists arrive as JSON.

    Other namespaces (aws:, pulumi:) are not ours and are left alone."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for full_key, value in raw.items():
        namespace, _, key = full_key.partition(":")
        if namespace != PROJECT:
            continue
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                problems.append((key, f"is not valid JSON: {exc.msg}"))
                continue
        values[key] = value
    if problems:
        raise ConfigError.of(problems)
    return values


def from_pulumi() -> Settings:
    """Settings of the running Pulumi program (real engine or mocks)."""
    from pulumi.runtime import config as runtime_config

    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return parse(decode_pulumi_config(raw))
