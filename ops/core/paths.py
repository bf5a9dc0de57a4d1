"""Where the repository's files are: computed once, here (the toolkit, the program and the tests all use it)."""
from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
OPS_DR = REPO_ROOT / "ops" / "dr"
JOURNAL_DIR = OPS_DR / "runs"
DRILL_REPORT_DIR = OPS_DR / "drill_reports"
# A sandbox drill is a rehearsal, not the account's evidence: kept apart, and out of git (.gitignore)
SANDBOX_DRILL_REPORT_DIR = DRILL_REPORT_DIR / "sandbox"
TYPESENSE_CONFIG_DIR = OPS_DR / "typesense"
SEARCH_CATALOG = TYPESENSE_CONFIG_DIR / "reindex.json"
SQL_DIR = OPS_DR / "sql"
CHECKS_DIR = OPS_DR / "checks"
OPERATOR_POLICY = OPS_DR / "iam" / "drctl-operator-policy.json"
