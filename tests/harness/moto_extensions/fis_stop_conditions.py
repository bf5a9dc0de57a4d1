"""FIS stop conditions, which moto 5.2.5 stores but never applies.

AWS (FIS user guide, "Stop conditions for AWS FIS"): when a stop-condition CloudWatch alarm goes to ALARM during
an experiment, FIS stops it: the experiment moves to `stopping` and then `stopped` (a stopped experiment cannot be
resumed), its unfinished actions are stopped and it gets an end time. moto already moves an experiment through
pending → initiating → running → completed on its state manager (`moto-api/state-manager`, model
`fis::experiment`, so a test can hold it in `running`) and honours the clientToken; this adds the stop: whenever an
experiment that has not finished is read, an alarm of its stop conditions (moto's CloudWatch backend of the
experiment's account and region) in ALARM stops it, with that alarm named in the state's reason.
"""
from __future__ import annotations

from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.fis.models import Experiment, FISBackend

STOPPED_REASON = "Experiment stopped by stop condition"

_original_get_experiment = FISBackend.get_experiment
_original_list_experiments = FISBackend.list_experiments
_original_to_dict = Experiment.to_dict
_original_to_summary_dict = Experiment.to_summary_dict


def _alarm_in_alarm(experiment: Experiment) -> str | None:
    alarms = cloudwatch_backends[experiment.account_id][experiment.region_name].alarms
    for condition in experiment.stop_conditions or []:
        if condition.get("source") != "aws:cloudwatch:alarm":
            continue
        name = str(condition.get("value", "")).split(":alarm:", 1)[-1]
        alarm = alarms.get(name)
        if alarm is not None and alarm.state_value == "ALARM":
            return str(condition["value"])
    return None


def _apply_stop_conditions(experiment: Experiment) -> None:
    # `_status`, not `status`: reading `status` moves the experiment along its transitions
    if experiment._status in Experiment.TERMINAL_STATUSES or getattr(experiment, "_drctl_stopped_by", None):
        return
    arn = _alarm_in_alarm(experiment)
    if arn is not None:
        experiment._drctl_stopped_by = arn  # type: ignore[attr-defined]
        experiment.status = "stopped"  # stopping → stopped at once: nothing here is left to roll back


def _with_reason(experiment: Experiment, answer: dict[str, Any]) -> dict[str, Any]:
    stopped_by = getattr(experiment, "_drctl_stopped_by", None)
    if stopped_by and answer.get("state", {}).get("status") == "stopped":
        answer["state"]["reason"] = f"{STOPPED_REASON} {stopped_by}"
        for action in (answer.get("actions") or {}).values():  # an action that had finished stays finished
            if (action.get("state") or {}).get("status") not in ("completed", "failed", "cancelled"):
                action["state"] = {"status": "stopped", "reason": "Action was stopped by a stop condition"}
    return answer


def _get_experiment(self: FISBackend, id: str) -> dict[str, Any]:
    experiment = self.experiments.get(id)
    if experiment is not None:
        _apply_stop_conditions(experiment)
    return _original_get_experiment(self, id)


def _list_experiments(self: FISBackend, *args: Any, **kwargs: Any) -> Any:
    for experiment in self.experiments.values():
        _apply_stop_conditions(experiment)
    return _original_list_experiments(self, *args, **kwargs)


def _to_dict(self: Experiment, tags: dict[str, str] | None = None) -> dict[str, Any]:
    return _with_reason(self, _original_to_dict(self, tags))


def _to_summary_dict(self: Experiment, tags: dict[str, str] | None = None) -> dict[str, Any]:
    return _with_reason(self, _original_to_summary_dict(self, tags))


def install() -> None:
    FISBackend.get_experiment = _get_experiment  # type: ignore[method-assign]
    FISBackend.list_experiments = _list_experiments  # type: ignore[method-assign]
    Experiment.to_dict = _to_dict  # type: ignore[method-assign]
    Experiment.to_summary_dict = _to_summary_dict  # type: ignore[method-assign]
