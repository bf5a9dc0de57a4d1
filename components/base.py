"""Resource options shared by every component."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

ACCOUNT_ROOT_POLICY_NOTE = "key policy: account root delegates to IAM (AWS default); services use grants via IAM"


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
