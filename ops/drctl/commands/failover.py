"""`drctl failover` / `failback` (RB-N-01), `drctl cutback` (RB-N-08) and `drctl smoke`.

Runbook parameters come from the stack settings (`--stack dr`, `--set KEY=VALUE` overrides, validated: a region
outside allowedRegions or a malformed value exits 2 naming the key). Dry-run unless --execute; --execute asks
for confirmation unless --yes (no terminal and no --yes: exit 2). Journals in ops/dr/runs/, --resume RUN_ID.
"""
from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ops.core.paths import REPO_ROOT
from ops.drctl.commands.options import (AsJson, Execute, JournalDir, Overrides, Poll, ProjectDir, Resume, Stack,
                                        Timeout, Yes, bad_input, load_settings, refusing, resume_if_asked, start)
from ops.drctl.stack_outputs import OutputsFile

if TYPE_CHECKING:
    from ops.actions.route53 import DnsLayout
    from stacks.settings import Settings

PROJECT_DIR = REPO_ROOT
CHANGE_SET_DIR = PROJECT_DIR / "ops" / "dr"
FAILOVER_CHANGE_SET = "route53-failover-to-B.json"
RESTORE_CHANGE_SET = "route53-restore-to-A.json"

ChangeSetDir = Annotated[Path, typer.Option(help="Where the generated Route53 change sets are written.")]
NotifyTopic = Annotated[str | None, typer.Option(help="SNS topic ARN told when the run starts and ends (the dr "
                                                     "stack's alertsTopicArn output, or your comms topic).")]


def register(app: typer.Typer) -> None:
    app.command("failover")(failover)
    app.command("failback")(failback)
    app.command("cutback")(cutback)
    app.command("smoke")(smoke)


# ---- settings → plain runbook parameters -----------------------------------------------------------------------

def dns_layout(settings: "Settings") -> "DnsLayout":
    from ops.actions.route53 import DnsLayout
    dns = settings.dns
    return DnsLayout(zone_name=dns.zone_name, fqdn=dns.fqdn, ttl=dns.ttl, routing=dns.routing.value,
                     primary_endpoint=dns.primary_endpoint, dr_endpoint=dns.dr_endpoint)


def change_sets(settings: "Settings") -> dict[str, dict[str, Any]]:
    """The two committed change sets, generated from the settings (weights from the posture table)."""
    from ops.actions.route53 import change_batch
    from ops.core.posture import capacity

    layout = dns_layout(settings)
    failed_over = capacity(settings.posture, True, settings.aurora.instances)
    normal = capacity(settings.posture, False, settings.aurora.instances)
    return {
        FAILOVER_CHANGE_SET: change_batch(layout, writer="b", weights=(failed_over.dns_weight_a,
                                                                       failed_over.dns_weight_b),
                                          comment=f"RB-N-01: {layout.fqdn} to region B ({settings.dr_region})"),
        RESTORE_CHANGE_SET: change_batch(layout, writer="a", weights=(normal.dns_weight_a, normal.dns_weight_b),
                                         comment=f"RB-N-01/RB-N-08: {layout.fqdn} back to region A "
                                                 f"({settings.primary_region})"),
    }


def base_params(settings: "Settings", change_set: str, change_set_dir: Path, timeout: float,
                poll: float) -> dict[str, Any]:
    layout = dns_layout(settings)
    return {
        "global_cluster_id": settings.aurora.global_cluster_id,
        "primary_region": settings.primary_region, "dr_region": settings.dr_region,
        "primary_cluster_id": settings.aurora.cluster_id(settings.primary_region),
        "dr_cluster_id": settings.aurora.cluster_id(settings.dr_region),
        "instance_class": settings.aurora.instance_class, "production_instances": settings.aurora.instances,
        "dns": {"zone_name": layout.zone_name, "fqdn": layout.fqdn, "primary_endpoint": layout.primary_endpoint,
                "dr_endpoint": layout.dr_endpoint, "routing": layout.routing},
        "change_set": change_sets(settings)[change_set], "change_set_path": str(change_set_dir / change_set),
        "timeout_s": timeout, "poll_s": poll, "cache": cache_params(settings),
    }


