"""Resource options shared by every component."""
from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

ACCOUNT_ROOT_POLICY_NOTE = "key policy: account root delegates to IAM (AWS default); services use grants via IAM"


def service_trust(service: str) -> str:
    """The trust policy that lets one AWS service (its principal, e.g. `s3.amazonaws.com`) assume a role."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def child(parent: pulumi.Resource, provider: aws.Provider, **extra: object) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, provider=provider, **extra)  # type: ignore[arg-type]


def data(parent: pulumi.Resource, provider: aws.Provider, **extra: object) -> pulumi.ResourceOptions:
    """Options for resources that hold data: never deleted by Pulumi, kept in AWS if removed from the program."""
    return pulumi.ResourceOptions(parent=parent, provider=provider, protect=True, retain_on_delete=True,
                                  **extra)  # type: ignore[arg-type]


def regional_provider(region: str, tags: dict[str, str]) -> aws.Provider:
    """An explicit provider per region; the default provider is disabled in the stack files."""
    return aws.Provider(f"aws-{region}", region=region,
                        default_tags=aws.ProviderDefaultTagsArgs(tags=tags))
