"""`scripts/dev` without a command, or with one it does not know, prints its usage and nothing else."""
from __future__ import annotations

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "dev"
COMMANDS = ("drill", "demo", "test", "bench", "drctl", "figures")


def _dev(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=30)


def _usage_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_no_command_prints_the_usage_only_and_exits_0() -> None:
    result = _dev()
    assert result.returncode == 0, result.stderr
    lines = _usage_lines(result.stdout)
    assert lines[0].startswith("usage: scripts/dev")
    assert all(any(f" {c} " in f"{line} " for c in COMMANDS) for line in lines[1:]), lines
    assert {c for c in COMMANDS if any(line.split()[:1] == [c] for line in lines[1:])} == set(COMMANDS)
    assert "set -" not in result.stdout and "#" not in result.stdout


def test_an_unknown_command_is_named_and_exits_2_with_the_usage() -> None:
    result = _dev("deploy")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "unknown command 'deploy'" in result.stderr
    assert "usage: scripts/dev" in result.stderr and "set -" not in result.stderr