def cache_params(settings: "Settings") -> dict[str, Any]:
    """The cache's replication groups, and whether B keeps a Global Datastore member whose role follows the writer
    (the posture table's failover row promotes one; pilot light's brings a cold cache instead)."""
    from ops.core import naming
    from ops.core.posture import capacity

    row = capacity(settings.posture, True, settings.aurora.instances, cache_nodes=settings.cache.nodes)
    return {"member_in_b": row.promote_cache,
            "primary_group_id": naming.cache_member_id(settings.cache.name, settings.primary_region),
            "dr_group_id": naming.cache_member_id(settings.cache.name, settings.dr_region)}


def smoke_params(smoke_url: str | None, smoke_path: list[str] | None) -> dict[str, Any]:
    from ops.drctl.runbooks.smoke import DEFAULT_PATHS, validate_base_url, validate_paths
    try:
        return {"smoke_url": validate_base_url(smoke_url) if smoke_url else None,
                "smoke_paths": validate_paths(list(smoke_path or DEFAULT_PATHS)), "smoke_timeout_s": 10.0}
    except ValueError as exc:
        raise bad_input(str(exc)) from None


def stack_params(stack: str, project_dir: Path) -> dict[str, Any]:
    """Where the stack lives: `pulumi up` runs there, and a flip made through the API is written to its file."""
    return {"stack": stack, "project_dir": str(project_dir),
            "stack_file": str(project_dir / f"Pulumi.{stack}.yaml")}


def failover_row(settings: Any) -> dict[str, Any]:
    """B's counts in the posture table's failover row, resolved against the production counts of the config."""
    from ops.core.posture import capacity

    row = capacity(settings.posture, True, settings.aurora.instances, settings.compute.production())
    return {"aurora_instances_b": row.aurora_instances_b, "eks_nodes_b": row.eks_nodes_b,
            "replicas_b": dict(row.replicas_b), "typesense_replicas_b": row.typesense_replicas_b}


def failed_over_nodegroups(settings: Any) -> list[str]:
    """B's node group, as the Pulumi program names it, at the size the posture table gives it after failover,
    so the API path scales B exactly as `pulumi up` with failover=true would."""
    nodes = failover_row(settings)["eks_nodes_b"]
    return [f"{settings.names.nodegroup_path(settings.dr_region)}={nodes}"]


def regional_images(settings: Any) -> list[dict[str, str]]:
    """The images B's cluster pulls from B's own ECR (those without a registry host), as repository + tag/digest."""
    from ops.core.images import reference_of, registry_host, repository_of

    # no tag and no digest means :latest, as Docker reads it (settings refuse such images; resumed journals may not)
    return [{"repository": repository_of(image), "reference": reference_of(image) or "latest"}
            for image in settings.compute.images() if registry_host(image) is None]


# ---- commands --------------------------------------------------------------------------------------------------


