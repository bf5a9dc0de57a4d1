"""The CloudFront distribution in front of the API and the media, failing over from region A to region B by itself.

- Two origin groups, each A primary and B secondary: CloudFront retries a request on B when A answers 500, 502,
  503 or 504, or when it cannot connect to A (CONNECTION_ATTEMPTS × CONNECTION_TIMEOUT_S) or A does not answer
  in time (ORIGIN_READ_TIMEOUT_S). CloudFront fails over GET, HEAD and OPTIONS only, and refuses a cache
  behaviour allowing writes on an origin group: the API's writes keep going to the API record (api.<zone>),
  whose Route53 failover moves with the writer (components/dns.py).
- The API origins are the regional endpoints over HTTPS only (TLSv1.2); the media origins are the media bucket
  in A and its replica in B, read through one origin access control (SigV4). The bucket policies and key policies
  that let CloudFront read are the stack's (stacks/cdn.py): they need the distribution's ARN.
- Viewers: TLS only, minimum TLSv1.2_2021, SNI, an ACM certificate in us-east-1 (CloudFront takes none from
  elsewhere) validated through DNS records in the zone; the distribution waits for the validation.
- Standard access logs go to a bucket of their own: SSE-KMS, versioned, no public access, TLS only, expired
  after the configured days. Standard logging writes through the bucket ACL, so ACLs are enabled
  (BucketOwnerPreferred) with FULL_CONTROL for the awslogsdelivery account; a bucket with ACLs disabled
  (BucketOwnerEnforced, S3's default) makes CloudFront refuse the logging configuration.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.base import child, data
from components.storage import private_encrypted_versioned

CERTIFICATE_REGION = "us-east-1"  # CloudFront uses ACM certificates from us-east-1 only
FAILOVER_STATUS_CODES = [500, 502, 503, 504]
CONNECTION_ATTEMPTS = 2  # 1-3; CloudFront tries A this often before failing over
CONNECTION_TIMEOUT_S = 5  # 1-10 per attempt: A unreachable → B after at most 10 s
ORIGIN_READ_TIMEOUT_S = 15  # an origin that accepts but does not answer also fails over
MINIMUM_PROTOCOL_VERSION = "TLSv1.2_2021"
ORIGIN_SSL_PROTOCOLS = ["TLSv1.2"]
READ_METHODS = ["GET", "HEAD", "OPTIONS"]  # all an origin group may allow
CACHED_METHODS = ["GET", "HEAD"]
# AWS managed policies (CloudFront Developer Guide, "Use managed cache policies" / "origin request policies").
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # the origin's own name for SNI and TLS
# The awslogsdelivery account's canonical user id (CloudFront Developer Guide, standard logging (legacy)).
AWSLOGSDELIVERY_CANONICAL_ID = "c4c1ede66af53448b93c283ce9448c4ba468c9432aa01d700d3878632f77d2d0"
LOG_PREFIX = "cloudfront/"
API_GROUP, MEDIA_GROUP = "api", "media"


@dataclass
class CdnArgs:
    name: str  # the distribution's comment and the prefix of its named parts
    zone_name: str
    aliases: list[str]  # the first is the certificate's domain, the rest its alternative names
    api_origins: tuple[str, str]  # (A, B) regional API endpoints
    media_origins: tuple[pulumi.Input[str], pulumi.Input[str]] | None  # (A, B) bucket regional domain names
    media_path_pattern: str
    log_bucket_name: pulumi.Input[str]
    log_kms_key_arn: pulumi.Input[str]  # the key of the log bucket's region
    log_retention_days: int
    price_class: str
    provider: aws.Provider  # us-east-1: CloudFront's control plane and the certificates it takes
    log_provider: aws.Provider  # region A: the log bucket and its key
    tags: dict[str, str] = field(default_factory=dict)


def api_origin(origin_id: str, domain: str) -> dict:
    return {"origin_id": origin_id, "domain_name": domain, "connection_attempts": CONNECTION_ATTEMPTS,
            "connection_timeout": CONNECTION_TIMEOUT_S,
            "custom_origin_config": {"http_port": 80, "https_port": 443, "origin_protocol_policy": "https-only",
                                     "origin_ssl_protocols": ORIGIN_SSL_PROTOCOLS,
                                     "origin_read_timeout": ORIGIN_READ_TIMEOUT_S, "origin_keepalive_timeout": 5}}


def media_origin(origin_id: str, domain: pulumi.Input[str], access_control_id: pulumi.Input[str]) -> dict:
    return {"origin_id": origin_id, "domain_name": domain, "origin_access_control_id": access_control_id,
            "connection_attempts": CONNECTION_ATTEMPTS, "connection_timeout": CONNECTION_TIMEOUT_S}


def origin_group(group_id: str, primary: str, secondary: str) -> dict:
    return {"origin_id": group_id, "failover_criteria": {"status_codes": FAILOVER_STATUS_CODES},
            "members": [{"origin_id": primary}, {"origin_id": secondary}]}


class Cdn(pulumi.ComponentResource):
    distribution_id: pulumi.Output[str]
    distribution_arn: pulumi.Output[str]
    domain_name: pulumi.Output[str]
    log_bucket_arn: pulumi.Output[str]  # the access logs' bucket, in the log provider's region

    def __init__(self, name: str, args: CdnArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dr-platform:cdn:Cdn", name, None, opts)
        p = args.provider
        zone = aws.route53.get_zone_output(name=args.zone_name, private_zone=False,
                                           opts=pulumi.InvokeOutputOptions(parent=self, provider=p))

        certificate = aws.acm.Certificate(
            f"{name}-certificate", domain_name=args.aliases[0], subject_alternative_names=args.aliases[1:],
            validation_method="DNS", key_algorithm="RSA_2048", tags=args.tags, opts=child(self, p))
        # One validation record per name; ACM lists them in its own order, and every one must exist.
        def option(index: int, part: str) -> pulumi.Output[str]:
            return certificate.domain_validation_options.apply(
                lambda options: getattr(options[index], part) if options else None)

        records = [aws.route53.Record(
            f"{name}-certificate-validation-{index}", zone_id=zone.zone_id, allow_overwrite=True, ttl=300,
            name=option(index, "resource_record_name"), type=option(index, "resource_record_type"),
            records=[option(index, "resource_record_value")], opts=child(self, p))
            for index in range(len(args.aliases))]
        validation = aws.acm.CertificateValidation(
            f"{name}-certificate-validated", certificate_arn=certificate.arn,
            validation_record_fqdns=[r.fqdn for r in records], opts=child(self, p))

        log_bucket, log_acl = self._log_bucket(name, args)
        cache_policy = aws.cloudfront.CachePolicy(
            f"{name}-api-cache", name=f"{args.name}-api", min_ttl=0, default_ttl=0, max_ttl=86400,
            comment="The API decides (Cache-Control); nothing is cached unless it says so",
            parameters_in_cache_key_and_forwarded_to_origin={
                "enable_accept_encoding_gzip": True, "enable_accept_encoding_brotli": True,
                "headers_config": {"header_behavior": "whitelist", "headers": {"items": ["Authorization"]}},
                "cookies_config": {"cookie_behavior": "none"},
                "query_strings_config": {"query_string_behavior": "all"}},
            opts=child(self, p))

        origins = [api_origin("api-a", args.api_origins[0]), api_origin("api-b", args.api_origins[1])]
        groups = [origin_group(API_GROUP, "api-a", "api-b")]
        behaviours: list[dict] = []
        access_control = None
        if args.media_origins is not None:
            access_control = aws.cloudfront.OriginAccessControl(
                f"{name}-media-access", name=f"{args.name}-media", description="CloudFront reads the media buckets",
                origin_access_control_origin_type="s3", signing_behavior="always", signing_protocol="sigv4",
                opts=child(self, p))
            origins += [media_origin("media-a", args.media_origins[0], access_control.id),
                        media_origin("media-b", args.media_origins[1], access_control.id)]
            groups.append(origin_group(MEDIA_GROUP, "media-a", "media-b"))
            behaviours.append({"path_pattern": args.media_path_pattern, "target_origin_id": MEDIA_GROUP,
                               "viewer_protocol_policy": "redirect-to-https", "allowed_methods": READ_METHODS,
                               "cached_methods": CACHED_METHODS, "cache_policy_id": CACHING_OPTIMIZED,
                               "compress": True})

        distribution = aws.cloudfront.Distribution(
            f"{name}-distribution", comment=args.name, enabled=True, is_ipv6_enabled=True,
            http_version="http2and3", price_class=args.price_class, aliases=args.aliases,
            origins=origins, origin_groups=groups, ordered_cache_behaviors=behaviours,
            default_cache_behavior={"target_origin_id": API_GROUP, "viewer_protocol_policy": "https-only",
                                    "allowed_methods": READ_METHODS, "cached_methods": CACHED_METHODS,
                                    "cache_policy_id": cache_policy.id,
                                    "origin_request_policy_id": ALL_VIEWER_EXCEPT_HOST_HEADER, "compress": True},
            viewer_certificate={"acm_certificate_arn": validation.certificate_arn, "ssl_support_method": "sni-only",
                                "minimum_protocol_version": MINIMUM_PROTOCOL_VERSION},
            logging_config={"bucket": log_bucket.bucket_domain_name, "prefix": LOG_PREFIX, "include_cookies": False},
            restrictions={"geo_restriction": {"restriction_type": "none"}}, tags=args.tags,
            opts=child(self, p, depends_on=[log_acl]))  # CloudFront checks the log bucket's ACL on create

        for record_type in ("A", "AAAA"):
            aws.route53.Record(
                f"{name}-alias-{record_type.lower()}", zone_id=zone.zone_id, name=args.aliases[0], type=record_type,
                aliases=[{"name": distribution.domain_name, "zone_id": distribution.hosted_zone_id,
                          "evaluate_target_health": False}], opts=child(self, p))

        self.distribution_id = distribution.id
        self.distribution_arn = distribution.arn
        self.domain_name = distribution.domain_name
        self.log_bucket_arn = log_bucket.arn
        self.register_outputs({"distributionId": self.distribution_id, "domainName": self.domain_name})

    def _log_bucket(self, name: str, args: CdnArgs) -> tuple[aws.s3.Bucket, aws.s3.BucketAcl]:
        p = args.log_provider
        bucket = aws.s3.Bucket(f"{name}-logs", bucket=args.log_bucket_name, force_destroy=False, tags=args.tags,
                               opts=data(self, p))
        versioning = private_encrypted_versioned(self, f"{name}-logs", bucket, args.log_kms_key_arn, p)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-logs-lifecycle", bucket=bucket.id,
            rules=[{"id": "expire-access-logs", "status": "Enabled", "filter": {},
                    "expiration": {"days": args.log_retention_days},
                    "noncurrent_version_expiration": {"noncurrent_days": 1},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1}}],
            opts=child(self, p, depends_on=[versioning]))
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-logs-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerPreferred"},
            opts=child(self, p))
        owner = aws.s3.get_canonical_user_id_output(opts=pulumi.InvokeOutputOptions(parent=self, provider=p))
        acl = aws.s3.BucketAcl(
            f"{name}-logs-acl", bucket=bucket.id,
            access_control_policy={"owner": {"id": owner.id}, "grants": [
                {"grantee": {"type": "CanonicalUser", "id": owner.id}, "permission": "FULL_CONTROL"},
                {"grantee": {"type": "CanonicalUser", "id": AWSLOGSDELIVERY_CANONICAL_ID},
                 "permission": "FULL_CONTROL"}]},
            opts=child(self, p, depends_on=[ownership]))
        return bucket, acl


def decrypt_for_distribution(distribution_arn: str) -> dict:
    """The key policy statement that lets CloudFront decrypt SSE-KMS objects it reads through origin access
    control, for this distribution only (IAM cannot grant a service principal; the key policy must)."""
    return {"Sid": "AllowCloudFrontToDecryptMedia", "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}}}


def encrypt_access_logs() -> dict:
    """The key policy statement standard logging needs to write SSE-KMS log files (CloudFront Developer Guide,
    standard logging (legacy), "Encrypting log files")."""
    return {"Sid": "AllowCloudFrontLogDelivery", "Effect": "Allow",
            "Principal": {"Service": "delivery.logs.amazonaws.com"}, "Action": "kms:GenerateDataKey*",
            "Resource": "*"}
