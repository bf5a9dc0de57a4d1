"""`drctl drill run QX --account`: the quarter's AWS FIS experiment on the real account, as a runbook.

Steps (ops/drctl/runbooks/engine.py: dry-run by default, `--execute` acts, a journal per run, `--resume RUN_ID`):

1. preflight (read-only): the template tagged `dr-platform:drill = QX` in the scenario's region, its actions,
   targets and stop conditions; refused while a stop-condition alarm is in ALARM (the system is not in steady
   state: FIS would stop at once and the drill would prove nothing) or while another run's experiment of the
   template is still going.
2. start: StartExperiment with clientToken `drctl-drill-QX-<run id>`: resuming the run never injects twice.
3. follow: GetExperiment until the experiment finishes (bounded by --timeout), every state noted when first seen.
4. steady-state: the stop-condition alarms back to not-ALARM (bounded; recorded either way).
5. evidence: a section in ops/dr/drill_reports/YYYY-QX.md (the sandbox drills' format and files, origin "real
   AWS account"), its JSON twin and PNG timeline; it names what each target selected (ARNs, or for Q3's
   `aws:eks:pod` target the cluster, namespace and label selector FIS resolves pods by). The drill fails (exit
   1) unless the experiment completed: a stopped experiment means a stop condition fired, i.e. the fault was not
   absorbed.

FIS injects the fault; it does not measure recovery. RTO and RPO are therefore "not measured" in this report (the
sandbox drills measure them with probes); what it proves is that the fault ran its full course with no stop
condition firing, and how long each action took.
"""
from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from ops.actions import cloudwatch
from ops.actions import fis as fis_actions
from ops.actions.polling import WaitTimeout, poll_until
from ops.core.environments import PRODUCTION
from ops.core.errors import BadInput
from ops.drctl.runbooks.engine import Runbook, RunContext, Step

NAME = "AWS FIS drill"
RUN_TAG = "dr-platform:drill-run"  # on the experiment: which drill run started it
ALARM_TYPES = ("MetricAlarm", "CompositeAlarm")


class DrillFailed(RuntimeError):
    """The experiment did not complete: the message says how it ended and where the evidence is."""


def _fis(ctx: RunContext) -> Any:
    return ctx.client("fis", ctx.params["region"])


def _alarm_arns(template: dict[str, Any]) -> list[str]:
    return [s["value"] for s in template.get("stopConditions", []) if s.get("source") == "aws:cloudwatch:alarm"]


def _states(ctx: RunContext, arns: list[str]) -> dict[str, str | None]:
    names = {cloudwatch.alarm_name(arn): arn for arn in arns}
    found = cloudwatch.alarm_states(ctx.client("cloudwatch", ctx.params["region"]), list(names), ALARM_TYPES)
    return {names[name]: (state or {}).get("state") for name, state in found.items()}


