"""The drill's evidence: `YYYY-QX.md` (one section per drill, appended), its JSON twin `YYYY-QX.json` (every run
of the quarter in full, probe timelines included) and a PNG timeline per run, embedded in the section.

Measured RTO and RPO are judged against the DR matrix of each tier (the stack's objectives). Variances: a step
slower than its expected time, or markedly slower than in the previous drill of the same scenario and variant
(more than 1.5x and 0.25 s more). A report says where it came from: the sandbox (emulated) or a real account.
The annual drill (`YYYY-annual.md`) is judged per leg: the failover and the failback, each against the matrix.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ops.drctl.drills import timeline
from ops.drctl.runbooks.drills import append_report

SLOWER_FACTOR, SLOWER_MARGIN_S = 1.5, 0.25


def report_paths(report_dir: Path, scenario: str, started_at: float, run_id: str) -> tuple[Path, Path, Path]:
    year = datetime.fromtimestamp(started_at, timezone.utc).year
    stem = f"{year}-{scenario}"
    return report_dir / f"{stem}.md", report_dir / f"{stem}.json", report_dir / f"{stem}-{run_id}.png"


def previous_run(report_dir: Path, run: dict[str, Any]) -> dict[str, Any] | None:
    """The newest earlier run of the same scenario, variant, origin and posture in any quarter's JSON twin (a
    pilot-light failover's steps are not a warm standby's)."""
    found = []
    for twin in report_dir.glob("*.json"):
        try:
            runs = json.loads(twin.read_text()).get("runs", [])
        except (OSError, ValueError):
            continue
        found += [r for r in runs if r.get("scenario") == run["scenario"] and r.get("variant") == run["variant"]
                  and r.get("origin") == run["origin"] and r.get("run_id") != run["run_id"]
                  and r.get("status") == "done" and _posture(r) == _posture(run)]
    return max(found, key=lambda r: r["started_at"]) if found else None


def _posture(run: dict[str, Any]) -> str | None:
    return (run.get("sandbox") or {}).get("posture")


def variances(run: dict[str, Any], previous: dict[str, Any] | None) -> list[str]:
    found = []
    before = {s["name"]: s["seconds"] for s in (previous or {}).get("steps", []) if s.get("seconds") is not None}
    for step in run["steps"]:
        seconds, expected = step.get("seconds"), step.get("expected_seconds")
        if seconds is None:
            continue
        if expected is not None and seconds > expected:
            found.append(f"step {step['name']} took {seconds:.2f} s, expected at most {expected:g} s")
        earlier = before.get(step["name"])
        if earlier is not None and seconds > earlier * SLOWER_FACTOR and seconds - earlier > SLOWER_MARGIN_S:
            found.append(f"step {step['name']} took {seconds:.2f} s, {earlier:.2f} s in the previous drill "
                         f"({previous['run_id']})")  # type: ignore[index]
    return found


def legs(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What a run is judged on, leg by leg: the annual drill's failover and failback; one unnamed leg otherwise."""
    m = run["measured"]
    if run["scenario"] == "annual":
        return {"failover": m, "failback": m.get("failback") or {}}
    return {"": m}


