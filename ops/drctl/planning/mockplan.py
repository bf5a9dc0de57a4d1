"""The offline plan: run the real Pulumi program in-process under Pulumi's mock runtime.

There is no AWS account or Pulumi CLI here, so `drctl plan` evaluates `__main__.py` exactly as `pulumi up`
would run it, with the stack's config assembled as the CLI would (Pulumi.yaml defaults, Pulumi.<stack>.yaml,
--set overrides) and the primary stack's exports fed into the dr stack's StackReference. What it records is
the plan: every resource with type, name, region, parent, protection, ignored fields, dependencies and
inputs. Policy tests, cost and RTO/RPO assessment, and the step order of a flip (steps.py) read this plan.

Facts this relies on: mock inputs arrive camelCase with numbers as floats; `MockResourceArgs` has no parent or
options, so the monitor is subclassed to record them from the RegisterResource request; re-importing
pulumi_aws in one process fails, and nothing in the program keeps state across runs, so nothing is reset.
The SDK internals this needs are all in pulumi_internals.py, checked before each plan.
"""
from __future__ import annotations

import gc
import hashlib
import json
import runpy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pulumi

from ops.drctl.planning import pulumi_internals
from ops.drctl.planning.pulumi_internals import (global_names_remembered, monitor_calls_inline, run_pulumi_func,
                                                 source_positions_skipped, sync_await, unknowns_check_acyclic)
from stacks.config_files import stack_values, to_pulumi_config
from ops.core.environments import PRODUCTION
from stacks.settings import PROJECT, PROJECT_DIR, ConfigError, Role, Settings, parse

ACCOUNT = "123456789012"
GLOBAL_SERVICES = ("aws:iam/", "aws:route53/", "aws:cloudfront/")  # control plane is global, whichever provider calls it
SECRET_INPUTS = {"masterPassword", "secretString", "result", "stringData", "authToken"}
MASK = "[secret]"


@dataclass
class PlannedResource:
    urn: str
    type: str
    name: str
    region: str | None
    parent: str | None
    protect: bool
    retainOnDelete: bool
    ignoreChanges: list[str]
    provider: str | None
    dependencies: list[str]
    inputs: dict[str, Any]
    deleteBeforeReplace: bool = False  # a replacement deletes the old one first (ops/drctl/planning/steps.py)
    importId: str | None = None  # the import option: the engine adopts this existing resource instead of creating it


@dataclass
class Plan:
    stack: str
    config: dict[str, Any]
    resources: list[PlannedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"stack": self.stack, "config": self.config,
                "resources": [_resource_json(r) for r in self.resources], "outputs": self.outputs}

    def by_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str) -> PlannedResource:
        found = [r for r in self.resources if r.type == type_ and r.name == name]
        if len(found) != 1:
            raise KeyError(f"{type_} {name!r}: {len(found)} in plan")
        return found[0]

    def children(self, parent_urn: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.parent == parent_urn]


def _resource_json(resource: PlannedResource) -> dict[str, Any]:
    shown = asdict(resource)
    if shown["importId"] is None:  # only where the program imports: every other resource reads as it always did
        del shown["importId"]
    return shown


def _short(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:17]


def _service(type_: str) -> str:
    return type_.split(":")[1].split("/")[0] if type_.count(":") >= 2 else "unknown"


