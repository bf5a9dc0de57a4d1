"""RB-N-03 S3 mass undelete + CDN purge (seed 000 N.5 `s3-restore-list.sh`): remove the delete markers made at or
after `since` under a prefix so the previous versions are current again — in the bucket and in every replica its
replication configuration copies to (removing a marker does not replicate) — write the restore list, and invalidate
the restored paths in CloudFront.

Audit trail: every removal is first written to `<run id>.s3-undelete-changes.jsonl` next to the restore list (an
intent: bucket, region, key, marker), then completed there with S3's request id; each line is fsynced. A killed attempt
loses none of it: the next attempt reads it back, asks S3 about intents left unanswered (is the marker still
there?), and the restore list names what the killed attempt removed, with its markers and request ids.

Parameters (plain values; the CLI derives them): bucket, since (ISO 8601 UTC), prefix, region (None: the bucket's
own), allowed_regions, distribution_id (None: no purge), critical_paths (purged with the restored paths), restore_list (path or None: `<restore_list_dir>/<run
id>.s3-restore-list.json`), restore_list_dir, workers, page_size, timeout_s, poll_s.
"""
from __future__ import annotations

import json
import os
import threading
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ops.actions import cloudfront, s3_versions
from ops.actions.aws import error_code
from ops.core.errors import BadInput
from ops.drctl.runbooks.engine import RunContext, Runbook, Step, now_iso

NAME = "RB-N-03 S3 mass undelete + CDN purge"
SHOWN_IN_PLAN = 20  # a dry-run lists this many DeleteObject calls, then counts the rest
PURGED_STATUSES = ("restored", "already-current")


def _s3(ctx: RunContext) -> Any:
    """A client in the bucket's own region, as preflight found it."""
    return ctx.client("s3", ctx.results["preflight"]["region"])


def _replicas(ctx: RunContext) -> list[dict[str, str]]:
    """[{"bucket", "region"}] of the bucket's replication destinations, as preflight found them."""
    return list(ctx.results["preflight"].get("replicas", []))


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
    replicas = [_replica(ctx, probe, name) for name in
                s3_versions.replication_destinations(ctx.client("s3", region), p["bucket"])]
    if p["distribution_id"]:
        _require_distribution(ctx, p["distribution_id"])
    if versioning == "Suspended":
        ctx.log(f"[yellow]{p['bucket']}: versioning is suspended; markers made while it was enabled (and null "
                "markers since) can still be removed[/yellow]")
    return {"region": region, "versioning": versioning, "replicas": replicas, "started_at": now_iso()}


def _replica(ctx: RunContext, probe: Any, name: str) -> dict[str, str]:
    """A replication destination's region (GetBucketLocation), which must be one the run may act in."""
    p = ctx.params
    try:
        region = s3_versions.bucket_region(probe, name)
        if region not in p["allowed_regions"]:
            raise BadInput(f"bucket {p['bucket']} replicates to {name} in {region}, which is not in allowedRegions "
                           f"({', '.join(p['allowed_regions'])}): its copies could not be undeleted")
        s3_versions.require_versioning(ctx.client("s3", region), name)
    except s3_versions.BucketProblem as exc:
        reason = str(exc).removeprefix(f"--bucket {name}: ")  # the destination was not given as --bucket
        raise BadInput(f"bucket {p['bucket']} replicates to {name}: {reason}") from None
    return {"bucket": name, "region": region}


def _require_distribution(ctx: RunContext, distribution_id: str) -> None:
    try:
        ctx.client("cloudfront", "us-east-1").get_distribution(Id=distribution_id)
    except ClientError as exc:
        if error_code(exc) == "NoSuchDistribution":
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
        keys = {c["key"] for c in found["candidates"]}
        found["replicas"] = []
        for replica in _replicas(ctx):
            task = progress.add_task(f"listing versions of s3://{replica['bucket']}/{p['prefix']}", total=None)
            copy = s3_versions.find_deleted_since(
                ctx.client("s3", replica["region"]), replica["bucket"], datetime.fromisoformat(p["since"]),
                prefix=p["prefix"], page_size=p["page_size"], on_page=lambda n, t=task: progress.advance(t, n))
            # The same deletions: the replica's markers (their own version ids) on the keys deleted in the bucket.
            mine = [c for c in copy["candidates"] if c["key"] in keys]
            found["replicas"].append({**replica, "candidates": mine, "scanned": copy["scanned"]})
            ctx.log(f"{replica['bucket']} ({replica['region']}): {len(mine)} of those keys deleted there too")
    return found


def restore_list_path(ctx: RunContext) -> Path:
    p = ctx.params
    return Path(p["restore_list"]) if p["restore_list"] else Path(p["restore_list_dir"]) / \
        f"{ctx.run_id}.s3-restore-list.json"


def changes_path(ctx: RunContext) -> Path:
    return restore_list_path(ctx).with_name(f"{ctx.run_id}.s3-undelete-changes.jsonl")


