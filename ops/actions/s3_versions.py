"""S3 mass undelete (RB-N-03): find objects whose current version is a delete marker made at/after a time, remove
those markers so the previous version is current again, and name the CloudFront paths to purge.

In a versioned bucket a DELETE only stacks a delete marker on top of the key's versions; deleting the marker
itself (DeleteObject with its VersionId) makes the version beneath current again. Nothing is copied or rewritten.

Which markers go: for each key whose current entry (IsLatest) is a marker with LastModified >= since (compared at
the whole second S3 reports: `since` is floored to its second, so a deletion later in that second is found), the
markers
on top of its stack are removed one at a time while each is one the listing found at/after `since`; the first
real version beneath becomes current. A marker older than `since` (or one the listing did not see, made after
it) stops the peeling: the object was already deleted at `since`, and stays deleted. The stack order comes from
HEAD (which names the current entry's version id and whether it is a marker) rather than from LastModified,
whose one-second resolution cannot order a PUT and a DELETE made in the same second.

Idempotent per key: a key whose current entry is already a version is reported and left alone, so a resumed or
repeated run removes nothing twice. HEAD needs s3:GetObject; DeleteObject with a VersionId needs
s3:DeleteObjectVersion.

Replicas: removing a delete marker (a DELETE with a VersionId) is never replicated, so a replica keeps its own
copies of the markers; `replication_destinations` names the buckets the replication configuration copies to
(GetBucketReplication needs s3:GetReplicationConfiguration), and the same undelete runs there.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Literal

from botocore.exceptions import ClientError

from ops.actions.aws import error_code

PAGE_SIZE = 1000  # ListObjectVersions' maximum
# What CloudFront accepts unencoded in an invalidation path: letters, digits and RFC 1738's safe, extra and
# reserved characters — minus '*' (a wildcard when last) and '?' (starts a query string), which a key may contain
# literally. Everything else (RFC 1738's unsafe characters, controls, non-ASCII as UTF-8) is percent-encoded.
_PATH_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!$&'()+,;=:@/")

Current = Literal["version", "marker", "absent"]
# S3's general purpose bucket naming rules (S3 user guide, "Bucket naming rules"): 3-63 lowercase letters, digits,
# dots and hyphens, a letter or digit at each end, no "..", not an IP address, none of the reserved affixes.
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


class BucketProblem(ValueError):
    """The bucket cannot be undeleted from (unknown, or versioning never enabled); the message says why."""


def bucket_name_problem(name: str) -> str | None:
    """Why `name` cannot be an S3 bucket's name, or None when it can."""
    if not _BUCKET_NAME.fullmatch(name):
        return "3-63 characters: lowercase letters, digits, '.' and '-', beginning and ending with a letter or digit"
    if ".." in name:
        return "no two adjacent periods"
    try:
        ipaddress.IPv4Address(name)
        return "not formatted as an IP address"
    except ValueError:
        pass
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return f"S3 reserves the prefixes {', '.join(_RESERVED_PREFIXES)} and the suffixes " \
               f"{', '.join(_RESERVED_SUFFIXES)}"
    return None


def bucket_region(s3: Any, bucket: str) -> str:
    """The bucket's region (GetBucketLocation: empty means us-east-1); BucketProblem when it does not exist."""
    try:
        location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")
    except ClientError as exc:
        if error_code(exc) == "NoSuchBucket":
            raise BucketProblem(f"--bucket {bucket}: no such bucket") from None
        raise
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)


def require_versioning(s3: Any, bucket: str) -> str:
    """The bucket's versioning status. Never enabled → BucketProblem: a DELETE removed the data for good."""
    status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    if status not in ("Enabled", "Suspended"):
        raise BucketProblem(f"--bucket {bucket}: versioning has never been enabled, so deleted objects left no "
                            "earlier versions and no delete markers: there is nothing to undelete")
    return str(status)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()


def s3_precision(since: datetime) -> datetime:
    """`since` floored to the whole second: S3 reports LastModified in whole seconds (truncated), so a marker made
    at 09:30:00.7 lists as 09:30:00 and must count as made at/after --since 09:30:00.5."""
    return since.replace(microsecond=0)


def replication_destinations(s3: Any, bucket: str) -> list[str]:
    """The buckets the bucket's replication rules copy to (each rule's destination bucket ARN), in rule order."""
    try:
        config = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]
    except ClientError as exc:
        if error_code(exc) == "ReplicationConfigurationNotFoundError":
            return []
        raise
    names = [str(rule["Destination"]["Bucket"]).rsplit(":", 1)[-1] for rule in config.get("Rules", [])]
    return [name for n, name in enumerate(names) if name not in names[:n]]


