"""CloudFront invalidations against moto's server: batches within the in-progress limits, ids returned."""
from __future__ import annotations

import pytest

from ops.actions.aws import client
from ops.actions.cloudfront import (MAX_FILE_PATHS_IN_PROGRESS, MAX_WILDCARD_PATHS_IN_PROGRESS, InvalidPath,
                                        invalidate_paths, plan_batches, plan_calls)


def make_distribution(cloudfront) -> str:
    created = cloudfront.create_distribution(DistributionConfig={
        "CallerReference": "dist-1", "Comment": "test", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "o1", "DomainName": "origin.example.com",
                                               "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443,
                                                                      "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o1", "ViewerProtocolPolicy": "redirect-to-https",
                                 "MinTTL": 0, "ForwardedValues": {"QueryString": False,
                                                                  "Cookies": {"Forward": "none"}},
                                 "TrustedSigners": {"Enabled": False, "Quantity": 0}}})
    return created["Distribution"]["Id"]


def test_batches_respect_file_and_wildcard_limits() -> None:
    files = [f"/kyc/{n}.pdf" for n in range(MAX_FILE_PATHS_IN_PROGRESS + 1)]
    wildcards = [f"/media/{n}/*" for n in range(MAX_WILDCARD_PATHS_IN_PROGRESS + 2)]
    batches = plan_batches(files + wildcards + files[:3])  # repeats are dropped
    assert [len(b) for b in batches] == [MAX_WILDCARD_PATHS_IN_PROGRESS, 2, MAX_FILE_PATHS_IN_PROGRESS, 1]
    assert all(p.endswith("*") for b in batches[:2] for p in b)


@pytest.mark.parametrize("bad", ["kyc/a.pdf", "/a*/b", ""])
def test_paths_cloudfront_would_reject_are_refused(bad: str) -> None:
    with pytest.raises(InvalidPath):
        plan_batches([bad])


def test_invalidate_paths_creates_each_batch_and_returns_ids(aws: str) -> None:
    cloudfront = client("cloudfront", "us-east-1")
    distribution_id = make_distribution(cloudfront)
    paths = ["/index.html", "/api/*", *[f"/media/{n}/*" for n in range(15)]]
    assert plan_calls(distribution_id, paths, "rb")[0].startswith(
        f"cloudfront:CreateInvalidation(DistributionId={distribution_id}, CallerReference=rb-0")
    ids = invalidate_paths(cloudfront, distribution_id, paths, caller_reference="rb", wait_timeout_s=10, poll_s=0.1)
    assert len(ids) == 3  # 16 wildcards → 15 + 1, then the file path
    listed = cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"]["Items"]
    assert sorted(i["Id"] for i in listed) == sorted(ids)
    batch = cloudfront.get_invalidation(DistributionId=distribution_id, Id=ids[2])["Invalidation"]
    assert batch["InvalidationBatch"]["Paths"]["Items"] == ["/index.html"]
    assert batch["InvalidationBatch"]["CallerReference"] == "rb-2"

