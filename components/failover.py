"""Which region writes: the Aurora global database's writer — and, where B keeps a Global Datastore member, the
cache's primary — as a resource that always exists in the dr stack.

Its input names the target writer (A's cluster, or B's with `failover: true`); the engine orders everything that
must follow the role change after it by dependencies (stacks/dr.py). Its `update` moves the writer through the
same `promote_secondary` as `drctl failover`/`failback`: SwitchoverGlobalCluster when planned (RPO 0),
FailoverGlobalCluster with AllowDataLoss when unplanned (A gone); nothing is called when the target already
writes. A changed target is an update, never a replacement: a delete-then-create would be a failback followed by a
re-promotion. `delete` only forgets: removing the resource never moves the writer.

The cache follows the same change (issue 15): with `cacheGlobalGroupId` set (the posture table keeps a Global
Datastore member in B), each move also makes the target region's replication group the cache's primary through the
shared `promote_cache` (FailoverGlobalReplicationGroup, called in the target region), after Aurora's move. Without
it (pilot light: no member in B) the resource moves Aurora only.

The provider runs in Pulumi's dynamic-provider process, which loads it from the state with dill. Everything it
runs travels in that state BY VALUE — the provider class and the action code of ops/actions (aurora, elasticache,
polling, aws) — so the process needs only third-party packages (boto3, botocore, tenacity, pulumi), not this
project on `sys.path`, and moving or renaming a module cannot break the update of a state already stored.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

DEFAULT_POLL_SECONDS = 10  # a role change takes about a minute on AWS; polling faster only spends API quota
# The action code the provider runs, in import order (each may import the ones before it).
ACTION_MODULES = ("ops.core.naming", "ops.actions.polling", "ops.actions.aws", "ops.actions.aurora",
                  "ops.actions.elasticache")
PROJECT_PACKAGES = {"ops", "components", "scripts", "stacks", "policy"}
# Copies live under this name, which no process can import: dill then pickles their code by value.
BY_VALUE_PACKAGE = "dr_platform_by_value"
# What the engine compares; `writer` is an output.
WRITER_INPUTS = ("globalClusterId", "targetClusterArn", "targetRegion", "mode", "timeoutSeconds", "pollSeconds",
                 "cacheGlobalGroupId", "cacheTargetGroupId")
# The earlier design's resource (created only with `failover: true`, failback in its delete): aliased, so a stack
# that has it updates it into this resource instead of deleting it, which would have run a failback.
LEGACY_TYPE = "pulumi-python:dynamic/aurora:Promotion"
LEGACY_NAME = "aurora-promotion"


def by_value_copies(module_names: tuple[str, ...] = ACTION_MODULES) -> dict[str, ModuleType]:
    """Fresh copies of these modules, executed from their source under a name no process can import.

    Names a copy imported from an earlier copied module are rebound to that copy, so the copies only refer to
    each other and to third-party packages. Never registered in sys.modules: nothing else sees them."""
    copies: dict[str, ModuleType] = {}
    for name in module_names:
        original = importlib.import_module(name)
        copy = ModuleType(f"{BY_VALUE_PACKAGE}.{name}", original.__doc__)
        source = Path(original.__file__ or "").read_text(encoding="utf-8")
        # a relative file name: tracebacks stay readable, and the pickle does not depend on the checkout's path
        exec(compile(source, name.replace(".", "/") + ".py", "exec"), copy.__dict__)  # noqa: S102 - our own code
        for attr, value in list(vars(copy).items()):
            if isinstance(value, ModuleType):
                if value.__name__.split(".")[0] in PROJECT_PACKAGES:  # dill pickles a module by its name
                    raise ImportError(f"{name} imports the module {value.__name__}: import its functions instead")
                continue
            origin = getattr(value, "__module__", None)
            if origin in copies:
                vars(copy)[attr] = getattr(copies[origin], getattr(value, "__qualname__", attr))
            elif isinstance(origin, str) and origin.split(".")[0] in PROJECT_PACKAGES:
                # pickled by reference, it would need the project in the provider's process again
                raise ImportError(f"{name} uses {origin}.{attr}, which is not copied by value: add {origin} to "
                                  f"ACTION_MODULES (before {name})")
        copies[name] = copy
    return copies


@lru_cache(maxsize=1)
def writer_provider_type() -> type[ResourceProvider]:
    """The provider class, defined here so its qualified name (`...<locals>...`) cannot be looked up: dill pickles
    it, and the copied action functions it closes over, by value."""
    code = by_value_copies()
    promote_secondary = code["ops.actions.aurora"].promote_secondary
    promote_cache = code["ops.actions.elasticache"].promote_cache
    aws_client = code["ops.actions.aws"].client

    class AuroraWriterRegionProvider(ResourceProvider):
        def _move(self, props: dict[str, Any]) -> dict[str, Any]:
            poll_s = float(props.get("pollSeconds", DEFAULT_POLL_SECONDS))
            result = promote_secondary(aws_client("rds", props["targetRegion"]),
                                       global_cluster_id=props["globalClusterId"],
                                       target_cluster_arn=props["targetClusterArn"], mode=props["mode"],
                                       timeout_s=float(props["timeoutSeconds"]), poll_s=poll_s)
            cache_primary = None
            if props.get("cacheGlobalGroupId"):
                cache_primary = promote_cache(aws_client("elasticache", props["targetRegion"]),
                                              global_group_id=props["cacheGlobalGroupId"],
                                              target_group_id=props["cacheTargetGroupId"],
                                              timeout_s=float(props["timeoutSeconds"]), poll_s=poll_s)["primary"]
            return {**props, "writer": result["writer"], "cachePrimary": cache_primary}

        def create(self, props: dict[str, Any]) -> CreateResult:
            # Adopts the current writer, or moves it when the target differs.
            return CreateResult(id_=props["globalClusterId"], outs=self._move(props))

        def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
            changed = [key for key in WRITER_INPUTS if olds.get(key) != news.get(key)]
            return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

        def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
            return UpdateResult(outs=self._move(news))

        def delete(self, _id: str, _props: dict[str, Any]) -> None:
            return None  # only forgets: the role stays where it is

    return AuroraWriterRegionProvider


def writer_provider() -> ResourceProvider:
    return writer_provider_type()()


class _PromotionProvider(ResourceProvider):
    """Only so state written by the earlier design still loads: it pickled `components.failover._PromotionProvider`
    by reference. The alias hands that resource to AuroraWriterRegion, whose provider then runs every step; this
    one is only read (refresh) before that, and forgets when deleted."""

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


@dataclass
class CacheRoleArgs:
    """The Global Datastore whose primary follows the writer: its id and the target region's replication group."""
    global_group_id: pulumi.Input[str]
    target_group_id: pulumi.Input[str]


