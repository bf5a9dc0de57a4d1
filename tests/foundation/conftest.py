"""Plans of the real program under Pulumi's mock runtime, shared by the foundation tests.

`plan_stack` awaits every RPC and resolves the stack's exports before returning, so assertions read settled
inputs; an evaluation error fails the test rather than passing silently."""
from __future__ import annotations

import itertools

import pytest

from components.posture import Posture
from scripts.planning.mockplan import Plan, plan_stack

POSTURES = [p.value for p in Posture]


@pytest.fixture(scope="session")
def primary_plan() -> Plan:
    return plan_stack("primary")


@pytest.fixture(scope="session")
def dr_plans() -> dict[tuple[str, bool], Plan]:
    return {(posture, failover): plan_stack("dr", [f"posture={posture}", f"failover={str(failover).lower()}"])
            for posture, failover in itertools.product(POSTURES, (False, True))}


@pytest.fixture(scope="session")
def dr_plan(dr_plans: dict[tuple[str, bool], Plan]) -> Plan:
    return dr_plans[("pilot-light", False)]