def _preflight(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    fis = _fis(ctx)
    try:
        template = fis_actions.find_template(fis, p["scenario"], p.get("environment", PRODUCTION))
    except fis_actions.TemplateNotFound as exc:
        raise BadInput(str(exc)) from None
    others = [e for e in fis_actions.active_experiments(fis, template["id"])
              if (e.get("tags") or {}).get(RUN_TAG) != ctx.run_id]
    if others:
        running = others[0]
        raise BadInput(f"experiment {running['id']} of template {template['id']} is {running['state']['status']} "
                       f"(drill run {(running.get('tags') or {}).get(RUN_TAG, 'not started by drctl')}): wait for "
                       "it to finish, or follow it with `drctl drill run --resume RUN_ID`")
    arns = _alarm_arns(template)
    states = _states(ctx, arns)
    missing = [arn for arn, state in states.items() if state is None]
    if missing:
        raise BadInput(f"stop condition alarms of template {template['id']} do not exist: {', '.join(missing)}")
    breached = [arn for arn, state in states.items() if state == "ALARM"]
    if breached:
        raise RuntimeError(f"not in steady state: stop condition alarms in ALARM: {', '.join(breached)}; FIS would "
                           "stop the experiment at once. Clear them first")
    actions = {name: {"actionId": a["actionId"], "targets": a.get("targets", {}),
                      "parameters": a.get("parameters", {})} for name, a in template.get("actions", {}).items()}
    listed = ", ".join(f"{n} ({a['actionId']})" for n, a in actions.items())
    ctx.log(f"template {template['id']}: {listed}; stop conditions {states}")
    return {"template_id": template["id"], "description": template.get("description", ""), "actions": actions,
            "targets": {n: _target(t) for n, t in template.get("targets", {}).items()},
            "stop_alarms": states}


def _target(target: dict[str, Any]) -> dict[str, Any]:
    """What a target selects: its resources by ARN, or (aws:eks:pod: no ARNs) the parameters FIS resolves."""
    return {"resourceType": target.get("resourceType"), "selectionMode": target.get("selectionMode"),
            "resourceArns": target.get("resourceArns", []), "parameters": target.get("parameters", {})}


def describe_target(name: str, target: dict[str, Any]) -> str:
    """`typesense-pods (aws:eks:pod, ALL: clusterIdentifier=..., namespace=...)`."""
    selects = target["resourceArns"] or [f"{k}={v}" for k, v in sorted(target["parameters"].items())]
    return f"{name} ({target['resourceType']}, {target['selectionMode']}: {', '.join(selects)})"


def _would_start(ctx: RunContext) -> list[str]:
    found = ctx.results["preflight"]
    targets = found["targets"]
    injects = "; ".join(
        f"{n}: {a['actionId']} on "
        f"{', '.join(describe_target(t, targets[t]) if t in targets else t for t in a['targets'].values())}"
        for n, a in found["actions"].items())
    return [(f"fis:StartExperiment experimentTemplateId={found['template_id']} clientToken="
            f"{fis_actions.client_token(ctx.params['scenario'], ctx.run_id)} (injects {injects})")]


def _start(ctx: RunContext) -> dict[str, Any]:
    p, found = ctx.params, ctx.results["preflight"]
    experiment = fis_actions.start_experiment(
        _fis(ctx), found["template_id"], fis_actions.client_token(p["scenario"], ctx.run_id),
        tags={RUN_TAG: ctx.run_id, "dr-platform:drill": p["scenario"]})
    ctx.log(f"experiment {experiment['id']} {experiment['state']['status']}")
    return {"experiment_id": experiment["id"], "start_time": _epoch(experiment.get("startTime")) or time.time()}


def _follow(ctx: RunContext) -> dict[str, Any]:
    p, experiment_id = ctx.params, ctx.results["start"]["experiment_id"]
    seen: dict[str, float] = dict(ctx.progress.get("seen", {}))

    def note(experiment: dict[str, Any]) -> None:
        status = experiment["state"]["status"]
        if status not in seen:
            seen[status] = time.time()
            ctx.log(f"experiment {experiment_id}: {status} ({experiment['state'].get('reason', '')})")
            ctx.checkpoint({"seen": seen}, status)

    final = fis_actions.wait_until_finished(_fis(ctx), experiment_id, timeout_s=p["timeout_s"], poll_s=p["poll_s"],
                                            on_poll=note)
    return {"status": final["state"]["status"], "reason": final["state"].get("reason", ""), "seen": seen,
            "start_time": _epoch(final.get("startTime")), "end_time": _epoch(final.get("endTime")),
            "actions": {name: {"actionId": a.get("actionId"), "status": (a.get("state") or {}).get("status"),
                               "start_time": _epoch(a.get("startTime")), "end_time": _epoch(a.get("endTime"))}
                        for name, a in (final.get("actions") or {}).items()}}


def _steady_state(ctx: RunContext) -> dict[str, Any]:
    arns = list(ctx.results["preflight"]["stop_alarms"])
    try:
        states = poll_until(lambda: _states(ctx, arns), lambda s: all(v != "ALARM" for v in s.values()),
                            timeout_s=ctx.params["settle_timeout_s"], poll_s=ctx.params["poll_s"],
                            what="the stop condition alarms to leave ALARM")
        return {"restored": True, "at": time.time(), "alarms": states}
    except WaitTimeout as exc:
        return {"restored": False, "at": None, "alarms": _states(ctx, arns), "note": str(exc)}


def _would_record(ctx: RunContext) -> list[str]:
    return [(f"write the drill's section to {ctx.params['report_dir']}/YYYY-{ctx.params['scenario']}.md "
            "(JSON twin, PNG timeline)")]


def _evidence(ctx: RunContext) -> dict[str, Any]:
    from ops.drctl.drills import report

    run = drill_run(ctx.params, ctx.run_id, ctx.results)
    md, twin, png = report.write(run, Path(ctx.params["report_dir"]), ctx.params["objectives"])
    result = {"report": str(md), "twin": str(twin), "timeline": str(png), "status": run["status"]}
    if run["status"] != "done":
        ctx.checkpoint(result, "recorded")
        raise DrillFailed(f"{run['error']}; evidence in {md}")
    return result


def drill_run(params: dict[str, Any], run_id: str, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The run in the sandbox drills' record format (ops/drctl/drills/scenarios.py DrillRun.as_dict)."""
    found, started, followed, steady = (results["preflight"], results["start"], results["follow"],
                                        results["steady-state"])
    begin = followed.get("start_time") or started["start_time"]
    end = followed.get("end_time") or time.time()
    completed = followed["status"] == "completed"
    steps = [{"name": "experiment", "started_at": begin, "finished_at": end, "seconds": round(end - begin, 3),
              "ok": completed, "expected_seconds": None, "detail": {"experiment_id": started["experiment_id"],
                                                                    "status": followed["status"]}}]
    for name, action in followed["actions"].items():
        a0, a1 = action["start_time"] or begin, action["end_time"]
        steps.append({"name": f"fis/{name}", "started_at": a0, "finished_at": a1,
                      "seconds": None if a1 is None else round(a1 - a0, 3), "ok": action["status"] == "completed",
                      "expected_seconds": None, "detail": {"actionId": action["actionId"], "status": action["status"]}})
    marks = {"disaster": begin, **({"recovered": steady["at"]} if steady.get("at") else {})}
    return {
        "scenario": params["scenario"], "runbook": f"AWS FIS experiment template {found['template_id']}",
        "variant": "fis", "origin": "aws", "run_id": run_id, "started_at": begin, "finished_at": time.time(),
        "status": "done" if completed else "failed",
        "error": None if completed else f"FIS experiment {started['experiment_id']} {followed['status']}: "
                                        f"{followed['reason']}",
        "steps": steps, "marks": marks, "probes": {}, "events": [], "sandbox": {},
        "journals": {"drill --account": run_id},
        "measured": {"rto": {"seconds": None}, "rpo": {"seconds": None},
                     "fis": {"template_id": found["template_id"], "experiment_id": started["experiment_id"],
                             "status": followed["status"], "reason": followed["reason"],
                             "region": params["region"], "stop_alarms_before": found["stop_alarms"],
                             "targets": [describe_target(n, t) for n, t in found["targets"].items()],
                             "stop_alarms_after": steady["alarms"], "steady_state_restored": steady["restored"],
                             "fault_seconds": round(end - begin, 3)}},
    }


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    return datetime.fromisoformat(str(value)).timestamp()


def runbook() -> Runbook:
    return Runbook(NAME, [
        Step("preflight", "find the drill's FIS template; the stop conditions in steady state", _preflight,
             read_only=True),
        Step("start", "StartExperiment (idempotent: the run's client token)", _start, would_call=_would_start),
        Step("follow", "GetExperiment until it finishes", _follow,
             would_call=lambda ctx: ["fis:GetExperiment until completed | stopped | failed"]),
        Step("steady-state", "the stop condition alarms out of ALARM", _steady_state,
             would_call=lambda ctx: ["cloudwatch:DescribeAlarms until none of the stop conditions is in ALARM"]),
        Step("evidence", "the drill's report, JSON twin and timeline", _evidence, would_call=_would_record),
    ])
