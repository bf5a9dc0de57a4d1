"""`drctl s3-undelete` on the media bucket and the distribution the primary stack's plan declares, both created in
moto from the planned inputs: the distribution and the critical paths come from the plan's outputs (--outputs)."""
from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ops.drctl.planning.mockplan import Plan, plan_stack
from tests.harness.aurora import PRIMARY
from tests.harness.cdn_plan import (
    create_planned_bucket,
    create_planned_distribution,
    write_outputs,
)
from tests.runbooks_restore.conftest import Drctl, client, flat, journal_of

KEYS = ["media/a.jpg", "media/b.jpg"]


@pytest.fixture(scope="module")
def primary_plan() -> Plan:
    return plan_stack("primary")


def deleted_since(bucket: str) -> datetime:
    """KEYS put, then deleted after the returned time (a whole second: S3 reports LastModified in seconds)."""
    s3 = client("s3", PRIMARY)
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    since = datetime.fromtimestamp(int(time.time()) + 1, UTC)
    time.sleep(max(0.0, since.timestamp() - time.time()) + 0.01)
    for key in KEYS:
        s3.delete_object(Bucket=bucket, Key=key)
    return since


def invalidated(distribution_id: str) -> list[str]:
    cloudfront = client("cloudfront", PRIMARY)
    items = cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"].get("Items", [])
    return sorted(path for item in items for path in cloudfront.get_invalidation(
        DistributionId=distribution_id, Id=item["Id"])["Invalidation"]["InvalidationBatch"]["Paths"]["Items"])


def test_the_media_bucket_undeleted_purges_restored_and_critical_paths_on_the_planned_distribution(
        aws: str, drctl: Drctl, tmp_path: Path, primary_plan: Plan) -> None:
    media_a = primary_plan.outputs["cdnMediaBuckets"][0]
    create_planned_bucket(client("s3", PRIMARY), primary_plan, media_a)
    distribution = create_planned_distribution(client("cloudfront", PRIMARY), primary_plan)
    outputs = write_outputs(primary_plan, tmp_path / "primary.json", cdnDistributionId=distribution)
    since = deleted_since(media_a)
    code, output = drctl("s3-undelete", "--bucket", media_a, "--since", since.isoformat(), "--prefix", "media/",
                         "--outputs", str(outputs), "--timeout", "20", "--poll", "0.05", "--execute", "--yes",
                         "--json")
    assert code == 0, output
    run = journal_of(output)
    assert run.params["distribution_id"] == distribution
    critical = primary_plan.outputs["cdnCriticalPaths"]
    assert invalidated(distribution) == sorted({"/media/a.jpg", "/media/b.jpg", *critical})
    assert run.step("invalidate").result["paths"] == len({"/media/a.jpg", "/media/b.jpg", *critical})


def test_a_bucket_the_distribution_does_not_serve_is_not_purged(aws: str, drctl: Drctl, tmp_path: Path,
                                                                primary_plan: Plan) -> None:
    kyc = next(b["primaryName"] for name, b in primary_plan.outputs["buckets"].items() if name != "creator-media")
    create_planned_bucket(client("s3", PRIMARY), primary_plan, kyc)
    distribution = create_planned_distribution(client("cloudfront", PRIMARY), primary_plan)
    outputs = write_outputs(primary_plan, tmp_path / "primary.json", cdnDistributionId=distribution)
    since = deleted_since(kyc)
    code, output = drctl("s3-undelete", "--bucket", kyc, "--since", since.isoformat(), "--prefix", "media/",
                         "--outputs", str(outputs), "--timeout", "20", "--poll", "0.05", "--execute", "--yes")
    assert code == 0, output
    assert f"{kyc} is not among its cdnMediaBuckets" in flat(output)
    assert invalidated(distribution) == []
