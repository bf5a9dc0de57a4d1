"""The offline plan's private Pulumi SDK use, held to the SDK it was written for (pulumi==3.272.0).

When an upgrade removes or renames an internal, these fail naming it and that version, and so does a plan, before
it runs anything; nothing but ops/drctl/planning/pulumi_internals.py reaches into those SDK modules."""
from __future__ import annotations

import ast
import dataclasses
import importlib
import re
from pathlib import Path
from types import ModuleType

import pulumi
import pytest

from ops.core.paths import REPO_ROOT
from ops.drctl.planning import mockplan, pulumi_internals
from ops.drctl.planning.mockplan import Plan
from ops.drctl.planning.pulumi_internals import INTERNALS, WRITTEN_FOR, Internal, SdkInternalsMissing

REQUIRED = [i for i in INTERNALS if i.required]
OPTIONAL = [i for i in INTERNALS if not i.required]
SOURCE_DIRS = ("ops", "components", "stacks", "policy", "scripts", "tests")


def remove(monkeypatch: pytest.MonkeyPatch, internal: Internal) -> None:
    """Take the internal out of the SDK as an upgrade would: its last name from the SDK module or class that
    defines it; when Python defines it (a set's or a ContextVar's method), the SDK's object holding it."""
    module = importlib.import_module(internal.module)
    *path, last = internal.attribute.split(".")
    owner: object = module
    for part in path:
        owner = getattr(owner, part)
    if not isinstance(owner, (type, ModuleType)):
        owner = type(owner)
    if owner.__name__.startswith("pulumi") or owner.__module__.startswith("pulumi"):
        monkeypatch.delattr(owner, last)
    else:
        monkeypatch.delattr(module, path[0])


def test_the_installed_sdk_is_the_one_written_for_and_has_every_internal() -> None:
    pinned = re.search(r"^pulumi==(\S+)$", (REPO_ROOT / "requirements.lock").read_text(), re.MULTILINE)
    assert pinned and pinned.group(1) == WRITTEN_FOR, (
        f"requirements.lock pins pulumi=={pinned and pinned.group(1)} but pulumi_internals.py was written for "
        f"{WRITTEN_FOR}: check each internal against the new SDK, then move WRITTEN_FOR")
    assert pulumi_internals.installed_version() == WRITTEN_FOR
    assert pulumi_internals.missing() == []
    pulumi_internals.check(include_optional=True)


@pytest.mark.parametrize("internal", REQUIRED, ids=[i.name for i in REQUIRED])
def test_a_removed_internal_is_named_with_the_version_written_for(
        monkeypatch: pytest.MonkeyPatch, internal: Internal) -> None:
    remove(monkeypatch, internal)
    with pytest.raises(SdkInternalsMissing) as raised:
        pulumi_internals.check()
    message = str(raised.value)
    assert f"- {internal.name}: {internal.why}" in message
    assert f"written for pulumi=={WRITTEN_FOR}" in message and f"installed pulumi ({WRITTEN_FOR})" in message
    with pytest.raises(SdkInternalsMissing, match=re.escape(internal.name)):
        pulumi_internals.get(internal)


def test_a_plan_on_an_sdk_without_its_internals_stops_first_naming_every_one(monkeypatch: pytest.MonkeyPatch) -> None:
    remove(monkeypatch, pulumi_internals.SYNC_AWAIT)
    remove(monkeypatch, pulumi_internals.SPECIAL_SIG_KEY)
    declared: list[str] = []
    monkeypatch.setattr(mockplan._PlanMocks, "new_resource", lambda self, args: declared.append(args.name))
    with pytest.raises(SdkInternalsMissing) as raised:
        mockplan.evaluate("primary", mockplan.stack_values("primary"))
    message = str(raised.value)
    assert "lacks 2 internal(s)" in message
    assert "pulumi.runtime.sync_await._sync_await" in message and "pulumi.runtime.rpc._special_sig_key" in message
    assert declared == []


def test_a_renamed_request_field_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    # protobuf fields cannot be deleted: a field this SDK's messages do not have stands for one renamed away
    monkeypatch.setattr(pulumi_internals, "REQUEST_FIELDS", (*pulumi_internals.REQUEST_FIELDS, "retainOnDestroy"))
    with pytest.raises(SdkInternalsMissing,
                       match=r"RegisterResourceRequest\.retainOnDestroy: read from every registration"):
        pulumi_internals.check()


@pytest.mark.parametrize("original", [pulumi_internals.STACK_TRACE, pulumi_internals.CONTAINS_UNKNOWNS,
                                      pulumi_internals.NESTED_GLOBALS, pulumi_internals.DEFAULT_EXECUTOR],
                         ids=lambda i: i.name)
