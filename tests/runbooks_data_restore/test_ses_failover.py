"""RB-N-07 `drctl ses-failover` end to end against moto's server: SSM switch in B, the replicated secret, the
queue drained at a warm-up rate, each notification sent once from B (moto's record of accepted messages, with the
server-side acceptance time from tests/harness/moto_extensions/ses_sending.py)."""
from __future__ import annotations

import json
import signal
import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from ops.actions import ses, sqs
from ops.drctl.runbooks.engine import Journal
from tests.harness.moto_extensions import ses_sending
from tests.runbooks_data_restore.conftest import DR, PRIMARY, aws_client, drctl, drctl_process, journal, only_run_id

QUEUE, DLQ, SECRET, LEDGER = "critical-notifications-failed", "critical-notifications-dlq", \
    "dr-platform/ses-credentials", "critical-notifications-sent"
SENDER = "Payments <no-reply@example.com>"
# Every name explicit (no stack outputs here): tests/runbooks_data_restore/test_ses_failover_from_plan.py runs it on
# what the plan creates, names from the outputs.
FAST = ["--sender", SENDER, "--queue", QUEUE, "--secret", SECRET, "--config-prefix", "/dr-platform/ses",
        "--receive-wait", "0", "--poll", "0.05", "--timeout", "60"]


def notification(n: int, **override: Any) -> str:
    return json.dumps({"id": f"n-{n:02d}", "from": SENDER, "to": [f"user{n}@customer.test"],
                       "subject": f"Receipt n-{n:02d}", "body_text": f"payment {n} received", **override})


def enqueue(*bodies: str) -> None:
    queues = aws_client("sqs", DR)
    url = queues.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    for body in bodies:
        queues.send_message(QueueUrl=url, MessageBody=body)


def queue_depth(name: str = QUEUE) -> tuple[int, int]:
    queues = aws_client("sqs", DR)
    return sqs.depth(queues, queues.get_queue_url(QueueName=name)["QueueUrl"])


def sent_ids(region: str = DR) -> list[str]:
    """Notification ids in moto's record of messages SES accepted in `region`, in acceptance order."""
    return [m.subject.removeprefix("Receipt ") for m in ses_sending.sent(region)]


def parameters() -> dict[str, str]:
    found = aws_client("ssm", DR).get_parameters_by_path(Path="/dr-platform/ses")["Parameters"]
    return {p["Name"]: p["Value"] for p in found}


def ledger_states() -> dict[str, str]:
    items = aws_client("dynamodb", DR).scan(TableName=LEDGER)["Items"]
    return {i["id"]["S"]: i["state"]["S"] for i in items}


@pytest.fixture
def world(aws: str) -> str:
    """Region B ready for mail: example.com verified, a production quota, the credentials secret replicated from
    A, the queue (and a dead-letter queue) in B. Returns the secret's ARN in B."""
    for region in (PRIMARY, DR):
        aws_client("ses", region).verify_domain_identity(Domain="example.com")
    ses_sending.set_quota(DR, max_send_rate=8, max_24_hour_send=10_000)
    aws_client("secretsmanager", PRIMARY).create_secret(Name=SECRET, SecretString='{"smtp_user": "u"}',
                                                    AddReplicaRegions=[{"Region": DR}])
    for name in (QUEUE, DLQ):
        aws_client("sqs", DR).create_queue(QueueName=name)
    return str(aws_client("secretsmanager", DR).describe_secret(SecretId=SECRET)["ARN"])


def test_dry_run_plans_the_switch_and_ramp_and_changes_nothing(world: str, tmp_path: Path) -> None:
    enqueue(*(notification(n) for n in range(3)))
    code, output = drctl(tmp_path, "ses-failover", *FAST, "--max-rate", "50", "--json")
    assert code == 0, output
    run = journal(output)
    assert run.status == "planned"
    assert run.step("preflight").result["max_rate"] == 8  # min(--max-rate 50, B's MaxSendRate 8)
    assert run.step("switch").would_call == [
        "ssm:PutParameter(Name=/dr-platform/ses/region, Value=us-west-2, Overwrite=true) unless equal",
        f"ssm:PutParameter(Name=/dr-platform/ses/credentials-secret-arn, Value={world}, Overwrite=true) unless equal"]
    assert any("ses:SendEmail in us-west-2 at 1/s doubling every 60 s up to 8/s" in c
               for c in run.step("resend").would_call)
    assert parameters() == {} and sent_ids() == [] and queue_depth() == (3, 0)
    assert LEDGER not in aws_client("dynamodb", DR).list_tables()["TableNames"]


