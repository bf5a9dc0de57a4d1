"""FIS's rules for pod faults, which moto 5.2.5 does not check: it stores any target and any action parameters.

AWS (FIS user guide, "Use the AWS FIS aws:eks:pod actions", Limitations; "AWS FIS actions reference", the
aws:eks:pod-* actions):
- a target of type `aws:eks:pod` cannot be identified by resource ARNs or resource tags: it is identified by its
  resource parameters, of which `clusterIdentifier`, `namespace`, `selectorType` and `selectorValue` are required
  (`targetContainerName` and `availabilityZoneIdentifier` are optional);
- every `aws:eks:pod-*` action names the Kubernetes service account FIS's pod runs as (`kubernetesServiceAccount`)
  and targets pods (its `Pods` target, of type `aws:eks:pod`).
CreateExperimentTemplate and UpdateExperimentTemplate refuse a template that breaks one with a
ValidationException (HTTP 400), as FIS does, so a test cannot pass on a template FIS would not take.
"""
from __future__ import annotations

from typing import Any

from moto.fis.exceptions import FISException
from moto.fis.models import FISBackend

POD_TARGET_TYPE = "aws:eks:pod"
POD_ACTION_PREFIX = "aws:eks:pod-"
POD_TARGET_REQUIRED = ("clusterIdentifier", "namespace", "selectorType", "selectorValue")
POD_TARGET_OPTIONAL = ("targetContainerName", "availabilityZoneIdentifier")
POD_ACTION_TARGET_KEY = "Pods"

_original_create = FISBackend.create_experiment_template
_original_update = FISBackend.update_experiment_template


class ValidationException(FISException):
    code = 400

    def __init__(self, message: str):
        super().__init__("ValidationException", message)


def problems(targets: dict[str, Any], actions: dict[str, Any]) -> list[str]:
    found = []
    for name, target in (targets or {}).items():
        if target.get("resourceType") != POD_TARGET_TYPE:
            continue
        if target.get("resourceArns") or target.get("resourceTags"):
            found.append(f"target {name}: {POD_TARGET_TYPE} targets cannot be identified by resource ARNs or tags")
        parameters = target.get("parameters") or {}
        missing = [p for p in POD_TARGET_REQUIRED if not parameters.get(p)]
        if missing:
            found.append(f"target {name}: missing required parameters {', '.join(missing)}")
        unknown = sorted(set(parameters) - set(POD_TARGET_REQUIRED) - set(POD_TARGET_OPTIONAL))
        if unknown:
            found.append(f"target {name}: unknown parameters {', '.join(unknown)}")
    for name, action in (actions or {}).items():
        if not str(action.get("actionId", "")).startswith(POD_ACTION_PREFIX):
            continue
        if not (action.get("parameters") or {}).get("kubernetesServiceAccount"):
            found.append(f"action {name}: missing required parameter kubernetesServiceAccount")
        pods = (action.get("targets") or {}).get(POD_ACTION_TARGET_KEY)
        if pods is None or (targets or {}).get(pods, {}).get("resourceType") != POD_TARGET_TYPE:
            found.append(f"action {name}: its {POD_ACTION_TARGET_KEY} target must be of type {POD_TARGET_TYPE}")
    return found


def _check(targets: dict[str, Any] | None, actions: dict[str, Any] | None) -> None:
    found = problems(targets or {}, actions or {})
    if found:
        raise ValidationException("; ".join(found))


def _create(self: FISBackend, *args: Any, **kwargs: Any) -> dict[str, Any]:
    _check(kwargs.get("targets"), kwargs.get("actions"))
    return _original_create(self, *args, **kwargs)


def _update(self: FISBackend, id: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    template = self.experiment_templates.get(id)
    if template is not None:
        targets = kwargs.get("targets")
        actions = kwargs.get("actions")
        _check(template.targets if targets is None else targets, template.actions if actions is None else actions)
    return _original_update(self, id, *args, **kwargs)


def install() -> None:
    FISBackend.create_experiment_template = _create  # type: ignore[method-assign]
    FISBackend.update_experiment_template = _update  # type: ignore[method-assign]
