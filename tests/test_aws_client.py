"""ops.actions.aws.client: botocore retries and timeouts, and one Session per AWS_* environment."""
from __future__ import annotations

import pytest

from ops.actions import aws


@pytest.fixture
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def test_clients_follow_a_changed_endpoint_and_share_a_session_otherwise(monkeypatch, fake_credentials) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1111")
    first = aws.client("rds", "us-east-1")
    assert first.meta.endpoint_url == "http://127.0.0.1:1111"
    session = aws._current_session()
    aws.client("s3", "us-west-2")
    assert aws._current_session() is session  # same environment: botocore's models are loaded once

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2222")
    assert aws.client("rds", "us-east-1").meta.endpoint_url == "http://127.0.0.1:2222"
    assert aws._current_session() is not session
    assert first.meta.endpoint_url == "http://127.0.0.1:1111"  # clients already made keep theirs


def test_retry_mode_attempts_and_timeouts_come_from_the_environment(monkeypatch, fake_credentials) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    monkeypatch.setenv("DR_READ_TIMEOUT", "7")
    config = aws.client("route53", "us-east-1").meta.config
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 3}
    assert config.read_timeout == 7.0
    assert aws.client("route53", "us-east-1", max_attempts=2).meta.config.retries["total_max_attempts"] == 2


def test_request_listener_hears_its_own_client_only(monkeypatch, fake_credentials) -> None:
    from botocore.stub import Stubber

    heard: list[tuple[str, str, str]] = []
    listened = aws.client("sts", "us-east-1", on_request=lambda *call: heard.append(call))
    plain = aws.client("sts", "us-east-1")  # same cached Session: the listener must not leak into it
    answer = {"UserId": "AIDA", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/ops",
              "ResponseMetadata": {"RequestId": "req-1"}}
    with Stubber(listened) as stub_listened, Stubber(plain) as stub_plain:
        stub_listened.add_response("get_caller_identity", answer)
        stub_plain.add_response("get_caller_identity", {**answer, "ResponseMetadata": {"RequestId": "req-2"}})
        listened.get_caller_identity()
        plain.get_caller_identity()
    assert heard == [("sts", "GetCallerIdentity", "req-1")]
