"""RB-N-01 region failover A→B (seed 004 §4, seed 000 RB-N-01).

Nothing moves traffic before B can take it, and nothing waits for what B does not need to take it. Through the API
(`scale_with: api`): preflight (read-only) → what B cannot write or serve without, waited until ready (pilot
light's headless secondary gets its instances and its empty node groups their nodes, in parallel; a warm B has
both) → promote Aurora → promote B's cache (where B keeps a Global Datastore member) → the flip written into the
stack file (`failover: true`, so the next `pulumi up` keeps B at the failover row instead of scaling it back down)
→ the rest of the failover row asked for (instances, nodes), not waited for → B serves (its health check passes) →
Route53 change set → smoke → RTO → B's growth waited for. The ARC plan has the same order
(components/region_switch.py: warm standby's DNS moves beside B's growth). An AWS API cannot reach Kubernetes, so
B's Deployments get their failover replicas from `pulumi up --stack dr` run where the cluster's private endpoint is
reachable; until B's endpoint passes its health check the run waits (bounded) and DNS stays on A, and the output
says what remains. With the Pulumi CLI (`scale_with: pulumi`), capacity comes from the config flip instead:
`failover = true` and `pulumi up --stack dr` create B's instances, run the same promotion (components/failover.py)
and set every count of the failover row; the runbook's own promote and DNS steps then find the work done and change
nothing.

Parameters are plain values (the CLI derives them from the stack settings) and are kept in the run's journal,
so `--resume` acts on exactly what the first attempt planned.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from ops.actions import aurora, ecr, route53
from ops.actions.eks import (NodegroupTarget, describe_nodegroup, request_nodegroup_size, scale_nodegroup,
                             wait_nodegroup_size)
from ops.actions.polling import WaitTimeout
from ops.core.errors import BadInput
from ops.drctl.runbooks.cache_steps import cache_promotion_step
from ops.drctl.runbooks.engine import RunContext, Runbook, Step, now_iso
from ops.drctl.runbooks.steps import (announce_step, dns_preflight, dns_step, endpoint_health,
                                    global_cluster_or_bad_input, region_cluster_status, smoke_step,
                                    validate_notify_topic)

NAME = "RB-N-01 region failover A→B"


def rto_step(objective_minutes_param: str = "rto_objective_minutes") -> Step:
    """RTO as measured: wall time from the first attempt's preflight to now (a crash and resume counts)."""
    def action(ctx: RunContext) -> dict[str, Any]:
        started = datetime.fromisoformat(ctx.results["preflight"]["started_at"])
        seconds = round((datetime.now(timezone.utc) - started).total_seconds(), 3)
        objective = int(ctx.params[objective_minutes_param])
        ctx.console.print(f"RTO (measured): {seconds:g} s vs objective critical < {objective} min")
        return {"rto_seconds": seconds, "rto_objective_minutes": objective, "rto_met": seconds <= objective * 60}

    return Step("rto", "measure the recovery time", action, would_call=lambda ctx: ["(summary of step timings)"])


# ---- failover --------------------------------------------------------------------------------------------------

