"""Plans of the real program under Pulumi's mock runtime, shared by the foundation tests.

`plan_stack` awaits every RPC and resolves the stack's exports before returning, so assertions read settled
inputs; an evaluation error fails the test rather than passing silently."""
from __future__ import annotations

import itertools
from collections.abc import Iterator

import pulumi
import pytest

from ops.core.posture import Posture
from ops.drctl.planning import pulumi_internals
from ops.drctl.planning.mockplan import Plan, plan_stack

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


class RecordingMocks(pulumi.runtime.Mocks):
    """For a component on its own: every registration recorded, inputs echoed as outputs plus what the tests read
    (an ARN for everything, an endpoint and CA data for an EKS cluster)."""

    def __init__(self) -> None:
        self.registered: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        self.registered.append(args)
        region = args.inputs.get("region", "us-west-2")
        outputs = {**args.inputs, "arn": f"arn:aws:test:{region}:123456789012:{args.name}"}
        if args.typ == "aws:eks/cluster:Cluster":
            outputs.update(endpoint="https://example.eks", certificateAuthority={"data": "Q0E="})
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        return {}

    def of_type(self, type_: str) -> list[pulumi.runtime.MockResourceArgs]:
        return [r for r in self.registered if r.typ == type_]


@pytest.fixture
def mocks() -> Iterator[RecordingMocks]:
    recording = RecordingMocks()
    pulumi_internals.reset_root()
    pulumi.runtime.set_mocks(recording, project="dr-platform", stack="test", preview=False)
    yield recording
