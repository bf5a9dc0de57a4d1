"""The README and docs/ stay true to the tree: short README, every relative link and every repository path they name
exists, and docs/regions.png is what scripts/figures.py draws from today's posture table."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from ops.core.paths import REPO_ROOT
from scripts import figures

PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
REPO_DIRS = ("ops/", "components/", "stacks/", "policy/", "scripts/", "tests/", "docs/", ".ci/")
PLACEHOLDER = re.compile(r"<|YYYY|RUN_ID|\*|\.\.\.")


def prose(page: Path) -> str:
    return FENCE.sub("", page.read_text())


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+\s+(.+)$", prose(page), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def relative_links(page: Path) -> list[str]:
    return [target for target in LINK.findall(prose(page)) if not re.match(r"[a-z]+:", target)]


def test_the_readme_stays_short() -> None:
    lines = (REPO_ROOT / "README.md").read_text().splitlines()
    assert len(lines) < 130, f"README.md has {len(lines)} lines; move details into docs/"


def test_the_readme_starts_with_the_main_job_and_the_tests() -> None:
    """A newcomer's two commands come first: the sandbox drill (the main job) and the test suite; every
    `scripts/dev X` the opening block names is a command scripts/dev has."""
    head = (REPO_ROOT / "README.md").read_text().split("```", 2)[1].splitlines()
    commands = [line.split()[1] for line in head if line.startswith("scripts/dev ")]
    assert commands[:2] == ["drill", "test"], head
    dev = (REPO_ROOT / "scripts" / "dev").read_text()
    assert all(f"\n  {command})" in dev for command in commands), commands


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(REPO_ROOT).as_posix())
def test_table_cells_stay_short(page: Path) -> None:
    """A table is for looking things up; a long story goes into a section of its own."""
    cells = [cell.strip() for line in prose(page).splitlines() if line.startswith("|") for cell in line.split("|")]
    long_cells = [cell[:60] + "..." for cell in cells if len(cell) > 120]
    assert not long_cells, f"{page.name}: table cells over 120 characters: {long_cells}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(REPO_ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading with anchor #{anchor}")
    assert not broken, f"{page.name}: {broken}"


def named_paths(page: Path) -> list[str]:
    """Repository paths a page names: in `code spans`, and the first word of each line of the README's layout tree."""
    text = page.read_text()
    words = [word for span in CODE_SPAN.findall(text) for word in span.split()]
    tree = re.search(r"^## Layout\n+```\n(.*?)^```", text, re.S | re.M)
    if tree:
        words += [line.split()[0] for line in tree.group(1).splitlines() if line.strip()]
    return [word for word in words if word.startswith(REPO_DIRS)]


def missing_paths(page: Path, root: Path = REPO_ROOT) -> list[str]:
    missing = []
    for word in named_paths(page):
        fixed = PLACEHOLDER.split(word, maxsplit=1)[0]  # `ops/dr/runs/<run-id>.json`: its folder must exist
        if fixed != word:
            fixed = fixed.rsplit("/", 1)[0]
        if not (root / fixed.rstrip(",.;:)")).exists():
            missing.append(word)
    return missing


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(REPO_ROOT).as_posix())
def test_every_repository_path_named_exists(page: Path) -> None:
    assert not missing_paths(page), f"{page.name} names paths that do not exist: {missing_paths(page)}"


def test_the_path_check_catches_a_path_that_is_gone(tmp_path: Path) -> None:
    (tmp_path / "ops" / "dr" / "runs").mkdir(parents=True)
    page = tmp_path / "README.md"
    page.write_text("`ops/dr/runs/<run-id>.json` and `scripts/drctl/cli.py`\n\n## Layout\n\n```\n"
                    "ops/dr/      data\ncomponents/  gone\n```\n")
    assert named_paths(page) == ["ops/dr/runs/<run-id>.json", "scripts/drctl/cli.py", "ops/dr/", "components/"]
    assert missing_paths(page, root=tmp_path) == ["scripts/drctl/cli.py", "components/"]


def test_the_link_check_catches_a_broken_link_and_anchor(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# Other page\n\n## A section\n")
    page.write_text("[ok](other.md#a-section) [gone](missing.md) [bad](other.md#nowhere)\n"
                    "```\n[in code](ignored.md)\n```\n[web](https://example.com)\n")
    assert relative_links(page) == ["other.md#a-section", "missing.md", "other.md#nowhere"]
    assert anchors(tmp_path / "other.md") == {"other-page", "a-section"}


def test_the_figure_is_drawn_from_todays_posture_table(tmp_path: Path) -> None:
    drawn = figures.draw(tmp_path / "regions.png")
    assert drawn == (REPO_ROOT / "docs" / "regions.png").read_bytes(), "docs/regions.png is stale: scripts/dev figures"


def test_the_figures_columns_follow_the_posture_table(monkeypatch: pytest.MonkeyPatch) -> None:
    pilot, warm, active, failed_over = figures.posture_columns()
    assert pilot.cells["Aurora instances"].text == "0 (headless)" and active.cells["DNS weight A / B"].text == "50 / 50"
    assert failed_over.cells["S3 replicates"].text == "B → A" and failed_over.cells["search feed"].text == "off"
    table = dict(figures.POSTURE_TABLE)
    key = (figures.Posture.WARM_STANDBY, False)
    table[key] = dataclasses.replace(table[key], eks_nodes_b=3, critical_replicas_b=2)
    monkeypatch.setattr(figures, "POSTURE_TABLE", table)
    warm = figures.posture_columns()[1]
    assert warm.cells["EKS nodes"].text == "3" and warm.cells["Deployments\ncritical / standard"].text == "2 / 0"
