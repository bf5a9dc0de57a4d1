"""Policy rules as pure functions (pulumi-policy's own style), then over every plan the program produces."""
from __future__ import annotations

import copy
import json

import pulumi_policy
import pytest
from typer.testing import CliRunner

from ops.core.paths import REPO_ROOT
from ops.drctl.cli import app
from ops.drctl.planning.mockplan import plan_stack
from ops.drctl.planning.policy_check import check_all, check_plan
from stacks.config_files import shipped_stacks
from policy.rules import ECR_IMAGE as ECR_IMAGE_OF_PLAN
from policy.rules import RULES, STACK_RULES, stack_violations, violations

GOOD_CLUSTER = {"backupRetentionPeriod": 14, "storageEncrypted": True, "kmsKeyId": "arn:aws:kms:us-east-1:1:key/k",
                "deletionProtection": True, "globalClusterIdentifier": "dr-core"}


GOOD_EKS = {"encryptionConfig": {"provider": {"keyArn": "arn:aws:kms:us-west-2:1:key/k"}, "resources": ["secrets"]},
            "vpcConfig": {"endpointPrivateAccess": True, "endpointPublicAccess": False, "subnetIds": ["s"]}}
EKS = "aws:eks/cluster:Cluster"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
GOOD_EBS_CLASS = {"provisioner": "ebs.csi.aws.com",
                  "parameters": {"type": "gp3", "encrypted": "true", "kmsKeyId": "arn:aws:kms:us-west-2:1:key/k"}}


INSTANCE = "aws:ec2/instance:Instance"
GOOD_JUMP_HOST = {"associatePublicIpAddress": False, "metadataOptions": {"httpTokens": "required"},
                  "rootBlockDevice": {"encrypted": True, "kmsKeyId": "arn:aws:kms:us-west-2:1:key/k"}}
DEPLOYMENT, CRONJOB = "kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:CronJob"
TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"
KMS_TEMPLATE = {"appliedFors": ["REPLICATION"],
                "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": "arn:aws:kms:us-west-2:1:key/k"}]}
ECR = "111122223333.dkr.ecr.us-west-2.amazonaws.com"


def pod(*images: str, init: str | None = None) -> dict:
    return {"containers": [{"name": f"c{i}", "image": image} for i, image in enumerate(images)],
            **({"initContainers": [{"name": "init", "image": init}]} if init else {})}


def names(found: list[tuple[str, str]]) -> set[str]:
    return {rule for rule, _ in found}


CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
GOOD_CACHE = {"atRestEncryptionEnabled": True, "kmsKeyId": "arn:aws:kms:us-east-1:1:key/k",
              "transitEncryptionEnabled": True, "authToken": "[secret]", "multiAzEnabled": True,
              "automaticFailoverEnabled": True, "numCacheClusters": 3}
GOOD_SECONDARY = {**{k: v for k, v in GOOD_CACHE.items() if "EncryptionEnabled" not in k},
                  "globalReplicationGroupId": "ldgnf-dr-cache"}  # inherits the primary's encryption


PLAN = "aws:arcregionswitch/plan:Plan"
ARNS = ["arn:aws:rds:us-east-1:1:cluster:dr-core-us-east-1", "arn:aws:rds:us-west-2:1:cluster:dr-core-us-west-2"]
AURORA_STEP = {"name": "aurora", "executionBlockType": "AuroraGlobalDatabase",
               "globalAuroraConfigs": [{"globalClusterIdentifier": "dr-core", "databaseClusterArns": ARNS}]}
LAMBDAS = [{"arn": f"arn:aws:lambda:{r}:1:function:dr-platform-cache-promotion-{r}"} for r in ("us-east-1", "us-west-2")]
CACHE_STEP = {"name": "elasticache-global-dr-cache", "executionBlockType": "CustomActionLambda",
              "customActionLambdaConfigs": [{"lambdas": LAMBDAS, "regionToRun": "activatingRegion",
                                             "retryIntervalMinutes": 1, "ungracefuls": [{"behavior": "skip"}]}]}


def cache_step(**config: object) -> dict:
    return {**CACHE_STEP, "customActionLambdaConfigs": [{**CACHE_STEP["customActionLambdaConfigs"][0], **config}]}


WITH_CACHE = "aurora-global:dr-core elasticache-global:dr-cache"


def region_switch_plan(failover: list, failback: list, stores: str = "aurora-global:dr-core") -> dict:
    return {"regions": ["us-east-1", "us-west-2"], "tags": {"dr-platform:stores-with-a-role": stores},
            "workflows": [{"workflowTargetRegion": "us-west-2", "steps": failover},
                          {"workflowTargetRegion": "us-east-1", "steps": failback}]}


IN_PARALLEL = {"name": "stores", "executionBlockType": "Parallel", "parallelConfigs": [{"steps": [AURORA_STEP]}]}
GOOD_PLAN = region_switch_plan([IN_PARALLEL], [AURORA_STEP])
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"


def distribution(**changes: object) -> dict:
    """The shape the program declares (components/cdn.py), with `changes` on top."""
    api_origin = {"originId": "api-a", "customOriginConfig": {"originProtocolPolicy": "https-only",
                                                              "originSslProtocols": ["TLSv1.2"]}}
    return {"defaultCacheBehavior": {"targetOriginId": "api", "viewerProtocolPolicy": "https-only"},
            "orderedCacheBehaviors": [{"pathPattern": "/media/*", "targetOriginId": "media",
                                       "viewerProtocolPolicy": "redirect-to-https"}],
            "originGroups": [{"originId": group, "failoverCriteria": {"statusCodes": [500, 502, 503, 504]},
                              "members": [{"originId": f"{group}-a"}, {"originId": f"{group}-b"}]}
                             for group in ("api", "media")],
            "origins": [api_origin, {**api_origin, "originId": "api-b"}, {"originId": "media-a"},
                        {"originId": "media-b"}],
            "viewerCertificate": {"acmCertificateArn": "arn:aws:acm:us-east-1:1:certificate/c",
                                  "minimumProtocolVersion": "TLSv1.2_2021", "sslSupportMethod": "sni-only"},
            "loggingConfig": {"bucket": "logs.s3.amazonaws.com", "prefix": "cloudfront/"}, **changes}


QUEUE, IDENTITY = "aws:sqs/queue:Queue", "aws:sesv2/emailIdentity:EmailIdentity"
GOOD_QUEUE = {"kmsMasterKeyId": "arn:aws:kms:us-west-2:1:key/k",
              "redrivePolicy": '{"deadLetterTargetArn": "arn:aws:sqs:us-west-2:1:dlq", "maxReceiveCount": 10}'}
GOOD_DEAD_LETTER = {"kmsMasterKeyId": "arn:aws:kms:us-west-2:1:key/k",
                    "redriveAllowPolicy": '{"redrivePermission": "byQueue", "sourceQueueArns": ["arn:aws:sqs:x"]}'}
