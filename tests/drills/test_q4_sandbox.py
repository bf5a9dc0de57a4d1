"""Q4 on the sandbox for real: every object under a prefix of the media bucket deleted (delete markers) while a
probe reads them; `drctl s3-undelete --since T --distribution ID --execute` unchanged brings each back."""
from __future__ import annotations

from pathlib import Path

import pytest

from ops.drctl.drills.run import drill
from ops.drctl.drills.scenarios import Q4Options

pytestmark = pytest.mark.slow


def test_mass_delete_is_undone_and_the_cdn_purged(tmp_path: Path) -> None:
    evidence = drill("Q4", report_dir=tmp_path / "reports", journal_dir=tmp_path / "runs", q4=Q4Options(objects=60))
    run = evidence.run
    assert run["status"] == "done", run["error"]
    reads = run["probes"]["objects"]
    assert any(not r["ok"] for r in reads if r["sent_at"] >= run["marks"]["disaster"])  # the deletes were real
    assert reads[-1]["ok"]
    assert run["measured"]["rpo"]["objects_missing"] == [] and run["measured"]["rto"]["seconds"] > 0
    steps = [s["name"] for s in run["steps"]]
    assert "s3-undelete/remove-markers" in steps and "s3-undelete/invalidate" in steps
    restore_list = tmp_path / "runs" / f"{run['run_id']}.s3-restore-list.json"
    assert restore_list.is_file()
    assert "Q4 RB-N-03 S3 mass undelete" in evidence.markdown.read_text()
