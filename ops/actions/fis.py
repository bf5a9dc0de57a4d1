"""AWS FIS: find a drill's experiment template by its tag, start it once, follow it to the end.

The template carries `dr-platform:drill = QX` (components/drill_faults.py), so the toolkit needs no id from the
program: ListExperimentTemplates returns each template's tags. StartExperiment is idempotent through its
clientToken (the same token returns the same experiment), so a re-run of the same drill run resumes the experiment
it started instead of injecting the fault twice.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ops.actions.polling import poll_until
from ops.core import naming
from ops.core.environments import PRODUCTION, environment_of

# An experiment in these states no longer moves (FIS user guide, "Experiment states").
FINISHED = frozenset({"completed", "stopped", "failed", "cancelled"})
ACTIVE = frozenset({"pending", "initiating", "running", "stopping"})
CLIENT_TOKEN_MAX = 64  # StartExperiment's clientToken: 1-64 characters


class TemplateNotFound(LookupError):
    """No (or more than one) experiment template carries the drill's tag in the region."""


def find_template(fis: Any, scenario: str, environment: str = PRODUCTION) -> dict[str, Any]:
    """The one template tagged `dr-platform:drill = scenario` of `environment` (a stage pair's templates carry
    `environment = stage`, production's no such tag), in full (GetExperimentTemplate)."""
    found = []
    paginator = fis.get_paginator("list_experiment_templates")
    for page in paginator.paginate():
        found += [t for t in page.get("experimentTemplates", [])
                  if (t.get("tags") or {}).get(naming.FIS_DRILL_TAG) == scenario
                  and environment_of(t.get("tags")) == environment]
    if len(found) != 1:
        region = fis.meta.region_name
        raise TemplateNotFound(
            f"{len(found)} FIS experiment templates tagged {naming.FIS_DRILL_TAG}={scenario} in {region}"
            + ("" if environment == PRODUCTION else f" for the {environment} environment")
            + (f" ({', '.join(t['id'] for t in found)})" if found else
               ": is the stack that declares it deployed (stacks/drills.py)?"))
    return dict(fis.get_experiment_template(id=found[0]["id"])["experimentTemplate"])


def active_experiments(fis: Any, template_id: str) -> list[dict[str, Any]]:
    """The template's experiments not yet finished."""
    found = []
    paginator = fis.get_paginator("list_experiments")
    for page in paginator.paginate(experimentTemplateId=template_id):
        found += [e for e in page.get("experiments", []) if e["state"]["status"] in ACTIVE]
    return found


def client_token(scenario: str, run_id: str) -> str:
    token = f"drctl-drill-{scenario}-{run_id}"
    if len(token) > CLIENT_TOKEN_MAX:
        raise ValueError(f"run id {run_id!r}: the client token {token!r} exceeds {CLIENT_TOKEN_MAX} characters")
    return token


def start_experiment(fis: Any, template_id: str, token: str, tags: dict[str, str]) -> dict[str, Any]:
    """StartExperiment; with a token already used, FIS returns that experiment instead of starting another."""
    return dict(fis.start_experiment(clientToken=token, experimentTemplateId=template_id, tags=tags)["experiment"])


def get_experiment(fis: Any, experiment_id: str) -> dict[str, Any]:
    return dict(fis.get_experiment(id=experiment_id)["experiment"])


def wait_until_finished(fis: Any, experiment_id: str, *, timeout_s: float, poll_s: float,
                        on_poll: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Poll GetExperiment until the experiment is finished (WaitTimeout after `timeout_s`); `on_poll` sees every
    answer (the drill notes each state as it first sees it)."""
    def check() -> dict[str, Any]:
        experiment = get_experiment(fis, experiment_id)
        if on_poll is not None:
            on_poll(experiment)
        return experiment

    return poll_until(check, lambda e: e["state"]["status"] in FINISHED, timeout_s=timeout_s, poll_s=poll_s,
                      what=f"FIS experiment {experiment_id} to finish")

