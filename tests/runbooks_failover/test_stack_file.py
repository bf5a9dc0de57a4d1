"""set_stack_config: a config flip written into a stack file as a line edit, every other byte kept."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from stacks.config_files import load_stack_settings, set_stack_config
from stacks.settings import PROJECT_DIR, ConfigError


@pytest.fixture
def stack_file(tmp_path: Path) -> Path:
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    return Path(shutil.copy(PROJECT_DIR / "Pulumi.dr.yaml", tmp_path / "Pulumi.dr.yaml"))


def test_failover_flip_changes_one_line_and_nothing_else(stack_file: Path) -> None:
    before = stack_file.read_bytes()
    assert b"dr-platform:failover: false\n" in before
    assert set_stack_config(stack_file, "failover", True) is True
    assert stack_file.read_bytes() == before.replace(b"dr-platform:failover: false\n",
                                                     b"dr-platform:failover: true\n", 1)
    assert load_stack_settings("dr", project_dir=stack_file.parent).failover is True
    assert set_stack_config(stack_file, "failover", True) is False  # already so: untouched
    assert set_stack_config(stack_file, "failover", False) is True
    assert stack_file.read_bytes() == before


def test_nested_keys_strings_and_comments(stack_file: Path) -> None:
    before = stack_file.read_bytes()
    set_stack_config(stack_file, "aurora.instances", 3)
    set_stack_config(stack_file, "failoverMode", "unplanned")
    set_stack_config(stack_file, "aurora.engineVersion", "15.10")  # a number-looking string stays quoted
    assert stack_file.read_bytes() == (before.replace(b"    instances: 2\n", b"    instances: 3\n", 1)
                                       .replace(b"failoverMode: planned\n", b"failoverMode: unplanned\n", 1)
                                       .replace(b'engineVersion: "15.8"', b'engineVersion: "15.10"', 1))
    assert load_stack_settings("dr", project_dir=stack_file.parent).aurora.engine_version == "15.10"


def test_trailing_comment_and_crlf_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.x.yaml"
    path.write_bytes(b"# head\r\nconfig:\r\n  dr-platform:failover: false  # flipped by drctl\r\n"
                     b"  dr-platform:posture: pilot-light\r\n")
    set_stack_config(path, "failover", True)
    assert path.read_bytes() == (b"# head\r\nconfig:\r\n  dr-platform:failover: true  # flipped by drctl\r\n"
                                 b"  dr-platform:posture: pilot-light\r\n")


def test_a_missing_key_is_added_at_the_end_of_its_mapping(stack_file: Path) -> None:
    before = stack_file.read_bytes()
    set_stack_config(stack_file, "aurora.deletionProtection", False)
    set_stack_config(stack_file, "compute.searchFeedSchedule", "0 * * * *")
    after = stack_file.read_bytes()
    assert after == before.replace(b"    backupRetentionDays: 14\n",
                                   b"    backupRetentionDays: 14\n    deletionProtection: false\n", 1).replace(
        b"port: 8080}\n  dr-platform:dns:",
        b'port: 8080}\n    searchFeedSchedule: "0 * * * *"\n  dr-platform:dns:', 1)
    values = yaml.safe_load(after)["config"]
    assert values["dr-platform:compute"]["searchFeedSchedule"] == "0 * * * *"
    path = stack_file.parent / "Pulumi.y.yaml"
    path.write_bytes(b"config:\n  dr-platform:role: dr\n")
    set_stack_config(path, "failover", True)
    assert path.read_bytes() == b"config:\n  dr-platform:role: dr\n  dr-platform:failover: true\n"


@pytest.mark.parametrize("key, value, named", [
    ("buckets[0].tier", "standard", "buckets[0].tier"),
    ("dns", "x", "dns"),  # a mapping, not a scalar
    ("aurora.instances", [1, 2], "aurora.instances"),
    ("compute.services.name", "x", "compute.services"),  # a list in the way
])
def test_what_a_line_edit_cannot_do_is_refused_and_changes_nothing(stack_file: Path, key: str, value: object,
                                                                   named: str) -> None:
    before = stack_file.read_bytes()
    with pytest.raises(ConfigError, match=rf"dr-platform:{named.replace('[', '.').replace(']', '.')}"):
        set_stack_config(stack_file, key, value)
    assert stack_file.read_bytes() == before


def test_flow_style_parent_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.z.yaml"
    path.write_bytes(b"config:\n  dr-platform:aurora: {instances: 2}\n")
    with pytest.raises(ConfigError, match="aurora.instances"):
        set_stack_config(path, "aurora.instances", 3)
    assert path.read_bytes() == b"config:\n  dr-platform:aurora: {instances: 2}\n"
