"""ARC Region switch plans, read through a region's data plane (ListPlansInRegion, GetPlanInRegion,
GetPlanEvaluationStatus answer in each region the plan names, so they work while the other region is down)."""
from __future__ import annotations

from typing import Any


def plans_named(arc: Any, name: str) -> list[dict[str, Any]]:
    """The plans called `name` that the client's region serves (each an abbreviated plan: arn, version, ...)."""
    return [plan for page in arc.get_paginator("list_plans_in_region").paginate()
            for plan in page.get("plans", []) if plan.get("name") == name]


def plan_in_region(arc: Any, arn: str) -> dict[str, Any]:
    """The whole plan: workflows, triggers, associatedAlarms, version."""
    return arc.get_plan_in_region(arn=arn)["plan"]


def evaluation_status(arc: Any, arn: str) -> dict[str, Any]:
    """Region switch's own evaluation of the plan (IAM permissions, resource configuration, running capacity):
    evaluationState, lastEvaluatedVersion, lastEvaluationTime, and every warning across the pages."""
    status: dict[str, Any] = {"warnings": []}
    for page in arc.get_paginator("get_plan_evaluation_status").paginate(planArn=arn):
        status.update({k: v for k, v in page.items() if k not in ("warnings", "nextToken", "ResponseMetadata")})
        status["warnings"] += page.get("warnings", [])
    return status


def quota_warnings(arc: Any, arn: str) -> list[dict[str, Any]]:
    """Region switch's service quota warnings for the plan: a quota lower in one region than the plan's resources
    use in the other, or a check it could not make (each: quotaRegion, serviceCode, quotaName, status,
    warningMessage). Separate from the evaluation's warnings."""
    return [w for page in arc.get_paginator("list_service_quota_warnings").paginate(planArns=[arn])
            for w in page.get("serviceQuotaWarningSummaries", [])]