class _PlanMocks(pulumi.runtime.Mocks):
    """Deterministic stand-ins for what AWS computes (ids, ARNs, endpoints) so the plan is stable."""

    def __init__(self, stack_outputs: dict[str, dict[str, Any]],
                 db_instances: dict[str, list[str]] | None = None,
                 node_groups: dict[str, list[int]] | None = None) -> None:
        self.stack_outputs = stack_outputs
        self.db_instances = db_instances or {}  # cluster id -> instances already in the account (getInstances)
        # (cluster, nodegroup) -> [min, desired, max] in the account, from "cluster/nodegroup" keys
        self.node_groups = {tuple(key.split("/", 1)): sizes for key, sizes in (node_groups or {}).items()}
        self.provider_regions: dict[str, str] = {}

    def region_of(self, provider_ref: str | None) -> str | None:
        return self.provider_regions.get(provider_ref) if provider_ref else None

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            outputs = self.stack_outputs.get(inputs.get("name", args.name))
            if outputs is None:
                raise KeyError(f"StackReference {inputs.get('name', args.name)!r}: no such stack planned")
            return args.name, {"name": args.name, "outputs": outputs, "secretOutputNames": []}
        if not args.custom:
            return None, {}
        region = inputs.get("region") if args.typ.startswith("pulumi:providers:") else self.region_of(args.provider)
        computed = _computed(args.typ, args.name, inputs, region or "us-east-1")
        return computed.pop("id"), {**inputs, **computed}

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        region = self.region_of(args.provider) or "us-east-1"
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{region}{suffix}" for suffix in "abcd"]
            return {"names": names, "zoneIds": [f"{region[:3]}{i}-az{i}" for i in range(1, 5)], "id": region}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/planner",
                    "userId": "AIDAPLANNER", "id": ACCOUNT}
        if args.token == "aws:ssm/getParameter:getParameter":  # AWS's public AMI parameters (components/access.py)
            name = args.args["name"]
            return {"name": name, "id": name, "type": "String", "value": f"ami-{_short(name)}",
                    "insecureValue": f"ami-{_short(name)}", "arn": f"arn:aws:ssm:{region}::parameter{name}",
                    "version": 1, "withDecryption": True}
        if args.token == "aws:s3/getCanonicalUserId:getCanonicalUserId":
            return {"id": _short(ACCOUNT) * 4, "displayName": "planner"}
        if args.token == "aws:route53/getZone:getZone":
            return {"zoneId": f"Z{_short(args.args['name'])[:13].upper()}", "name": args.args["name"],
                    "id": args.args["name"]}
        if args.token == "aws:secretsmanager/getSecretVersion:getSecretVersion":  # B reads the cache's AUTH replica
            secret_id = args.args["secretId"]
            return {"arn": secret_id, "id": f"{secret_id}|AWSCURRENT", "secretId": secret_id,
                    "secretString": f"mock-token-{_short(secret_id)}", "versionId": "mock-version",
                    "versionStage": "AWSCURRENT", "versionStages": ["AWSCURRENT"]}
        if args.token == "aws:rds/getInstances:getInstances":  # stacks/dr.py: B's instances made outside Pulumi
            clusters = [v for f in args.args.get("filters") or [] if f["name"] == "db-cluster-id" for v in f["values"]]
            found = sorted(i for cluster in clusters for i in self.db_instances.get(cluster, []))
            return {"id": region, "instanceIdentifiers": found,
                    "instanceArns": [f"arn:aws:rds:{region}:{ACCOUNT}:db:{i}" for i in found]}
        # stacks/common.py: the node groups as the account has them (none unless a test says so)
        groups = self.node_groups
        if args.token == "aws:eks/getClusters:getClusters":
            return {"id": region, "names": sorted({cluster for cluster, _ in groups})}
        if args.token == "aws:eks/getNodeGroups:getNodeGroups":
            cluster = args.args["clusterName"]
            return {"id": cluster, "clusterName": cluster, "names": sorted(n for c, n in groups if c == cluster)}
        if args.token == "aws:eks/getNodeGroup:getNodeGroup":
            minimum, desired, maximum = groups[(args.args["clusterName"], args.args["nodeGroupName"])]
            return {"id": f"{args.args['clusterName']}:{args.args['nodeGroupName']}",
                    "scalingConfigs": [{"minSize": minimum, "desiredSize": desired, "maxSize": maximum}]}
        raise NotImplementedError(f"mock plan has no answer for invoke {args.token}")

# The ARNs that differ from the default arn:aws:<service>:<region>:<account>:<physical name> by their format only
# (`short` is the name's hash; `{short:.6}` its first six characters).
_ARN_FORMATS: dict[str, str] = {
    "aws:rds/globalCluster:GlobalCluster": "arn:aws:rds::{account}:global-cluster:{physical}",
    "aws:secretsmanager/secret:Secret": "arn:aws:secretsmanager:{region}:{account}:secret:{physical}-{short:.6}",
    "aws:dynamodb/table:Table": "arn:aws:dynamodb:{region}:{account}:table/{physical}",
    "aws:iam/role:Role": "arn:aws:iam::{account}:role/{physical}",
    # a global resource: no region in its ARN
    "aws:arcregionswitch/plan:Plan": "arn:aws:arc-region-switch::{account}:plan/{physical}:{short:.6}",
    "aws:lambda/function:Function": "arn:aws:lambda:{region}:{account}:function:{physical}",
    "aws:ec2/subnet:Subnet": "arn:aws:ec2:{region}:{account}:subnet/subnet-{short}",
    "aws:ec2/vpc:Vpc": "arn:aws:ec2:{region}:{account}:vpc/vpc-{short}",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "arn:aws:cloudwatch:{region}:{account}:alarm:{physical}",
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": "arn:aws:cloudwatch:{region}:{account}:alarm:{alarm_name}",
    # as AWS's LogGroup ARN: no ":*"
    "aws:cloudwatch/logGroup:LogGroup": "arn:aws:logs:{region}:{account}:log-group:{physical}",
}