TLS_DENY = {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "arn:aws:sqs:us-west-2:1:q",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
GOOD_IDENTITY = {"emailIdentity": "example.com", "dkimSigningAttributes": {"nextSigningKeyLength": "RSA_2048_BIT"},
                 "configurationSetName": "critical"}
CANARY = "aws:synthetics/canary:Canary"
GOOD_CANARY = {"artifactConfig": {"s3Encryption": {"encryptionMode": "SSE_KMS",
                                                   "kmsKeyArn": "arn:aws:kms:us-west-2:1:key/k"}}}
FIS_ROLE = "aws:iam/role:Role"
FIS_TRUST = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"},
                                       "Action": "sts:AssumeRole"}]})


def fis_role(*statements: dict, actions: str = "aws:rds:failover-db-cluster") -> dict:
    return {"assumeRolePolicy": FIS_TRUST, "tags": {"dr-platform:fis-actions": actions},
            "inlinePolicies": [{"name": "p", "policy": json.dumps({"Statement": list(statements)})}]}


FAILOVER = {"Effect": "Allow", "Action": ["rds:FailoverDBCluster", "rds:DescribeDBClusters"],
            "Resource": ["arn:aws:rds:us-east-1:1:cluster:dr-core-us-east-1"]}
# Q3's pod-delete: the cluster read by ARN, the subnets read (no ARN); the pods are RBAC's, not IAM's
DESCRIBE_CLUSTER = {"Effect": "Allow", "Action": ["eks:DescribeCluster"],
                    "Resource": ["arn:aws:eks:us-west-2:1:cluster/platform-us-west-2"]}
DESCRIBE_SUBNETS = {"Effect": "Allow", "Action": ["ec2:DescribeSubnets"], "Resource": "*"}
POD_DELETE = "aws:eks:pod-delete"
FIS_TEMPLATE = "aws:fis/experimentTemplate:ExperimentTemplate"
GOOD_FIS_TEMPLATE = {"stopConditions": [{"source": "aws:cloudwatch:alarm",
                                         "value": "arn:aws:cloudwatch:us-east-1:1:alarm:stop"}],
                     "logConfiguration": {"cloudwatchLogsConfiguration": {"logGroupArn": "arn:aws:logs:x:*"},
                                          "logSchemaVersion": 2}}
