"""One drill, start to evidence: run the scenario on the sandbox, write the report, return both."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ops.drctl.drills import report
from ops.drctl.drills.scenarios import (Q1Options, Q2Options, Q3Options, Q4Options, run_annual, run_q1, run_q2,
                                      run_q3, run_q4)


@dataclass(frozen=True)
class Evidence:
    run: dict[str, Any]
    markdown: Path
    twin: Path
    timeline: Path


def objectives(stack: str) -> dict[str, dict[str, int]]:
    from stacks.config_files import load_stack_settings

    settings = load_stack_settings(stack)
    return {tier: {"rto_minutes": settings.objectives.for_tier(tier).rto_minutes,
                   "rpo_minutes": settings.objectives.for_tier(tier).rpo_minutes} for tier in ("critical", "standard")}


def drill(scenario: str, *, report_dir: Path, journal_dir: Path, stack: str = "dr", q2: Q2Options | None = None,
          q1: Q1Options | None = None, q3: Q3Options | None = None, q4: Q4Options | None = None, on_ready: Callable[[dict[str, Any]], None] | None = None) -> Evidence:
    if scenario == "Q2":
        result = run_q2(q2 or Q2Options(), journal_dir=journal_dir, stack=stack, on_ready=on_ready).as_dict()
    elif scenario == "annual":
        result = run_annual(q2 or Q2Options(), journal_dir=journal_dir, stack=stack, on_ready=on_ready).as_dict()
    elif scenario == "Q1":
        result = run_q1(q1 or Q1Options(), journal_dir=journal_dir, stack=stack, on_ready=on_ready).as_dict()
    elif scenario == "Q3":
        result = run_q3(q3 or Q3Options(), journal_dir=journal_dir, stack=stack, on_ready=on_ready).as_dict()
    elif scenario == "Q4":
        result = run_q4(q4 or Q4Options(), journal_dir=journal_dir, stack=stack, on_ready=on_ready).as_dict()
    else:
        raise ValueError(f"scenario {scenario!r}: the sandbox runs Q1 to Q4 and annual")
    md, twin, png = report.write(result, report_dir, objectives(stack))
    return Evidence(result, md, twin, png)
