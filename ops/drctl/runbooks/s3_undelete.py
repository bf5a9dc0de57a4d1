"""RB-N-03 S3 mass undelete + CDN purge (seed 000 N.5 `s3-restore-list.sh`): remove the delete markers made at or
after `since` under a prefix so the previous versions are current again, write the restore list, and invalidate
the restored paths in CloudFront.

Parameters (plain values; the CLI derives them): bucket, since (ISO 8601 UTC), prefix, region (None: the bucket's
own), allowed_regions, distribution_id (None: no purge), restore_list (path or None: `<restore_list_dir>/<run
id>.s3-restore-list.json`), restore_list_dir, workers, page_size, timeout_s, poll_s.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ops.actions import cloudfront, s3_versions
from ops.drctl.runbooks.engine import BadInput, RunContext, Runbook, Step, now_iso

NAME = "RB-N-03 S3 mass undelete + CDN purge"
SHOWN_IN_PLAN = 20  # a dry-run lists this many DeleteObject calls, then counts the rest
PURGED_STATUSES = ("restored", "already-current")


def _s3(ctx: RunContext) -> Any:
    """A client in the bucket's own region, as preflight found it."""
    return ctx.client("s3", ctx.results["preflight"]["region"])


def _preflight(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    probe = ctx.client("s3", p["region"] or "us-east-1")
    try:
        region = s3_versions.bucket_region(probe, p["bucket"])
        if p["region"] and region != p["region"]:
            raise BadInput(f"--region {p['region']}: bucket {p['bucket']} is in {region}")
        if region not in p["allowed_regions"]:
            raise BadInput(f"bucket {p['bucket']} is in region {region}, which is not in allowedRegions "
                           f"({', '.join(p['allowed_regions'])})")
        versioning = s3_versions.require_versioning(ctx.client("s3", region), p["bucket"])
    except s3_versions.BucketProblem as exc:
        raise BadInput(str(exc)) from None
    if p["distribution_id"]:
        _require_distribution(ctx, p["distribution_id"])
    if versioning == "Suspended":
        ctx.log(f"[yellow]{p['bucket']}: versioning is suspended; markers made while it was enabled (and null "
                "markers since) can still be removed[/yellow]")
    return {"region": region, "versioning": versioning, "started_at": now_iso()}


def _require_distribution(ctx: RunContext, distribution_id: str) -> None:
    try:
        ctx.client("cloudfront", "us-east-1").get_distribution(Id=distribution_id)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchDistribution":
            raise BadInput(f"--distribution {distribution_id}: no such CloudFront distribution") from None
        raise


def _progress(ctx: RunContext) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=ctx.console, transient=True)