def test_execute_switches_to_b_and_resends_each_once_at_a_ramping_rate(world: str, tmp_path: Path) -> None:
    enqueue(*(notification(n) for n in range(12)))
    code, output = drctl(tmp_path, "ses-failover", *FAST, "--start-rate", "2", "--ramp-interval", "1",
                         "--execute", "--yes", "--json")
    assert code == 0, output
    run = journal(output)
    assert parameters() == {"/dr-platform/ses/region": DR, "/dr-platform/ses/credentials-secret-arn": world}
    assert sorted(sent_ids()) == [f"n-{n:02d}" for n in range(12)] and sent_ids(PRIMARY) == []
    assert {m.source for m in ses_sending.sent(DR)} == {SENDER}
    assert queue_depth() == (0, 0)
    assert ledger_states() == {f"n-{n:02d}": "sent" for n in range(12)}
    ttl = aws_client("dynamodb", DR).describe_time_to_live(TableName=LEDGER)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
    result = run.step("resend").result
    assert (result["sent"], result["already_sent"], result["rejected"], result["in_doubt"]) == (12, 0, {}, [])
    assert [rate for _, rate in result["ramp"]] == [2, 4, 8]
    # The server's acceptance times follow the ramp: sends at 0 and 0.5 s (2/s), four at 4/s, then 8/s. The pace
    # spaces the sends themselves (not the turns before the ledger's claim, whose stall once let two sends through
    # 20 ms apart), so a gap seen by the server carries only the jitter of the send requests: a whole phase cannot
    # run ahead of its rate by more than that.
    accepted = [m.accepted_at for m in ses_sending.sent(DR)]
    gaps = [b - a for a, b in zip(accepted, accepted[1:])]
    phases = {2: gaps[0:2], 4: gaps[2:6], 8: gaps[6:]}
    for rate, phase in phases.items():
        assert sum(phase) >= len(phase) / rate - 0.15, (rate, gaps)
    # ...and it sped up as the rate doubled: medians, so one stall of a loaded machine (seen: a 1.7 s gap inside the
    # 4/s phase) cannot reorder the phases, while a ramp that did not speed up still fails.
    medians = {rate: statistics.median(phase) for rate, phase in phases.items()}
    assert medians[8] < medians[4] < medians[2], gaps
    assert run.step("verify-drained").result == {"queue_visible": 0, "queue_in_flight": 0}


def test_rejected_and_malformed_go_to_the_dead_letter_queue_and_fail_the_run(world: str, tmp_path: Path) -> None:
    enqueue(notification(1), notification(2, **{"from": "billing@unverified.test"}), '{"id": "n-03"}', "not json",
            notification(4))
    code, output = drctl(tmp_path, "ses-failover", *FAST, "--start-rate", "20", "--dead-letter-queue", DLQ,
                         "--execute", "--yes", "--json")
    assert code == 1, output
    run = journal(output)
    result = run.step("resend").result
    assert sorted(sent_ids()) == ["n-01", "n-04"]
    assert list(result["rejected"]) == ["n-02"] and "MessageRejected" in result["rejected"]["n-02"]
    assert len(result["malformed"]) == 2
    assert queue_depth() == (0, 0) and queue_depth(DLQ) == (3, 0)
    assert "n-02" not in ledger_states()  # released: a later run may try again once the sender is verified
    error = run.step("verify-drained").error or ""
    assert "rejected ['n-02']" in error


def test_without_a_dead_letter_queue_failures_stay_in_the_queue(world: str, tmp_path: Path) -> None:
    enqueue(notification(1), notification(2, **{"from": "billing@unverified.test"}))
    code, output = drctl(tmp_path, "ses-failover", *FAST, "--start-rate", "20", "--execute", "--yes", "--json")
    assert code == 1, output
    assert sent_ids() == ["n-01"] and queue_depth() == (1, 0)  # visible again for the next run


def test_a_used_up_daily_quota_stops_the_run_with_the_rest_still_queued(world: str, tmp_path: Path) -> None:
    ses_sending.set_quota(DR, max_send_rate=8, max_24_hour_send=2)
    enqueue(*(notification(n) for n in range(4)))
    code, output = drctl(tmp_path, "ses-failover", *FAST, "--start-rate", "8", "--execute", "--yes", "--json")
    assert code == 1, output
    error = journal(output).step("resend").error or ""
    assert "24-hour sending quota is used up: 2 sent" in error
    assert len(sent_ids()) == 2 and sum(queue_depth()) == 2  # the rest waits for the next run