def marker_exists(s3: Any, bucket: str, key: str, version_id: str) -> bool:
    """Whether the delete marker `version_id` of `key` is still there (ListObjectVersions under the key; the key's
    own entries come first, so the listing stops at the first other key)."""
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key)
    for page in pages:
        if any(m["Key"] == key and m["VersionId"] == version_id for m in page.get("DeleteMarkers", [])):
            return True
        if any(e["Key"] != key for e in (*page.get("DeleteMarkers", []), *page.get("Versions", []))):
            return False
    return False


def find_deleted_since(s3: Any, bucket: str, since: datetime, *, prefix: str = "", page_size: int = PAGE_SIZE,
                       on_page: Callable[[int], None] | None = None) -> dict[str, Any]:
    """List every version under `prefix` (paginated by KeyMarker/VersionIdMarker) and return the keys to undelete.

    Returns {"candidates": [{"key", "marker_version_id", "marker_last_modified", "markers": {id: iso}}],
    "without_versions": [key, ...] (current marker >= since but nothing beneath to restore), "scanned": n}.
    Only markers at/after `since` (at S3's whole-second precision) are kept, so memory follows the recent deletions,
    not the bucket size."""
    since = s3_precision(since)
    tracked: dict[str, dict[str, Any]] = {}
    scanned = 0
    pages = s3.get_paginator("list_object_versions").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size})
    for page in pages:
        markers, versions = page.get("DeleteMarkers", []), page.get("Versions", [])
        # A key's current entry is listed before its older ones, so markers first: tracking starts with it.
        for marker in markers:
            _track_marker(tracked, marker, since)
        for version in versions:
            if version["Key"] in tracked:
                tracked[version["Key"]]["versions"] += 1
        scanned += len(markers) + len(versions)
        if on_page is not None:
            on_page(len(markers) + len(versions))
    candidates = [{"key": key, "marker_version_id": t["top"][0], "marker_last_modified": t["top"][1],
                   "markers": t["markers"]} for key, t in sorted(tracked.items()) if t["versions"]]
    return {"candidates": candidates, "scanned": scanned,
            "without_versions": sorted(key for key, t in tracked.items() if not t["versions"])}


def _track_marker(tracked: dict[str, dict[str, Any]], marker: dict[str, Any], since: datetime) -> None:
    key, modified = marker["Key"], marker["LastModified"]
    if marker.get("IsLatest") and modified >= since:
        tracked[key] = {"top": (marker["VersionId"], _iso(modified)), "markers": {}, "versions": 0}
    if key in tracked and modified >= since:
        tracked[key]["markers"][marker["VersionId"]] = _iso(modified)


