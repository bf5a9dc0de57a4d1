"""Drill evidence (seed 000 N.6): a runbook run's journal becomes `ops/dr/drill_reports/YYYY-QX.md` with start →
end timestamps, the RTO achieved against the objective, the RPO measured, per-step timings, variances and
follow-ups. The quarterly plan: Q1 Aurora PITR (RB-N-02), Q2 region failover (RB-N-01), Q3 Typesense total
loss (RB-N-04), Q4 S3 mass undelete with CDN purge (RB-N-03).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ops.core.paths import DRILL_REPORT_DIR, SANDBOX_DRILL_REPORT_DIR
from ops.drctl.runbooks.engine import Journal

DEFAULT_REPORT_DIR = DRILL_REPORT_DIR
SANDBOX_REPORT_DIR = SANDBOX_DRILL_REPORT_DIR
QUARTERLY_PLAN = {1: "RB-N-02 Aurora PITR", 2: "RB-N-01 region failover A→B",
                  3: "RB-N-04 Typesense total loss with reindex", 4: "RB-N-03 S3 mass undelete with CDN purge"}
# Step results that carry a data-loss measurement, in seconds (replication lag at promotion, restore gap, ...).
RPO_RESULT_KEYS = ("rpo_seconds", "replication_lag_seconds", "data_loss_seconds")


def origin_path(journal_dir: Path, run_id: str) -> Path:
    """Where a sandbox drill notes that one of its runbook runs was emulated (the runbook cannot know)."""
    return journal_dir / "sandbox-origins" / f"{run_id}.json"


def check_recordable(journal: Journal, journal_dir: Path, *, quarter: str | None, sandbox: bool) -> int:
    """The quarter whose drill this run is; ValueError (a clear message) for a run of another scenario than that
    quarter's, or an emulated run presented as a real one."""
    if quarter is not None and quarter.upper().removeprefix("Q") not in ("1", "2", "3", "4"):
        raise ValueError(f"--quarter {quarter!r}: expected Q1, Q2, Q3 or Q4")
    moment = datetime.fromisoformat(journal.created_at)
    wanted = int(quarter.upper().removeprefix("Q")) if quarter else (moment.month - 1) // 3 + 1
    if journal.runbook.split(" ")[0] != QUARTERLY_PLAN[wanted].split(" ")[0]:
        season = next((q for q, d in QUARTERLY_PLAN.items() if d.split(" ")[0] == journal.runbook.split(" ")[0]),
                      None)
        hint = f"; pass --quarter Q{season} to record it as Q{season}'s drill" if season and not quarter else ""
        raise ValueError(f"run {journal.run_id} is {journal.runbook}, not Q{wanted}'s drill "
                         f"({QUARTERLY_PLAN[wanted]}){hint}")
    marked = origin_path(journal_dir, journal.run_id)
    if marked.is_file() and not sandbox:
        origin = json.loads(marked.read_text())
        raise ValueError(f"run {journal.run_id} is emulated: it ran on the sandbox's region pair (drill "
                         f"{origin.get('drill')}, AWS API at {origin.get('aws_endpoint')}), not in a real account. "
                         "Its evidence is that drill's report; pass --sandbox to record it as an emulated run")
    if sandbox and not marked.is_file():
        raise ValueError(f"--sandbox: run {journal.run_id} has no sandbox drill's mark ({marked}): it ran "
                         "against a real account; record it without --sandbox")
    return wanted


def emulated_note(section: str) -> str:
    """The report section of an emulated run says so, under its heading."""
    heading, _, rest = section.partition("\n\n")
    return (f"{heading}\n\n- Origin: sandbox (emulated region pair on 127.0.0.1, moto's AWS API): not a real "
            f"AWS account\n{rest}")


