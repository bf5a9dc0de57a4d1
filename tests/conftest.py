"""Shared fixtures. Every server a test starts, the test (or its fixture) stops."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.aws import moto_server, reset
from tests.harness.moto_extensions import faults as fault_injection


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def runbook_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Every API call a runbook makes during the test (through RunContext.client, as journals record them); at the
    end, each must be allowed by the committed operator policy (ops/dr/iam/drctl-operator-policy.json)."""
    from ops.drctl.runbooks import engine
    from tests.harness.operator_policy import POLICY_PATH, not_allowed

    calls: list[tuple[str, str]] = []
    make_client = engine.RunContext.client

    def recording_client(self: engine.RunContext, service: str, region: str, **kwargs: object) -> object:
        made = make_client(self, service, region, **kwargs)
        made.meta.events.register("after-call.*", lambda model, **_: calls.append((service, model.name)))
        return made

    monkeypatch.setattr(engine.RunContext, "client", recording_client)
    yield calls
    missing = not_allowed(calls)
    assert not missing, f"{POLICY_PATH.name} does not allow: {'; '.join(missing)}"


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, runbook_calls: list) -> Iterator[str]:
    """A clean moto account reached through botocore's standard AWS_ENDPOINT_URL; yields the endpoint. Every
    runbook call made through it is checked against the operator policy (runbook_calls)."""
    reset(moto_endpoint)
    for key, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "3",  # an unimplemented operation answers 500: fail fast instead of backing off
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield moto_endpoint


@pytest.fixture
def faults() -> Iterator[object]:
    """Server-side fault injection and call counts (tests/harness/moto_extensions/faults.py), cleared around a test."""
    fault_injection.clear()
    try:
        yield fault_injection
    finally:
        fault_injection.clear()
