"""B's search feed: RB-N-04 as a CronJob in B wherever B runs Typesense while A writes, reading the database
credentials through Pod Identity from the master secret's replica in B, and nothing of it elsewhere."""
from __future__ import annotations

import json

import pytest

from ops.core.posture import Posture, capacity
from components.search_feed import SERVICE_ACCOUNT
from ops.drctl.planning.mockplan import Plan
from ops.core.catalog import collections as search_collections

CRON_JOB = "kubernetes:batch/v1:CronJob"


@pytest.mark.parametrize(("posture", "failover", "fed"), [
    ("pilot-light", False, False), ("warm-standby", False, True), ("active-active", False, True),
    ("pilot-light", True, False), ("warm-standby", True, False), ("active-active", True, False)])
def test_the_posture_table_decides_where_b_is_fed(dr_plans: dict[tuple[str, bool], Plan], posture: str,
                                                  failover: bool, fed: bool) -> None:
    assert capacity(Posture(posture), failover, 2).search_feed_b is fed
    plan = dr_plans[(posture, failover)]
    assert plan.outputs["searchFeedB"] is fed
    assert len(plan.by_type(CRON_JOB)) == (len(search_collections()) if fed else 0)
    assert bool([r for r in plan.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                 if r.inputs["serviceAccount"] == SERVICE_ACCOUNT]) is fed


def test_each_collection_is_rebuilt_from_b_reader_with_the_secret_replica_over_verified_tls(
        dr_plans: dict[tuple[str, bool], Plan], primary_plan: Plan) -> None:
    plan = dr_plans[("warm-standby", False)]
    (secondary,) = plan.by_type("aws:rds/cluster:Cluster")
    secret_a = primary_plan.outputs["masterSecretArn"]
    secret_b = secret_a.replace(":us-east-1:", ":us-west-2:")
    assert secret_b != secret_a
    for job, collection in zip(sorted(plan.by_type(CRON_JOB), key=lambda j: j.name), search_collections()):
        spec = job.inputs["spec"]
        assert spec["concurrencyPolicy"] == "Forbid"
        pod = spec["jobTemplate"]["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == SERVICE_ACCOUNT and pod["restartPolicy"] == "Never"
        (container,) = pod["containers"]
        command = container["command"]
        flags = ["--prune-abandoned", "--execute", "--yes"]  # unattended: it cleans up after failed runs
        assert command[:2] == ["drctl", "reindex"] and command[-3:] == flags
        options = dict(zip(command[2:-3:2], command[3:-3:2]))
        assert options["--collection"] == collection
        assert options["--source-secret"] == secret_b
        source = dict(part.split("=", 1) for part in options["--source"].split())
        assert source["host"].startswith(f"{secondary.inputs['clusterIdentifier']}.cluster-ro-")  # the reader
        assert source["host"].endswith(".us-west-2.rds.amazonaws.com")
        assert source["sslmode"] == "verify-full" and source["sslrootcert"]
        assert "password" not in options["--source"]
        assert container["image"].startswith("123456789012.dkr.ecr.us-west-2.amazonaws.com/creator-platform/drctl:")


def test_the_job_role_reads_one_secret_and_decrypts_only_through_secrets_manager(
        dr_plans: dict[tuple[str, bool], Plan], primary_plan: Plan) -> None:
    plan = dr_plans[("active-active", False)]
    (association,) = [r for r in plan.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                      if r.inputs["namespace"] == "platform"]  # the cluster autoscaler's is in kube-system
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == ("platform", SERVICE_ACCOUNT)
    role = next(r for r in plan.by_type("aws:iam/role:Role") if r.inputs["name"].endswith("-search-feed"))
    assert association.inputs["roleArn"].endswith(f"role/{role.inputs['name']}")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    (policy,) = [r for r in plan.by_type("aws:iam/rolePolicy:RolePolicy") if r.inputs["role"] == role.inputs["name"]]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    secret_b = primary_plan.outputs["masterSecretArn"].replace(":us-east-1:", ":us-west-2:")
    assert statements == [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_b},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": primary_plan.outputs["kmsReplicaKeyArn"],
         "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-west-2.amazonaws.com"}}}]


def test_the_toolkit_image_has_its_repository_in_a(primary_plan: Plan) -> None:
    names = {r.inputs["name"] for r in primary_plan.by_type("aws:ecr/repository:Repository")}
    assert "creator-platform/drctl" in names
