"""EKS managed node groups: scale to a desired size (never below what is asked), waiting until ACTIVE."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ops.actions.polling import poll_until

NODEGROUP_SPEC = re.compile(r"^(?P<cluster>[A-Za-z0-9][A-Za-z0-9_-]*)/(?P<nodegroup>[A-Za-z0-9][A-Za-z0-9_-]*)"
                            r"=(?P<desired>\d+)$")


@dataclass(frozen=True)
class NodegroupTarget:
    cluster: str
    nodegroup: str
    desired: int

    @classmethod
    def parse(cls, text: str) -> "NodegroupTarget":
        """`CLUSTER/NODEGROUP=DESIRED`, e.g. `dr-us-west-2/general=6`; ValueError naming the text otherwise."""
        match = NODEGROUP_SPEC.match(text)
        if not match:
            raise ValueError(f"--nodegroup {text!r}: expected CLUSTER/NODEGROUP=DESIRED (e.g. dr/general=6)")
        return cls(match["cluster"], match["nodegroup"], int(match["desired"]))


def describe_nodegroup(eks: Any, cluster: str, nodegroup: str) -> dict[str, Any]:
    """The node group as EKS has it: status, scalingConfig (minSize, desiredSize, maxSize), health issues."""
    return eks.describe_nodegroup(clusterName=cluster, nodegroupName=nodegroup)["nodegroup"]


def request_nodegroup_size(eks: Any, target: NodegroupTarget) -> dict[str, Any]:
    """UpdateNodegroupConfig to `desired` nodes (raising maxSize if needed), not waited for; no call when the node
    group already asks for that many (a resumed run, or an update still running)."""
    scaling = describe_nodegroup(eks, target.cluster, target.nodegroup)["scalingConfig"]
    if scaling.get("desiredSize") == target.desired:
        return {"changed": False, "desired": target.desired}
    wanted = {"minSize": min(scaling.get("minSize", 0), target.desired),
              "maxSize": max(scaling.get("maxSize", target.desired), target.desired), "desiredSize": target.desired}
    eks.update_nodegroup_config(clusterName=target.cluster, nodegroupName=target.nodegroup, scalingConfig=wanted)
    return {"changed": True, "desired": target.desired, "previous": scaling.get("desiredSize")}


def wait_nodegroup_size(eks: Any, target: NodegroupTarget, *, timeout_s: float = 1800, poll_s: float = 15) -> None:
    """Until the node group is ACTIVE at `desired` (EKS says ACTIVE once its update is done)."""
    poll_until(lambda: describe_nodegroup(eks, target.cluster, target.nodegroup),
               lambda ng: ng.get("status") == "ACTIVE" and ng["scalingConfig"].get("desiredSize") == target.desired,
               timeout_s=timeout_s, poll_s=poll_s, what=f"node group {target.cluster}/{target.nodegroup} to scale")


def scale_nodegroup(eks: Any, target: NodegroupTarget, *, timeout_s: float = 1800,
                    poll_s: float = 15) -> dict[str, Any]:
    """`request_nodegroup_size`, then waited for until ACTIVE; no call when already there."""
    result = request_nodegroup_size(eks, target)
    if result["changed"]:
        wait_nodegroup_size(eks, target, timeout_s=timeout_s, poll_s=poll_s)
    return result