def current_entry(s3: Any, bucket: str, key: str) -> tuple[Current, str | None]:
    """What a GET of the key would see, by HEAD: ("version", id), ("marker", id) or ("absent", None)."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        if headers.get("x-amz-delete-marker") == "true":
            return "marker", headers.get("x-amz-version-id")
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            return "absent", None
        raise
    return "version", head.get("VersionId")


Removing = Callable[[str, str], None]  # (key, marker version id), before its DeleteObject is sent
Removed = Callable[[str, str, "str | None"], None]  # (key, marker version id, S3's request id), once S3 answered


def undelete_key(s3: Any, bucket: str, candidate: dict[str, Any], *, on_removing: Removing | None = None,
                 on_removed: Removed | None = None) -> dict[str, Any]:
    """Peel this key's delete markers made at/after `since` until a version is current; idempotent.

    Returns the restore-list entry: key, marker_version_id (the marker that hid the object), removed (marker
    version ids deleted now), request_ids (marker → S3's request id for its removal), restored_version_id, status
    restored | already-current | still-deleted, reason. `on_removing`/`on_removed` hear each removal before it is
    sent and once S3 answered, so a caller can keep a record that survives a kill in between."""
    key, known = candidate["key"], candidate["markers"]
    removed: dict[str, str | None] = {}
    while True:
        kind, version_id = current_entry(s3, bucket, key)
        if kind == "version":
            status = "restored" if removed else "already-current"
            return entry_of(candidate, removed, version_id, status)
        if kind == "absent":
            return entry_of(candidate, removed, None, "still-deleted", "no version left beneath the markers")
        if version_id not in known:
            return entry_of(candidate, removed, None, "still-deleted",
                          f"current delete marker {version_id} predates --since or appeared after the listing")
        if on_removing is not None:
            on_removing(key, str(version_id))
        answer = s3.delete_object(Bucket=bucket, Key=key, VersionId=version_id)
        removed[str(version_id)] = answer.get("ResponseMetadata", {}).get("RequestId")
        if on_removed is not None:
            on_removed(key, str(version_id), removed[str(version_id)])


def entry_of(candidate: dict[str, Any], removed: dict[str, str | None], restored: str | None, status: str,
             reason: str = "") -> dict[str, Any]:
    """A restore-list entry for the candidate: `removed` maps each removed marker to S3's request id for it."""
    entry = {"key": candidate["key"], "marker_version_id": candidate["marker_version_id"],
             "marker_last_modified": candidate["marker_last_modified"], "removed": list(removed),
             "request_ids": removed, "restored_version_id": restored, "status": status}
    return {**entry, "reason": reason} if reason else entry


def undelete_all(s3: Any, bucket: str, candidates: Iterable[dict[str, Any]], *, workers: int,
                 on_done: Callable[[dict[str, Any]], None] | None = None, on_removing: Removing | None = None,
                 on_removed: Removed | None = None) -> list[dict[str, Any]]:
    """`undelete_key` for every candidate on a bounded thread pool (boto3 clients are thread-safe); entries come
    back in the candidates' order. On the first failure no further key starts; it propagates once the running
    keys finish."""
    def one(candidate: dict[str, Any]) -> dict[str, Any]:
        entry = undelete_key(s3, bucket, candidate, on_removing=on_removing, on_removed=on_removed)
        if on_done is not None:
            on_done(entry)
        return entry

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="s3-undelete") as pool:
        futures = [pool.submit(one, candidate) for candidate in candidates]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:  # stop handing out keys; the ones running finish
                future.cancel()
            raise


def invalidation_path(key: str) -> str:
    """The CloudFront invalidation path of an object key: '/' + the key, percent-encoding (as UTF-8) whatever
    CloudFront requires encoded, and nothing else (an over-encoded path does not match the cached object)."""
    return "/" + "".join(char if char in _PATH_SAFE else "".join(f"%{b:02X}" for b in char.encode("utf-8"))
                         for char in key)


def versioning_status(s3: Any, bucket: str) -> str | None:
    """GetBucketVersioning's Status: Enabled, Suspended, or None when versioning was never enabled (read-only)."""
    return s3.get_bucket_versioning(Bucket=bucket).get("Status")


def replication_rules(s3: Any, bucket: str) -> list[dict[str, Any]]:
    """The bucket's replication rules as GetBucketReplication returns them; [] when it has no configuration."""
    try:
        return list(s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"].get("Rules", []))
    except ClientError as exc:
        if error_code(exc) == "ReplicationConfigurationNotFoundError":
            return []
        raise


def latest_object_replication(s3: Any, bucket: str, *, scan_limit: int, ties: int = 10) -> dict[str, Any] | None:
    """The newest current objects among the first `scan_limit` keys ListObjectsV2 returns, each with the
    ReplicationStatus HEAD reports (PENDING, COMPLETED, FAILED; REPLICA in a destination; None when no rule applied).
    S3 reports LastModified in whole seconds, so every object of the newest second (up to `ties`) is looked at.
    None for an empty bucket. S3 lists in key order, not by time, so a bucket with more keys than `scan_limit` is
    answered from that part of it: `truncated` says so."""
    newest: list[dict[str, Any]] = []
    scanned, truncated = 0, False
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": PAGE_SIZE})
    for page in pages:
        for item in page.get("Contents", []):
            if scanned >= scan_limit:
                truncated = True
                break
            scanned += 1
            second = item["LastModified"].replace(microsecond=0)
            if not newest or second > newest[0]["second"]:
                newest = [{**item, "second": second}]
            elif second == newest[0]["second"] and len(newest) < ties:
                newest.append({**item, "second": second})
        if truncated:
            break
    if not newest:
        return None
    objects = [{"key": item["Key"], "replication_status": s3.head_object(Bucket=bucket, Key=item["Key"])
                .get("ReplicationStatus")} for item in newest]
    return {"last_modified": newest[0]["LastModified"], "objects": objects, "scanned": scanned,
            "truncated": truncated}
