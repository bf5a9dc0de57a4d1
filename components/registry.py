"""Container images for both regions: ECR repositories in region A, replicated by ECR to region B.

The clusters' networks have no internet egress (components/network.py), so every image comes from the region's
own ECR through its VPC endpoints, and region B must already hold the images when region A is gone: ECR's
registry replication copies every push from A to B. Repositories that replication creates in B take their
settings from a creation template in B (KMS with B's replica key, immutable tags), so B's copies are encrypted and
pinned the same way as A's.
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import child, data


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
        template = aws.ecr.RepositoryCreationTemplate(
            f"{name}-replicas", prefix="ROOT", applied_fors=["REPLICATION"],
            description="repositories ECR replication creates in the DR region",
            image_tag_mutability="IMMUTABLE",
            encryption_configurations=[aws.ecr.RepositoryCreationTemplateEncryptionConfigurationArgs(
                encryption_type="KMS", kms_key=args.replica_kms_key_arn)],
            opts=child(self, args.replica_provider))
        aws.ecr.ReplicationConfiguration(
            f"{name}-replication",
            replication_configuration=aws.ecr.ReplicationConfigurationReplicationConfigurationArgs(rules=[
                aws.ecr.ReplicationConfigurationReplicationConfigurationRuleArgs(destinations=[
                    aws.ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArgs(
                        region=args.replica_region, registry_id=args.account_id)])]),
            opts=child(self, args.primary_provider, depends_on=[template]))  # B's copies get the template
        self.register_outputs({"repositoryUrls": self.repository_urls})