def judge(run: dict[str, Any], objectives: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    return [entry for leg, measured in legs(run).items() for entry in _judge_leg(run, leg, measured, objectives)]


def _judge_leg(run: dict[str, Any], leg: str, measured: dict[str, Any],
               objectives: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    rto = (measured.get("rto") or {}).get("seconds")
    rpo = (measured.get("rpo") or {}).get("seconds")
    return [{**({"leg": leg} if leg else {}), "tier": tier, "rto_objective_minutes": o["rto_minutes"], "rpo_objective_minutes": o["rpo_minutes"],
             "rto_seconds": rto, "rpo_seconds": rpo,
             "rto_met": None if rto is None else run["status"] == "done" and rto <= o["rto_minutes"] * 60,
             "rpo_met": None if rpo is None else rpo <= o["rpo_minutes"] * 60} for tier, o in objectives.items()]


def follow_ups(run: dict[str, Any], found: list[str]) -> list[str]:
    items = [f"explain or fix: {v}" for v in found]
    for leg, measured in legs(run).items():
        rpo = measured.get("rpo") or {}
        if rpo.get("lost_heartbeats") or rpo.get("lost_orders"):
            items.append(f"reconcile the writes the {leg or 'failover'} lost ({len(rpo.get('lost_heartbeats', []))} "
                         f"heartbeats, {len(rpo.get('lost_orders', []))} orders: keys in the JSON twin)")
    if run["status"] != "done":
        items.append(f"the drill failed: {str(run.get('error')).splitlines()[0]}")
    return items


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("met" if ok else "**NOT met**")


def render(run: dict[str, Any], png_name: str) -> str:
    m, marks = run["measured"], run["marks"]
    origin = ("sandbox: emulated region pair on 127.0.0.1 (moto's AWS API, PostgreSQL 15 streaming replication, "
              "local services); not a real AWS account" if run["origin"] == "sandbox" else "real AWS account")
    start = datetime.fromtimestamp(run["started_at"], timezone.utc).isoformat(timespec="milliseconds")
    end = datetime.fromtimestamp(run["finished_at"], timezone.utc).isoformat(timespec="milliseconds")
    zero = marks.get("disaster", run["started_at"])
    detection = (marks["detected"] - marks["disaster"]) if "detected" in marks else None
    lines = [
        f"## {run['scenario']} {run['runbook']} ({run['variant']}) — drill {run['run_id']}", "",
        f"- Origin: {origin}",
        f"- Start → end: {start} → {end}",
        f"- Status: {run['status']}" + (f" — {str(run['error']).splitlines()[0]}" if run.get("error") else ""),
        *(_measured_lines(run, detection)),
        *_judged_lines(run["judged"]),
        "", "| step | at (s from disaster) | seconds | expected | |", "|---|---|---|---|---|",
        *(_step_row(s, zero) for s in run["steps"]),
        "",
    ]
    lost = m.get("lost_by_failover") or {}
    if lost.get("checked"):
        keys = lost["only_in_source"]
        lines += ["Consistency checker, region A's data as the disaster left it vs B after promotion (keys only in A "
                  "are what the failover lost): " + "; ".join(f"{t}: {len(k)} lost {[_key(x) for x in k][:20]}"
                                                             for t, k in keys.items()), ""]
    after = m.get("consistency_after_failback")
    if after:
        lines += [f"Consistency checker after failback, A vs B: {'same' if after['same'] else 'DIFFER'} "
                  f"(rows {after['rows']})", ""]
    lines += ["Variances:", *(f"- {v}" for v in run["variances"] or ["none"]), "",
              "Follow-ups:", *(f"- {f}" for f in run["follow_ups"] or ["none"]), "",
              f"Runbook journals: {', '.join(f'{k} `{v}`' for k, v in run['journals'].items() if v) or 'none'}", ""]
    if run["origin"] == "sandbox":
        lines += ["Sandbox settings: " + ", ".join(f"{k}={v}" for k, v in run["sandbox"].items()), ""]
    lines += [f"![timeline]({png_name})", ""]
    return "\n".join(lines)


def _judged_lines(judged: list[dict[str, Any]]) -> list[str]:
    if not any("leg" in j for j in judged):
        return ["", "| tier | RTO objective | RTO | RPO objective | RPO |", "|---|---|---|---|---|",
                *(f"| {j['tier']} | < {j['rto_objective_minutes']} min | {_verdict(j['rto_met'])} | "
                  f"< {j['rpo_objective_minutes']} min | {_verdict(j['rpo_met'])} |" for j in judged)]
    return ["", "| leg | tier | RTO objective | RTO | RPO objective | RPO |", "|---|---|---|---|---|---|",
            *(f"| {j['leg']} | {j['tier']} | < {j['rto_objective_minutes']} min | {_seconds(j['rto_seconds'])} "
              f"{_verdict(j['rto_met'])} | < {j['rpo_objective_minutes']} min | {_seconds(j['rpo_seconds'])} "
              f"{_verdict(j['rpo_met'])} |" for j in judged)]


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g} s"


def _measured_lines(run: dict[str, Any], detection: float | None) -> list[str]:
    m = run["measured"]
    rto, rpo = m.get("rto") or {}, m.get("rpo") or {}
    fis = m.get("fis")
    if fis:  # `drctl drill run QX --account` (ops/drctl/drills/account.py)
        return [f"- AWS FIS experiment {fis['experiment_id']} of template {fis['template_id']} in {fis['region']}: "
                f"{fis['status']} ({fis['reason']}); the fault ran {fis['fault_seconds']:g} s",
                *([f"- Targets: {'; '.join(fis['targets'])}"] if fis.get("targets") else []),
                f"- Stop conditions before: {_alarms(fis['stop_alarms_before'])}; after: "
                f"{_alarms(fis['stop_alarms_after'])}; steady state "
                f"{'restored' if fis['steady_state_restored'] else '**NOT restored**'}",
                "- Measured RTO, RPO: not measured (FIS injects the fault and stops it on the alarms; the sandbox "
                "drills measure recovery with probes)"]
    if run["scenario"] == "annual":
        back = m.get("failback") or {}
        back_rto, back_rpo = back.get("rto") or {}, back.get("rpo") or {}
        failover = _measured_lines({**run, "scenario": "Q2"}, detection)
        return [failover[0].replace("- Measured RTO", "- Failover leg, measured RTO"),
                failover[1].replace("- Measured RPO", "- Failover leg, measured RPO"),
                f"- Failback leg, measured RTO: {_seconds(back_rto.get('seconds'))} (the write interruption while "
                f"the writer moves back: the last good write through B → the first good write through DNS to A; "
                f"{back_rto.get('failed_requests')} requests failed)",
                f"- Failback leg, measured RPO: {_seconds(back_rpo.get('seconds'))} "
                f"({len(back_rpo.get('lost_heartbeats', []))} of {back_rpo.get('acked_by_a', 0)} heartbeats B "
                f"acknowledged are missing in A; lost orders: {len(back_rpo.get('lost_orders', []))}; a switchover "
                f"must lose none)"]
    if run["scenario"] == "Q4":
        return [f"- Measured RTO: {rto.get('seconds', 'n/a')} s (the first failed read → every object reads again; "
                f"{rto.get('failed_reads')} reads failed)",
                f"- Measured RPO: {rpo.get('seconds', 'n/a')} s ({len(rpo.get('objects_missing') or [])} of "
                f"{rpo.get('acked_by_a')} objects not restored)"]
    if run["scenario"] == "Q3":
        return [f"- Measured RTO: {rto.get('seconds', 'n/a')} s (the first search that failed or found less than "
                f"the catalog → the first search finding all of it; {rto.get('failed_searches')} searches failed)",
                f"- Measured RPO: {rpo.get('seconds', 'n/a')} s ({rpo.get('documents_missing')} documents missing: "
                f"{rpo.get('note')})"]
    if run["scenario"] == "Q1":
        check = m.get("restored_check") or {}
        return [f"- Measured RTO: {rto.get('seconds', 'n/a')} s (the DELETE → the restored cluster's writer "
                f"available)",
                f"- Measured RPO: {rpo.get('seconds', 'n/a')} s (restored to {rpo.get('restore_to')}; the restored "
                f"table {'equals' if check.get('equal') else 'DIFFERS from'} the data at T: {check.get('rows_restored')}"
                f" of {check.get('rows_at_t')} rows, missing {check.get('missing', [])[:20]}, extra "
                f"{check.get('extra', [])[:20]}, changed {check.get('changed', [])[:20]})"]
    return [f"- Measured RTO: {rto.get('seconds', 'n/a')} s (first failed request → first good write through the "
            f"API name to B{'' if detection is None else f'; detection {detection:.3f} s included'})",
            f"- Measured RPO: {rpo.get('seconds', 'n/a')} s ({len(rpo.get('lost_heartbeats', []))} of "
            f"{rpo.get('acked_by_a', 0)} heartbeats A acknowledged are missing in B; lost orders: "
            f"{len(rpo.get('lost_orders', []))}); replication lag at the disaster: "
            f"{m.get('replication_lag_at_disaster_s')} s"]


def _alarms(states: dict[str, str | None]) -> str:
    return ", ".join(f"{arn.rsplit(':alarm:', 1)[-1]} {state}" for arn, state in states.items()) or "none"


def _step_row(step: dict[str, Any], zero: float) -> str:
    seconds = "" if step["seconds"] is None else f"{step['seconds']:.3f}"
    expected = "" if step["expected_seconds"] is None else f"{step['expected_seconds']:g}"
    return (f"| {step['name']} | {step['started_at'] - zero:+.3f} | {seconds} | {expected} | "
            f"{'ok' if step['ok'] else 'FAILED'} |")


def _key(value: Any) -> Any:
    return next(iter(value.values())) if isinstance(value, dict) and len(value) == 1 else value


def write(run: dict[str, Any], report_dir: Path, objectives: dict[str, dict[str, int]]) -> tuple[Path, Path, Path]:
    """Judge, find variances, draw, append the section, update the JSON twin; returns (md, json, png)."""
    md, twin, png = report_paths(report_dir, run["scenario"], run["started_at"], run["run_id"])
    report_dir.mkdir(parents=True, exist_ok=True)
    previous = previous_run(report_dir, run)
    run["previous_run"] = previous["run_id"] if previous else None
    run["judged"] = judge(run, objectives)
    run["variances"] = variances(run, previous)
    run["follow_ups"] = follow_ups(run, run["variances"])
    timeline.draw(run, png)
    append_report(report_dir, md.stem, render(run, png.name))
    existing = json.loads(twin.read_text()) if twin.exists() else {"quarter": md.stem, "runs": []}
    existing["runs"] = [r for r in existing["runs"] if r.get("run_id") != run["run_id"]] + [run]
    twin.write_text(json.dumps(existing, indent=1, default=str) + "\n")
    return md, twin, png
