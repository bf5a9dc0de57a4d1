"""Benchmark: wall time of planning every shipped stack × 3 postures × failover on/off in one process.

    scripts/dev bench plan        (or: python -m scripts.bench.plan [--repeat N])

Goal (issue 2): ≤ 5 s for production's 12 plans (primary and dr) on this 2-core machine, counted from a cold process
(imports included), so that policy tests over every stack × posture stay cheap in CI. The stage pair's 12 plans
come after them in the same process and are reported on their own line (what CI's checks now also pay).
"""
from __future__ import annotations

import argparse
import itertools
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--repeat", type=int, default=1, help="repeat the 12 plans (warm) this many extra times")
    args = parser.parse_args()

    t0 = time.perf_counter()
    from ops.core.posture import Posture
    from ops.drctl.planning import mockplan
    from stacks.config_files import load_stack_settings, shipped_stacks
    imported = time.perf_counter() - t0

    evaluations = 0
    original = mockplan.evaluate

    def counted(*a, **k):  # count real program runs (the dr stack's primary reference is planned once)
        nonlocal evaluations
        evaluations += 1
        return original(*a, **k)

    mockplan.evaluate = counted
    stacks = shipped_stacks()  # production's pair first
    production = [s for s in stacks if load_stack_settings(s).names.is_production]
    combos = list(itertools.product(stacks, [p.value for p in Posture], (False, True)))
    rows = []
    t1 = time.perf_counter()
    for index, (stack, posture, failover) in enumerate(combos):
        start = time.perf_counter()
        plan = mockplan.plan_stack(stack, [f"posture={posture}", f"failover={str(failover).lower()}"])
        rows.append((stack, posture, failover, len(plan.resources), time.perf_counter() - start))
        if index + 1 == 6 * len(production):  # production's 12: what the goal counts
            cold_total = time.perf_counter() - t0
            plans_only = time.perf_counter() - t1
            cold_evaluations = evaluations
    all_total = time.perf_counter() - t0
    all_evaluations = evaluations

    warm = []
    for _ in range(args.repeat):
        mockplan._cached_plan.cache_clear()
        start = time.perf_counter()
        for stack, posture, failover in combos:
            mockplan.plan_stack(stack, [f"posture={posture}", f"failover={str(failover).lower()}"])
        warm.append(time.perf_counter() - start)

    print(f"{'stack':13} {'posture':14} {'failover':8} {'resources':>9} {'seconds':>8}")
    for stack, posture, failover, count, seconds in rows:
        print(f"{stack:13} {posture:14} {str(failover):8} {count:9d} {seconds:8.3f}")
    print(f"\nimport (pulumi, pulumi_aws, program): {imported:.2f} s")
    print(f"12 plans ({cold_evaluations} program evaluations, first includes provider SDK loading): {plans_only:.2f} s")
    print(f"cold total, imports + 12 plans: {cold_total:.2f} s   goal ≤ 5 s: {'met' if cold_total <= 5 else 'NOT met'}")
    print(f"every shipped stack ({len(combos)} plans, {all_evaluations} program evaluations), cold total: "
          f"{all_total:.2f} s (the stage pair's {len(combos) - 6 * len(production)}: {all_total - cold_total:.2f} s)")
    for index, seconds in enumerate(warm, 1):
        print(f"warm repeat {index} of all {len(combos)} (cache cleared): {seconds:.2f} s")


if __name__ == "__main__":
    main()