class ChangeLog:
    """Append-only record of marker removals, one fsynced JSON line each: "removing" before the DeleteObject is
    sent, "removed" with S3's request id once it answered. Survives a SIGKILL between the two."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps({**record, "at": now_iso()}) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as log:
                log.write(line)
                log.flush()
                os.fsync(log.fileno())

    def read(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        records = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:  # the last line of a process killed while writing it
                continue
        return records

    def hooks(self, bucket: str, region: str) -> dict[str, Any]:
        def removing(key: str, marker: str) -> None:
            self.append({"event": "removing", "bucket": bucket, "region": region, "key": key, "marker": marker})

        def removed(key: str, marker: str, request_id: str | None) -> None:
            self.append({"event": "removed", "bucket": bucket, "region": region, "key": key, "marker": marker,
                         "request_id": request_id})
        return {"on_removing": removing, "on_removed": removed}


Removals = dict[str, dict[str, dict[str, "str | None"]]]  # bucket → key → {marker version id: request id}


def _earlier_removals(ctx: RunContext, log: ChangeLog, regions: dict[str, str]) -> Removals:
    """What earlier attempts removed, from the change log. An intent with no answer (the attempt died in between)
    counts when S3 no longer has the marker; its request id is unknown (None)."""
    removals: Removals = {}
    pending: list[tuple[str, str, str]] = []
    for record in log.read():
        bucket, key, marker = record["bucket"], record["key"], record["marker"]
        if record["event"] == "removed":
            removals.setdefault(bucket, {}).setdefault(key, {})[marker] = record.get("request_id")
        elif record["event"] == "removing":
            pending.append((bucket, key, marker))
    for bucket, key, marker in pending:
        answered = marker in removals.get(bucket, {}).get(key, {})
        if not answered and bucket in regions and \
                not s3_versions.marker_exists(ctx.client("s3", regions[bucket]), bucket, key, marker):
            removals.setdefault(bucket, {}).setdefault(key, {})[marker] = None
    return removals


def _remove_markers(ctx: RunContext) -> dict[str, Any]:
    p, pre, found = ctx.params, ctx.results["preflight"], ctx.results["find"]
    path, log = restore_list_path(ctx), ChangeLog(changes_path(ctx))
    targets = [{"bucket": p["bucket"], "region": pre["region"], "candidates": found["candidates"]},
               *found.get("replicas", [])]
    earlier = _earlier_removals(ctx, log, {t["bucket"]: t["region"] for t in targets})
    entries: dict[str, list[dict[str, Any]]] = {t["bucket"]: [] for t in targets}
    try:
        with _progress(ctx) as progress:
            for target in targets:
                bucket, region = target["bucket"], target["region"]
                task = progress.add_task(f"removing delete markers in {bucket}", total=len(target["candidates"]))

                def done(entry: dict[str, Any], bucket: str = bucket, task: Any = task) -> None:
                    entries[bucket].append(entry)
                    progress.advance(task)

                s3_versions.undelete_all(ctx.client("s3", region), bucket, target["candidates"],
                                         workers=p["workers"], on_done=done, **log.hooks(bucket, region))
    finally:  # even a failed attempt leaves the list of what it did; a resume merges into it
        written = _write_restore_list(path, ctx, targets, earlier, entries)
    result = {"restore_list": str(path), "changes": str(log.path),
              **_counts(written[p["bucket"]], entries[p["bucket"]])}
    result["replicas"] = {t["bucket"]: {"region": t["region"], **_counts(written[t["bucket"]], entries[t["bucket"]])}
                          for t in targets[1:]}
    return result


def _counts(items: list[dict[str, Any]], this_attempt: list[dict[str, Any]]) -> dict[str, int]:
    counts = Counter(e["status"] for e in items)
    return {"keys": len(items), **{s: counts.get(s, 0) for s in ("restored", "already-current", "still-deleted")},
            "markers_removed": sum(len(e["removed"]) for e in this_attempt)}


def _merge(previous: dict[str, Any] | None, entry: dict[str, Any]) -> dict[str, Any]:
    """An entry of this attempt merged with an earlier one for the key: the markers either removed (and their
    request ids) all stay listed, and a key an earlier attempt restored stays `restored`."""
    if previous is None:
        return entry
    request_ids = {**previous.get("request_ids", {}), **entry.get("request_ids", {})}
    removed = [*previous["removed"], *(m for m in entry["removed"] if m not in previous["removed"])]
    status = "restored" if entry["status"] == "already-current" and removed else entry["status"]
    return {**entry, "removed": removed, "request_ids": request_ids, "status": status}


def _write_restore_list(path: Path, ctx: RunContext, targets: list[dict[str, Any]], earlier: Removals,
                        entries: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Write (atomically) the restore list, merged with what earlier attempts did: their restore list, and the
    change log (which a killed attempt could not turn into a restore list). Returns bucket → items."""
    document = _read_restore_list(path)
    before = {ctx.params["bucket"]: document.get("items", []),
              **{bucket: r.get("items", []) for bucket, r in document.get("replicas", {}).items()}}
    written: dict[str, list[dict[str, Any]]] = {}
    for target in targets:
        bucket = target["bucket"]
        merged = {e["key"]: e for e in before.get(bucket, [])}
        candidates = {c["key"]: c for c in target["candidates"]}
        for key, removed in earlier.get(bucket, {}).items():
            if key in candidates:
                logged = s3_versions.entry_of(candidates[key], removed, None, "interrupted",
                                              "an earlier attempt removed these markers and was cut off before it "
                                              "checked the key again")
                merged[key] = _merge(merged.get(key), logged)
        for entry in entries[bucket]:
            merged[entry["key"]] = _merge(merged.get(entry["key"]), entry)
        written[bucket] = sorted(merged.values(), key=lambda e: e["key"])
    p, source = ctx.params, targets[0]
    document = {"run_id": ctx.run_id, "bucket": p["bucket"], "region": source["region"], "prefix": p["prefix"],
                "since": p["since"], "written_at": now_iso(), "items": written[p["bucket"]],
                "replicas": {t["bucket"]: {"region": t["region"], "items": written[t["bucket"]]} for t in targets[1:]}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(document, indent=2))
    os.replace(tmp, path)
    return written


