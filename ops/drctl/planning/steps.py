"""The order a real `pulumi up` runs a config flip's steps in, computed offline from two plans.

What the engine does (Pulumi's step generator and executor): while the program runs, each resource's create,
update or replacement starts once the steps of everything it depends on are done (its inputs' resources, its
`depends_on`, its provider, a custom parent), because the SDK registers a resource only when those have
resolved. Deletes come after all of that, at the very end, in reverse dependency order (a resource goes only
after everything that depended on it). A replacement creates the new resource in place and deletes the old one
with the deletes (create-before-delete), unless the resource is marked `deleteBeforeReplace`, which deletes the
old one right before creating the new.

`after` of a step lists the nearest earlier steps it waits for (through unchanged resources too); `happens_after`
answers whether one step must be finished before another starts, which is what the ordering tests assert.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ops.drctl.planning.diff import PlanDiff, diff_plans
from ops.drctl.planning.mockplan import Plan, PlannedResource

# Inputs whose change makes the provider replace the resource (the providers' docs: Terraform's ForceNew for
# pulumi-aws, name and namespace for Kubernetes), for the types this program declares. Any other change updates
# in place. The writer region (components/failover.py) never replaces.
REPLACE_ON_CHANGE: dict[str, set[str]] = {
    "aws:rds/cluster:Cluster": {"clusterIdentifier", "engine", "storageEncrypted", "kmsKeyId", "databaseName"},
    "aws:rds/clusterInstance:ClusterInstance": {"identifier", "clusterIdentifier", "engine"},
    "aws:eks/cluster:Cluster": {"name"},
    "aws:eks/nodeGroup:NodeGroup": {"nodeGroupName", "clusterName", "subnetIds", "instanceTypes", "amiType",
                                    "capacityType", "nodeRoleArn"},
    "aws:s3/bucket:Bucket": {"bucket"},
    "aws:route53/record:Record": {"name", "zoneId"},
}
KUBERNETES_REPLACE_ON_CHANGE = {"metadata.name", "metadata.namespace"}


class Action(StrEnum):
    CREATE = "create"
    IMPORT = "import"  # the import option: adopted as it is (then updated to the program's inputs), not created
    UPDATE = "update"
    REPLACE = "replace"  # the replacement's create
    DELETE = "delete"
    DELETE_REPLACED = "delete-replaced"  # the replaced original


SYMBOLS = {Action.CREATE: "+", Action.IMPORT: "=", Action.UPDATE: "~", Action.REPLACE: "+-", Action.DELETE: "-",
           Action.DELETE_REPLACED: "-+"}


@dataclass
class Step:
    index: int
    action: Action
    resource: PlannedResource
    phase: int  # 1: while the program runs; 2: the deletes at the end
    after: list[int] = field(default_factory=list)  # indices of the nearest steps it waits for
    waits_for: set[int] = field(default_factory=set)  # every step that must finish first (transitively)

    def to_json(self) -> dict[str, Any]:
        r = self.resource
        return {"index": self.index, "action": self.action.value, "urn": r.urn, "type": r.type, "name": r.name,
                "region": r.region, "phase": self.phase, "after": self.after}


@dataclass
class StepOrder:
    steps: list[Step]

    def happens_after(self, later: Step, earlier: Step) -> bool:
        """True when `earlier` must be finished before `later` starts (not merely printed first)."""
        return later.phase > earlier.phase or earlier.index in later.waits_for

    def of(self, name: str, type_: str | None = None) -> list[Step]:
        return [s for s in self.steps if s.resource.name == name and (type_ is None or s.resource.type == type_)]

    def to_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.steps]


def _replaces(resource: PlannedResource, paths: list[str]) -> bool:
    if resource.type.startswith("kubernetes:"):
        forcing = KUBERNETES_REPLACE_ON_CHANGE
        return any(p in forcing or p.split("[")[0] in forcing for p in paths)
    forcing = REPLACE_ON_CHANGE.get(resource.type, set())
    return any(p.split(".")[0].split("[")[0] in forcing for p in paths)


def _ordering_dependencies(resource: PlannedResource, by_urn: dict[str, PlannedResource]) -> list[str]:
    """What a resource's registration waits for: dependencies, its provider, and a custom parent."""
    found = list(resource.dependencies)
    if resource.provider:
        found.append(resource.provider.rsplit("::", 1)[0])  # a provider reference is "<urn>::<id>"
    if resource.parent and resource.parent in by_urn and not by_urn[resource.parent].type.startswith(
            ("dr-platform:", "pulumi:pulumi:")):
        found.append(resource.parent)
    return [urn for urn in found if urn in by_urn and urn != resource.urn]