def test_ledger_prevents_double_sends_and_in_doubt_needs_a_decision(world: str, tmp_path: Path) -> None:
    ddb = aws_client("dynamodb", DR)
    ses.ensure_ledger(ddb, LEDGER, timeout_s=10, poll_s=0.05)
    assert ses.claim(ddb, LEDGER, "n-02", "earlier-run") == "claimed"
    ses.mark_sent(ddb, LEDGER, "n-02", "ses-message-id", DR)  # sent, but its queue delete was lost
    assert ses.claim(ddb, LEDGER, "n-03", "crashed-run") == "claimed"  # crashed while sending: in doubt
    enqueue(*(notification(n) for n in range(1, 5)))

    code, output = drctl(tmp_path, "ses-failover", *FAST, "--start-rate", "20", "--execute", "--yes", "--json")
    assert code == 1, output
    result = journal(output).step("resend").result
    assert sorted(sent_ids()) == ["n-01", "n-04"]
    assert (result["already_sent"], result["in_doubt"]) == (1, ["n-03"])
    assert queue_depth() == (1, 0)

    code, output = drctl(tmp_path, "ses-failover", *FAST, "--start-rate", "20", "--resend-in-doubt", "--execute",
                         "--yes", "--json")
    assert code == 0, output
    assert sorted(sent_ids()) == ["n-01", "n-03", "n-04"] and queue_depth() == (0, 0)
    assert ledger_states() == {"n-01": "sent", "n-02": "sent", "n-03": "sent", "n-04": "sent"}


def test_crash_after_switch_then_resume_does_not_switch_again(world: str, tmp_path: Path, faults) -> None:
    enqueue(*(notification(n) for n in range(3)))
    crashed = drctl_process(tmp_path, "ses-failover", *FAST, "--start-rate", "20", "--execute", "--yes",
                            env={"DRCTL_CRASH_AFTER_STEP": "switch"})
    _, stderr = crashed.communicate(timeout=120)
    assert crashed.returncode == 137, stderr
    run_id = only_run_id(tmp_path)
    assert Journal.load(tmp_path / "runs", run_id).step("resend").state == "pending"
    assert sent_ids() == [] and len(parameters()) == 2

    resumed = drctl_process(tmp_path, "ses-failover", "--resume", run_id, "--yes")
    _, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    assert "switch: done in an earlier attempt, not repeated" in " ".join(stderr.split())
    assert faults.calls("ssm", "PutParameter") == 2  # the two parameters, once
    assert sorted(sent_ids()) == ["n-00", "n-01", "n-02"] and queue_depth() == (0, 0)


def test_killed_mid_resend_then_resume_sends_each_notification_once(world: str, tmp_path: Path) -> None:
    enqueue(*(notification(n) for n in range(5)))
    queues, ddb = aws_client("sqs", DR), aws_client("dynamodb", DR)  # made once: the watch below must be quick
    url = queues.get_queue_url(QueueName=QUEUE)["QueueUrl"]

    def settled_after_a_send() -> bool:
        """Each send so far accepted, marked sent in the ledger and deleted: it is waiting its next 1 s turn."""
        sent = len(sent_ids())
        if sent < 2:
            return False
        marked = [i["state"]["S"] for i in ddb.scan(TableName=LEDGER, ConsistentRead=True)["Items"]]
        return marked.count("sent") == len(marked) == sent and sum(sqs.depth(queues, url)) == 5 - sent

    running = drctl_process(tmp_path, "ses-failover", *FAST, "--start-rate", "1", "--ramp-interval", "100",
                            "--visibility-timeout", "2", "--execute", "--yes")
    try:
        deadline = time.monotonic() + 60
        while not settled_after_a_send():
            assert time.monotonic() < deadline and running.poll() is None
            time.sleep(0.02)
        running.send_signal(signal.SIGKILL)
    finally:
        running.communicate(timeout=30)
    assert 2 <= len(sent_ids()) < 5

    resumed = drctl_process(tmp_path, "ses-failover", "--resume", only_run_id(tmp_path), "--yes")
    _, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    assert sorted(sent_ids()) == [f"n-{n:02d}" for n in range(5)]  # each exactly once
    assert queue_depth() == (0, 0)


