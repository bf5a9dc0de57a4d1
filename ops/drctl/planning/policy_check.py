"""The policy pack's rules run over offline plans: what CI checks on every stack × posture × failover."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from policy.rules import violations
from ops.drctl.planning.mockplan import Plan, plan_stack

POSTURES = ("pilot-light", "warm-standby", "active-active")


@dataclass(frozen=True)
class Violation:
    stack: str
    variant: str
    urn: str
    rule: str
    message: str


def check_plan(plan: Plan, variant: str = "") -> list[Violation]:
    allowed = plan.config.get("allowedRegions")
    return [Violation(plan.stack, variant, r.urn, rule, message)
            for r in plan.resources
            for rule, message in violations(r.type, r.inputs, r.region, {"allowedRegions": allowed})]


def every_variant(stacks: tuple[str, ...] = ("primary", "dr")) -> list[tuple[str, list[str]]]:
    return [(stack, [f"posture={posture}", f"failover={str(failover).lower()}"])
            for stack, posture, failover in itertools.product(stacks, POSTURES, (False, True))]


def check_all(stacks: tuple[str, ...] = ("primary", "dr"), extra: list[str] | None = None) -> tuple[int, list[Violation]]:
    found: list[Violation] = []
    variants = every_variant(stacks)
    for stack, overrides in variants:
        found += check_plan(plan_stack(stack, [*overrides, *(extra or [])]), " ".join(overrides))
    return len(variants), found
