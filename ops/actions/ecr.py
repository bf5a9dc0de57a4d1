"""ECR: which of the images a region's cluster will pull are missing from that region's registry."""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ops.actions.aws import error_code

ABSENT = ("RepositoryNotFoundException", "ImageNotFoundException")


def image_id(reference: str) -> dict[str, str]:
    """ECR's imageId for a tag (`1.0.0`) or a digest (`sha256:...`)."""
    return {"imageDigest": reference} if reference.startswith("sha256:") else {"imageTag": reference}


def image_name(repository: str, reference: str) -> str:
    return f"{repository}{'@' if reference.startswith('sha256:') else ':'}{reference}"


def image_present(ecr: Any, repository: str, reference: str) -> bool:
    # One image per call: DescribeImages fails the whole call with ImageNotFoundException when any id is absent.
    try:
        ecr.describe_images(repositoryName=repository, imageIds=[image_id(reference)])
    except ClientError as exc:
        if error_code(exc) in ABSENT:
            return False
        raise
    return True


def missing_images(ecr: Any, images: list[dict[str, str]]) -> list[str]:
    """`repository:tag` / `repository@digest` of each image ({repository, reference}) the registry lacks."""
    return [image_name(i["repository"], i["reference"]) for i in images
            if not image_present(ecr, i["repository"], i["reference"])]
