"""The Lambda entry points of the ARC Region switch plan's custom-action steps (components/region_switch.py).

ARC has no execution block for what these do, so each is a Lambda function packaged from this repository that
calls the SAME shared action the failover runbook calls (`drctl failover --scale-with api`):
- `writer_capacity`: B's headless Aurora secondary gets its instances (`ops.actions.aurora.scale_instances`);
- `node_capacity`: B's managed node group gets its nodes (`ops.actions.eks.scale_nodegroup`, UpdateNodegroupConfig:
  the managed node group's own API, not its Auto Scaling group's, which EKS owns);
- `cache_promotion`: the cache's Global Datastore member in the function's own region becomes the primary
  (`ops.actions.elasticache.promote_cache`, FailoverGlobalReplicationGroup: what `drctl failover` and the Pulumi
  writer change call). One function per region, the same code: ARC runs the activating region's (B's on a
  failover, A's on a failback), and the call goes to that region's endpoint, so B promotes itself with A down.

ARC reruns a custom-action Lambda every `retryIntervalMinutes` until it succeeds or the step's timeout passes
(ARC developer guide, "Custom action Lambda execution block"), and a Lambda runs at most 15 minutes. So each
handler starts the work (idempotently: a rerun creates nothing twice), waits as long as its invocation allows, and
fails with the state it saw while the capacity is not ready yet: the rerun picks it up. What each acts on comes
from the function's environment, set by the Pulumi program; nothing from the event is trusted.
"""
from __future__ import annotations

import os
from typing import Any

from ops.actions.aurora import cluster_instances, scale_instances
from ops.actions.aws import client
from ops.actions.eks import NodegroupTarget, scale_nodegroup
from ops.actions.elasticache import promote_cache
from ops.actions.polling import WaitTimeout

# A Lambda runs at most 900 s; the wait inside one invocation stops early enough to report instead of being killed.
WAIT_WITHIN_INVOCATION_S = 780.0
POLL_S = 15.0


class CapacityNotReady(RuntimeError):
    """Raised so ARC reruns the step: the capacity (or the role change) was asked for and is still coming."""


def _region() -> str:
    return os.environ["AWS_REGION"]  # set by the Lambda runtime: the function's own region (B)


def writer_capacity(_event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """B's Aurora secondary at WRITER_INSTANCES instances, every one available."""
    rds = client("rds", _region())
    cluster_id, count = os.environ["CLUSTER_ID"], int(os.environ["WRITER_INSTANCES"])
    scaled = scale_instances(rds, cluster_id=cluster_id, count=count, instance_class=os.environ["INSTANCE_CLASS"],
                             timeout_s=WAIT_WITHIN_INVOCATION_S, poll_s=POLL_S)
    # A rerun finds the instances created and does not wait for them: their status decides.
    statuses = {i["DBInstanceIdentifier"]: i.get("DBInstanceStatus") for i in cluster_instances(rds, cluster_id)}
    available = sorted(name for name, status in statuses.items() if status == "available")
    if len(available) < count:
        raise CapacityNotReady(f"{cluster_id}: {len(available)} of {count} instances available ({statuses})")
    return {"cluster": cluster_id, "created": scaled["created"], "available": available}


def node_capacity(_event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """B's node group at DESIRED_NODES and ACTIVE."""
    eks = client("eks", _region())
    target = NodegroupTarget(os.environ["CLUSTER_NAME"], os.environ["NODEGROUP_NAME"], int(os.environ["DESIRED_NODES"]))
    scaled = scale_nodegroup(eks, target, timeout_s=WAIT_WITHIN_INVOCATION_S, poll_s=POLL_S)
    nodegroup = eks.describe_nodegroup(clusterName=target.cluster, nodegroupName=target.nodegroup)["nodegroup"]
    if nodegroup.get("status") != "ACTIVE":
        raise CapacityNotReady(f"{target.cluster}/{target.nodegroup} is {nodegroup.get('status')}")
    return {"nodegroup": f"{target.cluster}/{target.nodegroup}", **scaled}


def cache_promotion(_event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """REPLICATION_GROUP_ID (this region's member) the primary of GLOBAL_GROUP_ID. A rerun while the role change
    runs waits for it and starts nothing twice (promote_cache is idempotent); a change still running when this
    invocation must stop fails the step, so ARC reruns it."""
    global_group_id, target = os.environ["GLOBAL_GROUP_ID"], os.environ["REPLICATION_GROUP_ID"]
    try:
        promoted = promote_cache(client("elasticache", _region()), global_group_id=global_group_id,
                                 target_group_id=target, timeout_s=WAIT_WITHIN_INVOCATION_S, poll_s=POLL_S)
    except WaitTimeout as exc:
        raise CapacityNotReady(f"{global_group_id}: {target} not primary yet ({exc})") from exc
    return {"global_group": global_group_id, **promoted}