CASES = [
    (CACHE, GOOD_CACHE, {**GOOD_CACHE, "transitEncryptionEnabled": False}, "elasticache-encrypted-authenticated-ha"),
    (CACHE, GOOD_CACHE, {**GOOD_CACHE, "transitEncryptionMode": "preferred"}, "elasticache-encrypted-authenticated-ha"),
    (CACHE, GOOD_SECONDARY, {**GOOD_SECONDARY, "kmsKeyId": None}, "elasticache-encrypted-authenticated-ha"),
    (CACHE, GOOD_SECONDARY, {k: v for k, v in GOOD_SECONDARY.items() if k != "authToken"},
     "elasticache-encrypted-authenticated-ha"),
    (CACHE, GOOD_CACHE, {**GOOD_CACHE, "automaticFailoverEnabled": False}, "elasticache-encrypted-authenticated-ha"),
    (CACHE, GOOD_CACHE, {**GOOD_CACHE, "numCacheClusters": 1}, "elasticache-encrypted-authenticated-ha"),
    (CACHE, GOOD_CACHE, {k: v for k, v in GOOD_CACHE.items() if k != "atRestEncryptionEnabled"},
     "elasticache-encrypted-authenticated-ha"),
    (PLAN, GOOD_PLAN, region_switch_plan([IN_PARALLEL], []), "region-switch-covers-every-store"),  # no failback
    (PLAN, GOOD_PLAN, {**GOOD_PLAN, "tags": {}}, "region-switch-covers-every-store"),  # Aurora not listed
    (PLAN, GOOD_PLAN, region_switch_plan([{**AURORA_STEP, "globalAuroraConfigs": [
        {"globalClusterIdentifier": "dr-core", "databaseClusterArns": ARNS[:1]}]}], [AURORA_STEP]),
     "region-switch-covers-every-store"),  # B's cluster missing from the step
    (PLAN, region_switch_plan([AURORA_STEP, CACHE_STEP], [AURORA_STEP, CACHE_STEP],
                              "aurora-global:dr-core elasticache-global:dr-cache"),
     region_switch_plan([AURORA_STEP], [AURORA_STEP], "aurora-global:dr-core elasticache-global:dr-cache"),
     "region-switch-covers-every-store"),  # the cache is listed, its promotion step is not there
    (PLAN, region_switch_plan([AURORA_STEP, CACHE_STEP], [AURORA_STEP, CACHE_STEP], WITH_CACHE),
     region_switch_plan([AURORA_STEP, cache_step(lambdas=LAMBDAS[1:])], [AURORA_STEP, CACHE_STEP], WITH_CACHE),
     "region-switch-covers-every-store"),  # B's function only: ARC wants one in each of the plan's regions
    (PLAN, region_switch_plan([AURORA_STEP, CACHE_STEP], [AURORA_STEP, CACHE_STEP], WITH_CACHE),
     region_switch_plan([AURORA_STEP, CACHE_STEP], [AURORA_STEP, cache_step(lambdas=[LAMBDAS[1], LAMBDAS[1]])],
                        WITH_CACHE), "region-switch-covers-every-store"),  # two functions, both in B
    (PLAN, region_switch_plan([AURORA_STEP, CACHE_STEP], [AURORA_STEP, CACHE_STEP], WITH_CACHE),
     region_switch_plan([AURORA_STEP, cache_step(regionToRun="deactivatingRegion")], [AURORA_STEP, CACHE_STEP],
                        WITH_CACHE), "region-switch-covers-every-store"),  # depends on the region being left
    (DISTRIBUTION, distribution(), distribution(viewerCertificate={"minimumProtocolVersion": "TLSv1_2016"}),
     "cdn-tls-only"),
    (DISTRIBUTION, distribution(), distribution(viewerCertificate={"cloudfrontDefaultCertificate": True}),
     "cdn-tls-only"),
    (DISTRIBUTION, distribution(), distribution(orderedCacheBehaviors=[
        {"pathPattern": "/media/*", "targetOriginId": "media", "viewerProtocolPolicy": "allow-all"}]),
     "cdn-tls-only"),
    (DISTRIBUTION, distribution(), distribution(origins=[{"originId": "api-a", "customOriginConfig": {
        "originProtocolPolicy": "match-viewer", "originSslProtocols": ["TLSv1.2"]}}]), "cdn-tls-only"),
    (DISTRIBUTION, distribution(), distribution(defaultCacheBehavior={"targetOriginId": "api-a",
                                                                      "viewerProtocolPolicy": "https-only"}),
     "cdn-origin-failover"),  # straight to A's origin: no failover
    (DISTRIBUTION, distribution(), distribution(originGroups=[
        {"originId": g, "failoverCriteria": {"statusCodes": [503]}, "members": [{"originId": f"{g}-a"},
                                                                              {"originId": f"{g}-b"}]}
        for g in ("api", "media")]), "cdn-origin-failover"),
    (DISTRIBUTION, distribution(), distribution(loggingConfig={}), "cdn-access-logs"),
    (FIS_TEMPLATE, GOOD_FIS_TEMPLATE, {**GOOD_FIS_TEMPLATE, "stopConditions": [{"source": "none"}]},
     "fis-template-guarded"),
    (FIS_TEMPLATE, GOOD_FIS_TEMPLATE, {**GOOD_FIS_TEMPLATE, "stopConditions": [
        {"source": "aws:cloudwatch:alarm", "value": "arn:aws:cloudwatch:us-west-2:1:alarm:canary"}]},
     "fis-template-guarded"),  # us-east-1's template on B's alarm
    (FIS_TEMPLATE, GOOD_FIS_TEMPLATE, {**GOOD_FIS_TEMPLATE, "stopConditions": [
        {"source": "aws:cloudwatch:alarm", "value": f"arn:aws:cloudwatch:us-east-1:1:alarm:a{i}"} for i in range(6)]},
     "fis-template-guarded"),
    (FIS_TEMPLATE, GOOD_FIS_TEMPLATE, {**GOOD_FIS_TEMPLATE, "logConfiguration": None}, "fis-template-guarded"),
    (FIS_ROLE, fis_role(FAILOVER), fis_role({**FAILOVER, "Resource": "*"}), "fis-role-least-privilege"),
    (FIS_ROLE, fis_role(FAILOVER), fis_role(FAILOVER, {**FAILOVER, "Action": ["rds:DeleteDBCluster"]}),
     "fis-role-least-privilege"),
    (FIS_ROLE, fis_role(FAILOVER), fis_role({**FAILOVER, "Action": ["rds:*"]}), "fis-role-least-privilege"),
    # the template's actions are the tag's: terminating instances is not a failover's
    (FIS_ROLE, fis_role(FAILOVER), fis_role(FAILOVER, {"Effect": "Allow", "Action": ["ec2:TerminateInstances"],
                                                       "Resource": ["arn:aws:ec2:us-east-1:1:instance/i-1"]}),
     "fis-role-least-privilege"),
    (FIS_ROLE, fis_role(FAILOVER), {**fis_role(FAILOVER), "tags": {}}, "fis-role-least-privilege"),
    (FIS_ROLE, fis_role(DESCRIBE_CLUSTER, DESCRIBE_SUBNETS, actions=POD_DELETE),
     fis_role({**DESCRIBE_CLUSTER, "Resource": "*"}, DESCRIBE_SUBNETS, actions=POD_DELETE), "fis-role-least-privilege"),
    # deleting pods goes through the cluster's RBAC: an IAM grant to change the cluster is not the action's
    (FIS_ROLE, fis_role(DESCRIBE_CLUSTER, DESCRIBE_SUBNETS, actions=POD_DELETE),
     fis_role({**DESCRIBE_CLUSTER, "Action": ["eks:DescribeCluster", "eks:UpdateClusterConfig"]}, DESCRIBE_SUBNETS,
              actions=POD_DELETE), "fis-role-least-privilege"),
    (CANARY, GOOD_CANARY, {"artifactConfig": {"s3Encryption": {"encryptionMode": "SSE_S3"}}},
     "synthetics-artifacts-kms"),
    (CANARY, GOOD_CANARY, {}, "synthetics-artifacts-kms"),
    ("aws:rds/cluster:Cluster", GOOD_CLUSTER, {**GOOD_CLUSTER, "backupRetentionPeriod": 3}, "aurora-pitr-retention"),
    ("aws:rds/cluster:Cluster", GOOD_CLUSTER, {**GOOD_CLUSTER, "storageEncrypted": False},
     "aurora-encrypted-and-protected"),
    ("aws:rds/cluster:Cluster", GOOD_CLUSTER, {**GOOD_CLUSTER, "manageMasterUserPassword": True},
     "aurora-encrypted-and-protected"),
    ("aws:s3/bucketVersioning:BucketVersioning", {"versioningConfiguration": {"status": "Enabled"}},
     {"versioningConfiguration": {"status": "Suspended"}}, "s3-versioning"),
    ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
     {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]},
     {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}, "s3-sse-kms"),
    ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
     dict.fromkeys(("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True),
     {"blockPublicAcls": True}, "s3-no-public-access"),
    ("aws:s3/bucketReplicationConfig:BucketReplicationConfig",
     {"rules": [{"id": "r", "deleteMarkerReplication": {"status": "Enabled"},
                 "destination": {"replicationTime": {"status": "Enabled"}, "metrics": {"status": "Enabled"}}}]},
     {"rules": [{"id": "r", "destination": {"replicationTime": {"status": "Enabled"}, "metrics": {"status": "Enabled"}}}]},
     "s3-replication-rtc"),
    ("aws:dynamodb/table:Table",
     {"pointInTimeRecovery": {"enabled": True}, "serverSideEncryption": {"kmsKeyArn": "arn:aws:kms:us-east-1:1:k"},
      "replicas": [{"regionName": "us-west-2", "pointInTimeRecovery": True}]},
     {"pointInTimeRecovery": {"enabled": True}, "serverSideEncryption": {"kmsKeyArn": "arn:aws:kms:us-east-1:1:k"},
      "replicas": [{"regionName": "us-west-2", "pointInTimeRecovery": False}]}, "dynamodb-pitr"),
    ("aws:dynamodb/table:Table",
     {"pointInTimeRecovery": {"enabled": True}, "serverSideEncryption": {"kmsKeyArn": "arn:aws:kms:us-east-1:1:k"},
      "replicas": [{"regionName": "us-west-2", "pointInTimeRecovery": True}]},
     {"pointInTimeRecovery": {"enabled": True}, "serverSideEncryption": {"kmsKeyArn": "arn:aws:kms:us-east-1:1:k"},
      "replicas": [{"regionName": "eu-west-1", "pointInTimeRecovery": True}]}, "data-residency"),
    ("aws:route53/record:Record", {"failoverRoutingPolicies": [{"type": "PRIMARY"}], "healthCheckId": "hc"},
     {"failoverRoutingPolicies": [{"type": "PRIMARY"}]}, "dns-health-checked"),
    ("aws:kms/key:Key", {"enableKeyRotation": True}, {"enableKeyRotation": False}, "kms-rotation"),
    (EKS, GOOD_EKS, {**GOOD_EKS, "encryptionConfig": None}, "eks-private-and-encrypted"),
    (EKS, GOOD_EKS, {**GOOD_EKS, "encryptionConfig": {"provider": {"keyArn": "k"}, "resources": []}},
     "eks-private-and-encrypted"),
    (EKS, GOOD_EKS, {**GOOD_EKS, "vpcConfig": {"endpointPublicAccess": True}}, "eks-private-and-encrypted"),
    (EKS, GOOD_EKS, {**GOOD_EKS, "vpcConfig": {"subnetIds": ["s"]}}, "eks-private-and-encrypted"),  # AWS default
    (EKS, {**GOOD_EKS, "vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}},
     {**GOOD_EKS, "vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24", "0.0.0.0/0"]}},
     "eks-private-and-encrypted"),
    (STORAGE_CLASS, GOOD_EBS_CLASS, {**GOOD_EBS_CLASS, "parameters": {"type": "gp3"}}, "ebs-storage-class-encrypted"),
    (STORAGE_CLASS, GOOD_EBS_CLASS, {**GOOD_EBS_CLASS, "parameters": {"type": "gp3", "encrypted": "false"}},
     "ebs-storage-class-encrypted"),
    (STORAGE_CLASS, GOOD_EBS_CLASS, {"provisioner": "kubernetes.io/aws-ebs", "parameters": {"encrypted": True}},
     "ebs-storage-class-encrypted"),  # the API takes strings only: a boolean is not "true"
    (STORAGE_CLASS, {"provisioner": "efs.csi.aws.com", "parameters": {}}, {"provisioner": "ebs.csi.aws.com"},
     "ebs-storage-class-encrypted"),  # other provisioners are not this rule's business
    (DEPLOYMENT, {"spec": {"template": {"spec": pod(f"{ECR}/creator-platform/payments:1.0.0")}}},
     {"spec": {"template": {"spec": pod(f"{ECR}/creator-platform/payments:1.0.0", "typesense/typesense:0.24.1")}}},
     "images-from-ecr"),  # Docker Hub, implicitly
    (DEPLOYMENT, {"spec": {"template": {"spec": pod(f"{ECR}/a:1", init=f"{ECR}/migrate:1")}}},
     {"spec": {"template": {"spec": pod(f"{ECR}/a:1", init="ghcr.io/x/migrate:1")}}}, "images-from-ecr"),
    (DEPLOYMENT, {"spec": {"template": {"spec": pod(f"{ECR}/a:1")}}},
     {"spec": {"template": {"spec": pod("public.ecr.aws/nginx/nginx:1.27")}}}, "images-from-ecr"),  # public ECR
    (CRONJOB, {"spec": {"jobTemplate": {"spec": {"template": {"spec": pod(f"{ECR}/report:2")}}}}},
     {"spec": {"jobTemplate": {"spec": {"template": {"spec": pod("docker.io/library/busybox:1.36")}}}}},
     "images-from-ecr"),
    (TEMPLATE, {**KMS_TEMPLATE, "customRoleArn": "arn:aws:iam::1:role/creator"}, KMS_TEMPLATE,
     "ecr-template-creation-role"),
    (TEMPLATE, {"encryptionConfigurations": [{"encryptionType": "AES256"}]},
     {"resourceTags": {"team": "platform"}, "encryptionConfigurations": [{"encryptionType": "AES256"}]},
     "ecr-template-creation-role"),
    (INSTANCE, GOOD_JUMP_HOST, {**GOOD_JUMP_HOST, "associatePublicIpAddress": True}, "ec2-private-imdsv2-encrypted"),
    (INSTANCE, GOOD_JUMP_HOST, {k: v for k, v in GOOD_JUMP_HOST.items() if k != "associatePublicIpAddress"},
     "ec2-private-imdsv2-encrypted"),  # unset: whatever the subnet gives
    (INSTANCE, GOOD_JUMP_HOST, {**GOOD_JUMP_HOST, "metadataOptions": {"httpTokens": "optional"}},
     "ec2-private-imdsv2-encrypted"),
    (INSTANCE, GOOD_JUMP_HOST, {**GOOD_JUMP_HOST, "rootBlockDevice": {"encrypted": True}},
     "ec2-private-imdsv2-encrypted"),  # the account's default key, not the region's CMK
    (QUEUE, GOOD_QUEUE, {**GOOD_QUEUE, "kmsMasterKeyId": "alias/aws/sqs"}, "sqs-kms-and-dead-letter"),
    (QUEUE, GOOD_QUEUE, {"kmsMasterKeyId": GOOD_QUEUE["kmsMasterKeyId"]}, "sqs-kms-and-dead-letter"),  # no DLQ
    (QUEUE, GOOD_DEAD_LETTER, {**GOOD_DEAD_LETTER, "redriveAllowPolicy": '{"redrivePermission": "denyAll"}'},
     "sqs-kms-and-dead-letter"),
    ("aws:sqs/queuePolicy:QueuePolicy", {"policy": json.dumps({"Statement": [TLS_DENY]})},
     {"policy": json.dumps({"Statement": [{**TLS_DENY, "Effect": "Allow"}]})}, "sqs-tls-only"),
    (IDENTITY, GOOD_IDENTITY, {**GOOD_IDENTITY, "dkimSigningAttributes": {"nextSigningKeyLength": "RSA_1024_BIT"}},
     "ses-identity-dkim-and-events"),
    (IDENTITY, GOOD_IDENTITY, {k: v for k, v in GOOD_IDENTITY.items() if k != "configurationSetName"},
     "ses-identity-dkim-and-events"),
]


