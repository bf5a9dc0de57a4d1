"""A drctl run as its own process that dies right after a named step (the engine's DRCTL_CRASH_AFTER_STEP), for
the crash/resume tests: the process really ends, so nothing in memory survives into the `--resume`."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ops.drctl.runbooks.engine import CRASH_AFTER_ENV

PROJECT_DIR = Path(__file__).resolve().parents[2]
CRASH_EXIT = 137  # what the engine exits with, as a SIGKILLed process reports itself to a shell


def run_until_crash(step: str, journal_dir: Path, *args: str, timeout: float = 120) -> str:
    """Run `drctl ARGS --journal-dir DIR` until it dies after `step`; the run id of its journal. The child reaches
    moto through the inherited AWS_ENDPOINT_URL."""
    crashed = subprocess.run([sys.executable, "-m", "ops.drctl.cli", *args, "--journal-dir", str(journal_dir)],
                             cwd=PROJECT_DIR, env={**os.environ, "PYTHONPATH": str(PROJECT_DIR), CRASH_AFTER_ENV: step},
                             capture_output=True, text=True, timeout=timeout)
    assert crashed.returncode == CRASH_EXIT, crashed.stderr
    (journal,) = [p for p in journal_dir.glob("*.json") if p.stem.count(".") == 0]  # not a run's side files
    return journal.stem