def _read_restore_list(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text())) if path.is_file() else {}


def _invalidate(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    keys = [e["key"] for e in _read_restore_list(Path(ctx.results["remove-markers"]["restore_list"]))["items"]
            if e["status"] in PURGED_STATUSES]
    if not keys:
        return {"invalidations": [], "paths": 0}
    paths = _purged_paths(p, keys)
    ids = cloudfront.invalidate_paths(ctx.client("cloudfront", "us-east-1"), p["distribution_id"], paths,
                                      caller_reference=_caller_reference(ctx), wait_timeout_s=p["timeout_s"],
                                      poll_s=p["poll_s"])
    return {"invalidations": ids, "paths": len(paths)}


def _purged_paths(params: dict[str, Any], keys: list[str]) -> list[str]:
    """The restored keys' paths, then the critical paths (pages that list the restored objects), repeats dropped."""
    paths = [s3_versions.invalidation_path(k) for k in keys]
    return [*paths, *(c for c in params.get("critical_paths") or [] if c not in paths)]


def _caller_reference(ctx: RunContext) -> str:
    return f"drctl-s3-undelete-{ctx.run_id}"  # stable across resumes: CloudFront dedupes a repeated batch


def _plan_remove(ctx: RunContext) -> list[str]:
    p, candidates = ctx.params, ctx.results["find"]["candidates"]
    calls = [f"s3:DeleteObject(Bucket={p['bucket']}, Key={c['key']}, VersionId={c['marker_version_id']})"
             for c in candidates[:SHOWN_IN_PLAN]]
    if len(candidates) > SHOWN_IN_PLAN:
        calls.append(f"... and {len(candidates) - SHOWN_IN_PLAN} more DeleteObject calls")
    for replica in ctx.results["find"].get("replicas", []):
        calls.extend(f"s3:DeleteObject(Bucket={replica['bucket']}, Key={c['key']}, VersionId="
                     f"{c['marker_version_id']}) in {replica['region']} (replica)"
                     for c in replica["candidates"][:SHOWN_IN_PLAN])
        if len(replica["candidates"]) > SHOWN_IN_PLAN:
            calls.append(f"... and {len(replica['candidates']) - SHOWN_IN_PLAN} more in {replica['bucket']}")
    calls.append(f"each key: s3:HeadObject before and after; further markers on it made at/after {p['since']} "
                 f"(at S3's whole-second precision) are removed too ({p['workers']} at a time)")
    calls.append(f"each removal journaled before and after in {changes_path(ctx)}")
    calls.append(f"write the restore list to {restore_list_path(ctx)}")
    return calls


def _plan_invalidate(ctx: RunContext) -> list[str]:
    keys = [c["key"] for c in ctx.results["find"]["candidates"]]
    if not keys:
        return ["nothing to invalidate: no deleted keys found"]
    return cloudfront.plan_calls(ctx.params["distribution_id"], _purged_paths(ctx.params, keys),
                                 _caller_reference(ctx))


def _validate(params: dict[str, Any]) -> None:
    if params["workers"] < 1:
        raise BadInput(f"--workers {params['workers']}: at least 1")
    try:
        if params.get("critical_paths"):
            cloudfront.validate_paths(params["critical_paths"])
    except cloudfront.InvalidPath as exc:
        raise BadInput(f"--paths: {exc}") from None


def runbook(params: dict[str, Any]) -> Runbook:
    """The steps for these parameters: the CloudFront purge only when a distribution is given."""
    steps = [
        Step("preflight", "bucket, its region, versioning and replicas; the distribution", _preflight,
             read_only=True),
        Step("find", "list versions (bucket and replicas): keys whose current entry is a delete marker made at/after "
             "--since", _find, read_only=True),
        Step("remove-markers", "S3: remove those delete markers, in every replica too; write the restore list",
             _remove_markers, would_call=_plan_remove),
    ]
    if params.get("distribution_id"):
        steps.append(Step("invalidate", "CloudFront: invalidate the restored paths", _invalidate,
                          would_call=_plan_invalidate))
    return Runbook(name=NAME, validate=_validate, steps=steps)
