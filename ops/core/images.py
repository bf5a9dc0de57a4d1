"""Image references: which registry an image names, its repository and tag, and where a region pulls it from."""
from __future__ import annotations


def registry_host(image: str) -> str | None:
    """The registry part of an image reference (Docker's rule: a first path part with '.' or ':', or localhost)."""
    first, _, rest = image.partition("/")
    return first if rest and ("." in first or ":" in first or first == "localhost") else None


def regional_image(image: str, account_id: str, region: str) -> str:
    """An image without a registry lives in the region's own ECR (replicated from A); one with a registry is used
    as given, which the policy rule images-from-ecr allows only for an ECR registry (the VPC has no egress)."""
    return image if registry_host(image) else f"{account_id}.dkr.ecr.{region}.amazonaws.com/{image}"


def repository_of(image: str) -> str:
    """`creator-platform/payments` of `creator-platform/payments:1.0.0` (or of `...@sha256:...`)."""
    without_digest = image.split("@", 1)[0]
    last = without_digest.rsplit("/", 1)[-1]
    return without_digest[: len(without_digest) - len(last)] + last.split(":", 1)[0]


def reference_of(image: str) -> str | None:
    """The digest (`sha256:...`) of a digest-pinned image, else its tag (`1.0.0`); None when neither is given."""
    without_digest, _, digest = image.partition("@")
    if digest:
        return digest
    last = without_digest.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None
