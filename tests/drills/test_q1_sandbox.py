"""Q1 on the sandbox for real: an accidental DELETE at T, `drctl pitr-restore --to T` unchanged, a real
PostgreSQL point-in-time recovery into a new server, whose table must equal the data at T."""
from __future__ import annotations

from pathlib import Path

import pytest

from ops.drctl.drills.run import drill
from ops.drctl.drills.scenarios import Q1Options
from ops.drctl.sandbox.region_pair import SandboxOptions

pytestmark = pytest.mark.slow


def test_pitr_restores_the_table_as_it_was_at_t(tmp_path: Path) -> None:
    evidence = drill("Q1", report_dir=tmp_path / "reports", journal_dir=tmp_path / "runs", q1=Q1Options(
        sandbox=SandboxOptions(with_search=False, with_stripe=False, with_base_backup=True)))
    run = evidence.run
    assert run["status"] == "done", run["error"]
    deleted = next(s for s in run["steps"] if s["name"] == "accidental DELETE")["detail"]["deleted_rows"]
    check = run["measured"]["restored_check"]
    assert deleted == check["rows_at_t"] > 3  # the DELETE emptied the table; the restore brought back all of it
    assert check["equal"] and check["missing"] == check["extra"] == check["changed"] == []
    assert run["measured"]["rpo"]["seconds"] == 0
    # orders kept flowing after T; none of them is in the restored copy (it stopped at T)
    after = [r for r in run["probes"]["availability (after T)"] if r["ok"]]
    assert after and check["rows_restored"] == check["rows_at_t"]
    assert any(e["event"] == "restored" for e in run["events"])
    assert [s["name"] for s in run["steps"] if s["name"].startswith("pitr/")] == [
        "pitr/preflight", "pitr/restore", "pitr/wait-cluster", "pitr/writer", "pitr/wait-writer"]
    assert "the restored table equals the data at T" in evidence.markdown.read_text()
