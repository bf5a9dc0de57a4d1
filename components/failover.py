"""The failover step: `pulumi up --stack dr` with `failover: true` promotes region B through the RDS API.

A Pulumi dynamic resource whose create calls the same `promote_secondary` function as `drctl failover`:
SwitchoverGlobalCluster when `failoverMode: planned` (A healthy, RPO 0), FailoverGlobalCluster with
AllowDataLoss when `unplanned` (A gone). It waits until B is the writer. Removing the step (`failover: false`)
switches the writer back to region A — the failback — through the same function.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

CODE_DIR = str(Path(__file__).resolve().parent.parent)
DEFAULT_POLL_SECONDS = 10  # a role change takes about a minute on AWS; polling faster only spends API quota


class _PromotionProvider(ResourceProvider):
    """Runs in Pulumi's dynamic-provider process, serialized by value: imports happen inside the methods."""

    def __init__(self, code_dir: str) -> None:
        super().__init__()
        self.code_dir = code_dir

    def _promote(self, region: str, global_cluster_id: str, target_arn: str, mode: str,
                 props: dict[str, Any]) -> dict[str, Any]:
        if self.code_dir not in sys.path:  # the provider process starts without the program's directory
            sys.path.insert(0, self.code_dir)
        from ops.actions import aws
        from ops.actions.aurora import promote_secondary
        return promote_secondary(aws.client("rds", region), global_cluster_id=global_cluster_id,
                                 target_cluster_arn=target_arn, mode=mode,
                                 timeout_s=float(props["timeoutSeconds"]),
                                 poll_s=float(props.get("pollSeconds", DEFAULT_POLL_SECONDS)))

    def create(self, props: dict[str, Any]) -> CreateResult:
        result = self._promote(props["targetRegion"], props["globalClusterId"], props["targetClusterArn"],
                               props["mode"], props)
        return CreateResult(id_=f"{props['globalClusterId']}@{props['targetRegion']}",
                            outs={**props, "writer": result.get("writer", props["targetClusterArn"])})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        moved = olds.get("targetClusterArn") != news.get("targetClusterArn")
        changed = [k for k in ("mode", "timeoutSeconds", "pollSeconds", "failbackClusterArn", "failbackRegion")
                   if olds.get(k) != news.get(k)]
        return DiffResult(changes=moved or bool(changed), replaces=["targetClusterArn"] if moved else [],
                          delete_before_replace=True)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Idempotent: if B is already the writer nothing is called; a changed mode does not re-promote.
        result = self._promote(news["targetRegion"], news["globalClusterId"], news["targetClusterArn"],
                               news["mode"], news)
        return UpdateResult(outs={**news, "writer": result.get("writer", news["targetClusterArn"])})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        # Failback: a planned switchover returns the writer to region A (which must be a healthy member).
        self._promote(props["failbackRegion"], props["globalClusterId"], props["failbackClusterArn"],
                      "planned", props)


@dataclass
class AuroraPromotionArgs:
    global_cluster_id: pulumi.Input[str]
    target_cluster_arn: pulumi.Input[str]
    target_region: str
    failback_cluster_arn: pulumi.Input[str]
    failback_region: str
    mode: str  # planned | unplanned
    timeout_seconds: int = 1800
    poll_seconds: float = DEFAULT_POLL_SECONDS


class AuroraPromotion(pulumi.dynamic.Resource, module="aurora", name="Promotion"):
    writer: pulumi.Output[str]

    def __init__(self, name: str, args: AuroraPromotionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(_PromotionProvider(CODE_DIR), name, {
            "globalClusterId": args.global_cluster_id,
            "targetClusterArn": args.target_cluster_arn,
            "targetRegion": args.target_region,
            "failbackClusterArn": args.failback_cluster_arn,
            "failbackRegion": args.failback_region,
            "mode": args.mode,
            "timeoutSeconds": args.timeout_seconds,
            "pollSeconds": args.poll_seconds,
            "writer": None,
        }, opts)
