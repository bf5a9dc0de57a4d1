"""Container images for both regions: ECR repositories in region A, replicated by ECR to region B.

The clusters' networks have no internet egress (components/network.py), so every image comes from the region's
own ECR through its VPC endpoints, and region B must already hold the images when region A is gone: ECR's
registry replication copies every push from A to B. Repositories that replication creates in B take their
settings from a creation template in B (KMS with B's replica key, immutable tags), so B's copies are encrypted and
pinned the same way as A's. A template with a KMS key needs a role ECR creates the repositories with (pulumi-aws:
custom_role_arn is "Required if using repository tags or KMS encryption"); without it replication cannot create
B's repositories, and B, whose nodes have no egress, would have no images.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import child, data, service_trust


@dataclass
class ContainerRegistryArgs:
    repositories: list[str]  # e.g. "creator-platform/payments", "typesense/typesense"
    primary_provider: aws.Provider
    replica_provider: aws.Provider
    replica_region: str
    primary_kms_key_arn: pulumi.Input[str]
    replica_kms_key_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]  # the registry replication copies to (this account's registry in B)


class ContainerRegistry(pulumi.ComponentResource):
    repository_urls: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dr-platform:registry:ContainerRegistry", name, None, opts)
        self.repository_urls = {}
        for repository in args.repositories:
            repo = aws.ecr.Repository(
                f"{name}-{repository.replace('/', '-')}", name=repository,
                image_tag_mutability="IMMUTABLE",  # a tag means the same image in A and in B
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
                encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(
                    encryption_type="KMS", kms_key=args.primary_kms_key_arn)],
                opts=data(self, args.primary_provider))
            self.repository_urls[repository] = repo.repository_url
        creator = aws.iam.Role(f"{name}-replica-creator", name="dr-platform-ecr-replica-creator",
                               description="ECR creates the DR region's replicated repositories with this role",
                               assume_role_policy=service_trust("ecr.amazonaws.com"),
                               opts=child(self, args.replica_provider))
        creator_policy = aws.iam.RolePolicy(
            f"{name}-replica-creator-policy", role=creator.name,
            policy=pulumi.Output.all(args.account_id, args.replica_kms_key_arn).apply(
                lambda a: replica_creator_policy(args.replica_region, a[0], a[1])),
            opts=child(self, args.replica_provider))
        template = aws.ecr.RepositoryCreationTemplate(
            f"{name}-replicas", prefix="ROOT", applied_fors=["REPLICATION"],
            description="repositories ECR replication creates in the DR region",
            image_tag_mutability="IMMUTABLE", custom_role_arn=creator.arn,
            encryption_configurations=[aws.ecr.RepositoryCreationTemplateEncryptionConfigurationArgs(
                encryption_type="KMS", kms_key=args.replica_kms_key_arn)],
            opts=child(self, args.replica_provider, depends_on=[creator_policy]))
        aws.ecr.ReplicationConfiguration(
            f"{name}-replication",
            replication_configuration=aws.ecr.ReplicationConfigurationReplicationConfigurationArgs(rules=[
                aws.ecr.ReplicationConfigurationReplicationConfigurationRuleArgs(destinations=[
                    aws.ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArgs(
                        region=args.replica_region, registry_id=args.account_id)])]),
            opts=child(self, args.primary_provider, depends_on=[template]))  # B's copies get the template
        self.register_outputs({"repositoryUrls": self.repository_urls})


def replica_creator_policy(region: str, account_id: str, kms_key_arn: str) -> str:
    """What ECR's user guide gives the repository creation role ("Create a custom policy for repository creation
    templates"), scoped to this account's repositories in `region` and the one key the template names."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "CreateReplicatedRepositories", "Effect": "Allow",
         "Action": ["ecr:CreateRepository", "ecr:ReplicateImage", "ecr:TagResource"],
         "Resource": [f"arn:aws:ecr:{region}:{account_id}:repository/*"]},
        {"Sid": "EncryptWithTheReplicaKey", "Effect": "Allow",
         "Action": ["kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey"], "Resource": [kms_key_arn]},
    ]})
