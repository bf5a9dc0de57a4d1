"""Shared helpers: run drctl in-process or as a real process against moto's server on 127.0.0.1."""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ops.actions.aws import client
from ops.drctl.cli import app
from ops.drctl.runbooks.engine import Journal

PROJECT_DIR = Path(__file__).resolve().parents[2]
PRIMARY, DR = "us-east-1", "us-west-2"


@functools.cache
def _client_for(service: str, region: str, endpoint: str) -> Any:
    return client(service, region)


def aws_client(service: str, region: str) -> Any:
    """A test-side boto3 client, made once per service, region and moto endpoint (making one costs ~0.2 s)."""
    return _client_for(service, region, os.environ["AWS_ENDPOINT_URL"])


def drctl(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run drctl in-process; returns (exit code, stdout+stderr)."""
    result = CliRunner().invoke(app, [*args, "--journal-dir", str(tmp_path / "runs")])
    return result.exit_code, result.output


def drctl_process(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """drctl as its own process (for crashes and kills); it reaches moto through the inherited AWS_ENDPOINT_URL."""
    return subprocess.Popen([sys.executable, "-m", "ops.drctl.cli", *args, "--journal-dir", str(tmp_path / "runs")],
                            cwd=PROJECT_DIR, env={**os.environ, "PYTHONPATH": str(PROJECT_DIR), **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def journal(output: str) -> Journal:
    return Journal.model_validate(json.loads(output[output.index("{"):]))


def only_run_id(tmp_path: Path) -> str:
    (path,) = (tmp_path / "runs").glob("*.json")
    return path.stem