@pytest.mark.parametrize(("resource_type", "good", "bad", "rule"), CASES)
def test_rule_passes_good_and_flags_bad(resource_type: str, good: dict, bad: dict, rule: str) -> None:
    assert rule not in names(violations(resource_type, good, "us-east-1"))
    assert rule in names(violations(resource_type, bad, "us-east-1"))


def test_residency_uses_the_configured_allowed_regions() -> None:
    props = {"arn": "arn:aws:s3:eu-west-1:1:x"}
    assert names(violations("aws:s3/bucket:Bucket", props, "eu-west-1")) == {"data-residency"}
    assert violations("aws:s3/bucket:Bucket", props, "eu-west-1", {"allowedRegions": ["eu-west-1"]}) == []


def test_every_rule_is_exercised_above() -> None:
    assert len({r.name for r in RULES}) == len(RULES)
    assert {r.name for r in RULES} == {rule for *_, rule in CASES}


def test_every_stack_posture_and_failover_state_passes_every_policy() -> None:
    checked, found = check_all()
    assert checked == 6 * len(shipped_stacks()) == 24  # every shipped stack: production's pair and stage's
    assert found == []


def test_a_weakened_plan_is_caught_naming_rule_and_resource() -> None:
    plan = copy.deepcopy(plan_stack("primary"))
    (cluster,) = plan.by_type("aws:rds/cluster:Cluster")
    cluster.inputs["backupRetentionPeriod"] = 1
    table = plan.by_type("aws:dynamodb/table:Table")[0]
    table.inputs["replicas"][0]["regionName"] = "ap-south-1"
    found = check_plan(plan)
    assert {(v.rule, v.urn) for v in found} == {("aurora-pitr-retention", cluster.urn),
                                                ("data-residency", table.urn)}


def test_a_public_unencrypted_eks_cluster_is_caught_on_the_plan() -> None:
    plan = copy.deepcopy(plan_stack("dr"))
    (cluster,) = plan.by_type(EKS)
    assert check_plan(plan) == []
    cluster.inputs["vpcConfig"] = {**cluster.inputs["vpcConfig"], "endpointPublicAccess": True}
    del cluster.inputs["encryptionConfig"]
    found = check_plan(plan)
    assert {(v.rule, v.urn) for v in found} == {("eks-private-and-encrypted", cluster.urn)}
    messages = " | ".join(v.message for v in found)
    assert len(found) == 2 and "0.0.0.0/0" in messages and "secrets" in messages