@dataclass(frozen=True)
class DrillOutcome:
    quarter: str
    runbook: str
    run_id: str
    started_at: str
    finished_at: str
    rto_seconds: float
    rto_objective_minutes: int
    rpo_seconds: float | None
    rpo_objective_minutes: int
    status: str

    @property
    def rto_met(self) -> bool:
        return self.status == "done" and self.rto_seconds <= self.rto_objective_minutes * 60

    @property
    def rpo_met(self) -> bool | None:
        return None if self.rpo_seconds is None else self.rpo_seconds <= self.rpo_objective_minutes * 60


def quarter_of(timestamp: str) -> str:
    moment = datetime.fromisoformat(timestamp)
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def outcome(journal: Journal, rto_objective_minutes: int, rpo_objective_minutes: int) -> DrillOutcome:
    if journal.mode != "execute":
        raise ValueError(f"run {journal.run_id} is a dry-run: a drill needs an executed run")
    if journal.status != "done":
        failed = next((s for s in journal.steps if s.state == "failed"), None)
        where = f" at step {failed.name}: {failed.error}" if failed is not None else ""
        raise ValueError(f"run {journal.run_id} is {journal.status}{where}. A run that did not finish is not "
                         f"drill evidence: resume it (--resume {journal.run_id}) or run the drill again, then "
                         "record the run that finished")
    ran = [s for s in journal.steps if s.started_at]
    if not ran:
        raise ValueError(f"run {journal.run_id} has no executed steps")
    started = min(s.started_at for s in ran if s.started_at)
    finished = max((s.finished_at for s in ran if s.finished_at), default=journal.updated_at)
    elapsed = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    measured = [float(s.result[k]) for s in journal.steps for k in RPO_RESULT_KEYS if k in s.result]
    return DrillOutcome(quarter=quarter_of(started), runbook=journal.runbook, run_id=journal.run_id,
                        started_at=started, finished_at=finished, rto_seconds=round(elapsed, 3),
                        rto_objective_minutes=rto_objective_minutes, rpo_seconds=max(measured) if measured else None,
                        rpo_objective_minutes=rpo_objective_minutes, status=journal.status)


def render_report(journal: Journal, result: DrillOutcome, variances: list[str], follow_ups: list[str]) -> str:
    def verdict(ok: bool | None) -> str:
        return "not measured" if ok is None else ("met" if ok else "**NOT met**")

    rpo = "not measured" if result.rpo_seconds is None else f"{result.rpo_seconds:g} s"
    lines = [
        f"## {result.runbook} — run {result.run_id}", "",
        f"- Start → end: {result.started_at} → {result.finished_at}",
        f"- Status: {result.status}",
        f"- RTO achieved: {result.rto_seconds:g} s (objective {result.rto_objective_minutes} min): "
        f"{verdict(result.rto_met)}",
        f"- RPO measured: {rpo} (objective {result.rpo_objective_minutes} min): {verdict(result.rpo_met)}",
        "", "| step | state | seconds | API calls |", "|---|---|---|---|",
        *(f"| {s.name} | {s.state} | {'' if s.seconds is None else f'{s.seconds:.2f}'} | {len(s.api_calls)} |"
          for s in journal.steps),
        "", "Variances:", *(f"- {v}" for v in variances or ["none recorded"]),
        "", "Follow-ups:", *(f"- {f}" for f in follow_ups or ["none recorded"]), "",
    ]
    if not result.rto_met and result.status == "done":
        lines.insert(-1, "- Deviation: RTO objective missed — open a follow-up before the next drill.")
    return "\n".join(lines)


def append_report(report_dir: Path, quarter: str, section: str) -> Path:
    """One file per quarter; each drill is a section. Re-recording the same run replaces nothing: the run id
    heading is checked so a re-run of the command does not duplicate the section."""
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / f"{quarter}.md"
    existing = path.read_text() if path.exists() else f"# DR drill evidence — {quarter}\n\n"
    heading = section.splitlines()[0]
    if heading in existing:
        return path
    path.write_text(existing.rstrip("\n") + "\n\n" + section)
    return path
