"""Q3 on the sandbox for real: B's Typesense lost (SIGKILL, data deleted), an empty server in its place,
`drctl reindex --execute` unchanged rebuilds the index from B's database while a probe searches."""
from __future__ import annotations

from pathlib import Path

import pytest

from ops.drctl.drills.run import drill
from ops.drctl.drills.scenarios import Q3Options
from ops.drctl.sandbox.region_pair import SandboxOptions

pytestmark = pytest.mark.slow


def test_total_loss_of_search_is_rebuilt_from_the_database(tmp_path: Path) -> None:
    rows = 5000
    evidence = drill("Q3", report_dir=tmp_path / "reports", journal_dir=tmp_path / "runs", q3=Q3Options(
        catalog_rows=rows, hot_slice="id > 4000", sandbox=SandboxOptions(with_search=False, with_stripe=False)))
    run = evidence.run
    assert run["status"] == "done", run["error"]
    searches = run["probes"]["search"]
    before = [r for r in searches if r["sent_at"] < run["marks"]["disaster"]]
    after = [r for r in searches if r["sent_at"] >= run["marks"]["disaster"]]
    assert before and all(r["ok"] and r["found"] == rows for r in before)  # the feed had indexed everything
    assert any(not r["ok"] for r in after)  # the loss was real: searches failed
    assert after[-1]["ok"] and after[-1]["found"] == rows  # and the rebuild found every product again
    assert 0 < run["measured"]["rto"]["seconds"] < 30
    assert run["measured"]["rpo"]["documents_missing"] == 0
    assert any(s["name"] == "reindex/import_hot" for s in run["steps"])
    assert "Q3 RB-N-04 Typesense total loss" in evidence.markdown.read_text()
