"""What the offline plan changes in the process while a plan evaluates, it puts back (a real `pulumi up` in the
same process, or the next test, sees the SDK and the collector as they were)."""
from __future__ import annotations

import gc

import pytest

from ops.drctl.planning import mockplan, pulumi_internals
from stacks.settings import ConfigError


def test_stack_walk_and_collector_are_restored_after_a_plan_and_after_a_failing_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    original = pulumi_internals.get(pulumi_internals.STACK_TRACE)
    assert gc.isenabled()
    during: list[tuple[object, bool]] = []
    run_program = mockplan.run_pulumi_func

    def spying(program):  # what the SDK sees while the program runs
        during.append((pulumi_internals.get(pulumi_internals.STACK_TRACE), gc.isenabled()))
        return run_program(program)

    monkeypatch.setattr(mockplan, "run_pulumi_func", spying)
    assert mockplan.evaluate("primary", mockplan.stack_values("primary")).resources
    with pytest.raises(ConfigError, match="posture"):
        mockplan.evaluate("primary", {**mockplan.stack_values("primary"), "posture": "lukewarm"})

    assert len(during) == 2
    assert all(walk is not original and not collecting for walk, collecting in during)
    assert pulumi_internals.get(pulumi_internals.STACK_TRACE) is original
    assert gc.isenabled()
