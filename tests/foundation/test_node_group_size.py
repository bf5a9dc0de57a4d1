"""The Cluster Autoscaler moves a node group's desired size between the posture's floor and ceiling; AWS says not to
set it directly then, yet the config flip must (EKS refuses a floor above the desired size). The program reads the
node group as the account has it and declares: the autoscaler's count, left alone, where the scaling config stays;
at least the new floor, keeping what the autoscaler added, where the floor rises or the ceiling moves; the floor
where it falls. Before, every plan declared desired = floor: a `pulumi up --refresh`, or any change to the scaling
config, drained the nodes the autoscaler had added, in B in the middle of a failover."""
from __future__ import annotations

import pytest

from components.compute import LiveScaling, NodeCounts
from ops.drctl.planning.mockplan import plan_stack

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
B_GROUP, A_GROUP = "platform-us-west-2/general", "platform-us-east-1/general"
LEFT_TO_AUTOSCALER = ["scalingConfig.desiredSize"]


@pytest.mark.parametrize(("floor", "ceiling", "live", "expected"), [
    (3, 6, None, (3, False)),                            # no node group yet: the floor
    (3, 6, LiveScaling(3, 5, 6), (5, True)),             # nothing changes, the autoscaler grew it: its count stands
    (3, 6, LiveScaling(3, 3, 6), (3, False)),            # ... at the floor: declared (the same), nothing stale sent
    (0, 1, LiveScaling(0, 0, 1), (0, False)),            # pilot light at rest
    (0, 1, LiveScaling(0, 1, 3), (0, False)),            # ... no autoscaler runs at 0: a stray node goes
    (3, 6, LiveScaling(0, 0, 1), (3, False)),            # failover: the floor rises from pilot light
    (3, 6, LiveScaling(0, 3, 3), (3, False)),            # ... after drctl/ARC scaled it (min left at 0)
    (4, 6, LiveScaling(3, 5, 6), (5, False)),            # a higher floor keeps what the autoscaler added
    (3, 8, LiveScaling(3, 5, 6), (5, False)),            # the ceiling moves: the count is kept
    (3, 4, LiveScaling(3, 6, 6), (4, False)),            # ... but never above the new ceiling
    (0, 1, LiveScaling(3, 5, 6), (0, False)),            # failback: the floor falls, the extra nodes go too
    (2, 3, LiveScaling(3, 6, 6), (2, False)),            # a smaller posture
])
def test_the_desired_size_follows_the_floor_and_keeps_the_autoscalers_count(
        floor: int, ceiling: int, live: LiveScaling | None, expected: tuple[int, bool]) -> None:
    assert NodeCounts(desired=floor, max=ceiling, live=live).desired_size() == expected


def _group(plan, region: str):
    [group] = [r for r in plan.by_type(NODE_GROUP) if r.region == region]
    return group.inputs["scalingConfig"], group.ignoreChanges


def test_a_pulumi_up_after_the_autoscaler_grew_b_keeps_its_nodes() -> None:
    """B failed over (floor 3, ceiling 6) and the autoscaler grew it to 5 under load: the next `pulumi up --stack
    dr` (refreshed or not) leaves the 5 to the autoscaler instead of declaring 3 and draining two nodes."""
    failed_over = ["posture=pilot-light", "failover=true"]
    plan = plan_stack("dr", failed_over, live_node_groups={B_GROUP: [3, 5, 6]})
    assert _group(plan, "us-west-2") == ({"desiredSize": 5, "minSize": 3, "maxSize": 6}, LEFT_TO_AUTOSCALER)
    # the same in A's stack
    primary = plan_stack("primary", live_node_groups={A_GROUP: [3, 4, 6]})
    assert _group(primary, "us-east-1") == ({"desiredSize": 4, "minSize": 3, "maxSize": 6}, LEFT_TO_AUTOSCALER)


def test_the_flip_still_drives_the_node_group_both_ways() -> None:
    failover = plan_stack("dr", ["posture=pilot-light", "failover=true"], live_node_groups={B_GROUP: [0, 0, 1]})
    assert _group(failover, "us-west-2") == ({"desiredSize": 3, "minSize": 3, "maxSize": 6}, [])
    failback = plan_stack("dr", ["posture=pilot-light"], live_node_groups={B_GROUP: [3, 5, 6]})
    assert _group(failback, "us-west-2") == ({"desiredSize": 0, "minSize": 0, "maxSize": 1}, [])


def test_a_first_deploy_declares_the_floor() -> None:
    """No cluster in the account yet (the mock's default): the plan is what it always was."""
    plan = plan_stack("dr", ["posture=warm-standby"])
    assert _group(plan, "us-west-2") == ({"desiredSize": 2, "minSize": 2, "maxSize": 3}, [])