def failover(
    stack: Stack = "dr", set_: Overrides = None,
    unplanned: Annotated[bool, typer.Option(help="Region A is gone: FailoverGlobalCluster with AllowDataLoss.")] = False,
    force: Annotated[bool, typer.Option(help="Allow --unplanned while region A still looks healthy.")] = False,
    smoke_url: Annotated[str | None, typer.Option(help="Base URL for the smoke checks after the flip.")] = None,
    smoke_path: Annotated[list[str] | None, typer.Option("--smoke-path", help="Critical path to check.")] = None,
    nodegroup: Annotated[list[str] | None, typer.Option(help="EKS CLUSTER/NODEGROUP=DESIRED to scale in B (default: "
                                                            "the stack's node group at its failed-over size).")] = None,
    scale_with: Annotated[str, typer.Option(help="auto | api | pulumi: how B gets production capacity (auto: "
                                                 "pulumi when the CLI is on PATH).")] = "auto",
    allow_missing_images: Annotated[bool, typer.Option(help="Fail over even though B's ECR lacks images B's "
                                                            "cluster will pull (their pods will not start).")] = False,
    serving_timeout: Annotated[float, typer.Option(help="How long DNS waits for B's endpoint to pass its health "
                                                        "check (run pulumi up meanwhile), seconds.", min=0)] = 1800,
    notify_topic: NotifyTopic = None, project_dir: ProjectDir = PROJECT_DIR,
    execute: Execute = False, yes: Yes = False, resume: Resume = None, as_json: AsJson = False,
    journal_dir: JournalDir = None, change_set_dir: ChangeSetDir = CHANGE_SET_DIR,
    timeout: Timeout = 1800, poll: Poll = 10,
) -> None:
    """RB-N-01: fail over from region A to region B (planned switchover unless --unplanned)."""
    from ops.drctl.dataplane.reindex import configured_collections
    from ops.drctl.runbooks import failover as rb

    resume_if_asked(resume, yes, journal_dir, as_json, lambda params: rb.runbook(params["scale_with"]))
    if scale_with not in ("auto", "api", "pulumi"):
        raise bad_input(f"--scale-with {scale_with!r}: expected auto, api or pulumi")
    settings = load_settings(stack, set_, project_dir)
    resolved = ("pulumi" if shutil.which("pulumi") else "api") if scale_with == "auto" else scale_with
    params = {**base_params(settings, FAILOVER_CHANGE_SET, change_set_dir, timeout, poll),
              **smoke_params(smoke_url, smoke_path), **stack_params(stack, project_dir),
              "mode": "unplanned" if unplanned else "planned", "force": force,
              "failover_row": failover_row(settings), "serving_timeout_s": serving_timeout,
              "nodegroups": list(nodegroup) if nodegroup else failed_over_nodegroups(settings), "scale_with": resolved,
              "images_b": regional_images(settings), "allow_missing_images": allow_missing_images,
              "notify_topic_arn": notify_topic, "database_name": settings.aurora.database_name,
              "search_collections": configured_collections(),
              "rto_objective_minutes": settings.objectives.critical.rto_minutes}
    start(rb.runbook(resolved), params, execute=execute, yes=yes, journal_dir=journal_dir, as_json=as_json,
          what=f"fail over {settings.aurora.global_cluster_id} and {settings.dns.fqdn} to {settings.dr_region} "
               f"({params['mode']})")


def failback(
    stack: Stack = "dr", set_: Overrides = None,
    max_lag_seconds: Annotated[float, typer.Option(help="Switch back only when A's lag is under this.")] = 5,
    keep_b_warm_hours: Annotated[float, typer.Option(help="How long B keeps its capacity afterwards.")] = 24,
    lag_timeout: Annotated[float, typer.Option(help="Bound on waiting for the lag, seconds.", min=1)] = 1800,
    force: Annotated[bool, typer.Option(help="Fail back even though A's health check is failing.")] = False,
    smoke_url: Annotated[str | None, typer.Option(help="Base URL for the smoke checks once DNS is back on A.")]
        = None,
    smoke_path: Annotated[list[str] | None, typer.Option("--smoke-path", help="Critical path to check.")] = None,
    notify_topic: NotifyTopic = None, project_dir: ProjectDir = PROJECT_DIR,
    execute: Execute = False, yes: Yes = False, resume: Resume = None, as_json: AsJson = False,
    journal_dir: JournalDir = None, change_set_dir: ChangeSetDir = CHANGE_SET_DIR,
    timeout: Timeout = 1800, poll: Poll = 10,
) -> None:
    """RB-N-01 failback: A back as a secondary, lag under the threshold, switchover to A, DNS to A, B kept warm."""
    from ops.drctl.runbooks import failback as rb

    resume_if_asked(resume, yes, journal_dir, as_json, lambda params: rb.runbook())
    settings = load_settings(stack, set_, project_dir)
    params = {**base_params(settings, RESTORE_CHANGE_SET, change_set_dir, timeout, poll),
              **smoke_params(smoke_url, smoke_path), **stack_params(stack, project_dir),
              "max_lag_seconds": max_lag_seconds, "keep_b_warm_hours": keep_b_warm_hours,
              "lag_timeout_s": lag_timeout, "force": force, "notify_topic_arn": notify_topic}
    start(rb.runbook(), params, execute=execute, yes=yes, journal_dir=journal_dir, as_json=as_json,
          what=f"fail back {settings.aurora.global_cluster_id} and {settings.dns.fqdn} to {settings.primary_region}")