def _computed(type_: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """What AWS would fill in, in AWS's own formats."""
    service = _service(type_)
    physical = (inputs.get("name") or inputs.get("bucket") or inputs.get("identifier")
                or inputs.get("clusterIdentifier") or inputs.get("globalClusterIdentifier") or name)
    out: dict[str, Any] = {"id": str(physical), "arn": f"arn:aws:{service}:{region}:{ACCOUNT}:{physical}"}
    if type_ in _ARN_FORMATS:
        out["arn"] = _ARN_FORMATS[type_].format(region=region, account=ACCOUNT, physical=physical, short=_short(name),
                                                alarm_name=inputs.get("alarmName"))
    elif type_ == "aws:kms/key:Key":
        key_id = f"mrk-{_short(name)}"
        out.update(id=key_id, keyId=key_id, arn=f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}")
    elif type_ == "aws:kms/replicaKey:ReplicaKey":
        key_id = str(inputs.get("primaryKeyArn", "")).rsplit("/", 1)[-1]  # replicas share the key id
        out.update(id=key_id, keyId=key_id, arn=f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}")
    elif type_ == "aws:rds/cluster:Cluster":
        out.update(arn=f"arn:aws:rds:{region}:{ACCOUNT}:cluster:{physical}",
                   endpoint=f"{physical}.cluster-{_short(physical)[:12]}.{region}.rds.amazonaws.com",
                   readerEndpoint=f"{physical}.cluster-ro-{_short(physical)[:12]}.{region}.rds.amazonaws.com")
    elif type_ == "aws:s3/bucket:Bucket":
        out.update(arn=f"arn:aws:s3:::{physical}", bucket=physical, bucketDomainName=f"{physical}.s3.amazonaws.com",
                   bucketRegionalDomainName=f"{physical}.s3.{region}.amazonaws.com")
    elif type_ == "aws:acm/certificate:Certificate":
        names = [inputs.get("domainName"), *(inputs.get("subjectAlternativeNames") or [])]
        out.update(id=f"arn:aws:acm:{region}:{ACCOUNT}:certificate/{_short(name)}",
                   arn=f"arn:aws:acm:{region}:{ACCOUNT}:certificate/{_short(name)}",
                   domainValidationOptions=[{"domainName": n, "resourceRecordName": f"_{_short(n)}.{n}.",
                                             "resourceRecordType": "CNAME",
                                             "resourceRecordValue": f"_{_short(n + 'v')}.acm-validations.aws."}
                                            for n in names])
    elif type_ == "aws:cloudfront/distribution:Distribution":
        distribution_id = f"E{_short(name)[:13].upper()}"
        out.update(id=distribution_id, arn=f"arn:aws:cloudfront::{ACCOUNT}:distribution/{distribution_id}",
                   domainName=f"d{_short(name)[:13]}.cloudfront.net", hostedZoneId="Z2FDTNDATAQYW2")
    elif type_ in ("aws:cloudfront/originAccessControl:OriginAccessControl", "aws:cloudfront/cachePolicy:CachePolicy"):
        out["id"] = _short(name)
    elif type_ == "aws:route53/record:Record":
        out["fqdn"] = str(inputs.get("name", "")).rstrip(".")
    elif type_ == "aws:eks/cluster:Cluster":
        out.update(arn=f"arn:aws:eks:{region}:{ACCOUNT}:cluster/{physical}",
                   endpoint=f"https://{_short(physical).upper()[:16]}.gr7.{region}.eks.amazonaws.com",
                   certificateAuthority={"data": f"LS0tLS1CRUdJTi1tb2Nr{_short(name)}"},
                   vpcConfig={**(inputs.get("vpcConfig") or {}), "clusterSecurityGroupId": f"sg-{_short(physical)}"},
                   version=inputs.get("version"))
    elif type_ == "aws:eks/nodeGroup:NodeGroup":
        cluster, group = inputs.get("clusterName"), inputs.get("nodeGroupName")
        out.update(id=f"{cluster}:{group}", arn=f"arn:aws:eks:{region}:{ACCOUNT}:nodegroup/{cluster}/{group}/mock")
    elif type_ == "aws:elasticache/replicationGroup:ReplicationGroup":
        group = str(inputs.get("replicationGroupId"))
        out.update(id=group, arn=f"arn:aws:elasticache:{region}:{ACCOUNT}:replicationgroup:{group}",
                   primaryEndpointAddress=f"master.{group}.{_short(group)[:6]}.{region}.cache.amazonaws.com")
    elif type_ == "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup":
        # AWS prefixes the suffix with a code of the primary's region (us-east-1: ldgnf, us-west-2: sgaui)
        prefix = {"us-east-1": "ldgnf", "us-west-2": "sgaui"}.get(region, _short(region)[:5])
        global_id = f"{prefix}-{inputs.get('globalReplicationGroupIdSuffix')}"
        out.update(id=global_id, globalReplicationGroupId=global_id,
                   arn=f"arn:aws:elasticache::{ACCOUNT}:globalreplicationgroup:{global_id}")
    elif type_ == "random:index/randomPassword:RandomPassword":
        out["result"] = f"mock-{_short(name)}"
    elif type_ == "aws:sqs/queue:Queue":  # a queue's id is its URL
        url = f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/{physical}"
        out.update(id=url, url=url, arn=f"arn:aws:sqs:{region}:{ACCOUNT}:{physical}")
    elif type_ == "aws:sesv2/emailIdentity:EmailIdentity":  # Easy DKIM: three tokens per identity and region
        domain = inputs.get("emailIdentity")
        tokens = [_short(f"{region}/{domain}/{i}")[:16] + _short(f"{i}/{domain}/{region}")[:16] for i in range(3)]
        out.update(id=domain, arn=f"arn:aws:ses:{region}:{ACCOUNT}:identity/{domain}", identityType="DOMAIN",
                   dkimSigningAttributes={**(inputs.get("dkimSigningAttributes") or {}), "tokens": tokens,
                                          "status": "PENDING", "signingAttributesOrigin": "AWS_SES"})
    elif type_ == "aws:iam/accessKey:AccessKey":
        out.update(id=f"AKIA{_short(name)[:16].upper()}", secret=f"mock-{_short(name)}")
    elif type_.startswith("pulumi-python:dynamic"):  # the writer region: one per global cluster
        out["id"] = str(inputs.get("globalClusterId"))
    return out


def planned_outputs(resource: PlannedResource) -> dict[str, Any]:
    """The id, ARN (and URL, endpoint...) the plan gave `resource`, as its dependents and the outputs saw them: a
    harness that creates the planned resource elsewhere (moto) maps these to what it got."""
    return _computed(resource.type, resource.name, resource.inputs, resource.region or "us-east-1")


class _RecordingMonitor(pulumi_internals.mock_monitor_base()):  # type: ignore[misc]
    """The mock monitor, also keeping what MockResourceArgs leaves out: parent, options, dependencies."""

    def __init__(self, mocks: _PlanMocks) -> None:
        super().__init__(mocks)
        self.plan_mocks = mocks
        self.registrations: list[dict[str, Any]] = []

    def RegisterResource(self, request: Any) -> Any:
        response, inputs = pulumi_internals.mock_register(self, request)
        if inputs is None:  # the root Stack
            return response
        if request.type.startswith("pulumi:providers:"):
            self.plan_mocks.provider_regions[f"{response.urn}::{response.id}"] = inputs.get("region")
        self.registrations.append({
            "urn": response.urn, "type": request.type, "name": request.name, "parent": request.parent or None,
            "protect": bool(request.protect), "retainOnDelete": bool(request.retainOnDelete),
            "deleteBeforeReplace": bool(request.deleteBeforeReplace),
            "ignoreChanges": list(request.ignoreChanges), "provider": request.provider or None,
            "dependencies": sorted(request.dependencies), "custom": bool(request.custom), "inputs": inputs,
            "importId": request.importId or None,
        })
        return response


def _clean(value: Any, special_key: str, key: str = "") -> Any:
    """Plan-friendly inputs: floats that are whole become ints; secrets masked; engine internals dropped.
    `special_key` marks a secret or other special value the SDK keeps wrapped."""
    if key in SECRET_INPUTS and value is not None:
        return MASK
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (pulumi.Asset, pulumi.Archive)):
        return _asset(value)
    if isinstance(value, dict):
        if special_key in value:
            return MASK
        return {k: _clean(v, special_key, k) for k, v in sorted(value.items()) if not k.startswith("__")}
    if isinstance(value, list):
        return [_clean(v, special_key) for v in value]
    return value


