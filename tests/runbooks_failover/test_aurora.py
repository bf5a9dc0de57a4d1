"""promote_secondary and the moto global-database extension: roles move, calls are idempotent, errors are AWS's."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ops.actions.aurora import (AuroraStateError, describe_global_cluster, promote_secondary, scale_instances,
                                    writer_arn)
from ops.actions.aws import client
from tests.runbooks_failover.conftest import DR, GLOBAL_ID, PRIMARY, World


def test_switchover_moves_the_writer_and_a_second_call_is_a_no_op(world: World, faults) -> None:
    rds_b = client("rds", DR)
    result = promote_secondary(rds_b, global_cluster_id=GLOBAL_ID, target_cluster_arn=world.arn_b,
                               mode="planned", timeout_s=30, poll_s=0.1)
    assert result["changed"] and result["writer"] == world.arn_b and result["previous_writer"] == world.arn_a
    gc = describe_global_cluster(rds_b, GLOBAL_ID)
    members = {m["DBClusterArn"]: m["IsWriter"] for m in gc["GlobalClusterMembers"]}
    assert members == {world.arn_a: False, world.arn_b: True}  # the old primary stays, as a secondary
    again = promote_secondary(rds_b, global_cluster_id=GLOBAL_ID, target_cluster_arn=world.arn_b,
                              mode="planned", timeout_s=30, poll_s=0.1)
    assert again["changed"] is False
    assert faults.calls("rds", "SwitchoverGlobalCluster") == 1


def test_role_change_is_in_progress_before_it_completes(world: World) -> None:
    rds_b = client("rds", DR)
    rds_b.failover_global_cluster(GlobalClusterIdentifier=GLOBAL_ID, TargetDbClusterIdentifier=world.arn_b,
                                  AllowDataLoss=True)
    gc = describe_global_cluster(rds_b, GLOBAL_ID)
    assert gc["Status"] == "failing-over" and writer_arn(gc) == world.arn_a
    assert gc["FailoverState"]["ToDbClusterArn"] == world.arn_b and gc["FailoverState"]["IsDataLossAllowed"]
    with pytest.raises(ClientError) as refused:
        rds_b.switchover_global_cluster(GlobalClusterIdentifier=GLOBAL_ID, TargetDbClusterIdentifier=world.arn_b)
    assert refused.value.response["Error"]["Code"] == "InvalidGlobalClusterStateFault"
    # a resumed promotion towards the same target waits for the running change instead of starting another
    result = promote_secondary(rds_b, global_cluster_id=GLOBAL_ID, target_cluster_arn=world.arn_b,
                               mode="unplanned", timeout_s=30, poll_s=0.1)
    assert result["writer"] == world.arn_b


@pytest.mark.parametrize("operation, kwargs, code", [
    ("switchover_global_cluster", {"GlobalClusterIdentifier": "nope"}, "GlobalClusterNotFoundFault"),
    ("switchover_global_cluster", {"TargetDbClusterIdentifier":
                                   "arn:aws:rds:us-west-2:123456789012:cluster:ghost"}, "DBClusterNotFoundFault"),
    ("failover_global_cluster", {"AllowDataLoss": True, "Switchover": True}, "InvalidParameterCombination"),
])
def test_aws_errors(world: World, operation: str, kwargs: dict, code: str) -> None:
    call = {"GlobalClusterIdentifier": GLOBAL_ID, "TargetDbClusterIdentifier": world.arn_b, **kwargs}
    with pytest.raises(ClientError) as refused:
        getattr(client("rds", DR, max_attempts=1), operation)(**call)
    assert refused.value.response["Error"]["Code"] == code


def test_promoting_the_writer_or_a_stranger_is_refused(world: World) -> None:
    rds_a = client("rds", PRIMARY, max_attempts=1)
    with pytest.raises(ClientError) as refused:
        rds_a.switchover_global_cluster(GlobalClusterIdentifier=GLOBAL_ID, TargetDbClusterIdentifier=world.arn_a)
    assert refused.value.response["Error"]["Code"] == "InvalidDBClusterStateFault"
    stranger = rds_a.create_db_cluster(DBClusterIdentifier="loner", Engine="aurora-postgresql",
                                       MasterUsername="u", MasterUserPassword="password-1")["DBCluster"]
    with pytest.raises(AuroraStateError, match="not a member"):
        promote_secondary(rds_a, global_cluster_id=GLOBAL_ID, target_cluster_arn=stranger["DBClusterArn"],
                          mode="planned", timeout_s=5, poll_s=0.1)


def test_cross_region_remove_detaches_the_member(world: World) -> None:
    rds_a = client("rds", PRIMARY)
    rds_a.remove_from_global_cluster(GlobalClusterIdentifier=GLOBAL_ID, DbClusterIdentifier=world.arn_b)
    gc = describe_global_cluster(rds_a, GLOBAL_ID)
    assert [m["DBClusterArn"] for m in gc["GlobalClusterMembers"]] == [world.arn_a]


def test_scale_instances_adds_only_what_is_missing(world: World) -> None:
    rds_b = client("rds", DR)
    first = scale_instances(rds_b, cluster_id=f"{GLOBAL_ID}-{DR}", count=2, instance_class="db.r6g.large",
                            timeout_s=10, poll_s=0.1)
    assert first == {"created": [f"{GLOBAL_ID}-{DR}-0", f"{GLOBAL_ID}-{DR}-1"], "instances": 2}
    assert scale_instances(rds_b, cluster_id=f"{GLOBAL_ID}-{DR}", count=2, instance_class="db.r6g.large",
                           timeout_s=10, poll_s=0.1)["created"] == []


@pytest.mark.parametrize("mode, operation", [("planned", "SwitchoverGlobalCluster"),
                                             ("unplanned", "FailoverGlobalCluster")])
def test_a_lost_role_change_response_is_recognised_on_retry(world: World, faults, mode: str,
                                                            operation: str) -> None:
    """The server starts the role change but its answer is lost: botocore's retry meets a role change already
    running (or done), which promote_secondary recognises from the global cluster's state instead of failing."""
    faults.inject("rds", operation, 1, status=503, code="ServiceUnavailable", performed=True)
    result = promote_secondary(client("rds", DR), global_cluster_id=GLOBAL_ID, target_cluster_arn=world.arn_b,
                               mode=mode, timeout_s=30, poll_s=0.05)
    assert result["writer"] == world.arn_b and result["previous_writer"] == world.arn_a
    assert faults.calls("rds", operation) == 2  # the lost one and the retry AWS refused
    assert world.writer() == world.arn_b


