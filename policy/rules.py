"""DR policy rules as pure functions, so they are tested directly and run on the offline plan as well as in
CrossGuard (`pulumi up --policy-pack policy`). Each check takes a resource's type, its inputs (camelCase, as
the engine and the mocks both hand them over), the region its provider targets, and the pack's config, and
returns the violations it finds. `@rule` above a check declares it in the pack (RULES), in the order of this file.
"""
from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MIN_BACKUP_RETENTION_DAYS = 7
DEFAULT_ALLOWED_REGIONS = ["us-east-1", "us-west-2"]
Props = Mapping[str, Any]
Check = Callable[[Props, "str | None", Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    resource_types: tuple[str, ...]
    check: Check


RULES: list[Rule] = []  # the pack, in the order the rules are declared below


def rule(name: str, description: str, *resource_types: str) -> Callable[[Check], Check]:
    """Declares the check below it one of the pack's rules, for the resources of these types."""
    def register(check: Check) -> Check:
        RULES.append(Rule(name, description, resource_types, check))
        return check
    return register


@rule("aurora-pitr-retention", f"Aurora keeps ≥ {MIN_BACKUP_RETENTION_DAYS} days of PITR", "aws:rds/cluster:Cluster")
def _aurora_pitr(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    days = props.get("backupRetentionPeriod") or 0
    return [] if days >= MIN_BACKUP_RETENTION_DAYS else [
        f"backupRetentionPeriod is {days}: point-in-time recovery needs at least {MIN_BACKUP_RETENTION_DAYS} days"]


@rule("aurora-encrypted-and-protected", "Aurora storage encrypted with the CMK, deletion protection on",
      "aws:rds/cluster:Cluster")
def _aurora_protected(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    problems = []
    if props.get("storageEncrypted") is not True or not props.get("kmsKeyId"):
        problems.append("storage must be encrypted with the platform's KMS key (storageEncrypted, kmsKeyId)")
    if props.get("deletionProtection") is not True:
        problems.append("deletionProtection must be true")
    if props.get("globalClusterIdentifier") and props.get("manageMasterUserPassword"):
        problems.append("managed master passwords are not supported on global clusters")
    return problems


@rule("s3-versioning", "Buckets are versioned", "aws:s3/bucketVersioning:BucketVersioning")
def _bucket_versioned(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    status = (props.get("versioningConfiguration") or {}).get("status")
    return [] if status == "Enabled" else [f"versioning is {status!r}: replication and undelete need 'Enabled'"]


@rule("s3-sse-kms", "Buckets encrypt with SSE-KMS",
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
def _bucket_kms(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    rules = props.get("rules") or []
    ok = rules and all((r.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm") == "aws:kms"
                       for r in rules)
    return [] if ok else ["default encryption must be SSE-KMS (aws:kms)"]


@rule("s3-no-public-access", "Buckets block all public access",
      "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
def _bucket_private(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    off = [f for f in flags if props.get(f) is not True]
    return [f"public access block: {', '.join(off)} must be true"] if off else []


@rule("s3-replication-rtc", "Replication with RTC, metrics and delete markers",
      "aws:s3/bucketReplicationConfig:BucketReplicationConfig")
def _replication_rtc(props: Props, _region: str | None, config: Mapping[str, Any]) -> list[str]:
    problems = []
    for rule in props.get("rules") or []:
        destination = rule.get("destination") or {}
        if (destination.get("replicationTime") or {}).get("status") != "Enabled":
            problems.append(f"rule {rule.get('id')}: Replication Time Control must be enabled")
        if (destination.get("metrics") or {}).get("status") != "Enabled":
            problems.append(f"rule {rule.get('id')}: replication metrics must be enabled")
        if (rule.get("deleteMarkerReplication") or {}).get("status") != "Enabled":
            problems.append(f"rule {rule.get('id')}: delete markers must replicate (undelete works in both regions)")
    return problems


@rule("dynamodb-pitr", "Tables and their replicas keep PITR, SSE-KMS", "aws:dynamodb/table:Table")
def _table_pitr(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    problems = []
    if not (props.get("pointInTimeRecovery") or {}).get("enabled"):
        problems.append("point-in-time recovery must be enabled on the table")
    for replica in props.get("replicas") or []:
        if replica.get("pointInTimeRecovery") is not True:
            problems.append(f"replica in {replica.get('regionName')}: point-in-time recovery must be enabled")
    if not (props.get("serverSideEncryption") or {}).get("kmsKeyArn"):
        problems.append("server-side encryption must use the platform's KMS key")
    return problems


DATA_TYPES = ("aws:rds/cluster:Cluster", "aws:rds/globalCluster:GlobalCluster", "aws:s3/bucket:Bucket",
              "aws:dynamodb/table:Table", "aws:secretsmanager/secret:Secret", "aws:backup/vault:Vault",
              "aws:backup/plan:Plan", "aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey",
              "aws:s3/bucketReplicationConfig:BucketReplicationConfig", "aws:sqs/queue:Queue")


@rule("data-residency", "Data stays inside allowedRegions", *DATA_TYPES)
def _allowed_regions(props: Props, region: str | None, config: Mapping[str, Any]) -> list[str]:
    """Data may only be stored or replicated inside allowedRegions (data residency)."""
    allowed = list(config.get("allowedRegions") or DEFAULT_ALLOWED_REGIONS)
    places = {region} if region and region != "global" else set()
    places |= {r.get("regionName") or r.get("region") for r in props.get("replicas") or [] if isinstance(r, dict)}
    text = repr(props)
    places |= set(re.findall(r"arn:aws:[a-z0-9-]+:([a-z]{2}-[a-z]+-\d):", text))
    outside = sorted(p for p in places if p and p not in allowed)
    return [f"data in {', '.join(outside)} is outside allowedRegions {allowed}"] if outside else []


@rule("dns-health-checked", "PRIMARY/weighted API records carry a health check", "aws:route53/record:Record")
def _primary_record_health_checked(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    primary = any(p.get("type") == "PRIMARY" for p in props.get("failoverRoutingPolicies") or [])
    weighted = bool(props.get("weightedRoutingPolicies"))
    if (primary or weighted) and not props.get("healthCheckId"):
        return ["a PRIMARY or weighted record must carry a health check, or DNS cannot fail over by itself"]
    return []


@rule("kms-rotation", "CMKs rotate", "aws:kms/key:Key")
def _key_rotation(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    return [] if props.get("enableKeyRotation") is True else ["automatic key rotation must be enabled"]


@rule("eks-private-and-encrypted", "EKS encrypts secrets with KMS and keeps its API off 0.0.0.0/0",
      "aws:eks/cluster:Cluster")
def _eks_private_and_encrypted(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    """Kubernetes secrets envelope-encrypted with KMS; no API endpoint open to the whole internet. Unset fields
    count as AWS's defaults: public endpoint on, open to 0.0.0.0/0, secrets not envelope-encrypted."""
    problems = []
    encryption = props.get("encryptionConfig") or {}
    if isinstance(encryption, list):  # a list of blocks in older provider versions
        encryption = encryption[0] if encryption else {}
    if "secrets" not in (encryption.get("resources") or []) or not (encryption.get("provider") or {}).get("keyArn"):
        problems.append("Kubernetes secrets must be envelope-encrypted with a KMS key "
                        "(encryptionConfig: resources ['secrets'], provider.keyArn)")
    vpc = props.get("vpcConfig") or {}
    if vpc.get("endpointPublicAccess", True) is not False:
        cidrs = vpc.get("publicAccessCidrs") or ["0.0.0.0/0"]
        open_to_all = [c for c in cidrs if str(c).endswith("/0")]
        if open_to_all:
            problems.append(f"the public API endpoint is open to {', '.join(open_to_all)}: turn it off "
                            "(endpointPublicAccess false) or restrict publicAccessCidrs")
    return problems


EBS_PROVISIONERS = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs")  # the CSI driver, and the legacy in-tree name


@rule("ebs-storage-class-encrypted", "Kubernetes StorageClasses for EBS provision encrypted volumes",
      "kubernetes:storage.k8s.io/v1:StorageClass")
def _ebs_storage_class_encrypted(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    """Volumes an EBS StorageClass provisions hold data (Typesense's index): encrypted, or the class is refused.
    Unset means the account's EBS default, which this pack cannot see, so it counts as unencrypted."""
    if props.get("provisioner") not in EBS_PROVISIONERS:
        return []
    encrypted = (props.get("parameters") or {}).get("encrypted")
    return [] if encrypted == "true" else [f'parameters.encrypted is {encrypted!r}: EBS volumes must be encrypted '
                                           '("true", with kmsKeyId the region\'s key)']


# Private subnets, no NAT: nodes reach AWS APIs through VPC endpoints only, so an image must come from ECR
# (`<account>.dkr.ecr.<region>.amazonaws.com/...`, a pull-through cache repository included). Docker Hub, GHCR or
# any other registry would leave the pods in ImagePullBackOff, in B exactly when B has to take over.
ECR_IMAGE = re.compile(r"^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[^/]")
WORKLOAD_TYPES = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet",
                  "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob", "kubernetes:core/v1:Pod")


def _pod_spec(props: Props) -> Props:
    spec = props.get("spec") or {}
    if "jobTemplate" in spec:  # CronJob → Job
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("spec") or {} if "template" in spec else spec  # else a Pod's own spec


@rule("images-from-ecr", "Workloads pull their images from ECR (the nodes have no internet egress)", *WORKLOAD_TYPES)
def _images_from_ecr(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    """Every container and init container pulls from ECR. An image not yet known (preview) is not judged."""
    pod = _pod_spec(props)
    return [f"{kind[:-1]} {container.get('name')!r} pulls {container['image']!r}: the nodes have no internet "
            "egress, so images come from ECR (<account>.dkr.ecr.<region>.amazonaws.com/...)"
            for kind in ("initContainers", "containers") for container in pod.get(kind) or []
            if isinstance(container.get("image"), str) and not ECR_IMAGE.match(container["image"])]


@rule("ecr-template-creation-role", "ECR creation templates with KMS or tags name the role ECR creates with",
      "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
def _creation_template_role(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    # pulumi-aws: custom_role_arn is "Required if using repository tags or KMS encryption"; without it ECR cannot
    # create the repositories replication (or pull-through cache) needs, and nothing fails until an image is missing.
    kms = any((c or {}).get("encryptionType") == "KMS" for c in props.get("encryptionConfigurations") or [])
    needs = [what for what, used in (("KMS encryption", kms), ("resource tags", bool(props.get("resourceTags"))))
             if used]
    return [f"uses {' and '.join(needs)} without customRoleArn: ECR cannot create repositories from it"] \
        if needs and not props.get("customRoleArn") else []


@rule("ec2-private-imdsv2-encrypted", "EC2 instances (the API jump host): no public IP, IMDSv2 only, "
      "root volume KMS-encrypted", "aws:ec2/instance:Instance")
def _instance_private_and_locked(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    """An EC2 instance (the API's SSM jump host) is reached through Session Manager only: no public IP, instance
    metadata through IMDSv2 sessions only, its root volume encrypted with a KMS key. Unset counts as AWS's
    defaults: a public IP where the subnet gives one, IMDSv1 allowed, the account's EBS default."""
    problems = []
    if props.get("associatePublicIpAddress") is not False:
        problems.append("associatePublicIpAddress must be false: the instance is reached through Session Manager")
    if (props.get("metadataOptions") or {}).get("httpTokens") != "required":
        problems.append("metadataOptions.httpTokens must be 'required' (IMDSv2 only)")
    root = props.get("rootBlockDevice") or {}
    if root.get("encrypted") is not True or not root.get("kmsKeyId"):
        problems.append("rootBlockDevice must be encrypted with the region's KMS key (encrypted, kmsKeyId)")
    return problems



@rule("synthetics-artifacts-kms", "Synthetics canaries store artifacts encrypted with a customer KMS key",
      "aws:synthetics/canary:Canary")
def _canary_artifacts_kms(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    # Without artifactConfig the runs' screenshots and HAR files (request headers included) are encrypted with an
    # AWS managed key that no key policy of ours governs.
    encryption = (props.get("artifactConfig") or {}).get("s3Encryption") or {}
    if encryption.get("encryptionMode") == "SSE_KMS" and encryption.get("kmsKeyArn"):
        return []
    return ["artifactConfig.s3Encryption must be SSE_KMS with the region's KMS key (kmsKeyArn)"]


def _json(value: Any) -> dict[str, Any]:
    """A policy-like input: JSON text (as the SDK sends it) or already an object; {} when unreadable."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {}
    return value if isinstance(value, dict) else {}


@rule("sqs-kms-and-dead-letter", "SQS queues encrypt with a customer KMS key and have a dead-letter queue (or are "
      "one)", "aws:sqs/queue:Queue")
def _queue_kms_and_dead_letter(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    """A queue holds messages (RB-N-07's failed notifications): SSE-KMS with the region's key, not SQS-managed SSE
    or the AWS managed alias/aws/sqs, which no key policy of ours governs. A message nothing can process must land
    somewhere a human looks: a redrive policy with a target and a receive count, unless the queue is itself a
    dead-letter queue (it says which sources it admits)."""
    problems = []
    key = str(props.get("kmsMasterKeyId") or "")
    if not key or key == "alias/aws/sqs" or props.get("sqsManagedSseEnabled"):
        problems.append("kmsMasterKeyId must be the region's customer managed KMS key")
    redrive, allow = _json(props.get("redrivePolicy")), _json(props.get("redriveAllowPolicy"))
    is_dead_letter = allow.get("redrivePermission") in ("byQueue", "allowAll")
    if not is_dead_letter and not (redrive.get("deadLetterTargetArn") and int(redrive.get("maxReceiveCount") or 0) >= 1):
        problems.append("redrivePolicy must name a deadLetterTargetArn and a maxReceiveCount ≥ 1 (or the queue is a "
                        "dead-letter queue with a redriveAllowPolicy)")
    return problems


@rule("sqs-tls-only", "SQS queue policies deny requests without TLS", "aws:sqs/queuePolicy:QueuePolicy")
def _queue_tls_only(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    for statement in _json(props.get("policy")).get("Statement") or []:
        secure = ((statement.get("Condition") or {}).get("Bool") or {}).get("aws:SecureTransport")
        if statement.get("Effect") == "Deny" and str(secure).lower() == "false":
            return []
    return ["the queue policy must Deny every request with aws:SecureTransport false"]


@rule("ses-identity-dkim-and-events", "SES domain identities sign with 2048-bit DKIM and publish events through a "
      "configuration set", "aws:sesv2/emailIdentity:EmailIdentity")
def _ses_identity_dkim(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    """DKIM stated, not left to a default: Easy DKIM at 2048 bits, or a key of our own (BYODKIM). A default
    configuration set, so every send from the identity publishes its bounces and complaints."""
    if "@" in str(props.get("emailIdentity", "")):
        return []  # an address identity has no DNS of its own to sign with
    problems = []
    dkim = props.get("dkimSigningAttributes") or {}
    easy = dkim.get("nextSigningKeyLength") == "RSA_2048_BIT"
    own = bool(dkim.get("domainSigningPrivateKey") and dkim.get("domainSigningSelector"))
    if not (easy or own):
        problems.append("dkimSigningAttributes must set Easy DKIM's nextSigningKeyLength RSA_2048_BIT, or a "
                        "BYODKIM key and selector")
    if not props.get("configurationSetName"):
        problems.append("configurationSetName must name the configuration set that publishes delivery events")
    return problems


STORES_TAG = "dr-platform:stores-with-a-role"  # components/region_switch.py tags the plan with the stack's list
AURORA_STORE = "aurora-global:"


def _plan_steps(steps: Any) -> list[Props]:
    found: list[Props] = []
    for step in steps or []:
        found.append(step)
        for parallel in step.get("parallelConfigs") or []:
            found.extend(_plan_steps(parallel.get("steps")))
    return found


@rule("region-switch-covers-every-store", "The ARC Region switch plan moves every store with a writer role, both ways",
      "aws:arcregionswitch/plan:Plan")
def _region_switch_covers_every_store(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    """Every store whose writer (primary) role moves between regions, as the stack lists them in the plan's tag,
    has a step in every workflow: the Aurora global cluster an AuroraGlobalDatabase step over all the plan's
    regions, any other (the cache's global datastore) a step named after it. DynamoDB global tables are not
    listed: every replica takes writes, so there is no role to move."""
    stores = str((props.get("tags") or {}).get(STORES_TAG) or "").split()
    problems = [] if any(s.startswith(AURORA_STORE) for s in stores) else [
        f"tag {STORES_TAG} must list the Aurora global cluster ({AURORA_STORE}<id>)"]
    regions = set(props.get("regions") or [])
    for workflow in props.get("workflows") or []:
        where = f"workflow activating {workflow.get('workflowTargetRegion')}"
        steps = _plan_steps(workflow.get("steps"))
        for store in stores:
            if store.startswith(AURORA_STORE):
                global_id = store.removeprefix(AURORA_STORE)
                aurora = [c for s in steps if s.get("executionBlockType") == "AuroraGlobalDatabase"
                          for c in s.get("globalAuroraConfigs") or [] if c.get("globalClusterIdentifier") == global_id]
                if not aurora:
                    problems.append(f"{where}: no AuroraGlobalDatabase step for global cluster {global_id}")
                elif any(len(c.get("databaseClusterArns") or []) < len(regions) for c in aurora):
                    problems.append(f"{where}: the Aurora step for {global_id} must name a cluster in every region")
            else:
                found = [s for s in steps if s.get("name") == store.replace(":", "-")]
                if not found:
                    problems.append(f"{where}: no step {store.replace(':', '-')} for {store}")
                problems += [f"{where}: step {s['name']}: {problem}" for s in found
                             for problem in _custom_action_problems(s, regions)]
    return problems


def _custom_action_problems(step: Props, regions: set[str]) -> list[str]:
    """A store's CustomActionLambda step names a function in each of the plan's regions (ARC developer guide,
    "Custom action Lambda execution block": one in each of the plan's Regions) and runs it in the activating
    region: the one being left may be the region that is down. An ARN not known yet (a first preview) is not
    judged by its region."""
    if step.get("executionBlockType") != "CustomActionLambda":
        return []
    problems = []
    for config in step.get("customActionLambdaConfigs") or []:
        lambdas = config.get("lambdas") or []
        arns = [str(f.get("arn")) for f in lambdas if str(f.get("arn") or "").startswith("arn:")]
        in_regions = {arn.split(":")[3] for arn in arns}
        if len(lambdas) < len(regions) or (len(arns) == len(lambdas) and not regions <= in_regions):
            problems.append(f"needs a Lambda function in each of {', '.join(sorted(regions))}, has "
                            f"{', '.join(sorted(in_regions)) or 'none'}")
        if config.get("regionToRun") != "activatingRegion":
            problems.append(f"regionToRun is {config.get('regionToRun')!r}: run it in the activatingRegion (the "
                            "deactivating one may be down)")
    return problems


CLOUDFRONT_DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
# Viewer security policies that allow TLS 1.2 and up only, with current ciphers (CloudFront "Supported protocols and
# ciphers between viewers and CloudFront"); TLSv1.2_2019 and older still allow weaker suites.
CURRENT_VIEWER_TLS = ("TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025")
FAILOVER_STATUS_CODES = {500, 502, 503, 504}


def _behaviours(props: Props) -> list[Mapping[str, Any]]:
    return [props.get("defaultCacheBehavior") or {}, *(props.get("orderedCacheBehaviors") or [])]


@rule("cdn-tls-only", f"Distributions: TLS-only viewers (minimum {CURRENT_VIEWER_TLS[0]}), HTTPS-only origins",
      CLOUDFRONT_DISTRIBUTION)
def _cdn_tls_only(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    problems = [f"cache behaviour {b.get('pathPattern', 'default')}: viewerProtocolPolicy must be https-only or "
                "redirect-to-https" for b in _behaviours(props)
                if b.get("viewerProtocolPolicy") not in ("https-only", "redirect-to-https")]
    certificate = props.get("viewerCertificate") or {}
    if certificate.get("cloudfrontDefaultCertificate") or certificate.get("minimumProtocolVersion") not in \
            CURRENT_VIEWER_TLS:
        problems.append(f"viewerCertificate must be the alias's certificate with minimumProtocolVersion one of "
                        f"{', '.join(CURRENT_VIEWER_TLS)}")
    for origin in props.get("origins") or []:
        custom = origin.get("customOriginConfig")
        if custom and (custom.get("originProtocolPolicy") != "https-only" or
                       set(custom.get("originSslProtocols") or []) - {"TLSv1.2"}):
            problems.append(f"origin {origin.get('originId')}: originProtocolPolicy https-only with TLSv1.2 only")
    return problems


@rule("cdn-origin-failover", "Distributions serve every path from an origin group failing over on 5xx",
      CLOUDFRONT_DISTRIBUTION)
def _cdn_origin_failover(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    groups = {g.get("originId"): g for g in props.get("originGroups") or []}
    problems = []
    for behaviour in _behaviours(props):
        group = groups.get(behaviour.get("targetOriginId"))
        codes = set(((group or {}).get("failoverCriteria") or {}).get("statusCodes") or [])
        if group is None or len(group.get("members") or []) != 2 or not FAILOVER_STATUS_CODES <= codes:
            problems.append(f"cache behaviour {behaviour.get('pathPattern', 'default')} must target an origin group "
                            f"of two origins failing over on {sorted(FAILOVER_STATUS_CODES)}")
    return problems


@rule("cdn-access-logs", "Distributions write access logs", CLOUDFRONT_DISTRIBUTION)
def _cdn_access_logs(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    return [] if (props.get("loggingConfig") or {}).get("bucket") else [
        "loggingConfig.bucket must name the access-log bucket"]
# What FIS's action reference lists per action (https://docs.aws.amazon.com/fis/latest/userguide/
# fis-actions-reference.html; the AWSFaultInjectionSimulator*Access managed policies), kept here on its own so the
# pack checks the program rather than repeating it. Every experiment also resolves targets and delivers its log.
FIS_ACTIONS_TAG = "dr-platform:fis-actions"
FIS_ACTION_PERMISSIONS: dict[str, frozenset[str]] = {
    "aws:rds:failover-db-cluster": frozenset({"rds:FailoverDBCluster", "rds:DescribeDBClusters"}),
    "aws:network:disrupt-connectivity": frozenset({
        "ec2:CreateNetworkAcl", "ec2:CreateNetworkAclEntry", "ec2:CreateTags", "ec2:DeleteNetworkAcl",
        "ec2:DescribeManagedPrefixLists", "ec2:DescribeNetworkAcls", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
        "ec2:GetManagedPrefixListEntries", "ec2:ReplaceNetworkAclAssociation"}),
    "aws:eks:terminate-nodegroup-instances": frozenset({"ec2:DescribeInstances", "ec2:TerminateInstances",
                                                        "eks:DescribeNodegroup"}),
    # The pods themselves FIS deletes as a Kubernetes user (RBAC in the cluster), not through IAM.
    "aws:eks:pod-delete": frozenset({"eks:DescribeCluster", "ec2:DescribeSubnets"}),
}
FIS_EVERY_EXPERIMENT = frozenset({"tag:GetResources", "logs:CreateLogDelivery", "logs:PutResourcePolicy",
                                  "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"})
# Actions IAM authorizes on "*" only (no resource-level permissions): the one place a "*" resource is FIS's need.
FIS_STAR_RESOURCE_ACTIONS = frozenset({
    "tag:GetResources", "logs:CreateLogDelivery", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups", "ec2:DescribeManagedPrefixLists", "ec2:DescribeNetworkAcls", "ec2:DescribeSubnets",
    "ec2:DescribeVpcs", "ec2:GetManagedPrefixListEntries", "ec2:DescribeInstances"})


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _trusts_fis(props: Props) -> bool:
    try:
        trust = json.loads(props.get("assumeRolePolicy") or "{}")
    except (TypeError, ValueError):
        return False
    return any("fis.amazonaws.com" in _listed((s.get("Principal") or {}).get("Service", []))
               for s in _listed(trust.get("Statement", [])))


@rule("fis-role-least-privilege", "An FIS experiment role may do only its template's actions, on named resources",
      "aws:iam/role:Role")
def _fis_role_least_privilege(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    if not _trusts_fis(props):
        return []
    fis_actions = str((props.get("tags") or {}).get(FIS_ACTIONS_TAG, "")).split()
    unknown = [a for a in fis_actions if a not in FIS_ACTION_PERMISSIONS]
    if not fis_actions or unknown:
        return [(f"tag {FIS_ACTIONS_TAG} must list the template's FIS actions, each one this pack knows "
                 f"(unknown: {unknown or 'none listed'})")]
    allowed = FIS_EVERY_EXPERIMENT.union(*(FIS_ACTION_PERMISSIONS[a] for a in fis_actions))
    problems = []
    if props.get("managedPolicyArns"):
        problems.append("managedPolicyArns: an FIS role carries only its inline policy")
    for inline in props.get("inlinePolicies") or []:
        try:
            statements = _listed(json.loads(inline.get("policy") or "{}").get("Statement", []))
        except (TypeError, ValueError):
            problems.append(f"inline policy {inline.get('name')}: not JSON")
            continue
        for statement in statements:
            where = f"statement {statement.get('Sid', '?')}"
            if statement.get("Effect") != "Allow":
                continue
            if "NotAction" in statement or "NotResource" in statement:
                problems.append(f"{where}: NotAction/NotResource grant more than the template's actions")
            actions = [str(a) for a in _listed(statement.get("Action", []))]
            extra = sorted(a for a in actions if a not in allowed)
            if extra:
                problems.append(f"{where}: {', '.join(extra)} is not what {' '.join(fis_actions)} needs")
            resources = [str(r) for r in _listed(statement.get("Resource", []))]
            if "*" in resources and not set(actions) <= FIS_STAR_RESOURCE_ACTIONS:
                problems.append(f"{where}: Resource \"*\" for {', '.join(sorted(set(actions) - FIS_STAR_RESOURCE_ACTIONS))}"
                                ", which take resource ARNs: name the targets")
            elif any(r != "*" and r.endswith("/*") for r in resources) and not statement.get("Condition") and (
                    set(actions) - {"ec2:ReplaceNetworkAclAssociation"}):
                problems.append(f"{where}: a resource pattern without a tag condition")
    return problems


FIS_MAX_STOP_CONDITIONS = 5  # FIS quotas: stop conditions per experiment template (not adjustable)


@rule("fis-template-guarded", "FIS experiments stop on alarms of their own region (at most 5) and keep a log",
      "aws:fis/experimentTemplate:ExperimentTemplate")
def _fis_template_guarded(props: Props, region: str | None, _config: Mapping[str, Any]) -> list[str]:
    conditions = props.get("stopConditions") or []
    alarms = [str(c.get("value", "")) for c in conditions if c.get("source") == "aws:cloudwatch:alarm"]
    problems = []
    if not alarms:
        problems.append("stopConditions: no CloudWatch alarm stops the experiment (source none)")
    if len(conditions) > FIS_MAX_STOP_CONDITIONS:
        problems.append(f"stopConditions: {len(conditions)} > {FIS_MAX_STOP_CONDITIONS}, FIS's limit: combine "
                        "the alarms into a composite alarm")
    elsewhere = [arn for arn in alarms if region and arn.split(":")[3:4] != [region]]
    if elsewhere:
        problems.append(f"stopConditions: alarms outside the template's region {region}: {', '.join(elsewhere)}")
    logs = props.get("logConfiguration") or {}
    if not (logs.get("cloudwatchLogsConfiguration") or logs.get("s3Configuration")):
        problems.append("logConfiguration: the experiment's log is the drill's evidence; send it somewhere")
    return problems


@rule("elasticache-encrypted-authenticated-ha", "ElastiCache replication groups: at rest with a customer KMS key, TLS "
      "only, AUTH, Multi-AZ with automatic failover", "aws:elasticache/replicationGroup:ReplicationGroup")
def _cache_protected(props: Props, _region: str | None, _config: Mapping[str, Any]) -> list[str]:
    """A Global Datastore secondary (globalReplicationGroupId) may not name its encryption switches: it inherits
    them from the primary, which this rule checks. It names its own key, token and failover settings."""
    problems = []
    if not props.get("globalReplicationGroupId"):
        if props.get("atRestEncryptionEnabled") is not True:
            problems.append("atRestEncryptionEnabled must be true")
        if props.get("transitEncryptionEnabled") is not True:
            problems.append("transitEncryptionEnabled must be true (TLS)")
    if props.get("transitEncryptionMode") not in (None, "required"):
        problems.append(f"transitEncryptionMode is {props.get('transitEncryptionMode')!r}: plaintext clients would "
                        "be accepted; it must be 'required'")
    if not props.get("kmsKeyId"):
        problems.append("kmsKeyId must name the region's KMS key (at rest, not the AWS managed key)")
    if not (props.get("authToken") or props.get("authTokenWo") or props.get("userGroupIds")):
        problems.append("clients must authenticate: authToken (from the secret) or userGroupIds")
    if props.get("multiAzEnabled") is not True or props.get("automaticFailoverEnabled") is not True:
        problems.append("multiAzEnabled and automaticFailoverEnabled must be true: an AZ's loss promotes a replica")
    if int(props.get("numCacheClusters") or 1) < 2:
        problems.append(f"numCacheClusters is {props.get('numCacheClusters') or 1}: automatic failover needs a "
                        "replica in another AZ")
    return problems
# Stack rules: checks across resources (CrossGuard's StackValidationPolicy). A check takes every resource as
# (type, urn, props) and returns (urn, message) pairs; `@stack_rule` declares it in STACK_RULES.
StackResource = tuple[str, str, Props]
StackCheck = Callable[[Sequence[StackResource], Mapping[str, Any]], list[tuple[str, str]]]


@dataclass(frozen=True)
class StackRule:
    name: str
    description: str
    resource_types: tuple[str, ...]  # what it looks at (for the per-variant counts)
    check: StackCheck


STACK_RULES: list[StackRule] = []


def stack_rule(name: str, description: str, *resource_types: str) -> Callable[[StackCheck], StackCheck]:
    def register(check: StackCheck) -> StackCheck:
        STACK_RULES.append(StackRule(name, description, resource_types, check))
        return check
    return register


DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
PLATFORM_SERVICE = ("app.kubernetes.io/part-of", "creator-platform")  # components/workloads.py's services


def _metadata(props: Props) -> tuple[str | None, str | None]:
    meta = props.get("metadata") or {}
    return meta.get("namespace"), meta.get("name")


def _budget_problems(name: str, tier: str | None, floor: int, spec: Props) -> list[str]:
    """A critical service keeps minAvailable >= 1; any budget leaves a drain one pod to evict at the floor."""
    min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
    if tier == "critical" and not (isinstance(min_available, int) and min_available >= 1):
        return [f"{name}: a critical service's PodDisruptionBudget needs minAvailable >= 1, got {min_available!r}"]
    if isinstance(min_available, int) and min_available >= floor:
        return [(f"{name}: minAvailable {min_available} at {floor} replica(s) blocks every drain (node group "
                 "updates fail with PodEvictionFailure): keep it below the HPA's minReplicas")]
    if min_available is None and not (isinstance(max_unavailable, int) and max_unavailable >= 1):
        return [f"{name}: the PodDisruptionBudget must allow a disruption (maxUnavailable >= 1)"]
    return []


@stack_rule("services-autoscaled-and-budgeted", "Every running service Deployment has an HPA and a PDB; critical "
            "PDBs keep minAvailable >= 1 and no PDB blocks a drain", DEPLOYMENT, HPA, PDB)
def _services_autoscaled(resources: Sequence[StackResource], _config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A service Deployment not pinned to 0 replicas is scaled by an HPA (minReplicas >= 1, maxReplicas >= it) that
    targets it by name, and protected by a PDB selecting its pods. At 0 it needs neither: an HPA cannot hold 0
    without the alpha HPAScaleToZero gate, and there is nothing to disrupt."""
    hpas = {(_metadata(p)[0], (p.get("spec") or {}).get("scaleTargetRef", {}).get("name")): p
            for t, _, p in resources if t == HPA
            and ((p.get("spec") or {}).get("scaleTargetRef") or {}).get("kind") == "Deployment"}
    pdbs = [p for t, _, p in resources if t == PDB]
    found = []
    for type_, urn, props in resources:
        labels = (props.get("metadata") or {}).get("labels") or {}
        spec = props.get("spec") or {}
        if type_ != DEPLOYMENT or labels.get(PLATFORM_SERVICE[0]) != PLATFORM_SERVICE[1] or spec.get("replicas") == 0:
            continue
        namespace, name = _metadata(props)
        pod_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        hpa = (hpas.get((namespace, name)) or {}).get("spec")
        if hpa is None:
            found.append((urn, f"{name}: no HorizontalPodAutoscaler targets this Deployment"))
            floor = 1
        else:
            floor = hpa.get("minReplicas") or 1
            if (hpa.get("maxReplicas") or 0) < floor:
                found.append((urn, f"{name}: HPA maxReplicas {hpa.get('maxReplicas')} is below minReplicas {floor}"))
        budgets = [(p.get("spec") or {}) for p in pdbs if _metadata(p)[0] == namespace
                   and (selector := ((p.get("spec") or {}).get("selector") or {}).get("matchLabels"))
                   and all(pod_labels.get(k) == v for k, v in selector.items())]
        if not budgets:
            found.append((urn, f"{name}: no PodDisruptionBudget selects this Deployment's pods"))
        for budget in budgets:
            found += [(urn, message) for message in _budget_problems(name, labels.get("dr-platform/tier"), floor,
                                                                       budget)]
    return found


REGION_SWITCH_PLAN = "aws:arcregionswitch/plan:Plan"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_STORE = "elasticache-global:"


@stack_rule("region-switch-lists-every-global-store", "A stack's ARC Region switch plan lists the Global Datastore "
            "its cache is a member of", REGION_SWITCH_PLAN, REPLICATION_GROUP)
def _region_switch_lists_every_global_store(resources: Sequence[StackResource],
                                            _config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The plan's stores tag is the stack's own word; this holds it to what the stack declares. A replication group
    that joins a Global Datastore (B's secondary: globalReplicationGroupId, AWS's `<region prefix>-<suffix>`) is
    read-only until promoted, so every plan in the stack lists `elasticache-global:<suffix>`, and
    region-switch-covers-every-store then wants its steps. A member's id not known yet is not judged."""
    members = sorted({str(p["globalReplicationGroupId"]) for t, _, p in resources
                      if t == REPLICATION_GROUP and isinstance(p.get("globalReplicationGroupId"), str)})
    found = []
    for type_, urn, props in resources:
        if type_ != REGION_SWITCH_PLAN:
            continue
        listed = [s.removeprefix(CACHE_STORE) for s in str((props.get("tags") or {}).get(STORES_TAG) or "").split()
                  if s.startswith(CACHE_STORE)]
        found += [(urn, f"tag {STORES_TAG} must list the cache's Global Datastore {global_id} "
                        f"({CACHE_STORE}<its suffix>): this stack's member is read-only until the plan promotes it")
                  for global_id in members if not any(global_id == s or global_id.endswith(f"-{s}") for s in listed)]
    return found


ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def _allows(statements: Sequence[Any], action: str, resource: str) -> bool:
    """Whether an Allow statement grants `action` on `resource` (IAM's `*` and `?` wildcards; no Deny is
    written here, so none is looked for)."""
    def matches(patterns: Any, value: str) -> bool:
        return any(fnmatch.fnmatchcase(value, str(p)) for p in ([patterns] if isinstance(patterns, str) else
                                                                 patterns or []))
    return any(isinstance(st, Mapping) and st.get("Effect") == "Allow" and matches(st.get("Action"), action)
               and matches(st.get("Resource"), resource) for st in statements)


@stack_rule("region-switch-triggers-can-start-it", "A triggered ARC Region switch plan's execution role may read the "
            "trigger alarms and start the plan", REGION_SWITCH_PLAN, ROLE_POLICY)
def _region_switch_triggers_can_start_it(resources: Sequence[StackResource],
                                         _config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """ARC starts a triggered plan as the plan's execution role, after reading the alarms its triggers name (ARC
    developer guide, "Plan execution role trust policy"): without cloudwatch:DescribeAlarms on each and
    arc-region-switch:StartPlanExecution on the plan, the detection alarm goes red and nothing starts, which no
    offline plan shows and ARC's evaluation reports only once deployed. Judged on the role policies the stack
    itself attaches to that role (by name); a role or policy not known yet is not judged."""
    grants: dict[str, list[Any]] = {}
    for type_, _, props in resources:
        if type_ == ROLE_POLICY and isinstance(props.get("role"), str):
            document = _json(props.get("policy"))
            if not document:
                grants.setdefault(props["role"], []).append(None)  # not known yet
                continue
            statements = document.get("Statement")
            grants.setdefault(props["role"], []).extend(
                statements if isinstance(statements, list) else [statements])
    found = []
    for type_, urn, props in resources:
        role_arn = props.get("executionRole")
        triggers = props.get("triggers") or []
        if type_ != REGION_SWITCH_PLAN or not triggers or not isinstance(role_arn, str) or ":role/" not in role_arn:
            continue
        role, account = role_arn.rsplit("/", 1)[-1], role_arn.split(":")[4]
        statements = grants.get(role, [])
        if None in statements:
            continue
        alarms = {a.get("mapBlockKey"): a.get("resourceIdentifier") for a in props.get("associatedAlarms") or []}
        plan = f"arn:aws:arc-region-switch::{account}:plan/{props.get('name')}:"
        # (action, an ARN it must cover, how to name it): the plan's ARN ends in a suffix ARC picks
        needed = [("arc-region-switch:StartPlanExecution", plan + "abc123", plan + "*")]
        needed += [("cloudwatch:DescribeAlarms", alarm, alarm) for t in triggers for c in t.get("conditions") or []
                   for alarm in [str(alarms.get(c.get("associatedAlarmName")))]]
        missing = [f"{action} on {shown}" for action, arn, shown in needed if not _allows(statements, action, arn)]
        if missing:
            found.append((urn, f"execution role {role} may not: {'; '.join(missing)} (ARC starts a triggered "
                               "plan as it, after reading the trigger's alarms)"))
    return found


def stack_violations(resources: Sequence[StackResource],
                     config: Mapping[str, Any] | None = None) -> list[tuple[str, str, str]]:
    """Every (rule, urn, message) the stack's resources break together."""
    return [(rule.name, urn, message) for rule in STACK_RULES for urn, message in rule.check(resources, config or {})]


def violations(resource_type: str, props: Props, region: str | None,
               config: Mapping[str, Any] | None = None) -> list[tuple[str, str]]:
    """Every (rule, message) the resource breaks."""
    return [(rule.name, message) for rule in RULES if resource_type in rule.resource_types
            for message in rule.check(props, region, config or {})]