def test_without_an_optional_internal_plans_are_the_same(
        monkeypatch: pytest.MonkeyPatch, primary_plan: Plan, original: Internal) -> None:
    # The SDK calls its own functions by name, so deleting one would break the SDK itself: the plan knowing it by
    # a name this SDK does not have is what an upgrade renaming it looks like from here.
    sdk_own = pulumi_internals.get(original)
    module, attribute = original.where.split(":")
    renamed = dataclasses.replace(original, where=f"{module}:{attribute}_v2")
    monkeypatch.setattr(pulumi_internals, _constant_name(original), renamed)
    monkeypatch.setattr(pulumi_internals, "INTERNALS",
                        tuple(renamed if i is original else i for i in INTERNALS))
    pulumi_internals.check()  # a plan still runs
    assert pulumi_internals.missing() == [f"{renamed.name}: {renamed.why} (optional)"]
    with pytest.raises(SdkInternalsMissing, match=f"{attribute}_v2"):
        pulumi_internals.check(include_optional=True)
    assert mockplan.evaluate("primary", mockplan.stack_values("primary")).to_json() == primary_plan.to_json()
    assert pulumi_internals.get(original) is sdk_own  # the SDK's own, untouched


def _constant_name(internal: Internal) -> str:
    return next(name for name, value in vars(pulumi_internals).items() if value is internal)


def _internal_imports(path: Path, modules: set[str]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            names = {alias.name for alias in node.names}
        else:
            continue
        hits = sorted(n for n in names if any(n == m or n.startswith(f"{m}.") for m in modules))
        found += [f"{path.relative_to(REPO_ROOT)}:{node.lineno} imports {hit}" for hit in hits]
    return found


def test_only_pulumi_internals_imports_the_sdk_modules_it_wraps() -> None:
    modules = {i.module for i in INTERNALS} | {pulumi_internals.REQUEST_MESSAGE.rsplit(".", 1)[0]}
    own = Path(pulumi_internals.__file__).resolve()
    files = [REPO_ROOT / "__main__.py", *(p for d in SOURCE_DIRS for p in sorted((REPO_ROOT / d).rglob("*.py")))]
    found = [hit for path in files if path.resolve() != own for hit in _internal_imports(path, modules)]
    assert found == []


UNKNOWN = pulumi.UNKNOWN
_looped: list = [1, {"a": "b"}]
_looped.append(_looped)
_shared = {"k": [UNKNOWN]}


@pytest.mark.parametrize("value", [
    None, 0, 1.5, "", "x", True, UNKNOWN, [], {}, [1, "a", None], {"a": {"b": [1, 2, {"c": "d"}]}},
    {"a": {"b": [1, 2, {"c": UNKNOWN}]}}, [[[[UNKNOWN]]]], {"k": (UNKNOWN,)}, {"s": {UNKNOWN}}, _looped,
    [_looped, {"x": UNKNOWN}], [_shared, _shared], {"first": [1], "then": {"deep": [[], [UNKNOWN]]}},
], ids=repr)
def test_the_plans_unknowns_check_answers_as_the_sdks(value: object) -> None:
    # tuples and sets are not looked into, as the SDK does not
    assert pulumi_internals._contains_unknowns(value) is pulumi_internals.get(pulumi_internals.CONTAINS_UNKNOWNS)(value)


PLAIN_STATE = {
    "name": "db", "port": 5432, "ratio": 0.5, "whole": 3.0, "on": True, "off": False, "gone": None, "empty": "",
    "tags": {"a": "b", "none": None, "nested": {"list": [1, "x", None, {"k": [True, 2.5]}], "tuple": ("p", 1)}},
    "list": [[], {}, [None]], "map": {},
}


def test_a_plain_state_goes_on_the_wire_as_serialize_properties_writes_it() -> None:
    sdk = pulumi_internals.sync_await(pulumi_internals.get(pulumi_internals.SERIALIZE)(PLAIN_STATE, {}))
    assert pulumi_internals._plain(PLAIN_STATE)
    assert pulumi_internals._plain_struct(PLAIN_STATE) == sdk
    assert "gone" not in sdk  # a None property is left out, a None inside a value kept
    assert pulumi_internals._plain_struct(PLAIN_STATE).SerializeToString(deterministic=True) == \
        sdk.SerializeToString(deterministic=True)


class _Tags(dict):
    pass


@pytest.mark.parametrize("value", [
    pulumi.FileAsset(__file__), pulumi.StringAsset("x"), pulumi.FileArchive("."), pulumi.Output.from_input("x"),
    pulumi.UNKNOWN, _Tags(a="b"), {1: "int key"}, object(), b"bytes",
], ids=lambda v: type(v).__name__)
def test_anything_serialize_properties_would_change_takes_the_sdks_path(value: object) -> None:
    assert not pulumi_internals._plain({"top": value})
    assert not pulumi_internals._plain({"deep": {"list": [1, (2, value)]}})
    assert not pulumi_internals._plain(_Tags(a="b"))


def test_remembered_global_names_leave_the_writers_pickle_byte_for_byte_the_same() -> None:
    import dill

    from components.failover import writer_provider

    provider, scan = writer_provider(), pulumi_internals.get(pulumi_internals.NESTED_GLOBALS)
    first = dill.dumps(provider, recurse=True)
    with pulumi_internals.global_names_remembered():
        assert pulumi_internals.get(pulumi_internals.NESTED_GLOBALS) is not scan
        remembered = [dill.dumps(provider, recurse=True) for _ in range(2)]  # the second from memory only
    assert remembered == [first, first]
    assert pulumi_internals.get(pulumi_internals.NESTED_GLOBALS) is scan
