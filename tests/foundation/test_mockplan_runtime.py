"""What the offline plan changes in the process while a plan evaluates, it puts back (a real `pulumi up` in the
same process, or the next test, sees the SDK and the collector as they were)."""
from __future__ import annotations

import dataclasses
import gc
import threading

import pytest

from ops.drctl.planning import mockplan, pulumi_internals
from stacks.settings import ConfigError


def test_stack_walk_unknowns_check_and_collector_are_restored_after_a_plan_and_after_a_failing_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    original = pulumi_internals.get(pulumi_internals.STACK_TRACE)
    check = pulumi_internals.get(pulumi_internals.CONTAINS_UNKNOWNS)
    scan = pulumi_internals.get(pulumi_internals.NESTED_GLOBALS)
    assert gc.isenabled()
    during: list[tuple[object, bool]] = []
    checks: list[object] = []
    run_program = mockplan.run_pulumi_func

    def spying(program):  # what the SDK sees while the program runs
        during.append((pulumi_internals.get(pulumi_internals.STACK_TRACE), gc.isenabled()))
        checks.append(pulumi_internals.get(pulumi_internals.CONTAINS_UNKNOWNS))
        assert pulumi_internals.get(pulumi_internals.NESTED_GLOBALS) is not scan
        return run_program(program)

    monkeypatch.setattr(mockplan, "run_pulumi_func", spying)
    assert mockplan.evaluate("primary", mockplan.stack_values("primary")).resources
    with pytest.raises(ConfigError, match="posture"):
        mockplan.evaluate("primary", {**mockplan.stack_values("primary"), "posture": "lukewarm"})

    assert len(during) == 2
    assert all(walk is not original and not collecting for walk, collecting in during)
    assert pulumi_internals.get(pulumi_internals.STACK_TRACE) is original
    assert checks == [pulumi_internals._contains_unknowns] * 2
    assert pulumi_internals.get(pulumi_internals.CONTAINS_UNKNOWNS) is check
    assert pulumi_internals.get(pulumi_internals.NESTED_GLOBALS) is scan
    assert gc.isenabled()


def _left_for_the_collector() -> int:
    """What one plan leaves that only the cyclic collector frees (the one before it primes the process)."""
    mockplan.evaluate("primary", mockplan.stack_values("primary"))
    gc.collect()
    gc.disable()
    try:
        mockplan.evaluate("primary", mockplan.stack_values("primary", ["posture=warm-standby"]))
        return gc.collect()
    finally:
        gc.enable()


def test_a_plan_leaves_the_cyclic_collector_far_less_than_with_the_sdks_unknowns_check(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The collector's pass after each plan costs in proportion to what the plan left it; the SDK's own unknowns
    check alone left ~55,000 objects in cycles per primary plan (~25 ms to free; scripts/bench/plan.py)."""
    with monkeypatch.context() as sdk_own:  # as on an SDK without the internal: the swap does nothing
        renamed = dataclasses.replace(pulumi_internals.CONTAINS_UNKNOWNS,
                                      where="pulumi.runtime.rpc:contains_unknowns_v2")
        sdk_own.setattr(pulumi_internals, "CONTAINS_UNKNOWNS", renamed)
        with_sdks = _left_for_the_collector()
    with_ours = _left_for_the_collector()
    assert with_ours < with_sdks - 40_000, (with_ours, with_sdks)


def test_a_plan_puts_back_the_pickler_pulumi_patches() -> None:
    """Pulumi's serialize_provider wraps pickle._Pickler._batch_setitems and never restores it: without the plan
    putting it back, each plan with the writer step nests one more wrapper, and a long session's pickling recursed
    past the limit."""
    import pickle

    from ops.drctl.planning import mockplan

    before = pickle._Pickler._batch_setitems, pickle._Pickler.save_dict
    for overrides in (["posture=warm-standby"], ["posture=active-active"]):
        mockplan.evaluate("dr", mockplan.stack_values("dr", overrides), {
            "organization/dr-platform/primary": mockplan.plan_stack("primary").outputs})
        assert (pickle._Pickler._batch_setitems, pickle._Pickler.save_dict) == before


def test_the_monitor_answers_on_the_plans_thread_and_the_loop_keeps_its_executor(
        monkeypatch: pytest.MonkeyPatch) -> None:
    loop = pulumi_internals.get(pulumi_internals.ENSURE_EVENT_LOOP)()
    before = loop._default_executor
    threads: set[str] = set()
    register = mockplan._RecordingMonitor.RegisterResource

    def spying(self, request):
        threads.add(threading.current_thread().name)
        return register(self, request)

    monkeypatch.setattr(mockplan._RecordingMonitor, "RegisterResource", spying)
    assert mockplan.evaluate("primary", mockplan.stack_values("primary")).resources
    assert threads == {threading.current_thread().name}
    assert loop._default_executor is before