def cutback(
    distribution: Annotated[str, typer.Option(help="CloudFront distribution id (default: the primary stack's "
                                                   "output cdnDistributionId).")] = "",
    paths: Annotated[list[str] | None, typer.Option("--paths", help="Path to invalidate (repeat; default: the "
                                                                     "primary stack's output cdnCriticalPaths).")] = None,
    healthy_for_seconds: Annotated[float, typer.Option(help="A must be healthy this long before DNS moves.",
                                                       min=0)] = 300,
    healthy_timeout: Annotated[float, typer.Option(help="Give up waiting for A after this, seconds.",
                                                   min=1)] = 1800,
    stack: Stack = "dr", set_: Overrides = None, project_dir: ProjectDir = PROJECT_DIR, outputs: OutputsFile = None,
    execute: Execute = False, yes: Yes = False, resume: Resume = None, as_json: AsJson = False,
    journal_dir: JournalDir = None, change_set_dir: ChangeSetDir = CHANGE_SET_DIR,
    timeout: Timeout = 1800, poll: Poll = 10,
) -> None:
    """RB-N-08: invalidate critical CDN paths, then Route53 back to A once A has been healthy long enough. The
    distribution and the paths come from the primary stack's outputs unless given."""
    from ops.drctl.cdn_outputs import CRITICAL_PATHS_OUTPUT, DISTRIBUTION_OUTPUT, cdn_outputs
    from ops.drctl.runbooks import cutback as rb

    resume_if_asked(resume, yes, journal_dir, as_json, lambda params: rb.runbook())
    settings = load_settings(stack, set_, project_dir)
    with refusing():
        if distribution and paths:  # nothing to look up: no Pulumi CLI call
            distribution_id, critical_paths = distribution, list(paths)
        else:
            found = cdn_outputs(settings, stack, project_dir, outputs)
            distribution_id = str(found.pick(distribution, DISTRIBUTION_OUTPUT, "--distribution"))
            critical_paths = [str(p) for p in found.pick(paths, CRITICAL_PATHS_OUTPUT, "--paths")]
    params = {**base_params(settings, RESTORE_CHANGE_SET, change_set_dir, timeout, poll),
              "distribution_id": distribution_id, "paths": critical_paths,
              "caller_reference": f"drctl-cutback-{uuid.uuid4().hex[:12]}",
              "healthy_for_seconds": healthy_for_seconds, "healthy_timeout_s": healthy_timeout}
    start(rb.runbook(), params, execute=execute, yes=yes, journal_dir=journal_dir, as_json=as_json,
          what=f"invalidate {len(params['paths'])} paths on {distribution_id} and move {settings.dns.fqdn} back to "
               f"{settings.primary_region}")


def smoke(
    base_url: Annotated[str, typer.Option(help="Base URL of the API, e.g. https://api.example.com.")] = "",
    path: Annotated[list[str] | None, typer.Option("--path", help="Critical path to check (repeat).")] = None,
    timeout: Annotated[float, typer.Option(help="Per-request timeout, seconds.", min=0.1)] = 10,
    as_json: AsJson = False,
) -> None:
    """HTTP checks of the critical paths; exit 1 when any fails."""
    from ops.drctl.runbooks.smoke import DEFAULT_PATHS, run_checks

    if not base_url:
        raise bad_input("--base-url is required")
    try:
        results = run_checks(base_url, list(path or DEFAULT_PATHS), timeout)
    except ValueError as exc:
        raise bad_input(str(exc)) from None
    if as_json:
        print(json.dumps({"ok": all(r.ok for r in results), "checks": [r.as_dict() for r in results]}, indent=2))
    else:
        for r in results:
            print(f"{'ok  ' if r.ok else 'FAIL'} {r.url} {r.status or r.error} {r.seconds:.3f}s")
    raise typer.Exit(0 if all(r.ok for r in results) else 1)
