"""RB-N-03 `drctl s3-undelete` end to end against moto's server: dry-run, execute (markers gone, previous versions
current, restore list, CloudFront invalidation), re-run, bad input, crash/resume, injected throttling and 5xx."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ops.actions.s3_versions import invalidation_path
from ops.drctl.runbooks.engine import Journal
from tests.harness.aurora import PRIMARY
from tests.harness.moto_extensions import s3_faults
from tests.harness.crash import run_until_crash
from tests.runbooks_restore.conftest import (BUCKET, DELETED_BEFORE, DELETED_BEFORE_AND_AFTER, LIVE, OUTSIDE_PREFIX,
                                             RESTORED, Drctl, S3World, client, flat, journal_of)

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