def _find(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    with _progress(ctx) as progress:
        task = progress.add_task(f"listing versions of s3://{p['bucket']}/{p['prefix']}", total=None)
        found = s3_versions.find_deleted_since(
            _s3(ctx), p["bucket"], datetime.fromisoformat(p["since"]), prefix=p["prefix"],
            page_size=p["page_size"], on_page=lambda n: progress.advance(task, n))
    ctx.log(f"{len(found['candidates'])} keys deleted at/after {p['since']} under '{p['prefix']}' "
            f"({found['scanned']} versions and markers scanned)")
    return found


def restore_list_path(ctx: RunContext) -> Path:
    p = ctx.params
    return Path(p["restore_list"]) if p["restore_list"] else Path(p["restore_list_dir"]) / \
        f"{ctx.run_id}.s3-restore-list.json"


def _remove_markers(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    candidates = ctx.results["find"]["candidates"]
    entries: list[dict[str, Any]] = []
    path = restore_list_path(ctx)
    try:
        with _progress(ctx) as progress:
            task = progress.add_task("removing delete markers", total=len(candidates))

            def done(entry: dict[str, Any]) -> None:
                entries.append(entry)
                progress.advance(task)

            s3_versions.undelete_all(_s3(ctx), p["bucket"], candidates, workers=p["workers"], on_done=done)
    finally:  # even a failed attempt leaves the list of what it did; a resume merges into it
        written = _write_restore_list(path, ctx, entries)
    counts = Counter(e["status"] for e in written)
    return {"restore_list": str(path), "keys": len(written), **{s: counts.get(s, 0) for s in
                                                                 ("restored", "already-current", "still-deleted")},
            "markers_removed": sum(len(e["removed"]) for e in entries)}


def _write_restore_list(path: Path, ctx: RunContext, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Write (atomically) the restore list, merged with an earlier attempt's: an entry that removed nothing does
    not replace an earlier attempt's entry for the key that did (it says which markers went, and `restored`)."""
    earlier = {e["key"]: e for e in _read_restore_list(path)}
    merged = dict(earlier)
    for entry in entries:
        previous = earlier.get(entry["key"])
        keep_previous = previous is not None and previous["removed"] and not entry["removed"]
        merged[entry["key"]] = previous if keep_previous else entry
    items = sorted(merged.values(), key=lambda e: e["key"])
    p = ctx.params
    document = {"run_id": ctx.run_id, "bucket": p["bucket"], "prefix": p["prefix"], "since": p["since"],
                "written_at": now_iso(), "items": items}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(document, indent=2))
    os.replace(tmp, path)
    return items


def _read_restore_list(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text())["items"]) if path.is_file() else []


def _invalidate(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    keys = [e["key"] for e in _read_restore_list(Path(ctx.results["remove-markers"]["restore_list"]))
            if e["status"] in PURGED_STATUSES]
    if not keys:
        return {"invalidations": [], "paths": 0}
    ids = cloudfront.invalidate_paths(ctx.client("cloudfront", "us-east-1"), p["distribution_id"],
                                      [s3_versions.invalidation_path(k) for k in keys],
                                      caller_reference=_caller_reference(ctx), wait_timeout_s=p["timeout_s"],
                                      poll_s=p["poll_s"])
    return {"invalidations": ids, "paths": len(keys)}


def _caller_reference(ctx: RunContext) -> str:
    return f"drctl-s3-undelete-{ctx.run_id}"  # stable across resumes: CloudFront dedupes a repeated batch


def _plan_remove(ctx: RunContext) -> list[str]:
    p, candidates = ctx.params, ctx.results["find"]["candidates"]
    calls = [f"s3:DeleteObject(Bucket={p['bucket']}, Key={c['key']}, VersionId={c['marker_version_id']})"
             for c in candidates[:SHOWN_IN_PLAN]]
    if len(candidates) > SHOWN_IN_PLAN:
        calls.append(f"... and {len(candidates) - SHOWN_IN_PLAN} more DeleteObject calls")
    calls.append(f"each key: s3:HeadObject before and after; further markers on it made at/after {p['since']} "
                 f"are removed too ({p['workers']} at a time)")
    calls.append(f"write the restore list to {restore_list_path(ctx)}")
    return calls


def _plan_invalidate(ctx: RunContext) -> list[str]:
    keys = [c["key"] for c in ctx.results["find"]["candidates"]]
    if not keys:
        return ["nothing to invalidate: no deleted keys found"]
    return cloudfront.plan_calls(ctx.params["distribution_id"], [s3_versions.invalidation_path(k) for k in keys],
                                 _caller_reference(ctx))


def _validate(params: dict[str, Any]) -> None:
    if params["workers"] < 1:
        raise BadInput(f"--workers {params['workers']}: at least 1")


def runbook(params: dict[str, Any]) -> Runbook:
    """The steps for these parameters: the CloudFront purge only when a distribution is given."""
    steps = [
        Step("preflight", "bucket, its region and versioning; the distribution", _preflight, read_only=True),
        Step("find", "list versions: keys whose current entry is a delete marker made at/after --since", _find,
             read_only=True),
        Step("remove-markers", "S3: remove those delete markers; write the restore list", _remove_markers,
             would_call=_plan_remove),
    ]
    if params.get("distribution_id"):
        steps.append(Step("invalidate", "CloudFront: invalidate the restored paths", _invalidate,
                          would_call=_plan_invalidate))
    return Runbook(name=NAME, validate=_validate, steps=steps)