def _preflight(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    rds_b = ctx.client("rds", p["dr_region"])
    global_cluster = global_cluster_or_bad_input(ctx, p["dr_region"])
    cluster_b = aurora.describe_cluster(rds_b, p["dr_cluster_id"])
    if cluster_b is None:
        raise BadInput(f"DB cluster {p['dr_cluster_id']} does not exist in {p['dr_region']}")
    arn_b = cluster_b["DBClusterArn"]
    if arn_b not in aurora.member_arns(global_cluster):
        raise BadInput(f"DB cluster {arn_b} is not a member of global cluster {p['global_cluster_id']}")
    dns = dns_preflight(ctx, p["change_set"])
    a_endpoint = endpoint_health(ctx, dns["health_checks"], p["dns"]["primary_endpoint"])
    a_status = region_cluster_status(ctx, p["primary_region"], p["primary_cluster_id"])
    a_healthy = a_endpoint["healthy"] and a_status == "available"
    writer = aurora.writer_arn(global_cluster)
    if p["mode"] == "unplanned" and a_healthy and not p["force"] and writer != arn_b:
        raise BadInput("--unplanned refused: region A is healthy (health check Success, cluster available); "
                       "a planned failover (switchover, RPO 0) loses nothing. Add --force to fail over anyway.")
    if p["mode"] == "planned" and not a_healthy and writer != arn_b:
        raise BadInput(f"planned failover needs region A healthy (cluster {a_status}, health check "
                       f"{'Success' if a_endpoint['healthy'] else 'failing'}): use --unplanned")
    images = _images_in_b(ctx)
    lag = aurora.replication_lag(ctx.client("cloudwatch", p["dr_region"]), p["dr_cluster_id"])
    return {"started_at": now_iso(), **images, "writer": writer, "target_arn": arn_b,
            "already_failed_over": writer == arn_b,
            "instances_b": len(aurora.cluster_instances(rds_b, p["dr_cluster_id"])),
            "replication_lag_b_s": lag, "replication_lag_note": None if lag is not None else
            "CloudWatch has no AuroraGlobalDBReplicationLag datapoints for B (not measured)",
            "a_cluster_status": a_status, "a_health": a_endpoint, **dns}


def _images_in_b(ctx: RunContext) -> dict[str, Any]:
    """B's cluster pulls from B's ECR only (no egress): an image missing there leaves its pods in ImagePullBackOff
    however well the database fails over, so the run stops before changing anything unless told otherwise."""
    p = ctx.params
    wanted = p.get("images_b", [])
    missing = ecr.missing_images(ctx.client("ecr", p["dr_region"]), wanted)
    if missing and not p.get("allow_missing_images"):
        raise BadInput(f"{len(missing)} of {len(wanted)} images are missing from {p['dr_region']}'s ECR: "
                       f"{', '.join(missing)}. Push them (ECR replicates A's repositories to B) or pass "
                       "--allow-missing-images to fail over anyway")
    if missing:
        ctx.log(f"images missing from {p['dr_region']}'s ECR (allowed): {', '.join(missing)}")
    return {"images_checked_b": len(wanted), "images_missing_b": missing}


def _nodegroup_targets(ctx: RunContext) -> list[NodegroupTarget]:
    return [NodegroupTarget.parse(spec) for spec in ctx.params["nodegroups"]]


def _b_has_a_writer(ctx: RunContext) -> bool:
    """B has an available instance to promote (warm standby), or none (pilot light's headless secondary)."""
    p = ctx.params
    return bool(aurora.available_instances(ctx.client("rds", p["dr_region"]), p["dr_cluster_id"]))


def _nodeless(ctx: RunContext) -> list[NodegroupTarget]:
    """B's node groups with no node asked for: nothing of B's can serve until they grow."""
    eks = ctx.client("eks", ctx.params["dr_region"])
    return [t for t in _nodegroup_targets(ctx)
            if not describe_nodegroup(eks, t.cluster, t.nodegroup)["scalingConfig"].get("desiredSize")]


def _aurora_capacity(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    return aurora.scale_instances(ctx.client("rds", p["dr_region"]), cluster_id=p["dr_cluster_id"],
                                  count=p["failover_row"]["aurora_instances_b"], instance_class=p["instance_class"],
                                  timeout_s=p["timeout_s"], poll_s=p["poll_s"])


def _scale_nodegroups(ctx: RunContext, targets: list[NodegroupTarget]) -> dict[str, Any]:
    p = ctx.params
    eks = ctx.client("eks", p["dr_region"])
    return {f"{t.cluster}/{t.nodegroup}": scale_nodegroup(eks, t, timeout_s=p["timeout_s"], poll_s=p["poll_s"])
            for t in targets}


def _capacity(ctx: RunContext) -> dict[str, Any]:
    """What B cannot write or serve without, at the failover row and waited for: a headless secondary's instances
    and node groups with no node (pilot light), in parallel (each takes minutes; the RTO pays the longer). A warm
    B has both already: it is promoted at once and grows beside the DNS move (`grow`), as the ARC plan does."""
    headless, nodeless = not _b_has_a_writer(ctx), _nodeless(ctx)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="capacity") as pool:
        instances = pool.submit(_aurora_capacity, ctx) if headless else None
        nodes = pool.submit(_scale_nodegroups, ctx, nodeless)
        return {"aurora": instances.result() if instances else "none: B has an available instance to promote",
                "nodegroups": nodes.result() or ("none configured (pass --nodegroup CLUSTER/NODEGROUP=DESIRED)"
                                                 if not ctx.params["nodegroups"] else "none: B has nodes")}


def _capacity_plan(ctx: RunContext) -> list[str]:
    p = ctx.params
    count = p["failover_row"]["aurora_instances_b"]
    calls = [f"rds:CreateDBInstance(DBInstanceIdentifier={i}, DBClusterIdentifier={p['dr_cluster_id']}, "
             f"DBInstanceClass={p['instance_class']}, region={p['dr_region']}) and wait until available"
             for i in (aurora.missing_instance_ids(ctx.client("rds", p["dr_region"]), p["dr_cluster_id"], count)
                       if not _b_has_a_writer(ctx) else [])]
    calls += [f"eks:UpdateNodegroupConfig(clusterName={t.cluster}, nodegroupName={t.nodegroup}, "
              f"desiredSize={t.desired}) and wait until ACTIVE" for t in _nodeless(ctx)]
    return calls or ["none: B has an instance to promote and nodes (it grows after the promotion: `grow`)"]


def _grow(ctx: RunContext) -> dict[str, Any]:
    """The rest of the failover row, asked for and not waited for: B takes the traffic at the capacity it has and
    grows under it (its HPAs and the Cluster Autoscaler follow the load); `grown` waits once DNS has moved."""
    p = ctx.params
    created = aurora.add_instances(ctx.client("rds", p["dr_region"]), cluster_id=p["dr_cluster_id"],
                                   count=p["failover_row"]["aurora_instances_b"], instance_class=p["instance_class"])
    eks = ctx.client("eks", p["dr_region"])
    return {"aurora_created": created,
            "nodegroups": {f"{t.cluster}/{t.nodegroup}": request_nodegroup_size(eks, t)
                           for t in _nodegroup_targets(ctx)}}


def _grow_plan(ctx: RunContext) -> list[str]:
    """Beyond what `capacity` brings (a dry run plans both before either acts)."""
    p = ctx.params
    missing = aurora.missing_instance_ids(ctx.client("rds", p["dr_region"]), p["dr_cluster_id"],
                                          p["failover_row"]["aurora_instances_b"]) if _b_has_a_writer(ctx) else []
    nodeless = _nodeless(ctx)
    return ([f"rds:CreateDBInstance(DBInstanceIdentifier={i}, DBClusterIdentifier={p['dr_cluster_id']}, "
             f"DBInstanceClass={p['instance_class']}, region={p['dr_region']})" for i in missing]
            + [f"eks:UpdateNodegroupConfig(clusterName={t.cluster}, nodegroupName={t.nodegroup}, "
               f"desiredSize={t.desired})" for t in _nodegroup_targets(ctx) if t not in nodeless]
            or ["none beyond the capacity step"])


def _grown(ctx: RunContext) -> dict[str, Any]:
    """B at the failover row: every instance available, every node group ACTIVE at its size (after the RTO: B
    already serves)."""
    p = ctx.params
    instances = aurora.wait_instances_available(ctx.client("rds", p["dr_region"]), cluster_id=p["dr_cluster_id"],
                                                count=p["failover_row"]["aurora_instances_b"],
                                                timeout_s=p["timeout_s"], poll_s=p["poll_s"])
    eks = ctx.client("eks", p["dr_region"])
    for target in _nodegroup_targets(ctx):
        wait_nodegroup_size(eks, target, timeout_s=p["timeout_s"], poll_s=p["poll_s"])
    return {"aurora_instances": instances, "nodegroups": p["nodegroups"]}


def _grown_plan(ctx: RunContext) -> list[str]:
    return [f"rds:DescribeDBInstances of {ctx.params['dr_cluster_id']} until "
            f"{ctx.params['failover_row']['aurora_instances_b']} are available"] + [
        f"eks:DescribeNodegroup {t.cluster}/{t.nodegroup} until ACTIVE at {t.desired}" for t in _nodegroup_targets(ctx)]


def _promote(ctx: RunContext) -> dict[str, Any]:
    p, pre = ctx.params, ctx.results["preflight"]
    result = aurora.promote_secondary(ctx.client("rds", p["dr_region"]), global_cluster_id=p["global_cluster_id"],
                                      target_cluster_arn=pre["target_arn"], mode=p["mode"],
                                      timeout_s=p["timeout_s"], poll_s=p["poll_s"])
    # RPO: a switchover syncs the secondaries first (0); a failover loses what had not replicated yet.
    if p["mode"] == "planned":
        result["rpo_seconds"] = 0.0
    elif pre.get("replication_lag_b_s") is not None:
        result["replication_lag_seconds"] = pre["replication_lag_b_s"]
    return result


def _promote_plan(ctx: RunContext) -> list[str]:
    p, pre = ctx.params, ctx.results["preflight"]
    if pre["already_failed_over"]:
        return [f"none: {pre['target_arn']} already writes"]
    return [aurora.planned_promotion_call(p["global_cluster_id"], pre["target_arn"], p["mode"]),
            "rds:DescribeGlobalClusters until B is the writer and the global cluster is available"]


def _flip(ctx: RunContext) -> dict[str, Any]:
    """`failover: true` (and the mode) in the stack file, as `pulumi config set` would leave it, so the next
    `pulumi up` keeps B at the failover row (and its Deployments get their replicas) instead of scaling B back to
    the posture's row. A line edit: every other byte of the file stays."""
    from stacks.config_files import set_stack_config  # lazily: the runbook only needs it when it acts

    p = ctx.params
    path = Path(p["stack_file"])
    changed = [key for key, value in (("failover", True), ("failoverMode", p["mode"]))
               if set_stack_config(path, key, value)]
    return {"stack_file": str(path), "changed": changed}


def _flip_plan(ctx: RunContext) -> list[str]:
    return [f"write {ctx.params['stack_file']}: failover: true, failoverMode: {ctx.params['mode']} (line edit, "
            "every other byte kept)"]


def _deployments_left(ctx: RunContext) -> str:
    row = ctx.params["failover_row"]
    counts = ", ".join(f"{name}={n}" for name, n in {**row["replicas_b"], "typesense": row["typesense_replicas_b"]}
                       .items())
    return (f"B's Deployments to the failover row ({counts}): pulumi up --stack {ctx.params['stack']} where B's "
            f"cluster endpoint is reachable ({Path(ctx.params['stack_file']).name} says failover: true)")


def _b_serving(ctx: RunContext) -> dict[str, Any]:
    """B's endpoint must pass its Route53 health check before DNS moves: the API path cannot scale Kubernetes
    Deployments, and a pilot-light B has none running. Waits (bounded by --serving-timeout) for `pulumi up`."""
    p = ctx.params
    endpoint, checks = p["dns"]["dr_endpoint"], ctx.results["preflight"]["health_checks"]
    now = endpoint_health(ctx, checks, endpoint)
    if now["healthy"]:
        return {"healthy": True, "waited_s": 0.0}
    ctx.console.print(f"B's endpoint {endpoint} fails its health check ({'; '.join(now['reports'])}): DNS stays "
                      f"on A until it passes. Remaining: {_deployments_left(ctx)}. Waiting up to "
                      f"{p['serving_timeout_s']:g} s.")
    try:
        seen = route53.wait_healthy_for(ctx.client("route53", p["primary_region"]), checks[endpoint],
                                        healthy_for_s=0, timeout_s=p["serving_timeout_s"], poll_s=p["poll_s"])
    except WaitTimeout:
        _, reports = route53.health_status(ctx.client("route53", p["primary_region"]), checks[endpoint])
        raise RuntimeError(
            f"DNS not moved: B's endpoint {endpoint} still fails its health check after {p['serving_timeout_s']:g} s "
            f"({'; '.join(reports)}). Remaining: {_deployments_left(ctx)}; then drctl failover --resume "
            f"{ctx.run_id}") from None
    return {"healthy": True, "reports": seen["reports"]}


def _b_serving_plan(ctx: RunContext) -> list[str]:
    return [f"route53:GetHealthCheckStatus of {ctx.params['dns']['dr_endpoint']} until it passes (at most "
            f"{ctx.params['serving_timeout_s']:g} s); DNS moves only then"]


def _pulumi_up(ctx: RunContext) -> dict[str, Any]:
    """The config flip: failover=true (and the mode), then `pulumi up` of the dr stack via the Automation API."""
    from pulumi import automation as auto

    p = ctx.params
    stack = auto.select_stack(stack_name=p["stack"], work_dir=p["project_dir"])
    stack.set_config("dr-platform:failover", auto.ConfigValue("true"))
    stack.set_config("dr-platform:failoverMode", auto.ConfigValue(p["mode"]))
    result = stack.up(on_output=ctx.log)
    return {"result": result.summary.result, "resource_changes": result.summary.resource_changes or {}}


def _pulumi_up_plan(ctx: RunContext) -> list[str]:
    p = ctx.params
    return [f"pulumi config set failover true --stack {p['stack']}",
            f"pulumi config set failoverMode {p['mode']} --stack {p['stack']}", f"pulumi up --stack {p['stack']}"]


def _started(ctx: RunContext) -> str:
    return f"{NAME}: failing over to {ctx.params['dr_region']} ({ctx.params['mode']})"


def _started_message(ctx: RunContext) -> str:
    p, pre = ctx.params, ctx.results["preflight"]
    lag = pre.get("replication_lag_b_s")
    loss = "switchover, no data loss" if p["mode"] == "planned" else "failover, data not yet replicated is lost"
    health = "passing" if pre["a_health"]["healthy"] else "failing"
    return (f"Failing over {p['global_cluster_id']} and {p['dns']['fqdn']} from {p['primary_region']} to "
            f"{p['dr_region']}, {p['mode']} ({loss}). Region A: cluster {pre['a_cluster_status']}, health check "
            f"{health}. Replication lag in B: {'not measured' if lag is None else f'{lag:g} s'}.")


def _measured_rto(ctx: RunContext) -> str:
    rto = ctx.results.get("rto")  # absent in a dry run, which plans the message before anything is measured
    return f"{rto['rto_seconds']:g} s" if rto else "<measured>"


def _finished(ctx: RunContext) -> str:
    return f"{NAME}: {ctx.params['dr_region']} serves, RTO {_measured_rto(ctx)}"


def _finished_message(ctx: RunContext) -> str:
    p, rto = ctx.params, ctx.results["rto"]
    return (f"{p['dns']['fqdn']} now points at {p['dr_region']}, whose Aurora cluster is the writer. Measured RTO "
            f"{_measured_rto(ctx)} against the critical objective of {rto['rto_objective_minutes']} min "
            f"({'met' if rto['rto_met'] else 'MISSED'}).")


def _master_secret_arn_in_b(ctx: RunContext) -> str | None:
    """The master secret's replica in B (the primary stack replicates `<global id>/master` there), if readable."""
    p = ctx.params
    try:
        return str(ctx.client("secretsmanager", p["dr_region"]).describe_secret(
            SecretId=f"{p['global_cluster_id']}/master")["ARN"])
    except ClientError:
        return None


def _next_steps(ctx: RunContext) -> dict[str, Any]:
    """What the run leaves to the operator. Nothing replicates Typesense: B's index is empty in pilot light and as
    old as the search feed's last run otherwise, so B's search needs RB-N-04 against B's Aurora. The
    credentials come from the master secret's replica in B when it is there, else from libpq's environment
    (PGUSER, PGPASSWORD), never from the command line; PGSSLROOTCERT names the RDS CA bundle."""
    p = ctx.params
    cluster = aurora.describe_cluster(ctx.client("rds", p["dr_region"]), p["dr_cluster_id"]) or {}
    host = cluster.get("Endpoint") or f"<{p['dr_cluster_id']} writer endpoint>"
    secret = _master_secret_arn_in_b(ctx)
    credentials = f"--source-secret {secret} " if secret else ""
    commands = [f"drctl reindex --source 'host={host} dbname={p['database_name']} sslmode=verify-full' "
                f"{credentials}--typesense <{p['dr_region']} Typesense URL> --api-key-env TYPESENSE_API_KEY "
                f"--collection {name}" for name in p.get("search_collections", [])]
    for command in commands:
        ctx.console.print(f"next, RB-N-04 (B's search index is as old as its feed's last run, or empty in pilot "
                          f"light, until this runs): {command}")
    if p["scale_with"] != "api":
        return {"next": commands}
    remaining = _deployments_left(ctx)
    ctx.console.print(f"next: {remaining}")
    return {"next": commands, "deployments": remaining}


def _validate(params: dict[str, Any]) -> None:
    validate_notify_topic(params)
    if params["mode"] not in ("planned", "unplanned"):
        raise BadInput(f"mode {params['mode']!r}: expected planned or unplanned")
    for spec in params["nodegroups"]:
        try:
            NodegroupTarget.parse(spec)
        except ValueError as exc:
            raise BadInput(str(exc)) from None


def runbook(scale_with: str = "api") -> Runbook:
    """The step list; `scale_with` is "api" (direct RDS/EKS calls) or "pulumi" (config flip + pulumi up). Either
    way B has its capacity, writes, and passes its health check before DNS moves."""
    if scale_with == "pulumi":
        before_dns = [Step("pulumi-up", "config flip failover=true, pulumi up --stack dr", _pulumi_up,
                           would_call=_pulumi_up_plan),
                      Step("promote", "Aurora: make B the writer", _promote, would_call=_promote_plan),
                      cache_promotion_step("dr")]
    else:
        before_dns = [
            Step("capacity", "what B cannot write or serve without (pilot light's instances and nodes), ready",
                 _capacity, would_call=_capacity_plan),
            Step("promote", "Aurora: make B the writer", _promote, would_call=_promote_plan),
            cache_promotion_step("dr"),  # the cache's primary follows the writer (the same action as pulumi up)
            Step("flip", "failover: true in the stack file (the next pulumi up keeps it)", _flip,
                 would_call=_flip_plan),
            Step("grow", "the rest of B's failover row asked for (instances, nodes), not waited for", _grow,
                 would_call=_grow_plan)]
    after_rto = [] if scale_with == "pulumi" else [
        Step("grown", "B at the failover row: instances available, node groups ACTIVE", _grown,
             would_call=_grown_plan)]
    return Runbook(name=NAME, validate=_validate, steps=[
        Step("preflight", "B's secondary, replication lag, A's health, B's images", _preflight,
             read_only=True),
        announce_step("announce", _started, _started_message),
        *before_dns,
        Step("b-serving", "B's endpoint passes its health check (its Deployments serve)", _b_serving,
             would_call=_b_serving_plan),
        dns_step("dns", "Route53: API record to B", "change_set", "change_set_path"),
        smoke_step(),
        rto_step(),
        announce_step("announce-result", _finished, _finished_message),
        *after_rto,
        Step("next-steps", "what is left to the operator (B's Deployments, RB-N-04 for B's search)", _next_steps,
             read_only=True),
    ])
