"""Images: ECR repositories in A replicated to B, and each cluster pulls from its own region's registry."""
from __future__ import annotations

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
