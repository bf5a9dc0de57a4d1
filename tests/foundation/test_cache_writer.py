"""The cache follows the writer: the writer resource's provider against moto's server (with the Global Datastore
extension), promoting B's cache on `failover: true` and A's on failback, through FailoverGlobalReplicationGroup."""
from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from components.failover import writer_provider
from ops.actions.aws import client
from ops.actions.elasticache import CacheStateError, describe_global_group, primary_group, promote_cache
from tests.harness.aurora import build_aurora
from tests.harness.cache import DR, GROUP_A, GROUP_B, PRIMARY, build_cache
from tests.harness.moto_extensions import elasticache_global


def props(target_arn: str, target_region: str, cache_global_id: str | None, cache_target: str | None,
          mode: str = "planned") -> dict[str, Any]:
    return {"globalClusterId": "dr-core", "targetClusterArn": target_arn, "targetRegion": target_region,
            "mode": mode, "timeoutSeconds": 30, "pollSeconds": 0.05, "cacheGlobalGroupId": cache_global_id,
            "cacheTargetGroupId": cache_target, "writer": None, "cachePrimary": None}


def cache_primary(global_id: str, region: str = DR) -> str | None:
    return primary_group(describe_global_group(client("elasticache", region), global_id))


def test_the_extension_speaks_aws_ids_roles_and_refusals(aws: str) -> None:
    global_id = build_cache()
    assert global_id == "ldgnf-dr-cache"  # AWS prefixes the suffix with the primary region's code
    group = describe_global_group(client("elasticache", DR), global_id)
    assert {(m["ReplicationGroupId"], m["ReplicationGroupRegion"], m["Role"]) for m in group["Members"]} == {
        (GROUP_A, PRIMARY, "PRIMARY"), (GROUP_B, DR, "SECONDARY")}
    secondary = client("elasticache", DR).describe_replication_groups(ReplicationGroupId=GROUP_B)
    assert secondary["ReplicationGroups"][0]["CacheNodeType"] == "cache.m7g.large"  # inherited from the primary
    with pytest.raises(ClientError, match="InvalidParameterValue"):  # already primary
        client("elasticache", PRIMARY).failover_global_replication_group(
            GlobalReplicationGroupId=global_id, PrimaryRegion=PRIMARY, PrimaryReplicationGroupId=GROUP_A)


def test_failover_promotes_b_cache_with_aurora_and_failback_moves_both_back(aws: str, faults: Any) -> None:
    arn_a, arn_b = build_aurora(instances_b=1)
    global_id = build_cache()
    provider = writer_provider()

    created = provider.create(props(arn_a, PRIMARY, global_id, GROUP_A))  # warm standby: A writes, nothing moves
    assert created.outs["cachePrimary"] == GROUP_A
    assert faults.calls("elasticache", "FailoverGlobalReplicationGroup") == 0

    failed_over = provider.update(created.id, created.outs, props(arn_b, DR, global_id, GROUP_B))
    assert cache_primary(global_id) == GROUP_B and failed_over.outs["cachePrimary"] == GROUP_B
    assert failed_over.outs["writer"] == arn_b
    assert faults.calls("elasticache", "FailoverGlobalReplicationGroup") == 1

    again = provider.update(created.id, failed_over.outs, props(arn_b, DR, global_id, GROUP_B, mode="unplanned"))
    assert again.outs["cachePrimary"] == GROUP_B
    assert faults.calls("elasticache", "FailoverGlobalReplicationGroup") == 1  # B already primary: no call

    back = provider.update(created.id, again.outs, props(arn_a, PRIMARY, global_id, GROUP_A))
    assert cache_primary(global_id) == GROUP_A and back.outs["cachePrimary"] == GROUP_A
    assert faults.calls("elasticache", "FailoverGlobalReplicationGroup") == 2


def test_without_a_member_in_b_the_writer_moves_aurora_only(aws: str, faults: Any) -> None:
    _, arn_b = build_aurora(instances_b=1)
    moved = writer_provider().create(props(arn_b, DR, None, None))  # pilot light's failover
    assert moved.outs["writer"] == arn_b and moved.outs["cachePrimary"] is None
    assert faults.calls("elasticache", "DescribeGlobalReplicationGroups") == 0


def test_a_lost_answer_is_recognised_on_retry_and_not_repeated(aws: str, faults: Any) -> None:
    global_id = build_cache()
    # The server performs the failover, its answer is lost; botocore's retry meets InvalidGlobalReplicationGroupState.
    faults.inject("elasticache", "FailoverGlobalReplicationGroup", 1, status=503, code="ServiceUnavailable",
                  performed=True)
    result = promote_cache(client("elasticache", DR), global_group_id=global_id, target_group_id=GROUP_B,
                           timeout_s=10, poll_s=0.05)
    assert result["changed"] and result["previous_primary"] == GROUP_A and cache_primary(global_id) == GROUP_B
    assert faults.calls("elasticache", "FailoverGlobalReplicationGroup") == 2  # the call and botocore's one retry


def test_a_change_already_running_is_waited_for_not_started_again(aws: str, faults: Any, monkeypatch) -> None:
    monkeypatch.setattr(elasticache_global, "TRANSITION_SECONDS", 0.5)
    global_id = build_cache()
    client("elasticache", DR).failover_global_replication_group(  # an earlier run's call
        GlobalReplicationGroupId=global_id, PrimaryRegion=DR, PrimaryReplicationGroupId=GROUP_B)
    result = promote_cache(client("elasticache", DR), global_group_id=global_id, target_group_id=GROUP_B,
                           timeout_s=10, poll_s=0.05)
    assert result["primary"] == GROUP_B and cache_primary(global_id) == GROUP_B
    assert faults.calls("elasticache", "FailoverGlobalReplicationGroup") == 1


def test_a_target_outside_the_global_datastore_fails_clearly(aws: str) -> None:
    global_id = build_cache(secondary=False)
    with pytest.raises(CacheStateError, match="dr-cache-us-west-2 is not a member of global replication group"):
        promote_cache(client("elasticache", DR), global_group_id=global_id, target_group_id=GROUP_B,
                      timeout_s=5, poll_s=0.05)
    assert cache_primary(global_id) == GROUP_A
