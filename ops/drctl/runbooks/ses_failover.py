"""RB-N-07 SES failover: send from region B with the credentials replicated there, and re-send the failed critical
notifications waiting in an SQS queue at a warm-up rate.

Steps: preflight (B's SES identity for the sender verified, B's sending quota, the replicated credentials secret in
B, the queue) → switch (SSM parameters in B that the application reads: `<prefix>/region` and
`<prefix>/credentials-secret-arn`; written only when different) → ledger (the send ledger table in B) → resend
(drain the queue: 1 msg/s at first, doubling every interval up to min(--max-rate, B's MaxSendRate); each message
deleted only after SES accepted it and the ledger says "sent"; a send whose answer is lost is in doubt, never sent
again) → verify-drained (fails, exit 1, when any notification was rejected, malformed or is in doubt, naming their
ids).

Where the queue lives: region B by default. The point of the queue is to outlive a region A failure, and the
application in B (and this runbook) must read it while A is down; the application in A writes to it across
regions (SQS takes a queue URL in any region). Message contract and the ledger's at-most-once choice:
ops/actions/ses.py.
"""
from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ops.actions import aws, ses, sqs
from ops.actions.polling import WaitTimeout
from ops.core import naming
from ops.core.errors import BadInput
from ops.drctl.runbooks.engine import Runbook, RunContext, Step

NAME = "RB-N-07 SES failover"
SQS_MAX_VISIBILITY_S = 43200
# Unanswered sends in a row after which the run stops: SES (or the way to it) is in trouble, and each further send
# could add an id a human must check.
MAX_IN_DOUBT_IN_A_ROW = 3


def _validate(params: dict[str, Any]) -> None:
    sender = parseaddr(params["sender"])[1]
    if "@" not in sender:
        raise BadInput(f"--sender {params['sender']!r}: not an email address")
    if not params["config_prefix"].startswith("/") or params["config_prefix"].endswith("/"):
        raise BadInput(f"--config-prefix {params['config_prefix']!r}: must start with / and not end with /")
    if params["max_rate"] < params["start_rate"]:
        raise BadInput(f"--max-rate {params['max_rate']:g} is below --start-rate {params['start_rate']:g}")
    if not 1 <= params["visibility_s"] <= SQS_MAX_VISIBILITY_S:
        raise BadInput(f"--visibility-timeout {params['visibility_s']}: must be 1..{SQS_MAX_VISIBILITY_S} s")


def config_values(params: dict[str, Any], secret_arn: str) -> dict[str, str]:
    names = naming.ses_parameter_names(params["config_prefix"])  # the program declares the same names
    return {names["region"]: params["region"], names["credentialsSecretArn"]: secret_arn}