def test_an_unencrypted_ebs_storage_class_is_caught_on_the_plan() -> None:
    plan = copy.deepcopy(plan_stack("dr"))
    (storage_class,) = plan.by_type(STORAGE_CLASS)
    assert check_plan(plan) == []
    storage_class.inputs["parameters"] = {"type": "gp3"}
    assert {(v.rule, v.urn) for v in check_plan(plan)} == {("ebs-storage-class-encrypted", storage_class.urn)}


def test_an_image_from_outside_ecr_is_caught_on_the_plan_and_unknown_images_are_not_judged() -> None:
    plan = copy.deepcopy(plan_stack("dr"))
    (typesense,) = plan.by_type("kubernetes:apps/v1:StatefulSet")
    assert check_plan(plan) == []
    (container,) = typesense.inputs["spec"]["template"]["spec"]["containers"]
    assert ECR_IMAGE_OF_PLAN.match(container["image"])  # the program maps it to the region's ECR
    container["image"] = "typesense/typesense:0.24.1"
    found = check_plan(plan)
    assert [(v.rule, v.urn) for v in found] == [("images-from-ecr", typesense.urn)]
    assert "'typesense/typesense:0.24.1'" in found[0].message
    container["image"] = None  # unknown during a preview
    assert check_plan(plan) == []


def test_cli_exits_0_when_clean() -> None:
    result = CliRunner().invoke(app, ["policy", "dr"])
    assert result.exit_code == 0, result.output
    assert "6 stack variants checked, 0 violations" in result.output


