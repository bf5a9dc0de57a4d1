"""Shared helpers: run drctl in-process or as a real process against moto's server on 127.0.0.1."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from scripts.drctl import app
from scripts.runbooks.engine import Journal

PROJECT_DIR = Path(__file__).resolve().parents[2]
PRIMARY, DR = "us-east-1", "us-west-2"


def drctl(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run drctl in-process; returns (exit code, stdout+stderr)."""
    result = CliRunner().invoke(app, [*args, "--journal-dir", str(tmp_path / "runs")])
    return result.exit_code, result.output


def drctl_process(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
                  **popen: object) -> subprocess.Popen[str]:
    """drctl as its own process (for crashes and kills); it reaches moto through the inherited AWS_ENDPOINT_URL."""
    return subprocess.Popen([sys.executable, "-m", "scripts.drctl", *args, "--journal-dir", str(tmp_path / "runs")],
                            cwd=PROJECT_DIR, env={**os.environ, "PYTHONPATH": str(PROJECT_DIR), **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)  # type: ignore[arg-type]


def journal(output: str) -> Journal:
    return Journal.model_validate(json.loads(output[output.index("{"):]))


def only_run_id(tmp_path: Path) -> str:
    (path,) = (tmp_path / "runs").glob("*.json")
    return path.stem
