"""The CDN of the primary stack (components/cdn.py, stacks/cdn.py): a TLS-only distribution whose API and media
paths fail over from A's origins to B's, on a DNS-validated certificate in us-east-1, logging to an encrypted
bucket; CloudFront's grants on the media buckets and keys; the outputs the runbooks read; the step order of a
first `pulumi up`; and bad CDN config refused naming its key."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from components.cdn import AWSLOGSDELIVERY_CANONICAL_ID, FAILOVER_STATUS_CODES
from ops.drctl.cli import app
from ops.drctl.planning.mockplan import Plan, PlannedResource
from ops.drctl.planning.steps import step_order
from stacks.config_files import load_stack_settings

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
CERTIFICATE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"
OAC = "aws:cloudfront/originAccessControl:OriginAccessControl"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"


def distribution_of(plan: Plan) -> PlannedResource:
    (distribution,) = plan.by_type(DISTRIBUTION)
    return distribution


def statements(resource: PlannedResource) -> list[dict]:
    return json.loads(resource.inputs["policy"])["Statement"]


def test_viewers_are_tls_only_with_a_current_minimum_on_the_aliases_certificate(primary_plan: Plan) -> None:
    d = distribution_of(primary_plan).inputs
    behaviours = [d["defaultCacheBehavior"], *d["orderedCacheBehaviors"]]
    assert {b["viewerProtocolPolicy"] for b in behaviours} <= {"https-only", "redirect-to-https"}
    assert d["viewerCertificate"]["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert d["viewerCertificate"]["sslSupportMethod"] == "sni-only"
    assert "cloudfrontDefaultCertificate" not in d["viewerCertificate"]
    assert d["aliases"] == ["cdn.example.com"] == primary_plan.outputs["cdnAliases"]


def test_both_regions_origins_are_in_origin_groups_failing_over_on_5xx(primary_plan: Plan) -> None:
    settings = load_stack_settings("primary")
    d = distribution_of(primary_plan).inputs
    origins = {o["originId"]: o for o in d["origins"]}
    assert origins["api-a"]["domainName"] == settings.dns.primary_endpoint
    assert origins["api-b"]["domainName"] == settings.dns.dr_endpoint
    for api in ("api-a", "api-b"):
        custom = origins[api]["customOriginConfig"]
        assert custom["originProtocolPolicy"] == "https-only" and custom["originSslProtocols"] == ["TLSv1.2"]
    buckets = primary_plan.outputs["buckets"]["creator-media"]
    assert origins["media-a"]["domainName"] == f"{buckets['primaryName']}.s3.us-east-1.amazonaws.com"
    assert origins["media-b"]["domainName"] == f"{buckets['drName']}.s3.us-west-2.amazonaws.com"
    for origin in origins.values():  # a dead region is given up on in seconds, not CloudFront's 30 s × 3
        assert origin["connectionAttempts"] * origin["connectionTimeout"] <= 10
    groups = {g["originId"]: g for g in d["originGroups"]}
    assert {k: [m["originId"] for m in g["members"]] for k, g in groups.items()} == {
        "api": ["api-a", "api-b"], "media": ["media-a", "media-b"]}  # A primary, B secondary
    assert all(g["failoverCriteria"]["statusCodes"] == FAILOVER_STATUS_CODES == [500, 502, 503, 504]
               for g in groups.values())
    assert d["defaultCacheBehavior"]["targetOriginId"] == "api"
    (media,) = d["orderedCacheBehaviors"]
    assert (media["pathPattern"], media["targetOriginId"]) == ("/media/*", "media")
    for behaviour in (d["defaultCacheBehavior"], media):  # origin groups fail over reads only; writes use api.<zone>
        assert set(behaviour["allowedMethods"]) <= {"GET", "HEAD", "OPTIONS"}


def test_media_is_read_through_origin_access_control_not_an_identity(primary_plan: Plan) -> None:
    (oac,) = primary_plan.by_type(OAC)
    assert (oac.inputs["originAccessControlOriginType"], oac.inputs["signingBehavior"],
            oac.inputs["signingProtocol"]) == ("s3", "always", "sigv4")
    assert primary_plan.by_type("aws:cloudfront/originAccessIdentity:OriginAccessIdentity") == []
    origins = {o["originId"]: o for o in distribution_of(primary_plan).inputs["origins"]}
    assert origins["media-a"]["originAccessControlId"] == origins["media-b"]["originAccessControlId"]
    assert origins["media-a"]["originAccessControlId"]  # the planned OAC's id (one access control, both buckets)
    assert distribution_of(primary_plan).dependencies.count(oac.urn) == 1
    assert "s3OriginConfig" not in origins["media-a"]  # no legacy identity


def test_the_certificate_is_in_us_east_1_validated_through_the_zone(primary_plan: Plan) -> None:
    (certificate,) = primary_plan.by_type(CERTIFICATE)
    assert certificate.region == "us-east-1"
    assert (certificate.inputs["domainName"], certificate.inputs["validationMethod"]) == ("cdn.example.com", "DNS")
    (validation,) = primary_plan.by_type(VALIDATION)
    assert validation.region == "us-east-1"
    records = [r for r in primary_plan.by_type(RECORD) if "certificate-validation" in r.name]
    assert len(records) == 1 and records[0].inputs["type"] == "CNAME"
    assert records[0].inputs["records"][0].endswith(".acm-validations.aws.")
    assert validation.inputs["validationRecordFqdns"] == [records[0].inputs["name"].rstrip(".")]
    assert distribution_of(primary_plan).inputs["viewerCertificate"]["acmCertificateArn"] == \
        validation.inputs["certificateArn"]
    aliases = [r for r in primary_plan.by_type(RECORD) if r.name.startswith("cdn-alias-")]
    assert {r.inputs["type"] for r in aliases} == {"A", "AAAA"}
    assert all(r.inputs["aliases"][0]["name"] == primary_plan.outputs["cdnDomainName"] for r in aliases)


def test_access_logs_go_to_an_encrypted_private_bucket_with_acls_for_log_delivery(primary_plan: Plan) -> None:
    d = distribution_of(primary_plan)
    logs = next(b for b in primary_plan.by_type("aws:s3/bucket:Bucket") if b.name == "cdn-logs")
    assert d.inputs["loggingConfig"]["bucket"] == f"{logs.inputs['bucket']}.s3.amazonaws.com"
    assert logs.region == "us-east-1" and logs.protect

    def sibling(type_: str) -> PlannedResource:
        (found,) = [r for r in primary_plan.by_type(type_) if r.name.startswith("cdn-logs")]
        return found

    sse = sibling("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms", "kmsMasterKeyId": primary_plan.outputs["kmsPrimaryKeyArn"]}
    assert sibling("aws:s3/bucketVersioning:BucketVersioning").inputs["versioningConfiguration"]["status"] == "Enabled"
    assert all(sibling("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs[k] for k in (
        "blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    # standard logging writes through the ACL: ACLs enabled, FULL_CONTROL for awslogsdelivery
    ownership = sibling("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerPreferred"}
    grants = sibling("aws:s3/bucketAcl:BucketAcl").inputs["accessControlPolicy"]["grants"]
    assert {"grantee": {"type": "CanonicalUser", "id": AWSLOGSDELIVERY_CANONICAL_ID},
            "permission": "FULL_CONTROL"} in grants
    lifecycle = sibling("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert lifecycle.inputs["rules"][0]["expiration"] == {"days": 90}


def test_cloudfront_may_read_the_media_buckets_and_decrypt_them_for_this_distribution_only(
        primary_plan: Plan) -> None:
    arn = f"arn:aws:cloudfront::123456789012:distribution/{primary_plan.outputs['cdnDistributionId']}"
    media = primary_plan.outputs["buckets"]["creator-media"]
    for name in (media["primaryName"], media["drName"]):
        (policy,) = [p for p in primary_plan.by_type(BUCKET_POLICY) if p.inputs["bucket"] == name]
        grant = [s for s in statements(policy) if s["Effect"] == "Allow"]
        assert grant == [{"Sid": "AllowCloudFrontOriginAccessControl", "Effect": "Allow",
                          "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
                          "Resource": f"arn:aws:s3:::{name}/*", "Condition": {"StringEquals": {"AWS:SourceArn": arn}}}]
        assert statements(policy)[0]["Sid"] == "DenyInsecureTransport"  # still TLS only
    others = [p for p in primary_plan.by_type(BUCKET_POLICY) if p.inputs["bucket"] not in media.values()]
    assert others and all(len(statements(p)) == 1 for p in others)  # the KYC documents are not CloudFront's
    policies = {p.region: statements(p) for p in primary_plan.by_type(KEY_POLICY)}
    assert set(policies) == {"us-east-1", "us-west-2"}  # A's key (media in A, logs), B's replica (media in B)
    for region, found in policies.items():
        assert found[0]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"} and found[0]["Action"] == "kms:*"
        decrypt = [s for s in found if s["Principal"] == {"Service": "cloudfront.amazonaws.com"}]
        assert decrypt == [{"Sid": "AllowCloudFrontToDecryptMedia", "Effect": "Allow",
                            "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "kms:Decrypt",
                            "Resource": "*", "Condition": {"StringEquals": {"AWS:SourceArn": arn}}}], region
    assert any(s["Principal"] == {"Service": "delivery.logs.amazonaws.com"} and
               s["Action"] == "kms:GenerateDataKey*" for s in policies["us-east-1"])
    key = primary_plan.one("aws:kms/key:Key", "data-key-primary")
    assert {p.inputs["keyId"] for p in primary_plan.by_type(KEY_POLICY)} == {
        primary_plan.outputs["kmsPrimaryKeyArn"].rsplit("/")[-1]}  # a multi-Region key and its replica share an id
    assert "policy" not in key.inputs  # the KeyPolicy is the key policy's one owner


def test_a_first_pulumi_up_validates_then_distributes_then_grants(primary_plan: Plan) -> None:
    order = step_order(Plan(stack="primary", config={}, resources=[]), primary_plan)

    def step(type_: str, name: str | None = None):
        (found,) = [s for s in order.steps if s.resource.type == type_ and (name is None or s.resource.name == name)]
        return found

    distribution = step(DISTRIBUTION)
    assert order.happens_after(distribution, step(VALIDATION))  # CloudFront refuses an unissued certificate
    assert order.happens_after(step(VALIDATION), step(RECORD, "cdn-certificate-validation-0"))
    assert order.happens_after(distribution, step(OAC))
    assert order.happens_after(distribution, step("aws:s3/bucketAcl:BucketAcl"))  # logging needs the ACL
    for policy in [s for s in order.steps if s.resource.type in (KEY_POLICY, BUCKET_POLICY)
                   and (s.resource.type == KEY_POLICY or "creator-media" in s.resource.name)]:
        assert order.happens_after(policy, distribution), policy.resource.name  # they name its ARN
    for alias in [s for s in order.steps if s.resource.name.startswith("cdn-alias-")]:
        assert order.happens_after(alias, distribution)


def test_the_outputs_name_the_distribution_and_the_critical_paths(primary_plan: Plan) -> None:
    outputs = primary_plan.outputs
    assert outputs["cdnDistributionId"].startswith("E")  # the grants above name its ARN
    assert outputs["cdnCriticalPaths"] == ["/api/v1/payments/*", "/api/v1/auth/*", "/api/v1/users/*", "/media/*"]
    media = outputs["buckets"]["creator-media"]
    assert outputs["cdnMediaBuckets"] == [media["primaryName"], media["drName"]]


def test_the_dr_stack_declares_no_cdn(dr_plans: dict) -> None:
    for plan in dr_plans.values():  # B's stack must not need us-east-1's control plane during A's outage
        assert not [r for r in plan.resources if r.type.startswith(("aws:cloudfront/", "aws:acm/"))]


@pytest.mark.parametrize(("override", "key", "named"), [
    ('cdn.criticalPaths=["/api/v1/payments/*", "/api/v1/billing/*"]', "cdn.criticalPaths[1]", "billing"),
    ('cdn.criticalPaths=["/index.html"]', "cdn.criticalPaths[0]", "/index.html"),
    ('cdn.criticalPaths=["/api/v1/payments*/x"]', "cdn.criticalPaths[0]", "only at its end"),
    ("cdn.mediaBucket=creator-photos", "cdn.mediaBucket", "creator-photos"),
    ("cdn.priceClass=PriceClass_Cheap", "cdn.priceClass", "PriceClass_100"),
])
def test_bad_cdn_config_exits_2_naming_the_key(override: str, key: str, named: str) -> None:
    result = CliRunner().invoke(app, ["plan", "primary", "--set", override])
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert f"dr-platform:{key}:" in flat and named in flat, result.output


def test_without_configured_paths_every_critical_service_and_the_media_are_critical() -> None:
    settings = load_stack_settings("primary", ["cdn.criticalPaths=[]"])
    critical = [s.name for s in settings.compute.services if s.tier.value == "critical"]
    assert settings.cdn_critical_paths == [*(f"/api/v1/{s}/*" for s in critical), "/media/*"]


def test_without_a_cdn_the_buckets_and_keys_keep_their_own_policies() -> None:
    from ops.drctl.planning.mockplan import plan_stack

    plan = plan_stack("primary", ["cdn.enabled=false"])
    assert not [r for r in plan.resources if r.type.startswith(("aws:cloudfront/", "aws:acm/"))]
    assert plan.by_type(KEY_POLICY) == []
    assert all(len(statements(p)) == 1 for p in plan.by_type(BUCKET_POLICY))  # TLS only, nobody else's grant
    assert "cdnDistributionId" not in plan.outputs
    media_only = plan_stack("primary", ["cdn.mediaBucket=null", "cdn.criticalPaths=[]"])  # the API alone
    assert media_only.by_type(OAC) == [] and [p.region for p in media_only.by_type(KEY_POLICY)] == ["us-east-1"]
    assert media_only.outputs["cdnMediaBuckets"] == [] and "/media/*" not in media_only.outputs["cdnCriticalPaths"]
