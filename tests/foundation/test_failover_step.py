"""The writer resource's provider against moto's server: what `pulumi up --stack dr` does when the writer's target
changes (`failover: true`, and back). Driven through the entry points the engine calls (create / diff / update /
delete); tests/foundation/test_writer_provider_process.py runs it as Pulumi's provider host does."""
from __future__ import annotations

from typing import Any

import pytest

from components.failover import writer_provider
from ops.actions.aurora import describe_global_cluster, writer_arn
from ops.actions.aws import client
from tests.harness.aurora import DR, GLOBAL_ID, PRIMARY, build_aurora


def props(target_arn: str, target_region: str, mode: str = "planned") -> dict[str, Any]:
    """The inputs components/failover.py gives the resource, with a fast poll for moto's quick role changes."""
    return {"globalClusterId": GLOBAL_ID, "targetClusterArn": target_arn, "targetRegion": target_region,
            "mode": mode, "timeoutSeconds": 30, "pollSeconds": 0.05, "writer": None}


def current_writer() -> str | None:
    return writer_arn(describe_global_cluster(client("rds", DR), GLOBAL_ID))


def test_create_adopts_the_writer_and_updates_switch_over_and_back(aws: str, faults: Any) -> None:
    arn_a, arn_b = build_aurora(instances_b=1)
    provider = writer_provider()

    created = provider.create(props(arn_a, PRIMARY))  # the stack's first `up`: A writes, nothing to do
    assert created.id == GLOBAL_ID and created.outs["writer"] == arn_a
    assert faults.calls("rds", "SwitchoverGlobalCluster") == 0

    failed_over = provider.update(created.id, created.outs, props(arn_b, DR))  # `failover: true`
    assert current_writer() == arn_b and failed_over.outs["writer"] == arn_b
    assert faults.calls("rds", "SwitchoverGlobalCluster") == 1
    assert faults.calls("rds", "FailoverGlobalCluster") == 0  # planned never allows data loss

    back = provider.update(created.id, failed_over.outs, props(arn_a, PRIMARY))  # `failover: false`: failback
    assert current_writer() == arn_a and back.outs["writer"] == arn_a
    assert faults.calls("rds", "SwitchoverGlobalCluster") == 2


def test_create_moves_the_writer_when_the_target_differs(aws: str, faults: Any) -> None:
    arn_a, arn_b = build_aurora(instances_b=1)
    created = writer_provider().create(props(arn_b, DR, "unplanned"))
    assert current_writer() == arn_b and created.outs["writer"] == arn_b
    assert faults.calls("rds", "FailoverGlobalCluster") == 1


def test_unplanned_failover_allows_data_loss_and_a_re_run_changes_nothing(aws: str, faults: Any) -> None:
    arn_a, arn_b = build_aurora(instances_b=1)
    provider = writer_provider()
    olds = provider.create(props(arn_a, PRIMARY)).outs

    moved = provider.update(GLOBAL_ID, olds, props(arn_b, DR, "unplanned"))
    assert current_writer() == arn_b
    assert faults.calls("rds", "FailoverGlobalCluster") == 1

    # A later `pulumi up` that changes only the mode updates the resource; B already writes, so no API call.
    again = provider.update(GLOBAL_ID, moved.outs, props(arn_b, DR, "planned"))
    assert again.outs["writer"] == arn_b
    assert faults.calls("rds", "FailoverGlobalCluster") == 1
    assert faults.calls("rds", "SwitchoverGlobalCluster") == 0


def test_delete_forgets_and_never_moves_the_writer(aws: str, faults: Any) -> None:
    arn_a, arn_b = build_aurora(instances_b=1)
    provider = writer_provider()
    moved = provider.create(props(arn_b, DR))

    provider.delete(moved.id, moved.outs)

    assert current_writer() == arn_b
    assert faults.calls("rds", "SwitchoverGlobalCluster") == 1  # only the create's


def test_throttled_role_change_is_retried_and_completes(aws: str, faults: Any) -> None:
    arn_a, arn_b = build_aurora(instances_b=1)
    faults.inject("rds", "SwitchoverGlobalCluster", 2, status=400, code="Throttling")
    faults.inject("rds", "DescribeGlobalClusters", 1, status=503, code="ServiceUnavailable")

    writer_provider().create(props(arn_b, DR))

    assert current_writer() == arn_b
    assert faults.calls("rds", "SwitchoverGlobalCluster") == 3  # two throttled, one accepted


def test_diff_updates_and_never_replaces(aws: str) -> None:
    provider = writer_provider()
    olds = props("arn:a", PRIMARY)

    assert provider.diff("id", olds, dict(olds)).changes is False
    assert provider.diff("id", {**olds, "writer": "arn:a"}, olds).changes is False  # an output is no input
    for news in ({**olds, "mode": "unplanned"}, props("arn:b", DR)):
        result = provider.diff("id", olds, news)
        assert result.changes is True and result.replaces == [] and result.delete_before_replace is False


def test_role_change_fails_clearly_when_the_target_is_not_a_member(aws: str) -> None:
    arn_a, _ = build_aurora()
    stranger = arn_a.replace(f"{GLOBAL_ID}-{PRIMARY}", "someone-else")

    with pytest.raises(RuntimeError, match="is not a member of global cluster dr-core"):
        writer_provider().create(props(stranger, DR))
    assert current_writer() == arn_a


def test_state_of_the_earlier_promotion_resource_still_loads_and_its_delete_forgets(aws: str, faults: Any) -> None:
    """That state pickled `components.failover._PromotionProvider` by reference (with a `code_dir`): the name
    stays so a refresh can load it before the alias hands the resource to the writer region."""
    import dill

    from components import failover

    arn_a, arn_b = build_aurora(instances_b=1)
    writer_provider().create(props(arn_b, DR))
    legacy = failover._PromotionProvider()
    legacy.code_dir = "/somewhere/else"  # type: ignore[attr-defined]
    loaded = dill.loads(dill.dumps(legacy, recurse=True))

    assert isinstance(loaded, failover._PromotionProvider)
    loaded.delete(f"{GLOBAL_ID}@{DR}", {"failbackClusterArn": arn_a, "failbackRegion": PRIMARY})
    assert current_writer() == arn_b  # the old delete was a failback; now nothing moves
    assert faults.calls("rds", "SwitchoverGlobalCluster") == 1
