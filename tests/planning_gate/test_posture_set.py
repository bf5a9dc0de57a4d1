"""`drctl posture set NAME`: the flip written as one line of the stack file, with its plan diff, step order and
cost and RTO/RPO deltas; refused (exit 2, file untouched) for an unknown posture or one that breaks the matrix."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ops.drctl.cli import app
from stacks.settings import PROJECT_DIR

PILOT = b"  dr-platform:posture: pilot-light\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.dr.yaml"):
        shutil.copy(PROJECT_DIR / name, tmp_path / name)
    return tmp_path


def _set(project: Path, *args: str):
    return CliRunner().invoke(app, ["posture", "set", *args, "--project-dir", str(project)])


def test_set_writes_one_line_and_prints_diff_steps_and_deltas(project: Path) -> None:
    path = project / "Pulumi.dr.yaml"
    before = path.read_bytes()
    assert before.count(PILOT) == 1
    result = _set(project, "warm-standby")
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == before.replace(PILOT, b"  dr-platform:posture: warm-standby\n", 1)
    assert yaml.safe_load(path.read_text())["config"]["dr-platform:posture"] == "warm-standby"
    out = result.output
    assert "Pulumi.dr.yaml: posture pilot-light → warm-standby (failover false)" in out
    assert "+ ClusterInstance dr-core-us-west-2-0 (us-west-2)" in out  # the plan diff
    assert "scalingConfig.desiredSize: 0 → 2" in out
    assert "in the engine's order:" in out and "update NodeGroup compute-us-west-2-nodes" in out  # the steps
    # the canary: 43,800 runs + 1 alarm; Resilience Hub: 2 apps at $15; the ARC plan: $70; the Auto Scaling endpoint in
    # 3 AZs; the Q3 drill's log key ($1: B runs Typesense from warm standby on)
    assert "monthly cost in B: $262.57 → $976.77 (+714.20 USD/month" in out
    assert "critical: RTO 20 → 13 min (-7; objective 60), RPO 1 s (~1 s) → 1 s (~1 s)" in out
    assert "standard: RTO 26.7 → 13 min (-13.7; objective 240), RPO 15 min (~15 s) → 15 min (~15 s)" in out
    assert "Next: pulumi up --stack dr" in out

    back = _set(project, "pilot-light")  # and back: the file is what it was, byte for byte
    assert back.exit_code == 0, back.output
    assert path.read_bytes() == before


def test_refused_while_failed_over_naming_what_it_would_break(project: Path) -> None:
    """Failed over, B serves from what the posture's failover row gave it: pilot light's cold cache of its own, warm
    standby's promoted Global Datastore member. Switching would delete the cache B serves from and join a datastore
    whose primary region is down, so the posture changes only after the failback."""
    path = project / "Pulumi.dr.yaml"
    path.write_bytes(path.read_bytes().replace(b"  dr-platform:failover: false\n", b"  dr-platform:failover: true\n", 1))
    before = path.read_bytes()
    for args in (["warm-standby"], ["warm-standby", "--dry-run"], ["active-active", "--accept-breach"]):
        result = _set(project, *args)
        assert result.exit_code == 2, result.output
        assert "failover: true" in result.output and "fail back first" in result.output
        assert "dr-cache-us-west-2-cold" in result.output  # what it would delete
        assert path.read_bytes() == before


def test_dry_run_writes_nothing(project: Path) -> None:
    path = project / "Pulumi.dr.yaml"
    before = path.read_bytes()
    result = _set(project, "active-active", "--dry-run")
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == before
    assert "dry run: Pulumi.dr.yaml unchanged" in result.output and "pulumi up --stack dr" in result.output


def test_unknown_posture_exits_2_and_leaves_the_file(project: Path) -> None:
    path = project / "Pulumi.dr.yaml"
    before = path.read_bytes()
    result = _set(project, "lukewarm")
    assert result.exit_code == 2
    assert "unknown posture 'lukewarm': one of pilot-light, warm-standby, active-active" in result.output
    assert path.read_bytes() == before


def test_a_posture_that_breaks_the_matrix_is_refused_unless_accepted(project: Path) -> None:
    path = project / "Pulumi.dr.yaml"
    # A stack whose critical RTO objective (15 min) only a warm posture meets, running warm-standby.
    path.write_bytes(path.read_bytes().replace(PILOT, b"  dr-platform:posture: warm-standby\n", 1)
                     + b"  dr-platform:objectives:\n    critical: {rtoMinutes: 16, rpoMinutes: 5}\n")
    before = path.read_bytes()
    refused = _set(project, "pilot-light")
    assert refused.exit_code == 2, refused.output
    assert ("breach: critical tier RTO 20 min > objective 16 min (largest step: writer capacity in B 12 min"
            in refused.output)
    assert "refused: pilot-light breaks the DR matrix" in refused.output and "untouched" in refused.output
    assert path.read_bytes() == before

    accepted = _set(project, "pilot-light", "--accept-breach")
    assert accepted.exit_code == 0, accepted.output
    assert "breach accepted (--accept-breach)" in accepted.output
    assert path.read_bytes() == before.replace(b"  dr-platform:posture: warm-standby\n", PILOT, 1)


def test_the_table_command_is_unchanged_beside_set() -> None:
    result = CliRunner().invoke(app, ["posture"])
    assert result.exit_code == 0, result.output
    assert "Region B by posture" in result.output and "breach" not in result.output
    assert "RPO terms (every posture alike):" in result.output
    assert "S3 creator-kyc-documents-us-east-1 (standard): guaranteed ≤ 15 min, expected ~15 s" in result.output
    assert "Aurora global cluster dr-core (critical): expected ~1 s, no guaranteed bound" in result.output