def _preflight(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    mail = ctx.client("ses", p["region"])
    if not ses.sender_verified(mail, p["sender"]):
        raise BadInput(f"--sender {p['sender']}: neither the address nor its domain is a verified SES identity in "
                       f"{p['region']}")
    quota = ses.send_quota(mail)
    arn = ses.secret_arn(ctx.client("secretsmanager", p["region"]), p["secret"])
    if arn is None:
        raise BadInput(f"--secret {p['secret']}: not in {p['region']} (replicate it there first)")
    queues = ctx.client("sqs", p["queue_region"])
    url = sqs.queue_url(queues, p["queue"])
    if url is None:
        raise BadInput(f"--queue {p['queue']}: no such queue in {p['queue_region']}")
    dead_letter_url = None
    if p.get("dead_letter_queue"):
        dead_letter_url = sqs.queue_url(queues, p["dead_letter_queue"])
        if dead_letter_url is None:
            raise BadInput(f"--dead-letter-queue {p['dead_letter_queue']}: no such queue in {p['queue_region']}")
    visible, in_flight = sqs.depth(queues, url)
    return {"quota": quota, "secret_arn": arn, "queue_url": url, "dead_letter_url": dead_letter_url,
            "queued": visible + in_flight, "max_rate": min(p["max_rate"], quota["max_send_rate"])}


def _switch(ctx: RunContext) -> dict[str, Any]:
    values = config_values(ctx.params, ctx.results["preflight"]["secret_arn"])
    changed = ses.publish_sending_config(ctx.client("ssm", ctx.params["region"]), values)
    return {"parameters": values, "changed": changed}


def _ledger(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    return ses.ensure_ledger(ctx.client("dynamodb", p["region"]), p["ledger_table"], timeout_s=p["timeout_s"],
                             poll_s=p["poll_s"])


@dataclass
class Tally:
    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    in_doubt: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    ramp: list[tuple[float, float]] = field(default_factory=list)  # (seconds since the first send, new rate)
    hidden: list[dict[str, Any]] = field(default_factory=list)  # left in the queue, hidden until the run ends

    def summary(self) -> dict[str, Any]:
        return {"sent": len(self.sent), "already_sent": len(self.already_sent), "rejected": self.rejected,
                "in_doubt": self.in_doubt, "malformed": self.malformed, "sent_ids": self.sent,
                "ramp": [[round(at, 3), rate] for at, rate in self.ramp]}


class Resender:
    """Drains the queue once: parse, pace, claim in the ledger, send from B, mark sent, delete."""

    def __init__(self, ctx: RunContext) -> None:
        p, pre = ctx.params, ctx.results["preflight"]
        self.p, self.url, self.dead_letter_url = p, pre["queue_url"], pre["dead_letter_url"]
        self.sqs = ctx.client("sqs", p["queue_region"])
        self.ses = ctx.client("ses", p["region"])
        # One attempt per SendEmail: an SDK retry after a lost answer would send the message again inside one
        # ledger claim. ses.send retries only answers that say SES did not take it.
        self.ses_send = ctx.client("ses", p["region"], max_attempts=1)
        self.send_attempts = int(aws.client_config().retries["total_max_attempts"])
        self.in_doubt_in_a_row = 0
        self.ddb = ctx.client("dynamodb", p["region"])
        quota = ses.send_quota(self.ses)  # re-read: a resume may come hours after preflight
        cap = min(p["max_rate"], quota["max_send_rate"])
        self.pace = ses.WarmUp(start_rate=min(p["start_rate"], cap), max_rate=cap, interval_s=p["ramp_interval_s"])
        self.budget = int(quota["max_24_hour_send"] - quota["sent_last_24_hours"])
        self.deadline = time.monotonic() + p["timeout_s"]
        self.tally = Tally()
        self._first_send: float | None = None

    def run(self, on_done: Callable[[], None]) -> dict[str, Any]:
        unfinished: list[dict[str, Any]] = []  # received, not yet deleted or moved
        try:
            while not self._drained():
                if time.monotonic() > self.deadline:
                    raise WaitTimeout(f"queue {self.p['queue']} not drained within {self.p['timeout_s']:g} s: "
                                      f"{self._progress_text()}")
                if len(self.tally.sent) >= self.budget:
                    raise RuntimeError(f"B's 24-hour sending quota is used up: {self._progress_text()}; run again "
                                       f"when the quota window frees up")
                wanted = min(math.ceil(self.pace.rate_at(self._elapsed())), self.budget - len(self.tally.sent))
                unfinished = sqs.receive(self.sqs, self.url, count=wanted, wait_s=self.p["receive_wait_s"],
                                         visibility_s=self.p["visibility_s"])
                while unfinished:
                    self._handle(unfinished[0])
                    unfinished.pop(0)
                    on_done()
        finally:
            # A failed (not crashed) run gives back at once what it holds: left-behind messages for the next run
            # or a human, and a batch cut short, which would otherwise wait out its visibility timeout.
            for message in [*self.tally.hidden, *unfinished]:
                with contextlib.suppress(ClientError):  # best effort: never hide the error that got us here
                    sqs.set_visibility(self.sqs, self.url, message, 0)
        return self.tally.summary()

    def _drained(self) -> bool:
        """Nothing visible, and nothing in flight but what this run holds back (a crashed run's in-flight
        messages come back after their visibility timeout, and must be waited for)."""
        visible, in_flight = sqs.depth(self.sqs, self.url)
        if visible == 0 and in_flight <= len(self.tally.hidden):
            return True
        if visible == 0:
            time.sleep(self.p["poll_s"])
        return False

    def _handle(self, message: dict[str, Any]) -> None:
        try:
            notification = ses.Notification.model_validate_json(message["Body"])
        except ValidationError as exc:
            self.tally.malformed.append(message["MessageId"])
            self._leave(message, f"malformed: {exc.errors()[0]['msg']}", dead_letter=True)
            return
        self._wait_turn()
        state = ses.claim(self.ddb, self.p["ledger_table"], notification.id, self.p["claim_tag"])
        if state == "sent":  # sent before, its delete was lost: delete now, never send twice
            sqs.delete(self.sqs, self.url, message)
            self.tally.already_sent.append(notification.id)
            return
        if state == "sending" and not self.p["resend_in_doubt"]:
            self.tally.in_doubt.append(notification.id)
            self._leave(message, "in doubt", dead_letter=False)
            return
        self.pace.sending()
        try:
            message_id = ses.send(self.ses_send, notification, attempts=self.send_attempts)
        except ses.SendInDoubt as exc:  # the claim stays "sending": a later run lists it in doubt too
            self.tally.in_doubt.append(notification.id)
            self._leave(message, f"in doubt: {exc}", dead_letter=False)
            self.in_doubt_in_a_row += 1
            if self.in_doubt_in_a_row >= MAX_IN_DOUBT_IN_A_ROW:
                raise RuntimeError(f"{self.in_doubt_in_a_row} sends in a row got no clear answer from SES (last: "
                                   f"{exc}); in doubt: {self.tally.in_doubt}; {self._progress_text()}") from None
            return
        except ses.SendRejected as exc:
            ses.release(self.ddb, self.p["ledger_table"], notification.id)
            self.tally.rejected[notification.id] = str(exc)
            self._leave(message, str(exc), dead_letter=True)
            return
        except (ClientError, *ses.NEVER_SENT):  # SES answered no (after retries), or never saw the request
            ses.release(self.ddb, self.p["ledger_table"], notification.id)
            raise
        self.in_doubt_in_a_row = 0
        ses.mark_sent(self.ddb, self.p["ledger_table"], notification.id, message_id, self.p["region"])
        sqs.delete(self.sqs, self.url, message)
        self.tally.sent.append(notification.id)

    def _wait_turn(self) -> None:
        rate = self.pace.wait_turn()
        if self._first_send is None:
            self._first_send = time.monotonic()
        if not self.tally.ramp or self.tally.ramp[-1][1] != rate:
            self.tally.ramp.append((self._elapsed(), rate))

    def _elapsed(self) -> float:
        return 0.0 if self._first_send is None else time.monotonic() - self._first_send

    def _leave(self, message: dict[str, Any], reason: str, *, dead_letter: bool) -> None:
        """Permanent failures go to the dead-letter queue when there is one; otherwise (and in-doubt ids always)
        the message stays, hidden until this run ends so it is not received again."""
        if dead_letter and self.dead_letter_url:
            sqs.move(self.sqs, self.url, message, self.dead_letter_url, reason)
            return
        remaining = max(1, math.ceil(self.deadline - time.monotonic()))
        sqs.set_visibility(self.sqs, self.url, message, min(SQS_MAX_VISIBILITY_S, remaining + 60))
        self.tally.hidden.append(message)

    def _progress_text(self) -> str:
        t = self.tally
        return (f"{len(t.sent)} sent, {len(t.already_sent)} already sent, {len(t.rejected)} rejected, "
                f"{len(t.in_doubt)} in doubt, {len(t.malformed)} malformed")


def _resend(ctx: RunContext) -> dict[str, Any]:
    resender = Resender(ctx)
    columns = (TextColumn("re-sending from {task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=ctx.console, transient=True) as progress:
        task = progress.add_task(ctx.params["region"], total=ctx.results["preflight"]["queued"] or None)
        result = resender.run(lambda: progress.advance(task))
    ctx.log(f"re-sent {result['sent']}, already sent {result['already_sent']}, rejected {len(result['rejected'])}, "
            f"in doubt {len(result['in_doubt'])}, malformed {len(result['malformed'])}; ramp {result['ramp']}")
    return result


def _verify_drained(ctx: RunContext) -> dict[str, Any]:
    p, done = ctx.params, ctx.results["resend"]
    visible, in_flight = sqs.depth(ctx.client("sqs", p["queue_region"]), ctx.results["preflight"]["queue_url"])
    undelivered = [*done["rejected"], *done["in_doubt"], *done["malformed"]]
    if undelivered:
        raise RuntimeError(f"not delivered: rejected {sorted(done['rejected'])}, in doubt {done['in_doubt']} "
                           f"(may have been sent: check, then re-run with --resend-in-doubt), malformed messages "
                           f"{done['malformed']}; {visible} left in {p['queue']}")
    return {"queue_visible": visible, "queue_in_flight": in_flight}


def _plan_resend(ctx: RunContext) -> list[str]:
    p, pre = ctx.params, ctx.results["preflight"]
    cap = pre["max_rate"]
    return [f"sqs:ReceiveMessage(QueueUrl={pre['queue_url']}, VisibilityTimeout={p['visibility_s']}) until "
            f"drained (~{pre['queued']} messages)",
            f"dynamodb:PutItem(TableName={p['ledger_table']}, state=sending, ConditionExpression="
            f"attribute_not_exists(id)) per notification",
            f"ses:SendEmail in {p['region']} at {min(p['start_rate'], cap):g}/s doubling every "
            f"{p['ramp_interval_s']:g} s up to {cap:g}/s (min of --max-rate and MaxSendRate)",
            "dynamodb:UpdateItem(state=sent) then sqs:DeleteMessage per accepted notification",
            "rejected/malformed: " + (f"moved to {p['dead_letter_queue']}" if p.get("dead_letter_queue")
                                      else "left in the queue") + "; in doubt: left in the queue"]


def runbook() -> Runbook:
    return Runbook(name=NAME, validate=_validate, steps=[
        Step("preflight", "B's sender identity, quota, replicated secret, queue", _preflight, read_only=True),
        Step("switch", "SSM: the application sends from B with B's credentials", _switch,
             would_call=lambda ctx: [f"ssm:PutParameter(Name={name}, Value={value}, Overwrite=true) unless equal"
                                     for name, value in config_values(
                                         ctx.params, ctx.results["preflight"]["secret_arn"]).items()]),
        Step("ledger", "the send ledger table in B", _ledger,
             would_call=lambda ctx: [f"dynamodb:CreateTable(TableName={ctx.params['ledger_table']}, "
                                     f"BillingMode=PAY_PER_REQUEST, key id) unless it exists"]),
        Step("resend", "re-send the queued notifications from B at a warm-up rate", _resend,
             would_call=_plan_resend),
        Step("verify-drained", "every queued notification delivered", _verify_drained,
             would_call=lambda ctx: [f"sqs:GetQueueAttributes(QueueUrl={ctx.results['preflight']['queue_url']})"]),
    ])