def test_a_lost_switchover_response_without_client_retries_is_recognised(world: World, faults) -> None:
    faults.inject("rds", "SwitchoverGlobalCluster", 1, status=503, code="ServiceUnavailable", performed=True)
    result = promote_secondary(client("rds", DR, max_attempts=1), global_cluster_id=GLOBAL_ID,
                               target_cluster_arn=world.arn_b, mode="planned", timeout_s=30, poll_s=0.05)
    assert result["writer"] == world.arn_b and faults.calls("rds", "SwitchoverGlobalCluster") == 1


def test_a_switchover_that_did_not_happen_still_fails(world: World, faults) -> None:
    faults.inject("rds", "SwitchoverGlobalCluster", 1, status=503, code="ServiceUnavailable")
    with pytest.raises(ClientError, match="ServiceUnavailable"):
        promote_secondary(client("rds", DR, max_attempts=1), global_cluster_id=GLOBAL_ID,
                          target_cluster_arn=world.arn_b, mode="planned", timeout_s=5, poll_s=0.05)
    assert world.writer() == world.arn_a


def test_a_lost_create_db_instance_response_is_recognised_on_retry(world: World, faults) -> None:
    """CreateDBInstance done, answer lost: the retry's DBInstanceAlreadyExists is that same instance, so carry on."""
    faults.inject("rds", "CreateDBInstance", 1, status=503, code="ServiceUnavailable", performed=True)
    result = scale_instances(client("rds", DR), cluster_id=f"{GLOBAL_ID}-{DR}", count=2,
                             instance_class="db.r6g.large", timeout_s=10, poll_s=0.05)
    assert result == {"created": [f"{GLOBAL_ID}-{DR}-0", f"{GLOBAL_ID}-{DR}-1"], "instances": 2}
    assert faults.calls("rds", "CreateDBInstance") == 3  # lost, refused as existing, the second instance
    assert world.instances(DR) == [f"{GLOBAL_ID}-{DR}-0", f"{GLOBAL_ID}-{DR}-1"]


def test_an_instance_id_taken_by_another_cluster_is_not_mistaken_for_ours(world: World) -> None:
    rds_b = client("rds", DR)
    rds_b.create_db_cluster(DBClusterIdentifier="other", Engine="aurora-postgresql", MasterUsername="u",
                            MasterUserPassword="password-1")
    rds_b.create_db_instance(DBInstanceIdentifier=f"{GLOBAL_ID}-{DR}-0", DBInstanceClass="db.r6g.large",
                             Engine="aurora-postgresql", DBClusterIdentifier="other")
    with pytest.raises(AuroraStateError, match=f"{GLOBAL_ID}-{DR}-0 already exists in cluster other"):
        scale_instances(rds_b, cluster_id=f"{GLOBAL_ID}-{DR}", count=1, instance_class="db.r6g.large",
                        timeout_s=10, poll_s=0.05)