def run_policy_pack(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Run policy/__main__.py as the Pulumi CLI would, with PolicyPack captured (the real one serves forever):
    the keyword arguments the pack was built with."""
    import runpy
    import sys

    captured: dict = {}
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: captured.update(kwargs))
    policy_dir = REPO_ROOT / "policy"
    monkeypatch.syspath_prepend(str(policy_dir))
    monkeypatch.delitem(sys.modules, "rules", raising=False)
    runpy.run_path(str(policy_dir / "__main__.py"))
    return captured


def test_crossguard_wiring_reports_violations_through_pulumi_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run policy/__main__.py with PolicyPack captured (the real one serves forever) and call a validator."""
    captured = run_policy_pack(monkeypatch)
    assert captured["enforcement_level"] == pulumi_policy.EnforcementLevel.MANDATORY
    policies = {p.name: p for p in captured["policies"]}
    assert set(policies) == {r.name for r in [*RULES, *STACK_RULES]}
    assert isinstance(policies["services-autoscaled-and-budgeted"], pulumi_policy.StackValidationPolicy)

    reported: list[tuple[str, str | None]] = []
    provider = pulumi_policy.PolicyProviderResource("pulumi:providers:aws", {"region": "us-east-1"}, "urn:p", "p")
    args = pulumi_policy.ResourceValidationArgs(
        "aws:rds/cluster:Cluster", {**GOOD_CLUSTER, "backupRetentionPeriod": 1}, "urn:cluster", "cluster",
        pulumi_policy.PolicyResourceOptions(False, [], None, [], pulumi_policy.PolicyCustomTimeouts(0, 0, 0), []),
        provider,
        config={"allowedRegions": ["us-east-1", "us-west-2"]})
    policies["aurora-pitr-retention"].validate(args, lambda message, urn=None: reported.append((message, urn)))
    assert reported and reported[0][1] == "urn:cluster" and "7 days" in reported[0][0]


MOVED_DR_REGION = ["--set", "drRegion=eu-west-1", "--set", 'allowedRegions=["us-east-1","eu-west-1"]']


def test_set_reaches_the_primary_plan_the_dr_stack_reads() -> None:
    """A DR region moved with --set: the dr stack reads the primary's outputs as the primary would export them
    under the same --set (replica buckets, secret replica in eu-west-1), so nothing lands in us-west-2."""
    result = CliRunner().invoke(app, ["policy", "dr", *MOVED_DR_REGION, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["violations"] == [] and report["variants"] == 6


def test_the_dr_plan_under_set_reads_the_primary_planned_under_the_same_set() -> None:
    moved = MOVED_DR_REGION[1::2]
    dr = plan_stack("dr", ["posture=warm-standby", *moved], primary_overrides=moved)
    assert "us-west-2" not in json.dumps([r.inputs for r in dr.resources])
    stale = plan_stack("dr", ["posture=warm-standby", *moved])  # the primary from its files alone
    assert "us-west-2" in json.dumps([r.inputs for r in stale.resources])


def test_cli_names_the_rules_it_ran_per_variant_and_sums_them_up() -> None:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["policy", "primary"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for posture in ("pilot-light", "warm-standby", "active-active"):
        for failover in ("false", "true"):
            (line,) = [l for l in lines if f"primary posture={posture} failover={failover}:" in l]
            assert "0 violations" in line
    ran = {rule.name for rule in RULES if rule.name in result.output}
    assert ran >= {"aurora-pitr-retention", "data-residency", "s3-replication-rtc", "dynamodb-pitr", "kms-rotation"}
    assert "3 stack variants checked" not in result.output and "6 stack variants checked, 0 violations" in result.output
    report = json.loads(CliRunner().invoke(app, ["policy", "primary", "--json"]).output)
    (first, *_) = report["results"]
    assert first["stack"] == "primary" and first["violations"] == 0
    assert first["rules"]["aurora-pitr-retention"] >= 1  # resources each rule looked at
    assert set(first["rules"]) <= {r.name for r in [*RULES, *STACK_RULES]}
def test_a_jump_host_with_a_public_ip_is_caught_on_the_plan() -> None:
    for stack in ("primary", "dr"):
        plan = copy.deepcopy(plan_stack(stack))
        (instance,) = plan.by_type(INSTANCE)
        assert check_plan(plan) == []
        instance.inputs["associatePublicIpAddress"] = True
        instance.inputs["metadataOptions"] = {"httpTokens": "optional"}
        found = check_plan(plan)
        assert {(v.rule, v.urn) for v in found} == {("ec2-private-imdsv2-encrypted", instance.urn)}
        assert len(found) == 2


def test_a_canary_whose_artifacts_lose_the_kms_key_is_caught_on_the_plan_by_that_rule_only() -> None:
    plan = copy.deepcopy(plan_stack("dr"))
    (canary,) = plan.by_type(CANARY)
    assert check_plan(plan) == []
    canary.inputs["artifactConfig"] = {"s3Encryption": {"encryptionMode": "SSE_S3"}}
    found = check_plan(plan)
    assert {(v.rule, v.urn) for v in found} == {("synthetics-artifacts-kms", canary.urn)}


def test_a_cache_that_loses_tls_or_auth_is_caught_on_the_plan_by_that_rule_only() -> None:
    for stack, sets in (("primary", []), ("dr", ["posture=warm-standby"]), ("dr", ["failover=true"])):
        plan = copy.deepcopy(plan_stack(stack, sets))
        (group,) = plan.by_type(CACHE)  # A's primary, B's secondary, B's cold standalone
        assert check_plan(plan) == []
        group.inputs.pop("authToken")
        group.inputs["transitEncryptionMode"] = "preferred"
        found = check_plan(plan)
        assert {(v.rule, v.urn) for v in found} == {("elasticache-encrypted-authenticated-ha", group.urn)}
        assert len(found) == 2


def test_a_region_switch_plan_that_loses_its_failback_aurora_step_is_caught_by_that_rule_only() -> None:
    plan = copy.deepcopy(plan_stack("dr"))
    (arc,) = plan.by_type(PLAN)
    assert check_plan(plan) == []
    failback = next(w for w in arc.inputs["workflows"] if w["workflowTargetRegion"] == "us-east-1")
    failback["steps"] = [s for s in failback["steps"] if s["name"] != "promote"]
    found = check_plan(plan)
    assert {(v.rule, v.urn) for v in found} == {("region-switch-covers-every-store", arc.urn)}
    assert found[0].message == "workflow activating us-east-1: no AuroraGlobalDatabase step for global cluster dr-core"
def test_a_warm_standby_plan_that_loses_its_cache_step_is_caught_by_that_rule_only() -> None:
    """Where the posture table gives B a Global Datastore member, the cache's promotion is one of the plan's stores:
    dropping its step from either workflow, or A's function from it, fails region-switch-covers-every-store and
    nothing else."""
    for sets in (["posture=warm-standby"], ["posture=active-active"], ["posture=warm-standby", "failover=true"]):
        planned = plan_stack("dr", sets)
        (arc,) = planned.by_type(PLAN)
        assert check_plan(planned) == []
        assert "elasticache-global:dr-cache" in arc.inputs["tags"]["dr-platform:stores-with-a-role"].split()
        for region in ("us-west-2", "us-east-1"):
            plan = copy.deepcopy(planned)
            (arc,) = plan.by_type(PLAN)
            flow = next(w for w in arc.inputs["workflows"] if w["workflowTargetRegion"] == region)
            promote = next(s for s in flow["steps"] if s["name"] == "promote")["parallelConfigs"][0]
            promote["steps"] = [s for s in promote["steps"] if s["name"] != "elasticache-global-dr-cache"]
            found = check_plan(plan)
            assert [(v.rule, v.urn, v.message) for v in found] == [(
                "region-switch-covers-every-store", arc.urn,
                f"workflow activating {region}: no step elasticache-global-dr-cache for elasticache-global:dr-cache")]
        plan = copy.deepcopy(planned)
        (arc,) = plan.by_type(PLAN)
        for flow in arc.inputs["workflows"]:
            promote = next(s for s in flow["steps"] if s["name"] == "promote")["parallelConfigs"][0]
            (cache,) = [s for s in promote["steps"] if s["name"] == "elasticache-global-dr-cache"]
            config = cache["customActionLambdaConfigs"][0]
            config["lambdas"] = [f for f in config["lambdas"] if ":us-east-1:" not in f["arn"]]
        found = check_plan(plan)
        assert {(v.rule, v.urn) for v in found} == {("region-switch-covers-every-store", arc.urn)}
        assert len(found) == 2 and all("needs a Lambda function in each of us-east-1, us-west-2, has us-west-2"
                                       in v.message for v in found)


def test_a_plan_that_forgets_the_cache_altogether_is_caught_by_the_stack_rule_only() -> None:
    """Dropping the cache from the plan's tag and its steps together satisfies region-switch-covers-every-store (it
    trusts the tag): the stack rule sees B's member and catches it."""
    plan = copy.deepcopy(plan_stack("dr", ["posture=warm-standby"]))
    (arc,) = plan.by_type(PLAN)
    arc.inputs["tags"]["dr-platform:stores-with-a-role"] = "aurora-global:dr-core"
    for flow in arc.inputs["workflows"]:
        promote = next(s for s in flow["steps"] if s["name"] == "promote")["parallelConfigs"][0]
        promote["steps"] = [s for s in promote["steps"] if s["name"] != "elasticache-global-dr-cache"]
    found = check_plan(plan)
    assert [(v.rule, v.urn) for v in found] == [("region-switch-lists-every-global-store", arc.urn)]


def test_pilot_light_lists_no_cache_and_has_no_cache_step() -> None:
    """No Global Datastore member in B, nothing for the plan to promote: the store is not listed, so the rule asks
    for no step (the cold cache of its failover is `pulumi up`'s)."""
    for failover in ("false", "true"):
        (arc,) = plan_stack("dr", ["posture=pilot-light", f"failover={failover}"]).by_type(PLAN)
        assert arc.inputs["tags"]["dr-platform:stores-with-a-role"] == "aurora-global:dr-core"
        assert "elasticache" not in json.dumps(arc.inputs["workflows"])


@pytest.mark.parametrize(("change", "rule"), [
    (lambda d: d["viewerCertificate"].update(minimumProtocolVersion="TLSv1.2_2019"), "cdn-tls-only"),
    (lambda d: d.update(originGroups=[{**g, "members": g["members"][:1]} for g in d["originGroups"]]),
     "cdn-origin-failover"),
    (lambda d: d.pop("loggingConfig"), "cdn-access-logs"),
])
def test_a_weakened_distribution_is_caught_on_the_plan_by_that_rule_only(change, rule: str) -> None:
    plan = copy.deepcopy(plan_stack("primary"))
    (planned,) = plan.by_type(DISTRIBUTION)
    assert check_plan(plan) == []
    change(planned.inputs)
    assert {(v.rule, v.urn) for v in check_plan(plan)} == {(rule, planned.urn)}


def test_an_fis_role_granted_beyond_its_template_is_caught_on_the_plan_by_that_rule_only() -> None:
    plan = copy.deepcopy(plan_stack("primary"))
    (role,) = [r for r in plan.by_type("aws:iam/role:Role") if "fis.amazonaws.com" in r.inputs["assumeRolePolicy"]]
    assert check_plan(plan) == []
    policy = json.loads(role.inputs["inlinePolicies"][0]["policy"])
    # a node-termination grant that loses its tag condition: any instance of the account could go
    (terminate,) = [s for s in policy["Statement"] if s["Action"] == ["ec2:TerminateInstances"]]
    del terminate["Condition"]
    policy["Statement"].append({"Effect": "Allow", "Action": ["rds:DeleteDBCluster"], "Resource": "*"})
    role.inputs["inlinePolicies"][0]["policy"] = json.dumps(policy)
    found = check_plan(plan)
    assert {(v.rule, v.urn) for v in found} == {("fis-role-least-privilege", role.urn)}
    assert sorted(v.message.split(": ", 1)[1][:30] for v in found) == [
        'Resource "*" for rds:DeleteDBC', "a resource pattern without a t", "rds:DeleteDBCluster is not wha"]


def test_q3s_role_granted_beyond_pod_delete_is_caught_on_the_plan_by_that_rule_only() -> None:
    plan = copy.deepcopy(plan_stack("dr", ["posture=warm-standby"]))
    (role,) = [r for r in plan.by_type("aws:iam/role:Role") if "fis.amazonaws.com" in r.inputs["assumeRolePolicy"]]
    assert role.inputs["tags"]["dr-platform:fis-actions"] == "aws:eks:pod-delete" and check_plan(plan) == []
    policy = json.loads(role.inputs["inlinePolicies"][0]["policy"])
    (describe,) = [s for s in policy["Statement"] if s["Action"] == ["eks:DescribeCluster"]]
    describe["Resource"] = "*"  # every cluster of the account, not B's
    role.inputs["inlinePolicies"][0]["policy"] = json.dumps(policy)
    found = check_plan(plan)
    assert {(v.rule, v.urn) for v in found} == {("fis-role-least-privilege", role.urn)}
    assert [v.message.split(": ", 1)[1][:33] for v in found] == ['Resource "*" for eks:DescribeClus']


def test_a_drill_template_stopping_on_each_alarm_is_caught_on_the_plan_by_that_rule_only() -> None:
    plan = copy.deepcopy(plan_stack("primary"))
    (template,) = plan.by_type(FIS_TEMPLATE)
    alarms = [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{a.inputs['name']}"
              for a in plan.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")]
    assert len(alarms) > 5  # why the template stops on one composite of them
    template.inputs["stopConditions"] = [{"source": "aws:cloudwatch:alarm", "value": arn} for arn in alarms]
    found = check_plan(plan)
    assert {(v.rule, v.urn) for v in found} == {("fis-template-guarded", template.urn)}


@pytest.mark.parametrize(("type_", "name", "mutate", "rule"), [
    (QUEUE, "failed-notifications-dlq", lambda i: i.pop("kmsMasterKeyId"), "sqs-kms-and-dead-letter"),
    (QUEUE, "failed-notifications-queue", lambda i: i.pop("redrivePolicy"), "sqs-kms-and-dead-letter"),
    ("aws:sqs/queuePolicy:QueuePolicy", "failed-notifications-queue-policy",
     lambda i: i.update(policy=i["policy"].replace('"Deny"', '"Allow"')), "sqs-tls-only"),
    (IDENTITY, "email-us-west-2-identity", lambda i: i.pop("dkimSigningAttributes"), "ses-identity-dkim-and-events"),
])
def test_a_weakened_mail_part_is_caught_on_the_plan_by_its_rule_only(type_: str, name: str, mutate, rule: str) -> None:
    plan = copy.deepcopy(plan_stack("dr"))
    target = plan.one(type_, name)
    mutate(target.inputs)
    assert {(v.rule, v.urn) for v in check_plan(plan)} == {(rule, target.urn)}
# The stack rule: every running service Deployment has an HPA and a PDB, critical PDBs keep minAvailable >= 1, and
# no PDB blocks a drain.
HPA, PDB = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "kubernetes:policy/v1:PodDisruptionBudget"
SERVICE_LABELS = {"app.kubernetes.io/name": "payments", "app.kubernetes.io/part-of": "creator-platform",
                  "dr-platform/tier": "critical"}


def service(replicas: int | None = None, tier: str = "critical") -> tuple[str, str, dict]:
    labels = {**SERVICE_LABELS, "dr-platform/tier": tier}
    spec = {"selector": {"matchLabels": {"app.kubernetes.io/name": "payments"}},
            "template": {"metadata": {"labels": labels}, "spec": pod(f"{ECR}/payments:1")},
            **({} if replicas is None else {"replicas": replicas})}
    return DEPLOYMENT, "urn:deployment", {"metadata": {"name": "payments", "namespace": "platform", "labels": labels},
                                          "spec": spec}


def hpa(min_replicas: int = 3, max_replicas: int = 6, target: str = "payments") -> tuple[str, str, dict]:
    return HPA, "urn:hpa", {"metadata": {"name": target, "namespace": "platform"}, "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
        "minReplicas": min_replicas, "maxReplicas": max_replicas}}


def pdb(**budget: object) -> tuple[str, str, dict]:
    return PDB, "urn:pdb", {"metadata": {"name": "payments", "namespace": "platform"}, "spec": {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "payments"}}, **budget}}


GOOD_SERVICE = [service(), hpa(), pdb(minAvailable=2)]
STACK_CASES = [  # (good stack, bad stack): the bad one breaks only this rule
    (GOOD_SERVICE, [service(), pdb(minAvailable=2)]),  # no HPA
    (GOOD_SERVICE, [service(), hpa(target="auth"), pdb(minAvailable=2)]),  # an HPA for another Deployment
    (GOOD_SERVICE, [service(), hpa()]),  # no PDB
    (GOOD_SERVICE, [service(), hpa(), pdb(maxUnavailable=1)]),  # critical: minAvailable, not maxUnavailable
    (GOOD_SERVICE, [service(), hpa(), pdb(minAvailable=0)]),
    (GOOD_SERVICE, [service(), hpa(), pdb(minAvailable=3)]),  # = the floor: every drain blocked
    (GOOD_SERVICE, [service(), hpa(min_replicas=3, max_replicas=2), pdb(minAvailable=2)]),
    ([service(tier="standard"), hpa(), pdb(maxUnavailable=1)],
     [service(tier="standard"), hpa(), pdb(maxUnavailable=0)]),  # a standard budget that allows nothing
    ([service(replicas=0)], [service(replicas=1)]),  # at 0 neither is needed; running, both are
]


@pytest.mark.parametrize(("good", "bad"), STACK_CASES)
def test_stack_rule_passes_good_and_flags_bad(good: list, bad: list) -> None:
    assert stack_violations(good) == []
    found = stack_violations(bad)
    assert found and {rule for rule, _, _ in found} == {"services-autoscaled-and-budgeted"}
    assert {urn for _, urn, _ in found} == {"urn:deployment"}


SECONDARY_MEMBER = (CACHE, "urn:cache-b", GOOD_SECONDARY)  # B's Global Datastore member (ldgnf-dr-cache)


def plan_listing(stores: str) -> tuple[str, str, dict]:
    return PLAN, "urn:plan", region_switch_plan([AURORA_STEP, CACHE_STEP], [AURORA_STEP, CACHE_STEP], stores)


@pytest.mark.parametrize(("good", "bad"), [
    ([SECONDARY_MEMBER, plan_listing(WITH_CACHE)], [SECONDARY_MEMBER, plan_listing("aurora-global:dr-core")]),
    ([SECONDARY_MEMBER, plan_listing(WITH_CACHE)],
     [SECONDARY_MEMBER, plan_listing("aurora-global:dr-core elasticache-global:other-cache")]),
    ([(CACHE, "urn:cold", GOOD_CACHE), plan_listing("aurora-global:dr-core")],  # a cold cache: nothing to promote
     [(CACHE, "urn:cold", GOOD_SECONDARY), plan_listing("aurora-global:dr-core")]),
])
def test_the_plan_must_list_the_global_datastore_the_stack_is_a_member_of(good: list, bad: list) -> None:
    assert stack_violations(good) == []
    found = stack_violations(bad)
    assert [(rule, urn) for rule, urn, _ in found] == [("region-switch-lists-every-global-store", "urn:plan")]
    assert "Global Datastore ldgnf-dr-cache" in found[0][2]
    assert stack_violations([SECONDARY_MEMBER]) == []  # no plan in the stack: nothing to judge


ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
EXECUTION_ROLE = "arn:aws:iam::1:role/dr-platform-region-switch"
DETECTION_ALARM = "arn:aws:cloudwatch:us-west-2:1:alarm:dr-platform-canary-probe-failed"


def triggered_plan(**changes: object) -> tuple[str, str, dict]:
    return PLAN, "urn:plan", {**GOOD_PLAN, "name": "dr-platform", "executionRole": EXECUTION_ROLE,
                              "associatedAlarms": [{"mapBlockKey": "canary", "alarmType": "trigger",
                                                    "resourceIdentifier": DETECTION_ALARM}],
                              "triggers": [{"action": "activate", "targetRegion": "us-west-2",
                                            "conditions": [{"associatedAlarmName": "canary", "condition": "red"}],
                                            "minDelayMinutesBetweenExecutions": 60}], **changes}


def execution_policy(*statements: dict, role: str = "dr-platform-region-switch") -> tuple[str, str, dict]:
    return ROLE_POLICY, "urn:execution-policy", {"role": role, "policy": json.dumps(
        {"Version": "2012-10-17", "Statement": list(statements)})}


READ_ALARM = {"Effect": "Allow", "Action": ["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"],
              "Resource": [DETECTION_ALARM]}
START_PLAN = {"Effect": "Allow", "Action": "arc-region-switch:StartPlanExecution",
              "Resource": "arn:aws:arc-region-switch::1:plan/dr-platform:*"}


@pytest.mark.parametrize(("good", "bad", "missing"), [
    ([triggered_plan(), execution_policy(READ_ALARM, START_PLAN)],
     [triggered_plan(), execution_policy(READ_ALARM)], "arc-region-switch:StartPlanExecution"),
    ([triggered_plan(), execution_policy(READ_ALARM, START_PLAN)],
     [triggered_plan(), execution_policy(START_PLAN)], f"cloudwatch:DescribeAlarms on {DETECTION_ALARM}"),
    ([triggered_plan(), execution_policy(READ_ALARM, START_PLAN)],  # another plan's start does not count
     [triggered_plan(), execution_policy(READ_ALARM, {**START_PLAN, "Resource": "arn:aws:arc-region-switch::1:plan/other:*"})],
     "arc-region-switch:StartPlanExecution"),
    ([triggered_plan(), execution_policy(READ_ALARM, START_PLAN)],  # granted to another role
     [triggered_plan(), execution_policy(READ_ALARM, START_PLAN, role="someone-else")],
     "arc-region-switch:StartPlanExecution"),
    ([triggered_plan(triggers=None, associatedAlarms=None), execution_policy()],  # no trigger: nothing to start
     [triggered_plan(), execution_policy()], "arc-region-switch:StartPlanExecution"),
])
def test_a_triggered_plan_needs_an_execution_role_that_can_read_its_alarms_and_start_it(good: list, bad: list,
                                                                                         missing: str) -> None:
    """ARC starts a triggered plan as its execution role, after reading the trigger's alarms (developer guide,
    "Plan execution role trust policy"); without the grant the trigger fires into an AccessDenied."""
    assert stack_violations(good) == []
    found = stack_violations(bad)
    assert [(rule, urn) for rule, urn, _ in found] == [("region-switch-triggers-can-start-it", "urn:plan")]
    assert missing in found[0][2] and "dr-platform-region-switch" in found[0][2]


def test_an_execution_policy_not_known_yet_is_not_judged() -> None:
    unknown = (ROLE_POLICY, "urn:execution-policy", {"role": "dr-platform-region-switch", "policy": None})
    assert stack_violations([triggered_plan(), unknown]) == []
    assert stack_violations([triggered_plan(executionRole=None), execution_policy()]) == []


def test_every_stack_rule_is_exercised_above() -> None:
    assert [r.name for r in STACK_RULES] == ["services-autoscaled-and-budgeted", "region-switch-lists-every-global-store",
                                             "region-switch-triggers-can-start-it"]


def budget_of(plan, service_name: str):
    (found,) = [r for r in plan.by_type(PDB) if r.inputs["metadata"]["name"] == service_name]
    return found


def test_a_dropped_or_blocking_disruption_budget_is_caught_on_the_plan_by_that_rule_only() -> None:
    plan = copy.deepcopy(plan_stack("dr", ["posture=warm-standby"]))
    assert check_plan(plan) == []
    (payments,) = [d for d in plan.by_type(DEPLOYMENT) if d.inputs["metadata"]["name"] == "payments"]
    budget = budget_of(plan, "payments")
    budget.inputs["spec"]["minAvailable"] = 2  # the HPA's floor in warm standby: no drain can evict a pod
    found = check_plan(plan)
    assert {(v.rule, v.urn) for v in found} == {("services-autoscaled-and-budgeted", payments.urn)}
    assert "blocks every drain" in found[0].message
    plan.resources.remove(budget)
    assert {(v.rule, v.urn) for v in check_plan(plan)} == {("services-autoscaled-and-budgeted", payments.urn)}


def test_a_service_without_its_hpa_is_caught_on_the_plan_by_that_rule_only() -> None:
    plan = copy.deepcopy(plan_stack("primary"))
    (hpa_resource,) = [r for r in plan.by_type(HPA) if r.inputs["metadata"]["name"] == "catalog"]
    plan.resources.remove(hpa_resource)
    found = check_plan(plan)
    assert [(v.rule, v.message) for v in found] == [
        ("services-autoscaled-and-budgeted", "catalog: no HorizontalPodAutoscaler targets this Deployment")]


def test_crossguard_wiring_runs_the_stack_rule_through_pulumi_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    captured = run_policy_pack(monkeypatch)
    (policy,) = [p for p in captured["policies"] if p.name == "services-autoscaled-and-budgeted"]

    def resource(type_: str, urn: str, props: dict) -> pulumi_policy.PolicyResource:
        options = pulumi_policy.PolicyResourceOptions(False, [], None, [], pulumi_policy.PolicyCustomTimeouts(0, 0, 0),
                                                      [])
        return pulumi_policy.PolicyResource(type_, props, urn, urn, options, None, None, [], {})

    reported: list[tuple[str, str | None]] = []
    args = pulumi_policy.StackValidationArgs([resource(*service()), resource(*hpa())])
    policy.validate(args, lambda message, urn=None: reported.append((message, urn)))
    assert reported == [("payments: no PodDisruptionBudget selects this Deployment's pods", "urn:deployment")]
