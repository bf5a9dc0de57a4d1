"""Ctrl-C during a drill stops every server the sandbox started: no process, port or directory is left."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ops.drctl.sandbox.region_pair import PROJECT_DIR

pytestmark = pytest.mark.slow


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.append(f"{entry.name}: {cmdline}")
    return found


def test_sigint_mid_drill_leaves_no_server_behind(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
    drill = subprocess.Popen([sys.executable, "-m", "ops.drctl.cli", "drill", "run", "Q2", "--report-dir",
                              str(tmp_path / "reports"), "--journal-dir", str(tmp_path / "runs")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=PROJECT_DIR)
    try:
        line = ""
        deadline = time.monotonic() + 120
        while not line.startswith("region pair up:") and time.monotonic() < deadline:
            line = drill.stdout.readline()  # type: ignore[union-attr]
            assert line or drill.poll() is None, drill.stderr.read()  # type: ignore[union-attr]
        where = json.loads(line.removeprefix("region pair up:"))
        ports = where["ports"]
        assert all(_listening(port) for port in ports.values()), ports
        assert _processes_mentioning(where["base"])  # the databases run from the sandbox's directory
        time.sleep(1.0)  # mid-drill: probes writing, the disaster about to happen
        drill.send_signal(signal.SIGINT)
        _, err = drill.communicate(timeout=60)
    finally:
        if drill.poll() is None:
            drill.kill()
    assert drill.returncode == 130, err
    assert "interrupted" in err
    time.sleep(0.5)
    assert [name for name, port in ports.items() if _listening(port)] == []
    assert _processes_mentioning(where["base"]) == []
    assert not Path(where["base"]).exists()
