"""The CDN of the primary stack: the distribution (components/cdn.py), the media buckets' read grant and the key
policies that let CloudFront read SSE-KMS media and write SSE-KMS logs, and the outputs the runbooks read.

Why the primary stack owns it: CloudFront's control plane, and the ACM certificates it takes, are in us-east-1,
which is region A. The dr stack uses region B's APIs only, so a `pulumi up --stack dr` during an outage of A
does not wait on anything of A; a distribution in it would put us-east-1 back on that path. During an outage of
us-east-1 CloudFront's edges keep serving and fail over to B's origins per request, which needs no control-plane
call; what cannot happen then is a change to the distribution or an invalidation (`drctl cutback` runs once A is
back anyway; `drctl s3-undelete`'s invalidate step can be resumed).
"""
from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_aws as aws

from components.cdn import (
    CERTIFICATE_REGION,
    Cdn,
    CdnArgs,
    decrypt_for_distribution,
    encrypt_access_logs,
)
from components.kms import MultiRegionKey, key_policy
from stacks.settings import Settings


def media_reader() -> tuple[pulumi.Output[str], Callable[[pulumi.Output[str]], None]]:
    """The distribution's ARN before the distribution exists: the media buckets' policies name it, and the
    distribution names the buckets. The policies wait for the distribution (their dependency)."""
    return pulumi.deferred_output()


def build_cdn(settings: Settings, provider_a: aws.Provider, provider_for: Callable[[str], aws.Provider],
              key: MultiRegionKey, account: pulumi.Output[str], media: dict[str, pulumi.Output[str]] | None,
              resolve_reader: Callable[[pulumi.Output[str]], None]) -> Cdn:
    """`media`: the media bucket's {"primaryDomain", "drDomain", "primaryName", "drName"}, or None."""
    a, b, cdn = settings.primary_region, settings.dr_region, settings.cdn
    provider_cert = provider_a if a == CERTIFICATE_REGION else provider_for(CERTIFICATE_REGION)
    fqdn = f"{cdn.record_name}.{settings.dns.zone_name}"
    distribution = Cdn("cdn", CdnArgs(
        name=settings.names.project_name(cdn.record_name), zone_name=settings.dns.zone_name, aliases=[fqdn],
        api_origins=(settings.dns.primary_endpoint, settings.dns.dr_endpoint),
        media_origins=(media["primaryDomain"], media["drDomain"]) if media else None,
        media_path_pattern=cdn.media_path_pattern,
        log_bucket_name=account.apply(lambda acct: settings.names.cdn_log_bucket(acct, a)),
        log_kms_key_arn=key.primary_arn, log_retention_days=cdn.log_retention_days, price_class=cdn.price_class,
        provider=provider_cert, log_provider=provider_a))
    resolve_reader(distribution.distribution_arn)

    # The whole key policy, the default statement kept: A's key encrypts the media in A and the access logs, B's
    # replica the media in B. The distribution must exist first (its ARN scopes the grant).
    for suffix, key_id, provider, statements in (
            ("primary", key.primary_key_id, provider_a, [encrypt_access_logs()]),
            ("replica", key.replica_key_id, provider_for(b), [])):
        if media is None and not statements:
            continue
        aws.kms.KeyPolicy(
            f"data-key-{suffix}-policy", key_id=key_id,
            policy=pulumi.Output.all(account, distribution.distribution_arn).apply(
                lambda v, extra=statements: key_policy(v[0], [*extra, *(
                    [decrypt_for_distribution(v[1])] if media else [])])),
            opts=pulumi.ResourceOptions(parent=distribution, provider=provider))

    pulumi.export("cdnDistributionId", distribution.distribution_id)
    pulumi.export("cdnDomainName", distribution.domain_name)
    pulumi.export("cdnAliases", [fqdn])
    pulumi.export("cdnCriticalPaths", settings.cdn_critical_paths)
    pulumi.export("cdnMediaBuckets", [media["primaryName"], media["drName"]] if media else [])
    return distribution
