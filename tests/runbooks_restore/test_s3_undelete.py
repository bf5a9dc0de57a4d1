"""RB-N-03 `drctl s3-undelete` end to end against moto's server: dry-run, execute (markers gone, previous versions
current, restore list, CloudFront invalidation), re-run, bad input, crash/resume, injected throttling and 5xx."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ops.actions.s3_versions import invalidation_path
from ops.drctl.runbooks.engine import Journal
from ops.drctl.runbooks.s3_undelete import SHOWN_IN_PLAN
from tests.harness.aurora import DR, PRIMARY
from tests.harness.crash import PROJECT_DIR, run_until_crash
from tests.harness.moto_extensions import s3_faults
from tests.runbooks_restore.conftest import (
    BUCKET,
    DELETED_BEFORE,
    DELETED_BEFORE_AND_AFTER,
    LIVE,
    OUTSIDE_PREFIX,
    RESTORED,
    Drctl,
    S3World,
    client,
    flat,
    journal_of,
)

FAST = ("--timeout", "20", "--poll", "0.05", "--page-size", "7")  # small pages: the listing really paginates
STILL_DELETED = [DELETED_BEFORE, DELETED_BEFORE_AND_AFTER, OUTSIDE_PREFIX]
# Current marker made at/after --since under the prefix; DELETED_BEFORE_AND_AFTER loses only that marker and
# stays deleted (it was already deleted at --since).
CANDIDATES = [*RESTORED, DELETED_BEFORE_AND_AFTER]
MARKERS_AFTER_SINCE = len(CANDIDATES) + 1  # media/twice.jpg has two


def undelete(drctl: Drctl, media: S3World, *extra: str) -> tuple[int, str]:
    return drctl("s3-undelete", "--bucket", BUCKET, "--since", media.since.isoformat(), "--prefix", "media/",
                 "--distribution", media.distribution_id, *extra, *FAST)


def invalidated_paths(media: S3World) -> list[str]:
    cloudfront = client("cloudfront", PRIMARY)
    listed = cloudfront.list_invalidations(DistributionId=media.distribution_id)["InvalidationList"]
    return sorted(path for item in listed.get("Items", []) for path in cloudfront.get_invalidation(
        DistributionId=media.distribution_id, Id=item["Id"])["Invalidation"]["InvalidationBatch"]["Paths"]["Items"])


def assert_undeleted(media: S3World) -> None:
    """Every key deleted at/after `since` under the prefix reads as its last version again; nothing else moved."""
    for key in RESTORED:
        assert media.current(key) == media.versions[key][-1], key
    assert media.current(LIVE) == media.versions[LIVE][-1]
    assert media.latest_markers() == sorted(STILL_DELETED)


def test_dry_run_lists_the_markers_and_changes_nothing(media: S3World, drctl: Drctl, faults) -> None:
    code, output = undelete(drctl, media, "--json")
    assert code == 0, output
    run = journal_of(output)
    assert run.status == "planned"
    found = run.step("find").result
    assert sorted(c["key"] for c in found["candidates"]) == sorted(CANDIDATES)
    planned = run.step("remove-markers").would_call
    assert planned[0].startswith(f"s3:DeleteObject(Bucket={BUCKET}, Key=media/a.jpg, VersionId=")
    assert any(c.startswith("... and ") for c in planned)
    purge, = run.step("invalidate").would_call
    assert purge.startswith(f"cloudfront:CreateInvalidation(DistributionId={media.distribution_id}, "
                            f"CallerReference=drctl-s3-undelete-{run.run_id}-0, Paths=[/media/a.jpg, ")
    assert f"({len(CANDIDATES)} paths)" in purge
    assert media.latest_markers() == sorted([*RESTORED, *STILL_DELETED])
    assert faults.calls("s3", "DeleteObject") == 0 and invalidated_paths(media) == []


def test_execute_restores_previous_versions_writes_the_list_and_purges_the_cdn(media: S3World, drctl: Drctl,
                                                                               tmp_path: Path) -> None:
    code, output = undelete(drctl, media, "--execute", "--yes", "--json")
    assert code == 0, output
    run = journal_of(output)
    assert_undeleted(media)
    removed = run.step("remove-markers").result
    assert (removed["restored"], removed["still-deleted"], removed["markers_removed"]) == (len(RESTORED), 1,
                                                                                          MARKERS_AFTER_SINCE)
    restore_list = json.loads((tmp_path / "runs" / f"{run.run_id}.s3-restore-list.json").read_text())
    assert removed["restore_list"] == str(tmp_path / "runs" / f"{run.run_id}.s3-restore-list.json")
    items = {i["key"]: i for i in restore_list["items"]}
    assert sorted(items) == sorted(CANDIDATES)
    assert items[DELETED_BEFORE_AND_AFTER]["status"] == "still-deleted"
    assert items[DELETED_BEFORE_AND_AFTER]["restored_version_id"] is None
    assert items["media/a.jpg"]["restored_version_id"] == media.versions["media/a.jpg"][1]
    assert len(items["media/twice.jpg"]["removed"]) == 2  # both markers made after --since
    assert all(i["marker_version_id"] in i["removed"] and i["status"] == "restored"
               for key, i in items.items() if key in RESTORED)
    assert invalidated_paths(media) == sorted(invalidation_path(k) for k in RESTORED)
    assert "/media/spaces%20&%20%C3%BC%2A%3F.jpg" in invalidated_paths(media)
    assert run.step("invalidate").result["paths"] == len(RESTORED)


def test_an_object_already_deleted_before_since_stays_deleted(media: S3World, drctl: Drctl) -> None:
    code, output = drctl("s3-undelete", "--bucket", BUCKET, "--since", media.since.isoformat(), "--prefix",
                         DELETED_BEFORE_AND_AFTER, "--execute", "--yes", "--json", *FAST)
    assert code == 0, output
    entry, = json.loads(Path(journal_of(output).step("remove-markers").result["restore_list"]).read_text())["items"]
    assert entry["status"] == "still-deleted" and "predates --since" in entry["reason"]
    assert media.current(DELETED_BEFORE_AND_AFTER) is None


def test_a_rerun_finds_nothing_left_to_undelete(media: S3World, drctl: Drctl, faults) -> None:
    assert undelete(drctl, media, "--execute", "--yes")[0] == 0
    deletes = faults.calls("s3", "DeleteObject")
    code, output = undelete(drctl, media, "--execute", "--yes", "--json")
    assert code == 0, output
    run = journal_of(output)
    assert run.step("find").result["candidates"] == [] and run.step("invalidate").result["paths"] == 0
    assert faults.calls("s3", "DeleteObject") == deletes
    assert_undeleted(media)


def test_crash_after_removing_markers_then_resume_only_purges(media: S3World, drctl: Drctl, tmp_path: Path,
                                                              faults) -> None:
    run_id = run_until_crash("remove-markers", tmp_path / "runs", "s3-undelete", "--bucket", BUCKET, "--since",
                             media.since.isoformat(), "--prefix", "media/", "--distribution",
                             media.distribution_id, "--execute", "--yes", *FAST)
    state = Journal.load(tmp_path / "runs", run_id)
    assert state.step("remove-markers").state == "done" and state.step("invalidate").state == "pending"
    assert_undeleted(media)
    assert invalidated_paths(media) == []
    deletes = faults.calls("s3", "DeleteObject")

    code, output = drctl("s3-undelete", "--resume", run_id, "--yes")
    assert code == 0, output
    assert "remove-markers: done in an earlier attempt, not repeated" in flat(output)
    assert faults.calls("s3", "DeleteObject") == deletes
    assert invalidated_paths(media) == sorted(invalidation_path(k) for k in RESTORED)
    assert Journal.load(tmp_path / "runs", run_id).status == "done"


def test_a_run_failing_part_way_resumes_without_removing_a_marker_twice(media: S3World, drctl: Drctl,
                                                                        tmp_path: Path, faults) -> None:
    s3_faults.fail_after("DeleteObject", served=5, count=3)  # the 6th removal fails all 3 attempts
    try:
        code, output = undelete(drctl, media, "--execute", "--yes", "--workers", "1")
    finally:
        s3_faults.clear()
    assert code == 1 and "InternalError" in flat(output), output
    run_id = next((tmp_path / "runs").glob("*Z-??????.json")).stem
    assert Journal.load(tmp_path / "runs", run_id).step("remove-markers").state == "failed"
    # One worker, keys in order: a.jpg, again.jpg, bulk/000-002 lost their markers, then bulk/003's removal failed
    # (3 attempts); the key the worker had already started on may finish too, nothing later starts.
    removed_before = faults.calls("s3", "DeleteObject") - 3
    assert removed_before in (5, 6)
    assert media.current("media/bulk/003.txt") is None and media.current("media/bulk/002.txt") is not None
    deletes = faults.calls("s3", "DeleteObject")

    code, output = drctl("s3-undelete", "--resume", run_id, "--yes", "--json")
    assert code == 0, output
    assert_undeleted(media)
    assert journal_of(output).step("remove-markers").result["markers_removed"] == MARKERS_AFTER_SINCE - removed_before
    assert faults.calls("s3", "DeleteObject") - deletes == MARKERS_AFTER_SINCE - removed_before  # none twice
    listed = json.loads((tmp_path / "runs" / f"{run_id}.s3-restore-list.json").read_text())["items"]
    assert sorted(i["key"] for i in listed) == sorted(CANDIDATES)
    assert all(i["removed"] for i in listed)  # the first attempt's entries kept: they say what it removed
    assert [i["key"] for i in listed if i["status"] != "restored"] == [DELETED_BEFORE_AND_AFTER]


def test_throttling_and_5xx_are_retried_and_the_run_completes(media: S3World, drctl: Drctl, faults) -> None:
    faults.inject("s3", "ListObjectVersions", 1, status=503, code="SlowDown")
    faults.inject("s3", "DeleteObject", 2, status=503, code="SlowDown")
    faults.inject("s3", "HeadObject", 1, status=500, code="InternalError")
    faults.inject("cloudfront", "CreateInvalidation", 1, status=400, code="Throttling")
    code, output = undelete(drctl, media, "--execute", "--yes", "--json")
    assert code == 0, output
    assert_undeleted(media)
    assert faults.calls("s3", "DeleteObject") == MARKERS_AFTER_SINCE + 2
    assert faults.calls("s3", "ListObjectVersions") >= 2 and faults.calls("cloudfront", "CreateInvalidation") == 2
    assert invalidated_paths(media) == sorted(invalidation_path(k) for k in RESTORED)


def test_bad_input_exits_2_and_changes_nothing(media: S3World, drctl: Drctl, faults) -> None:
    s3 = client("s3", PRIMARY)
    s3.create_bucket(Bucket="plain-us-east-1")
    client("s3", "eu-west-1").create_bucket(Bucket="media-eu-west-1",
                                            CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    since = media.since.isoformat()
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    for args, named in [
        (["--bucket", "nope-us-east-1", "--since", since], "--bucket nope-us-east-1: no such bucket"),
        (["--bucket", "plain-us-east-1", "--since", since], "--bucket plain-us-east-1: versioning has never been "
                                                            "enabled"),
        (["--bucket", BUCKET, "--since", "2026-11-22 09:30"], "--since '2026-11-22 09:30' has no time zone"),
        (["--bucket", BUCKET, "--since", "last week"], "--since 'last week' is not an ISO 8601 time"),
        (["--bucket", BUCKET, "--since", future], "is in the future"),
        (["--bucket", BUCKET], "--since is required"),
        (["--since", since], "--bucket is required"),
        (["--bucket", BUCKET, "--since", since, "--region", "eu-west-1"], "--region eu-west-1: not in allowedRegions"),
        (["--bucket", BUCKET, "--since", since, "--region", "us-west-2"], f"bucket {BUCKET} is in us-east-1"),
        (["--bucket", "media-eu-west-1", "--since", since],
         "bucket media-eu-west-1 is in region eu-west-1, which is not in allowedRegions (us-east-1, us-west-2)"),
        (["--bucket", BUCKET, "--since", since, "--distribution", "E000NOPE"],
         "--distribution E000NOPE: no such CloudFront distribution"),
        (["--bucket", BUCKET, "--since", since], "--yes"),  # --execute without a terminal to confirm on
    ]:
        confirm = ["--yes"] if named != "--yes" else []
        code, output = drctl("s3-undelete", *args, "--execute", *confirm, *FAST)
        assert code == 2 and named in flat(output), (args, output)
    assert faults.calls("s3", "DeleteObject") == 0
    assert media.latest_markers() == sorted([*RESTORED, *STILL_DELETED])


@pytest.mark.parametrize("key, path", [
    ("media/a.jpg", "/media/a.jpg"),
    ("media/spaces & ü*?.jpg", "/media/spaces%20&%20%C3%BC%2A%3F.jpg"),
    ("a/b(1),c;d=e:f@g+h$i!j'k", "/a/b(1),c;d=e:f@g+h$i!j'k"),
    ("x/{a}|b\\c^d~e[f]g`h#i%j\"k<l>m", "/x/%7Ba%7D%7Cb%5Cc%5Ed%7Ee%5Bf%5Dg%60h%23i%25j%22k%3Cl%3Em"),
])
def test_invalidation_paths_encode_what_cloudfront_requires_and_nothing_else(key: str, path: str) -> None:
    assert invalidation_path(key) == path


def test_a_since_with_sub_second_precision_finds_markers_made_in_that_second(media: S3World, drctl: Drctl) -> None:
    """S3 reports a marker's LastModified in whole seconds: a deletion made after --since but within the same second
    is listed as made before it, and must still be found."""
    s3 = client("s3", PRIMARY)
    for attempt in range(5):  # a busy machine may push the deletion into the next second: then try again
        key = f"media/late-{attempt}.jpg"
        version = s3.put_object(Bucket=BUCKET, Key=key, Body=b"late")["VersionId"]
        while time.time() % 1 > 0.5:  # room for the deletion within the second --since falls in
            time.sleep(0.02)
        since = datetime.now(timezone.utc)
        s3.delete_object(Bucket=BUCKET, Key=key)
        marker, = s3.list_object_versions(Bucket=BUCKET, Prefix=key)["DeleteMarkers"]
        if marker["LastModified"] < since:  # as S3 reports it: the whole second, before --since
            break
    else:
        pytest.fail("no deletion landed in the second --since falls in")
    code, output = drctl("s3-undelete", "--bucket", BUCKET, "--since", since.isoformat(timespec="microseconds"),
                         "--prefix", key, "--execute", "--yes", "--json", *FAST)
    assert code == 0, output
    assert [c["key"] for c in journal_of(output).step("find").result["candidates"]] == [key]
    assert media.current(key) == version


REPLICA = "media-us-west-2"


def replicate_to_b(media: S3World) -> list[str]:
    """A's replication rule to B's bucket, and B's copies as replication made them: each key put, and the keys
    deleted in A after --since deleted in B too (delete marker replication; B's markers have their own ids).
    moto keeps the configuration but does not replicate. Returns the keys B holds deleted."""
    b = client("s3", DR)
    b.create_bucket(Bucket=REPLICA, CreateBucketConfiguration={"LocationConstraint": DR})
    b.put_bucket_versioning(Bucket=REPLICA, VersioningConfiguration={"Status": "Enabled"})
    client("s3", PRIMARY).put_bucket_replication(Bucket=BUCKET, ReplicationConfiguration={
        "Role": "arn:aws:iam::123456789012:role/s3-replication",
        "Rules": [{"ID": "media-to-b", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
                   "DeleteMarkerReplication": {"Status": "Enabled"},
                   "Destination": {"Bucket": f"arn:aws:s3:::{REPLICA}"}}]})
    deleted = [*RESTORED, OUTSIDE_PREFIX]
    for key in (*deleted, LIVE):
        b.put_object(Bucket=REPLICA, Key=key, Body=f"{key} replica".encode())
    for key in deleted:
        b.delete_object(Bucket=REPLICA, Key=key)
    b.delete_object(Bucket=REPLICA, Key="media/twice.jpg")
    return deleted


def replica_current(key: str) -> bool:
    try:
        client("s3", DR).head_object(Bucket=REPLICA, Key=key)
        return True
    except client("s3", DR).exceptions.ClientError:
        return False


def test_the_replica_in_b_is_undeleted_too(media: S3World, drctl: Drctl, tmp_path: Path) -> None:
    replicate_to_b(media)
    code, output = undelete(drctl, media, "--json")
    assert code == 0, output
    planned = journal_of(output).step("remove-markers").would_call
    assert f"s3:DeleteObject(Bucket={REPLICA}, Key=media/a.jpg, VersionId=" in planned[SHOWN_IN_PLAN + 1]
    assert planned[SHOWN_IN_PLAN + 1].endswith(f") in {DR} (replica)")
    assert not any(replica_current(key) for key in RESTORED)  # a dry run
    code, output = undelete(drctl, media, "--execute", "--yes", "--json")
    assert code == 0, output
    assert_undeleted(media)
    assert all(replica_current(key) for key in RESTORED)
    assert not replica_current(OUTSIDE_PREFIX) and replica_current(LIVE)  # outside --prefix: left alone
    run = journal_of(output)
    in_b = run.step("remove-markers").result["replicas"][REPLICA]
    assert (in_b["region"], in_b["restored"], in_b["markers_removed"]) == (DR, len(RESTORED), len(RESTORED) + 1)
    restore_list = json.loads(Path(run.step("remove-markers").result["restore_list"]).read_text())
    replica_items = {i["key"]: i for i in restore_list["replicas"][REPLICA]["items"]}
    assert sorted(replica_items) == sorted(RESTORED)
    assert all(i["status"] == "restored" and i["removed"] for i in replica_items.values())
    assert sorted(i["key"] for i in restore_list["items"]) == sorted(CANDIDATES)  # A's own list as before


def test_a_replica_outside_the_allowed_regions_exits_2_and_changes_nothing(media: S3World, drctl: Drctl,
                                                                          faults) -> None:
    client("s3", "eu-west-1").create_bucket(Bucket="media-eu-west-1",
                                            CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    client("s3", PRIMARY).put_bucket_replication(Bucket=BUCKET, ReplicationConfiguration={
        "Role": "arn:aws:iam::123456789012:role/s3-replication",
        "Rules": [{"ID": "to-eu", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
                   "DeleteMarkerReplication": {"Status": "Enabled"},
                   "Destination": {"Bucket": "arn:aws:s3:::media-eu-west-1"}}]})
    code, output = undelete(drctl, media, "--execute", "--yes")
    assert code == 2 and f"bucket {BUCKET} replicates to media-eu-west-1 in eu-west-1, which is not in " \
        "allowedRegions" in flat(output), output
    assert faults.calls("s3", "DeleteObject") == 0


def test_killed_mid_removal_the_resume_reports_what_the_killed_attempt_restored(media: S3World, tmp_path: Path,
                                                                               drctl: Drctl, faults) -> None:
    """SIGKILL while a removal S3 carried out is still unanswered: the resumed run's restore list names every key
    the killed attempt restored as restored, with the markers it removed and S3's request ids."""
    faults.lose_response("s3", "DeleteObject", 1, served=4)  # the 5th removal is done, its answer never comes
    runs = tmp_path / "runs"
    killed = subprocess.Popen(
        [sys.executable, "-m", "ops.drctl.cli", "s3-undelete", "--bucket", BUCKET, "--since", media.since.isoformat(),
         "--prefix", "media/", "--execute", "--yes", "--workers", "1", *FAST, "--journal-dir", str(runs)],
        cwd=PROJECT_DIR, env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    try:
        assert faults.withheld.wait(60), "the 5th DeleteObject never arrived"
    finally:
        killed.kill()
        killed.communicate(timeout=30)
    faults.clear()
    # One worker, keys in order: a.jpg, again.jpg (its marker made after --since), bulk/000 and bulk/001 answered;
    # bulk/002's marker is gone on the server, its answer lost.
    killed_restored = ["media/a.jpg", "media/bulk/000.txt", "media/bulk/001.txt", "media/bulk/002.txt"]
    assert all(media.current(key) for key in killed_restored) and media.current("media/bulk/003.txt") is None
    run_id = next(runs.glob("*Z-??????.json")).stem

    code, output = drctl("s3-undelete", "--resume", run_id, "--yes", "--json")
    assert code == 0, output
    assert_undeleted(media)
    assert faults.calls("s3", "DeleteObject") == MARKERS_AFTER_SINCE - 5  # the resume removed none twice
    removed = journal_of(output).step("remove-markers").result
    assert (removed["restored"], removed["still-deleted"]) == (len(RESTORED), 1)
    items = {i["key"]: i for i in json.loads((runs / f"{run_id}.s3-restore-list.json").read_text())["items"]}
    for key in killed_restored:
        assert items[key]["status"] == "restored" and items[key]["removed"] == [items[key]["marker_version_id"]], key
    answered = ["media/a.jpg", "media/bulk/000.txt", "media/bulk/001.txt"]
    assert all(items[key]["request_ids"][items[key]["marker_version_id"]] for key in answered)
    lost = items["media/bulk/002.txt"]
    assert lost["request_ids"] == {lost["marker_version_id"]: None}  # S3 did it; its answer never came
    assert items[DELETED_BEFORE_AND_AFTER]["removed"] and items[DELETED_BEFORE_AND_AFTER]["status"] == "still-deleted"


@pytest.mark.parametrize("name", ["Media_Bucket", "media bucket", "ab", "media..bucket", "-media", "a" * 64,
                                  "192.168.5.4", "xn--media"])
def test_an_invalid_bucket_name_exits_2_naming_bucket(media: S3World, drctl: Drctl, faults, name: str) -> None:
    code, output = drctl("s3-undelete", "--bucket", name, "--since", media.since.isoformat(), "--execute", "--yes",
                         *FAST)
    assert code == 2 and f"--bucket {name!r} is not a valid S3 bucket name" in flat(output), output
    assert faults.calls("s3", "DeleteObject") == 0 and faults.calls("s3", "GetBucketLocation") == 0