def test_throttling_and_5xx_are_retried_and_the_run_completes(world: str, tmp_path: Path, faults) -> None:
    enqueue(*(notification(n) for n in range(4)))
    faults.inject("ses", "SendEmail", 1, status=400, code="Throttling")
    faults.inject("sqs", "ReceiveMessage", 1, status=503, code="ServiceUnavailable")
    faults.inject("ssm", "PutParameter", 1, status=400, code="ThrottlingException")
    code, output = drctl(tmp_path, "ses-failover", *FAST, "--start-rate", "20", "--execute", "--yes", "--json")
    assert code == 0, output
    assert faults.calls("ses", "SendEmail") == 5  # 4 sends + 1 throttled attempt, retried
    assert sorted(sent_ids()) == [f"n-{n:02d}" for n in range(4)] and queue_depth() == (0, 0)
    assert len(parameters()) == 2


def test_an_outage_outlasting_the_retries_fails_the_run_and_resume_finishes(world: str, tmp_path: Path,
                                                                            faults) -> None:
    enqueue(*(notification(n) for n in range(3)))
    faults.inject("ses", "SendEmail", 3, status=503, code="ServiceUnavailable")  # every attempt of one call
    code, output = drctl(tmp_path, "ses-failover", *FAST, "--start-rate", "20", "--execute", "--yes", "--json")
    assert code == 1, output
    run = journal(output)
    assert run.step("resend").state == "failed" and "ServiceUnavailable" in (run.step("resend").error or "")
    assert sent_ids() == [] and "n-00" not in ledger_states()  # SES answered no: not in doubt

    code, output = drctl(tmp_path, "ses-failover", "--resume", run.run_id, "--yes", "--json")
    assert code == 0, output
    assert sorted(sent_ids()) == ["n-00", "n-01", "n-02"] and queue_depth() == (0, 0)


def test_bad_input_exits_2_naming_it_and_changes_nothing(world: str, tmp_path: Path) -> None:
    enqueue(notification(1))
    aws_client("secretsmanager", PRIMARY).create_secret(Name="only-in-a", SecretString="{}")
    cases = [
        (["--sender", "alerts@unverified.test"], "--sender alerts@unverified.test: neither the address nor its "
                                                 "domain is a verified SES identity in us-west-2"),
        (["--sender", "nobody"], "--sender 'nobody': not an email address"),
        (["--secret", "only-in-a"], "--secret only-in-a: not in us-west-2"),
        (["--queue", "nope"], "--queue nope: no such queue in us-west-2"),
        (["--dead-letter-queue", "gone"], "--dead-letter-queue gone: no such queue"),
        (["--region", "eu-west-1"], "--region eu-west-1: not in allowedRegions"),
        (["--queue-region", "ap-south-1"], "--queue-region ap-south-1: not in allowedRegions"),
        (["--start-rate", "5", "--max-rate", "2"], "--max-rate 2 is below --start-rate 5"),
        (["--config-prefix", "dr/ses"], "--config-prefix 'dr/ses'"),
    ]
    for args, named in cases:
        code, output = drctl(tmp_path, "ses-failover", *FAST, *args, "--execute", "--yes")
        assert code == 2, (args, output)
        assert named in " ".join(output.split()), (args, output)
    assert parameters() == {} and sent_ids() == [] and queue_depth() == (1, 0)


def test_a_lost_send_answer_is_never_resent_and_the_id_is_listed_in_doubt(world: str, tmp_path: Path, faults,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """SES accepts the second send but its answer never arrives (the client's read timeout fires): that id went out
    once, is reported in doubt and stays queued and "sending"; the others are sent once each."""
    monkeypatch.setenv("DR_READ_TIMEOUT", "3")
    enqueue(*(notification(n) for n in range(3)))
    faults.lose_response("ses", "SendEmail", 1, served=1)
    code, output = drctl(tmp_path, "ses-failover", *FAST, "--start-rate", "20", "--execute", "--yes", "--json")
    assert code == 1, output
    assert faults.calls("ses", "SendEmail") == 3  # never a second request for the unanswered one
    assert sorted(sent_ids()) == ["n-00", "n-01", "n-02"]  # moto's record: each accepted exactly once
    (doubtful,) = [n for n, state in ledger_states().items() if state == "sending"]
    run = journal(output)
    result = run.step("resend").result
    assert (result["sent"], result["in_doubt"]) == (2, [doubtful])
    assert f"in doubt ['{doubtful}']" in (run.step("verify-drained").error or "")
    assert queue_depth() == (1, 0)  # its message stays for the operator's decision

    code, output = drctl(tmp_path, "ses-failover", *FAST, "--start-rate", "20", "--execute", "--yes", "--json")
    assert code == 1 and journal(output).step("resend").result["in_doubt"] == [doubtful]  # a re-run never sends it
    assert faults.calls("ses", "SendEmail") == 3
