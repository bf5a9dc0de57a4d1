"""AWS Backup's per-region settings: the resource types the plan backs up are opted in, and DynamoDB's advanced
features (full AWS Backup management, which cross-Region copy of a DynamoDB backup needs) are on, in both regions.

AWS Backup API, DescribeRegionSettings: "If service opt-in is enabled for a service, AWS Backup tries to protect
that service's resources in this Region ... Otherwise, AWS Backup does not try to protect that service's resources
in this Region", and "If "DynamoDB":false, you can enable full AWS Backup management for DynamoDB backup by
enabling AWS Backup's advanced DynamoDB backup features". Accounts with older defaults have both off."""
from __future__ import annotations

from ops.drctl.planning.mockplan import Plan

REGION_SETTINGS = "aws:backup/regionSettings:RegionSettings"


def test_both_regions_opt_in_what_the_plan_backs_up(primary_plan: Plan) -> None:
    settings = {r.region: r for r in primary_plan.by_type(REGION_SETTINGS)}
    assert set(settings) == {"us-east-1", "us-west-2"}  # A takes the backups, B holds the copies (and restores)
    for region, resource in settings.items():
        assert resource.inputs["resourceTypeOptInPreference"] == {"Aurora": True, "DynamoDB": True, "S3": True}, \
            region
        assert resource.inputs["resourceTypeManagementPreference"] == {"DynamoDB": True}, region
    # The plan and its copy job run only once the region settings are in place.
    (plan,) = primary_plan.by_type("aws:backup/plan:Plan")
    (selection,) = primary_plan.by_type("aws:backup/selection:Selection")
    for resource in settings.values():
        assert resource.urn in plan.dependencies and resource.urn in selection.dependencies


def test_every_selected_resource_type_is_opted_in(primary_plan: Plan) -> None:
    """What the selection names (by ARN service) is what the settings opt in: a new store type must be added."""
    backup_type = {"rds": "Aurora", "dynamodb": "DynamoDB", "s3": "S3"}  # AWS Backup's names for them
    (selection,) = primary_plan.by_type("aws:backup/selection:Selection")
    selected = {backup_type[arn.split(":")[2]] for arn in selection.inputs["resources"]}
    for resource in primary_plan.by_type(REGION_SETTINGS):
        opted = {name for name, on in resource.inputs["resourceTypeOptInPreference"].items() if on}
        assert selected <= opted, resource.region