def _nearest(graph: dict[str, list[str]], stepped: dict[str, int]) -> dict[str, tuple[set[int], set[int]]]:
    """For every node: (the nearest step indices reached through `graph`, every step index reached)."""
    memo: dict[str, tuple[set[int], set[int]]] = {}

    def visit(urn: str, trail: frozenset[str]) -> tuple[set[int], set[int]]:
        if urn in memo:
            return memo[urn]
        if urn in trail:
            raise ValueError(f"dependency cycle through {urn}")
        nearest: set[int] = set()
        every: set[int] = set()
        for dep in graph.get(urn, []):
            dep_nearest, dep_every = visit(dep, trail | {urn})
            if dep in stepped:
                nearest.add(stepped[dep])
                every |= {stepped[dep]}
            else:
                nearest |= dep_nearest
            every |= dep_every
        memo[urn] = (nearest, every)
        return memo[urn]

    for urn in graph:
        visit(urn, frozenset())
    return memo


def _depths(graph: dict[str, list[str]], nodes: list[str]) -> dict[str, int]:
    depth: dict[str, int] = {}

    def visit(urn: str) -> int:
        if urn not in depth:
            depth[urn] = 1 + max((visit(d) for d in graph.get(urn, [])), default=0)
        return depth[urn]

    for urn in nodes:
        visit(urn)
    return depth


def step_order(before: Plan, after: Plan, diff: PlanDiff | None = None) -> StepOrder:
    """The steps of `pulumi up` from `before` to `after`, in an order the engine could run them."""
    diff = diff or diff_plans(before, after)
    old = {r.urn: r for r in before.resources}
    new = {r.urn: r for r in after.resources}
    replaced = {c.resource.urn for c in diff.changed if _replaces(c.resource, [x.path for x in c.changes])}
    updated = {c.resource.urn for c in diff.changed} - replaced
    added = {r.urn for r in diff.added}
    forward = {urn: _ordering_dependencies(r, new) for urn, r in new.items()}
    depth = _depths(forward, sorted(new))

    steps: list[Step] = []
    stepped: dict[str, int] = {}  # urn -> index of its phase-1 step (the create, for a replacement)

    def add(action: Action, resource: PlannedResource, phase: int) -> Step:
        step = Step(index=len(steps) + 1, action=action, resource=resource, phase=phase)
        steps.append(step)
        return step

    for urn in sorted(added | updated | replaced, key=lambda u: (depth[u], u)):
        resource = new[urn]
        if urn in replaced and resource.deleteBeforeReplace:
            add(Action.DELETE_REPLACED, old[urn], 1)
        action = (Action.IMPORT if resource.importId else Action.CREATE) if urn in added else \
            Action.REPLACE if urn in replaced else Action.UPDATE
        stepped[urn] = add(action, resource, 1).index
    links = _nearest(forward, stepped)
    for step in steps:
        nearest, every = links[step.resource.urn]
        step.after, step.waits_for = sorted(nearest), set(every)
        if step.action is Action.REPLACE and step.index - 1 >= 1 and \
                steps[step.index - 2].action is Action.DELETE_REPLACED:
            step.after, step.waits_for = sorted({*step.after, step.index - 1}), step.waits_for | {step.index - 1}

    # The deletes: removed resources and create-before-delete originals, each after its old dependents.
    doomed = [r.urn for r in diff.removed] + sorted(u for u in replaced if not new[u].deleteBeforeReplace)
    dependents: dict[str, list[str]] = {urn: [] for urn in old}
    for urn, r in old.items():
        for dep in _ordering_dependencies(r, old):
            dependents[dep].append(urn)
    reverse_depth = _depths(dependents, sorted(old))
    first_phase = {s.index for s in steps}
    deleted: dict[str, int] = {}
    for urn in sorted(doomed, key=lambda u: (reverse_depth[u], u)):
        action = Action.DELETE_REPLACED if urn in replaced else Action.DELETE
        deleted[urn] = add(action, old[urn], 2).index
    reverse_links = _nearest(dependents, deleted)
    for urn, index in deleted.items():
        nearest, every = reverse_links[urn]
        steps[index - 1].after = sorted(nearest)
        steps[index - 1].waits_for = set(every) | first_phase
    return StepOrder(steps)
