"""CloudFront invalidations, batched within CloudFront's in-progress limits.

CloudFront allows, per distribution, at most 3,000 individual file paths and, independently, 15 wildcard paths
in invalidations that are in progress at one time (Developer Guide, "Concurrent invalidation request maximum").
So paths are split into batches of at most 3,000 files or 15 wildcard paths, and each batch is waited for before
the next is submitted. A batch refused with TooManyInvalidationsInProgress (someone else's invalidations are
still running) is retried until the deadline.

Idempotency: each batch's CallerReference is `<caller_reference>-<index>`. CloudFront answers a repeated
CallerReference with the same batch by returning the existing invalidation instead of creating another, so a
resumed run does not invalidate twice. (moto does not implement that deduplication; invalidating a path twice
is harmless either way.)
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from botocore.exceptions import ClientError

from ops.actions.aws import error_code
from ops.actions.polling import poll_until

MAX_FILE_PATHS_IN_PROGRESS = 3000
MAX_WILDCARD_PATHS_IN_PROGRESS = 15
MAX_PATH_LENGTH = 4000  # the 4,000-character limit on an invalidation path (beyond it CloudFront rejects it)


class InvalidPath(ValueError):
    """A path CloudFront would reject; the message names it."""


def validate_paths(paths: Iterable[str]) -> list[str]:
    """Check each path (starts with '/', '*' only as the last character) and drop repeats, keeping order."""
    checked: list[str] = []
    for path in paths:
        if not path.startswith("/"):
            raise InvalidPath(f"path {path!r} must start with '/'")
        if "*" in path[:-1]:
            raise InvalidPath(f"path {path!r}: '*' is only allowed as the last character")
        if len(path) > MAX_PATH_LENGTH:
            raise InvalidPath(f"path {path[:40]!r}... is longer than {MAX_PATH_LENGTH} characters")
        if path not in checked:
            checked.append(path)
    if not checked:
        raise InvalidPath("no paths to invalidate")
    return checked


def plan_batches(paths: Iterable[str]) -> list[list[str]]:
    """Batches that each fit the in-progress limits: wildcard paths 15 at a time, file paths 3,000 at a time."""
    checked = validate_paths(paths)
    wildcards = [p for p in checked if p.endswith("*")]
    files = [p for p in checked if not p.endswith("*")]
    return [*_chunks(wildcards, MAX_WILDCARD_PATHS_IN_PROGRESS), *_chunks(files, MAX_FILE_PATHS_IN_PROGRESS)]


def _chunks(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[start:start + size]) for start in range(0, len(items), size)]


def invalidate_paths(cloudfront_client: Any, distribution_id: str, paths: Iterable[str], *,
                     caller_reference: str, wait_timeout_s: float, poll_s: float = 5.0) -> list[str]:
    """Invalidate `paths` on the distribution, batch after batch; returns the invalidation ids in order.

    Each batch is waited for (status Completed) before the next goes in, because the limits count invalidations
    in progress. `wait_timeout_s` bounds each wait; 0 submits a single batch without waiting (only allowed when
    everything fits in one batch, since later batches would hit the limit)."""
    batches = plan_batches(paths)
    if wait_timeout_s <= 0 and len(batches) > 1:
        raise ValueError(f"{len(batches)} batches need waiting between them: give wait_timeout_s > 0")
    ids: list[str] = []
    for index, batch in enumerate(batches):
        invalidation_id = _submit(cloudfront_client, distribution_id, batch, f"{caller_reference}-{index}",
                                  timeout_s=max(wait_timeout_s, poll_s), poll_s=poll_s)
        ids.append(invalidation_id)
        if wait_timeout_s > 0:
            wait_invalidation_completed(cloudfront_client, distribution_id, invalidation_id,
                                        timeout_s=wait_timeout_s, poll_s=poll_s)
    return ids


def _submit(cloudfront_client: Any, distribution_id: str, batch: list[str], caller_reference: str, *,
            timeout_s: float, poll_s: float) -> str:
    """CreateInvalidation, retried while CloudFront says too many invalidations are in progress."""
    def attempt() -> str | None:
        try:
            response = cloudfront_client.create_invalidation(
                DistributionId=distribution_id,
                InvalidationBatch={"Paths": {"Quantity": len(batch), "Items": batch},
                                   "CallerReference": caller_reference})
        except ClientError as exc:
            if error_code(exc) == "TooManyInvalidationsInProgress":
                return None
            raise
        return str(response["Invalidation"]["Id"])

    return str(poll_until(attempt, lambda made: made is not None, timeout_s=timeout_s, poll_s=poll_s,
                          what=f"room for invalidation {caller_reference} on distribution {distribution_id}"))


def wait_invalidation_completed(cloudfront_client: Any, distribution_id: str, invalidation_id: str, *,
                                timeout_s: float, poll_s: float = 5.0) -> str:
    """Poll GetInvalidation until Completed. Compared case-insensitively: moto says COMPLETED, AWS Completed
    (which is also why botocore's invalidation_completed waiter is not used here)."""
    def status() -> str:
        found = cloudfront_client.get_invalidation(DistributionId=distribution_id, Id=invalidation_id)
        return str(found["Invalidation"]["Status"])

    return poll_until(status, lambda s: s.lower() == "completed", timeout_s=timeout_s, poll_s=poll_s,
                      what=f"invalidation {invalidation_id} on {distribution_id} to complete")


def plan_calls(distribution_id: str, paths: Iterable[str], caller_reference: str) -> list[str]:
    """The CreateInvalidation calls `invalidate_paths` would make, as a dry-run prints them."""
    calls = []
    for index, batch in enumerate(plan_batches(paths)):
        shown = ", ".join(batch[:5]) + (f", ... ({len(batch)} paths)" if len(batch) > 5 else "")
        calls.append(f"cloudfront:CreateInvalidation(DistributionId={distribution_id}, "
                     f"CallerReference={caller_reference}-{index}, Paths=[{shown}])")
    return calls