@dataclass
class AuroraWriterRegionArgs:
    global_cluster_id: pulumi.Input[str]
    target_cluster_arn: pulumi.Input[str]  # the cluster that must write
    target_region: str  # its region: the RDS client's
    mode: str  # planned | unplanned
    timeout_seconds: int = 1800
    poll_seconds: float = DEFAULT_POLL_SECONDS
    cache: CacheRoleArgs | None = None  # None: B keeps no Global Datastore member (the posture table's cache_b)


class AuroraWriterRegion(pulumi.dynamic.Resource, module="aurora", name="WriterRegion"):
    writer: pulumi.Output[str]
    cachePrimary: pulumi.Output[str | None]

    def __init__(self, name: str, args: AuroraWriterRegionArgs, opts: pulumi.ResourceOptions | None = None):
        legacy = pulumi.ResourceOptions(aliases=[pulumi.Alias(name=LEGACY_NAME, type_=LEGACY_TYPE)])
        super().__init__(writer_provider(), name, {
            "globalClusterId": args.global_cluster_id,
            "targetClusterArn": args.target_cluster_arn,
            "targetRegion": args.target_region,
            "mode": args.mode,
            "timeoutSeconds": args.timeout_seconds,
            "pollSeconds": args.poll_seconds,
            "cacheGlobalGroupId": args.cache.global_group_id if args.cache else None,
            "cacheTargetGroupId": args.cache.target_group_id if args.cache else None,
            "writer": None,
            "cachePrimary": None,
        }, pulumi.ResourceOptions.merge(legacy, opts))
