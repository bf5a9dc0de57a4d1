"""What a config flip changes: resources added, removed, and inputs changed (old → new), matched by URN —
what `pulumi up` would do, since URNs are what the engine matches on."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ops.drctl.planning.mockplan import Plan, PlannedResource

OPTION_FIELDS = ("protect", "retainOnDelete", "ignoreChanges", "region", "parent")


@dataclass
class Change:
    path: str
    old: Any
    new: Any


@dataclass
class ChangedResource:
    resource: PlannedResource
    changes: list[Change]


@dataclass
class PlanDiff:
    added: list[PlannedResource] = field(default_factory=list)
    removed: list[PlannedResource] = field(default_factory=list)
    changed: list[ChangedResource] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_json(self) -> dict[str, Any]:
        def brief(r: PlannedResource) -> dict[str, Any]:
            return {"urn": r.urn, "type": r.type, "name": r.name, "region": r.region}
        return {"added": [brief(r) for r in self.added], "removed": [brief(r) for r in self.removed],
                "changed": [{**brief(c.resource), "changes": [vars(x) for x in c.changes]} for c in self.changed]}


def value_changes(old: Any, new: Any, path: str = "") -> list[Change]:
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[Change] = []
        for key in sorted(set(old) | set(new)):
            changes += value_changes(old.get(key), new.get(key), f"{path}.{key}" if path else key)
        return changes
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [c for i, (o, n) in enumerate(zip(old, new)) for c in value_changes(o, n, f"{path}[{i}]")]
    return [] if old == new else [Change(path, old, new)]


def diff_plans(before: Plan, after: Plan) -> PlanDiff:
    old = {r.urn: r for r in before.resources}
    new = {r.urn: r for r in after.resources}
    result = PlanDiff(added=[new[u] for u in sorted(new.keys() - old.keys())],
                      removed=[old[u] for u in sorted(old.keys() - new.keys())])
    for urn in sorted(old.keys() & new.keys()):
        changes = value_changes(old[urn].inputs, new[urn].inputs)
        changes += [Change(f"({name})", getattr(old[urn], name), getattr(new[urn], name))
                    for name in OPTION_FIELDS if getattr(old[urn], name) != getattr(new[urn], name)]
        if changes:
            result.changed.append(ChangedResource(new[urn], changes))
    return result
