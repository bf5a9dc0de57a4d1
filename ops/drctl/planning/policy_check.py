"""The policy pack's rules run over offline plans: what CI checks on every stack × posture × failover."""
from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

from ops.core.posture import Posture
from ops.drctl.planning.mockplan import Plan, plan_stack
from policy.rules import RULES, STACK_RULES, stack_violations, violations

POSTURES = tuple(Posture)  # the posture table's own list, in its order


@dataclass(frozen=True)
class Violation:
    stack: str
    variant: str
    urn: str
    rule: str
    message: str


@dataclass
class VariantResult:
    """One stack variant checked: how many resources each rule looked at (rules with none are not listed)."""
    stack: str
    variant: str
    rules: dict[str, int] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"stack": self.stack, "variant": self.variant, "rules": self.rules, "violations": len(self.violations)}


def check_plan(plan: Plan, variant: str = "") -> list[Violation]:
    allowed = plan.config.get("allowedRegions")
    config = {"allowedRegions": allowed}
    return [*(Violation(plan.stack, variant, r.urn, rule, message)
              for r in plan.resources
              for rule, message in violations(r.type, r.inputs, r.region, config)),
            *(Violation(plan.stack, variant, urn, rule, message) for rule, urn, message in
              stack_violations([(r.type, r.urn, r.inputs) for r in plan.resources], config))]


def rules_run(plan: Plan) -> dict[str, int]:
    """Rule name -> resources of the plan it applies to, in the pack's order."""
    types = Counter(r.type for r in plan.resources)
    counts = {rule.name: sum(types[t] for t in rule.resource_types) for rule in [*RULES, *STACK_RULES]}
    return {name: count for name, count in counts.items() if count}


def every_variant(stacks: tuple[str, ...] | None = None) -> list[tuple[str, list[str]]]:
    """Each stack (default: every shipped stack) × posture × failover."""
    from stacks.config_files import shipped_stacks

    stacks = tuple(shipped_stacks()) if stacks is None else stacks
    return [(stack, [f"posture={posture}", f"failover={str(failover).lower()}"])
            for stack, posture, failover in itertools.product(stacks, POSTURES, (False, True))]


def check_variants(stacks: tuple[str, ...] | None = None, extra: list[str] | None = None) -> list[VariantResult]:
    """Every variant of each stack, with `extra` overrides on top. A dr variant reads the primary planned with the
    same `extra` (not the variant's posture/failover, which are the dr stack's): a region moved with --set moves in
    the primary's exports too, as it would in both stacks' config."""
    results = []
    for stack, overrides in every_variant(stacks):
        plan = plan_stack(stack, [*overrides, *(extra or [])], primary_overrides=list(extra or []))
        variant = " ".join(overrides)
        results.append(VariantResult(stack, variant, rules_run(plan), check_plan(plan, variant)))
    return results


def check_all(stacks: tuple[str, ...] | None = None, extra: list[str] | None = None) -> tuple[int, list[Violation]]:
    results = check_variants(stacks, extra)
    return len(results), [v for result in results for v in result.violations]
