"""Images: ECR repositories in A replicated to B, and each cluster pulls from its own region's registry."""
from __future__ import annotations

import json

import pytest

from ops.core.images import reference_of, regional_image, registry_host, repository_of
from ops.drctl.planning.mockplan import Plan
from stacks.config_files import load_stack_settings


@pytest.mark.parametrize(("image", "host", "repository", "reference"), [
    ("creator-platform/payments:1.0.0", None, "creator-platform/payments", "1.0.0"),
    ("typesense/typesense:0.24.1", None, "typesense/typesense", "0.24.1"),
    ("payments@sha256:" + "a" * 64, None, "payments", "sha256:" + "a" * 64),
    ("payments:1.0@sha256:" + "b" * 64, None, "payments", "sha256:" + "b" * 64),  # the digest is what is pulled
    ("ghcr.io/creator-platform/auth:2.1", "ghcr.io", "ghcr.io/creator-platform/auth", "2.1"),
    ("localhost:5000/x:1", "localhost:5000", "localhost:5000/x", "1"),
    ("localhost:5000/x", "localhost:5000", "localhost:5000/x", None),
    ("localhost/x:1", "localhost", "localhost/x", "1"),
])
def test_registry_repository_and_reference_of_an_image(image: str, host: str | None, repository: str,
                                                        reference: str | None) -> None:
    assert registry_host(image) == host
    assert repository_of(image) == repository
    assert reference_of(image) == reference


def test_images_without_a_registry_come_from_the_regions_ecr() -> None:
    assert regional_image("creator-platform/users:3", "111122223333", "us-west-2") == \
        "111122223333.dkr.ecr.us-west-2.amazonaws.com/creator-platform/users:3"
    assert regional_image("ghcr.io/x/y:1", "111122223333", "us-west-2") == "ghcr.io/x/y:1"  # as given


def test_primary_owns_encrypted_immutable_repositories_replicated_to_b(primary_plan: Plan) -> None:
    compute = load_stack_settings("primary").compute
    wanted = {repository_of(i) for i in [*(s.image for s in compute.services), compute.typesense_image,
                                          compute.cluster_autoscaler_image,
                                          compute.ops_image]}  # the toolkit's image: B's search feed runs it
    repositories = {r.inputs["name"]: r for r in primary_plan.by_type("aws:ecr/repository:Repository")}
    assert set(repositories) == wanted
    for repo in repositories.values():
        assert repo.region == "us-east-1" and repo.protect and repo.retainOnDelete
        assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
        assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        (encryption,) = repo.inputs["encryptionConfigurations"]
        assert encryption == {"encryptionType": "KMS", "kmsKey": primary_plan.outputs["kmsPrimaryKeyArn"]}
    (replication,) = primary_plan.by_type("aws:ecr/replicationConfiguration:ReplicationConfiguration")
    (rule,) = replication.inputs["replicationConfiguration"]["rules"]
    assert rule["destinations"] == [{"region": "us-west-2", "registryId": "123456789012"}]
    (template,) = primary_plan.by_type("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
    assert template.region == "us-west-2" and template.inputs["appliedFors"] == ["REPLICATION"]
    assert template.inputs["encryptionConfigurations"] == [
        {"encryptionType": "KMS", "kmsKey": primary_plan.outputs["kmsReplicaKeyArn"]}]
    assert template.urn in replication.dependencies  # B's copies are created from it, not with defaults


def test_the_creation_template_names_a_role_ecr_can_create_bs_repositories_with(primary_plan: Plan) -> None:
    """pulumi-aws 7.51 RepositoryCreationTemplate.custom_role_arn: "A custom IAM role to use for repository
    creation. Required if using repository tags or KMS encryption." The role is the one ECR's user guide describes
    ("Create an IAM role for repository creation templates"): trusted by ecr.amazonaws.com, allowed
    ecr:CreateRepository, ecr:ReplicateImage, ecr:TagResource and kms:CreateGrant, kms:RetireGrant,
    kms:DescribeKey; here scoped to B's repositories and B's key."""
    (template,) = primary_plan.by_type("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
    roles = {r.inputs.get("name", r.name): r for r in primary_plan.by_type("aws:iam/role:Role")}
    role = next(r for r in roles.values() if template.inputs.get("customRoleArn", "").endswith(
        f":role/{r.inputs.get('name', r.name)}"))
    assert role.urn in template.dependencies
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"] == [{"Effect": "Allow", "Principal": {"Service": "ecr.amazonaws.com"},
                                   "Action": "sts:AssumeRole"}]
    (policy,) = [p for p in primary_plan.by_type("aws:iam/rolePolicy:RolePolicy") if p.parent == role.parent
                 and p.inputs["role"] == role.inputs.get("name", role.name)]
    assert policy.urn in template.dependencies  # the role can act before replication first needs it
    granted = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert set(granted["CreateReplicatedRepositories"]["Action"]) == {
        "ecr:CreateRepository", "ecr:ReplicateImage", "ecr:TagResource"}
    assert granted["CreateReplicatedRepositories"]["Resource"] == ["arn:aws:ecr:us-west-2:123456789012:repository/*"]
    assert set(granted["EncryptWithTheReplicaKey"]["Action"]) == {"kms:CreateGrant", "kms:RetireGrant",
                                                                  "kms:DescribeKey"}
    assert granted["EncryptWithTheReplicaKey"]["Resource"] == [primary_plan.outputs["kmsReplicaKeyArn"]]
