"""ARC Region switch, which moto 5.2.5 does not have: a backend for the plan calls `drctl verify` reads, plus the
CreatePlan/UpdatePlan a test builds its world with.

Semantics from the ARC Region switch API reference and developer guide:
- a plan is an account's, not a region's: its ARN has no region (`arn:aws:arc-region-switch::<account>:plan/
  <name>:<6 lowercase letters or digits>`), and each region the plan names serves it through that region's data
  plane (ListPlansInRegion, GetPlanInRegion, GetPlanEvaluationStatus); a plan is not found in a region it does not
  name (ResourceNotFoundException, HTTP 404);
- "Whenever you create, or update, a plan, Region switch performs a plan evaluation, to ensure that there aren't
  issues with IAM permissions, resource configurations, or running capacity. Region switch runs these evaluations
  regularly, and generates a warning for any issues that it finds." The evaluation runs apart from the call, so a new
  or updated version is `pendingEvaluation` until it has run, and `lastEvaluatedVersion` stays the last version
  evaluated. What ARC finds is AWS's own judgement, which a test sets with `evaluate()`: `actionRequired` with the
  warnings while any is active, else `passed`. Service quota checks run apart from it ("Working with service quota
  checks") and answer through ListServiceQuotaWarnings, every plan's unless `planArns` narrows it; a test adds one
  with `warn_quota()`.
- CreatePlan, UpdatePlan and DeletePlan are the control plane's. A test world is built through the backend's
  `create_plan`/`Plan.update` with the fields verify reads, since the provider's nested step blocks are not the
  API's shapes (botocore refuses a step without its executionBlockConfiguration); UpdatePlan replaces the fields it
  is given and makes a new version.
- Request and answer shapes are the botocore model's (JSON 1.0, target prefix `ArcRegionSwitch`), which boto3
  speaks to this service (its `protocols` list `json` after `smithy-rpc-v2-cbor`; botocore prefers json).
"""
from __future__ import annotations

import json
import random
import re
import string
import sys
import types
from datetime import datetime, timezone
from typing import Any

from moto import backend_index
from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse
from moto.utilities.utils import PARTITION_NAMES

SERVICE = "arcregionswitch"  # moto's name for it: get_backend imports moto.<name>.<name>_backends
URL_PATTERN = re.compile(r"https?://arc-region-switch\.(.+)\.amazonaws\.com")
PLAN_NAME = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?")
REQUIRED = ("name", "workflows", "executionRole", "regions", "recoveryApproach")
ABBREVIATED = ("arn", "owner", "name", "regions", "recoveryApproach", "primaryRegion", "version", "updatedAt",
               "description", "executionRole", "recoveryTimeObjectiveMinutes")
UPDATABLE = ("description", "workflows", "executionRole", "recoveryTimeObjectiveMinutes", "associatedAlarms",
             "triggers")


class ResourceNotFoundException(JsonRESTError):
    code = 404

    def __init__(self, message: str) -> None:
        super().__init__("ResourceNotFoundException", message)


class ValidationException(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


class Plan:
    def __init__(self, account_id: str, spec: dict[str, Any]) -> None:
        suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=6))
        self.arn = f"arn:aws:arc-region-switch::{account_id}:plan/{spec['name']}:{suffix}"
        self.fields: dict[str, Any] = {k: v for k, v in spec.items() if k != "tags"}
        self.fields.update(arn=self.arn, owner=account_id)
        self.tags = dict(spec.get("tags") or {})
        self.version = 0
        self.evaluation: dict[str, Any] = {"evaluationState": "pendingEvaluation", "warnings": []}
        self._new_version()

    def _new_version(self) -> None:
        self.version += 1
        self.fields.update(version=str(self.version), updatedAt=datetime.now(timezone.utc).timestamp())
        if self.evaluation.get("lastEvaluatedVersion") != str(self.version):
            self.evaluation["evaluationState"] = "pendingEvaluation"

    def update(self, changes: dict[str, Any]) -> None:
        self.fields.update({k: v for k, v in changes.items() if k in UPDATABLE and v is not None})
        self._new_version()

    def serves(self, region: str) -> bool:
        return region in self.fields["regions"]

    def abbreviated(self) -> dict[str, Any]:
        return {k: self.fields[k] for k in ABBREVIATED if k in self.fields}


class ArcRegionSwitchBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.plans: dict[str, Plan] = {}
        self.quota_warnings: list[dict[str, Any]] = []

    @property
    def _url_module(self) -> Any:
        return sys.modules[f"moto.{SERVICE}.urls"]

    def create_plan(self, spec: dict[str, Any]) -> Plan:
        missing = [k for k in REQUIRED if not spec.get(k)]
        if missing:
            raise ValidationException(f"missing required field(s): {', '.join(missing)}")
        if not PLAN_NAME.fullmatch(spec["name"]):
            raise ValidationException(f"plan name {spec['name']!r} does not match {PLAN_NAME.pattern}")
        plan = Plan(self.account_id, spec)
        self.plans[plan.arn] = plan
        return plan

    def plan(self, arn: str, region: str | None = None) -> Plan:
        plan = self.plans.get(arn)
        if plan is None or (region is not None and not plan.serves(region)):
            raise ResourceNotFoundException(f"plan {arn} not found" + (f" in {region}" if region else ""))
        return plan

    def in_region(self, region: str) -> list[Plan]:
        return [p for p in self.plans.values() if p.serves(region)]

    def warn_quota(self, arn: str, **summary: Any) -> None:
        """Region switch's quota check found a mismatch (or could not check): a ServiceQuotaWarningSummary."""
        plan = self.plan(arn)
        now = datetime.now(timezone.utc).timestamp()
        self.quota_warnings.append({"accountId": self.account_id, "planArn": plan.arn, "lastCheckedAt": now,
                                    "warningCreatedAt": now, **summary})

    def evaluate(self, arn: str, warnings: list[dict[str, Any]] | None = None) -> None:
        """Region switch's evaluation of the plan's current version: each warning a ResourceWarning (workflow,
        stepName, resourceArn, warningMessage, warningStatus active|resolved)."""
        plan = self.plan(arn)
        now = datetime.now(timezone.utc).timestamp()
        found = [{"version": str(plan.version), "warningStatus": "active", "warningUpdatedTime": now, **w}
                 for w in warnings or []]
        active = any(w["warningStatus"] == "active" for w in found)
        plan.evaluation = {"evaluationState": "actionRequired" if active else "passed",
                           "lastEvaluatedVersion": str(plan.version), "lastEvaluationTime": now, "warnings": found}


# One per account and partition (as IAM's): a plan belongs to no region.
arcregionswitch_backends = BackendDict(ArcRegionSwitchBackend, "arc-region-switch", use_boto3_regions=False,
                                       additional_regions=PARTITION_NAMES)


def backend(account_id: str = "123456789012") -> ArcRegionSwitchBackend:
    return arcregionswitch_backends[account_id]["aws"]


def _page(items: list[Any], token: str | None, limit: int | None) -> tuple[list[Any], str | None]:
    start = int(token or 0)
    end = start + (limit or 100)
    return items[start:end], (str(end) if end < len(items) else None)


class ArcRegionSwitchResponse(BaseResponse):
    def __init__(self) -> None:
        super().__init__(service_name="arc-region-switch")

    @property
    def backend(self) -> ArcRegionSwitchBackend:
        return backend(self.current_account)

    def create_plan(self) -> str:
        spec = {k: v for k, v in json.loads(self.body or "{}").items()}
        return json.dumps({"plan": self.backend.create_plan(spec).fields})

    def update_plan(self) -> str:
        changes = json.loads(self.body or "{}")
        plan = self.backend.plan(changes["arn"])
        plan.update(changes)
        return json.dumps({"plan": plan.fields})

    def delete_plan(self) -> str:
        self.backend.plans.pop(self.backend.plan(self._get_param("arn")).arn)
        return "{}"

    def get_plan_in_region(self) -> str:
        return json.dumps({"plan": self.backend.plan(self._get_param("arn"), self.region).fields})

    def list_plans_in_region(self) -> str:
        plans, token = _page([p.abbreviated() for p in self.backend.in_region(self.region)],
                             self._get_param("nextToken"), self._get_param("maxResults"))
        return json.dumps({"plans": plans, **({"nextToken": token} if token else {})})

    def get_plan_evaluation_status(self) -> str:
        plan = self.backend.plan(self._get_param("planArn"), self.region)
        evaluation = plan.evaluation
        warnings, token = _page(evaluation["warnings"], self._get_param("nextToken"), self._get_param("maxResults"))
        answer = {"planArn": plan.arn, "region": self.region, "warnings": warnings,
                  **{k: v for k, v in evaluation.items() if k != "warnings"}}
        return json.dumps({**answer, **({"nextToken": token} if token else {})})


    def list_service_quota_warnings(self) -> str:
        wanted = set(self._get_param("planArns") or [])  # none: every plan's
        found = [w for w in self.backend.quota_warnings if not wanted or w["planArn"] in wanted]
        warnings, token = _page(found, self._get_param("nextToken"), self._get_param("maxResults"))
        return json.dumps({"serviceQuotaWarningSummaries": warnings, **({"nextToken": token} if token else {})})


def install() -> None:
    """Register the service with moto: a module moto imports it from, its URL, and its server dispatch."""
    if f"moto.{SERVICE}" in sys.modules:
        return
    response = ArcRegionSwitchResponse()
    urls = types.ModuleType(f"moto.{SERVICE}.urls")
    urls.url_bases = [URL_PATTERN.pattern]  # type: ignore[attr-defined]
    urls.url_paths = {"{0}/$": response.dispatch}  # type: ignore[attr-defined]
    package = types.ModuleType(f"moto.{SERVICE}")
    package.arcregionswitch_backends = arcregionswitch_backends  # type: ignore[attr-defined]
    package.urls = urls  # type: ignore[attr-defined]
    sys.modules[f"moto.{SERVICE}"] = package
    sys.modules[f"moto.{SERVICE}.urls"] = urls
    backend_index.backend_url_patterns.append((SERVICE, URL_PATTERN))