def _asset(value: pulumi.Asset | pulumi.Archive) -> Any:
    """An asset or archive as the plan shows it: a file by its path in the project and the sha256 of its bytes (a
    changed handler is a changed input), a directory archive by its name (it lives in the environment's packages)."""
    if isinstance(value, pulumi.AssetArchive):
        return {"archive": {name: _asset(item) for name, item in sorted(value.assets.items())}}
    if isinstance(value, pulumi.FileAsset):
        path = Path(value.path)
        shown = path.relative_to(PROJECT_DIR) if path.is_relative_to(PROJECT_DIR) else Path(path.name)
        return {"file": str(shown), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    if isinstance(value, pulumi.FileArchive):
        return {"directory": Path(value.path).name}
    if isinstance(value, pulumi.StringAsset):
        return {"text": value.text}
    return {"asset": type(value).__name__}


def _region(registration: dict[str, Any], mocks: _PlanMocks, by_urn: dict[str, dict[str, Any]]) -> str | None:
    type_ = registration["type"]
    if type_.startswith(GLOBAL_SERVICES):
        return "global"
    if type_.startswith("pulumi:providers:"):
        return registration["inputs"].get("region")
    if type_.startswith("pulumi-python:dynamic"):  # the writer region: the role of the global database
        return "global"
    if registration["custom"]:
        return mocks.region_of(registration["provider"])
    return None


def _component_regions(resources: list[PlannedResource]) -> None:
    """A component's region: its children's, when they all agree (else "multi")."""
    children: dict[str, list[PlannedResource]] = {}
    for r in resources:
        if r.parent:
            children.setdefault(r.parent, []).append(r)

    for r in resources:
        _region_from_children(r, children)


def _region_from_children(r: PlannedResource, children: dict[str, list[PlannedResource]]) -> str | None:
    # module-level, not a closure calling itself: that is a cycle, and it kept the whole plan for the collector
    if r.region is not None or r.urn not in children:
        return r.region
    found = {_region_from_children(c, children) for c in children[r.urn]} - {None, "global"}
    r.region = found.pop() if len(found) == 1 else ("multi" if found else None)
    return r.region


@contextmanager
def _pickler_put_back() -> Iterator[None]:
    """Pulumi's `serialize_provider` (pulumi/dynamic/dynamic.py, run for each dynamic resource: the writer step)
    sorts dicts by replacing `pickle._Pickler._batch_setitems` with a wrapper of the current one and never puts it
    back. `pulumi up` serialises once per run; a process that plans many stacks stacks one wrapper per plan, until
    pickling the provider recurses past Python's limit (a test session hit it once the stage pair doubled its
    plans). Each plan puts them back, so the next wraps the original: sorting once or twice gives the same bytes."""
    import pickle

    saved = pickle._Pickler._batch_setitems, pickle._Pickler.save_dict  # type: ignore[attr-defined]
    try:
        yield
    finally:
        pickle._Pickler._batch_setitems, pickle._Pickler.save_dict = saved  # type: ignore[attr-defined]


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """A plan makes many short-lived objects beside the provider SDKs' hundreds of thousands of long-lived ones;
    with the cyclic collector on, its full passes re-walk those and took ~30 % of a plan (scripts/bench/plan.py).
    Reference counting still frees almost everything; the few cycles wait for the collector to resume."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def evaluate(stack: str, values: dict[str, Any], stack_outputs: dict[str, dict[str, Any]] | None = None,
             db_instances: dict[str, list[str]] | None = None,
             node_groups: dict[str, list[int]] | None = None) -> Plan:
    """Run the program under mocks with these config values; returns the recorded plan. What the program's invokes
    find in the account: `db_instances`, Aurora instances outside this stack's state (cluster id -> ids);
    `node_groups`, EKS node groups' scaling ("cluster/nodegroup" -> [min, desired, max]). By default none.

    Raises stacks.settings.ConfigError (before any resource is declared) when the config is invalid, and
    pulumi_internals.SdkInternalsMissing (before anything runs) when the installed SDK lacks an internal it needs."""
    pulumi_internals.check()
    mocks = _PlanMocks(stack_outputs or {}, db_instances, node_groups)
    monitor = _RecordingMonitor(mocks)
    pulumi_internals.reset_root()  # a fresh root Stack per run, or exports of earlier runs leak in
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(to_pulumi_config(values))
    pulumi_internals.clear_pending()
    exports: dict[str, Any] = {}

    def program() -> None:
        runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__pulumi_program__")
        root = pulumi.runtime.get_root_resource()
        exports.update(sync_await(pulumi.Output.from_input(getattr(root, "outputs", {})).future()) or {})

    with (_cyclic_gc_paused(), source_positions_skipped(), unknowns_check_acyclic(), global_names_remembered(),
          monitor_calls_inline(), _pickler_put_back()):
        sync_await(run_pulumi_func(program))
    by_urn = {r["urn"]: r for r in monitor.registrations}
    special_key = pulumi_internals.special_sig_key()
    resources = [PlannedResource(
        urn=r["urn"], type=r["type"], name=r["name"], region=_region(r, mocks, by_urn), parent=r["parent"],
        protect=r["protect"], retainOnDelete=r["retainOnDelete"], ignoreChanges=r["ignoreChanges"],
        provider=r["provider"], dependencies=r["dependencies"], inputs=_clean(r["inputs"], special_key),
        deleteBeforeReplace=r["deleteBeforeReplace"], importId=r["importId"])
        for r in sorted(monitor.registrations, key=lambda r: r["urn"])]
    root_urn = f"urn:pulumi:{stack}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{stack}"
    for r in resources:
        r.parent = None if r.parent == root_urn else r.parent
    _component_regions(resources)
    return Plan(stack=stack, config=values, resources=resources, outputs=_clean(exports, special_key))


@lru_cache(maxsize=16)
def _cached_plan(stack: str, values_json: str, refs_json: str, db_instances_json: str = "{}",
                 node_groups_json: str = "{}") -> Plan:
    return evaluate(stack, json.loads(values_json), json.loads(refs_json), json.loads(db_instances_json),
                    json.loads(node_groups_json))


def _referenced_stack_name(reference: str) -> str:
    """`org/project/primary` → the stack file `Pulumi.primary.yaml`."""
    return reference.rsplit("/", 1)[-1]


def check_pairing(settings: Settings, primary_outputs: dict[str, Any]) -> None:
    """A dr stack reads the primary of its own environment only (stacks/dr.py refuses the same at `pulumi up`):
    stage-dr pointed at production's primary would plan a failover of production's database."""
    theirs = primary_outputs.get("environment") or PRODUCTION
    if theirs != settings.environment:
        raise ConfigError("primaryStack", f"{settings.primary_stack} is the {theirs} environment's primary stack; "
                                          f"this dr stack is {settings.environment}'s (dr-platform:environment)")


def plan_stack(stack: str, overrides: list[str] | dict[str, Any] | None = None,
               primary_overrides: list[str] | dict[str, Any] | None = None,
               existing_db_instances: dict[str, list[str]] | None = None,
               live_node_groups: dict[str, list[int]] | None = None) -> Plan:
    """Plan a stack from its files plus overrides; a dr stack first plans the primary it references, from the
    primary's files plus `primary_overrides` (a change both stacks get, e.g. `drctl policy --set drRegion=...`).
    `existing_db_instances`: Aurora instances made outside Pulumi (cluster id -> ids), e.g. by the ARC plan's
    writer-capacity step before this `pulumi up`; `live_node_groups`: EKS node groups as the account has them
    ("cluster/nodegroup" -> [min, desired, max], e.g. after the Cluster Autoscaler grew one); by default none.

    Raises ConfigError naming the key for invalid config (nothing is evaluated then)."""
    values = stack_values(stack, overrides)
    settings = parse(values)  # validate before evaluating anything, the same model the program uses
    refs: dict[str, dict[str, Any]] = {}
    if settings.role is Role.DR:
        primary = plan_stack(_referenced_stack_name(settings.primary_stack), primary_overrides)
        check_pairing(settings, primary.outputs)
        refs[settings.primary_stack] = primary.outputs
    return _cached_plan(stack, json.dumps(values, sort_keys=True), json.dumps(refs, sort_keys=True),
                        json.dumps(existing_db_instances or {}, sort_keys=True),
                        json.dumps(live_node_groups or {}, sort_keys=True))
