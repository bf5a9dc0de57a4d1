"""The steps the Aurora restores share (RB-N-02): the restore around an idempotent action, then the new cluster
available, its writer, the writer available. After the restore both runbooks use only new_cluster_id, region,
timeout_s, poll_s and the preflight's writer_request."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ops.actions import rds_restore
from ops.core import naming
from ops.core.errors import BadInput
from ops.drctl.runbooks.engine import RunContext, Step


def rds_client(ctx: RunContext) -> Any:
    return ctx.client("rds", ctx.params["region"])


RestoreAction = Callable[..., dict[str, Any]]  # (rds, request, *, run_id) -> {"cluster", "created", ...}


def restore_step(restore: RestoreAction) -> Callable[[RunContext], dict[str, Any]]:
    """The restore step around an idempotent restore action (point in time or snapshot): a name taken by
    something not from this run is bad input; a cluster this run already asked for is not asked for again."""
    def step(ctx: RunContext) -> dict[str, Any]:
        try:
            made = restore(rds_client(ctx), ctx.results["preflight"]["restore_request"], run_id=ctx.run_id)
        except rds_restore.NameTaken as exc:
            raise BadInput(f"new cluster name: {exc}") from None
        if not made["created"]:
            ctx.log(f"{made['cluster']}: restored earlier in this run, not restored again")
        return made
    return step


def _wait_cluster(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    return rds_restore.wait_restored(rds_client(ctx), p["new_cluster_id"], timeout_s=p["timeout_s"], poll_s=p["poll_s"])


def _writer(ctx: RunContext) -> dict[str, Any]:
    try:
        made = rds_restore.create_writer(rds_client(ctx), ctx.results["preflight"]["writer_request"], run_id=ctx.run_id)
    except rds_restore.NameTaken as exc:
        raise BadInput(f"writer instance name: {exc}") from None
    return made


def _wait_writer(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    ready = rds_restore.wait_writer(rds_client(ctx), p["new_cluster_id"], naming.restored_writer_id(p["new_cluster_id"]),
                                    timeout_s=p["timeout_s"], poll_s=p["poll_s"])
    ctx.console.print(f"[bold green]restored cluster {ready['cluster']} endpoint:[/bold green] "
                      f"{ready['endpoint']}:{ready['port']}")
    return ready


def _plan_writer(ctx: RunContext) -> list[str]:
    return [rds_restore.describe_call("CreateDBInstance", ctx.results["preflight"]["writer_request"])]


def _plan_wait_cluster(ctx: RunContext) -> list[str]:
    p = ctx.params
    return [f"rds:DescribeDBClusters(DBClusterIdentifier={p['new_cluster_id']}) every {p['poll_s']:g} s until "
            f"available (at most {p['timeout_s']:g} s)"]


def _plan_wait_writer(ctx: RunContext) -> list[str]:
    p = ctx.params
    return [f"rds:DescribeDBInstances(DBInstanceIdentifier={naming.restored_writer_id(p['new_cluster_id'])}) every {p['poll_s']:g} s "
            f"until available and the cluster's writer (at most {p['timeout_s']:g} s); print the endpoint"]


def after_restore_steps() -> list[Step]:
    return [
        Step("wait-cluster", "the restored cluster is available", _wait_cluster,
             would_call=_plan_wait_cluster),
        Step("writer", "RDS: the writer instance of the restored cluster", _writer, would_call=_plan_writer),
        Step("wait-writer", "the writer is available; the endpoint", _wait_writer,
             would_call=_plan_wait_writer),
    ]
