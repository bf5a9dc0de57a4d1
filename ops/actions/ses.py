"""SES failover actions (RB-N-07): sender checks and quota in region B, the sending-config switch the application
reads, the notification message contract, a warm-up pace, and a send ledger that prevents double sends.

Message contract (one SQS message per failed critical notification; the application writes it when a send fails):
    {"id": "<notification id, unique>", "from": "Payments <no-reply@example.com>", "to": ["a@b.com"],
     "subject": "...", "body_text": "...", "body_html": "... (optional)"}
The message carries everything needed to re-send, not just an id pointing at a store: during a region A outage the
store the id would point at may be the thing that is down, and SQS's 256 KB limit is far above a notification.

Send ledger (a DynamoDB table in B, key `id`): `claim` records the id as "sending" with a conditional put before the
send, `mark_sent` records "sent" with SES's MessageId after SES accepted it; the queue message is deleted only
after that. A re-run or resume therefore skips "sent" ids (deleting their message) and never re-sends them. The one
ambiguous case is an id left "sending" by a crash between SES accepting and the ledger write, or by a send whose
answer never came: it may or may not have gone out. Default at-most-once: it is reported "in doubt" and left in
the queue for a human to check (SES event publishing / the recipient); `--resend-in-doubt` chooses at-least-once
for those. For the same reason the send itself is never retried by the SDK (its client makes one attempt): `send`
retries only answers in which SES said it did not take the message (throttling, 503).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any

from botocore.exceptions import (BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError,
                                 ParamValidationError)
from pydantic import BaseModel, ConfigDict, Field
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from ops.actions.aws import error_code
from ops.actions.polling import poll_until

LEDGER_RETENTION_S = 15 * 86400  # longer than SQS's longest message retention (14 days)
# SES answers these for a message that will never be accepted as it is; anything else is retried or fails the run.
PERMANENT_SEND_ERRORS = frozenset({"MessageRejected", "MailFromDomainNotVerifiedException",
                                   "ConfigurationSetDoesNotExistException", "InvalidParameterValue"})
# Answers in which SES turned the message away before taking it: safe to send again (botocore's throttling codes,
# and 503 ServiceUnavailable). A 500/502/504 or no answer at all may follow an accepted message: in doubt.
REFUSED_FOR_NOW_CODES = frozenset({"Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
                                   "RequestThrottledException", "RequestLimitExceeded", "LimitExceededException",
                                   "RequestThrottled", "ServiceUnavailable"})
REFUSED_FOR_NOW_STATUS = frozenset({429, 503})
IN_DOUBT_STATUS = frozenset({500, 502, 504})
# Errors raised before the request left this machine: SES cannot have seen it.
NEVER_SENT = (EndpointConnectionError, ConnectTimeoutError, ParamValidationError)


class Notification(BaseModel):
    """One failed critical notification, as the application puts it on the queue."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    id: str = Field(min_length=1, max_length=512)
    sender: str = Field(alias="from", min_length=3)
    to: list[str] = Field(min_length=1, max_length=50)
    subject: str = Field(min_length=1)
    body_text: str
    body_html: str | None = None


class SendRejected(Exception):
    """SES refused the message permanently (e.g. MessageRejected); the text is SES's reason."""


class SendInDoubt(Exception):
    """SES may have accepted the message: no answer came back (a read timeout, a dropped connection) or a 5xx
    that can follow acceptance. Sending again could deliver it twice; the text says what happened."""


# ---- region B readiness ------------------------------------------------------------------------------------------

def sender_verified(ses: Any, sender: str) -> bool:
    """True when the sender address, or its domain, is a verified SES identity in this region."""
    address = parseaddr(sender)[1] or sender
    candidates = [address, address.rpartition("@")[2]] if "@" in address else [address]
    found = ses.get_identity_verification_attributes(Identities=candidates)["VerificationAttributes"]
    return any(found.get(c, {}).get("VerificationStatus") == "Success" for c in candidates)


def domain_identity(ses: Any, domain: str) -> dict[str, Any] | None:
    """A domain identity's state in this region: verification, Easy DKIM and MAIL FROM statuses (SES's words:
    Success, Pending, Failed, TemporaryFailure, NotStarted); None when the domain is no identity here."""
    identities = [domain]
    verification = ses.get_identity_verification_attributes(Identities=identities)["VerificationAttributes"]
    if domain not in verification:
        return None
    dkim = ses.get_identity_dkim_attributes(Identities=identities)["DkimAttributes"].get(domain, {})
    mail_from = ses.get_identity_mail_from_domain_attributes(
        Identities=identities)["MailFromDomainAttributes"].get(domain, {})
    return {"verification": verification[domain].get("VerificationStatus"),
            "dkim_enabled": bool(dkim.get("DkimEnabled")), "dkim": dkim.get("DkimVerificationStatus"),
            "mail_from_domain": mail_from.get("MailFromDomain"), "mail_from": mail_from.get("MailFromDomainStatus")}


def send_quota(ses: Any) -> dict[str, float]:
    quota = ses.get_send_quota()
    return {"max_send_rate": float(quota["MaxSendRate"]), "max_24_hour_send": float(quota["Max24HourSend"]),
            "sent_last_24_hours": float(quota["SentLast24Hours"])}


def secret_arn(secrets: Any, name: str) -> str | None:
    """The secret's ARN in this region (a replica's own ARN in B), or None when it is not there."""
    try:
        return str(secrets.describe_secret(SecretId=name)["ARN"])
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise


# ---- the switch ----------------------------------------------------------------------------------------------------

def publish_sending_config(ssm: Any, values: dict[str, str]) -> dict[str, bool]:
    """Write each SSM parameter unless it already holds the value: idempotent, and no version churn on re-runs."""
    changed: dict[str, bool] = {}
    for name, value in values.items():
        try:
            current = ssm.get_parameter(Name=name)["Parameter"]["Value"]
        except ClientError as exc:
            if error_code(exc) != "ParameterNotFound":
                raise
            current = None
        if current != value:
            ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
        changed[name] = current != value
    return changed


# ---- sending ---------------------------------------------------------------------------------------------------

def send(ses: Any, notification: Notification, *, attempts: int, max_backoff_s: float = 20) -> str:
    """SendEmail once per attempt; returns SES's MessageId. `ses` must be a client that makes one attempt per call
    (`max_attempts=1`), so no request is ever resent unseen. Answers that say SES did not take the message
    (throttling, 503) are retried here, up to `attempts` in all with jittered exponential backoff; a permanent
    refusal raises SendRejected; no answer, or a 500/502/504, raises SendInDoubt (never retried)."""
    body: dict[str, Any] = {"Text": {"Data": notification.body_text, "Charset": "UTF-8"}}
    if notification.body_html:
        body["Html"] = {"Data": notification.body_html, "Charset": "UTF-8"}

    def once() -> str:
        try:
            return str(ses.send_email(Source=notification.sender, Destination={"ToAddresses": notification.to},
                                      Message={"Subject": {"Data": notification.subject, "Charset": "UTF-8"},
                                               "Body": body})["MessageId"])
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") in PERMANENT_SEND_ERRORS:
                raise SendRejected(f"{error.get('Code')}: {error.get('Message')}") from None
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") in IN_DOUBT_STATUS and \
                    error.get("Code") not in REFUSED_FOR_NOW_CODES:
                raise SendInDoubt(f"SES answered {error.get('Code')} (may follow acceptance)") from None
            raise
        except NEVER_SENT:
            raise
        except BotoCoreError as exc:  # the request went out and no answer came back
            raise SendInDoubt(f"no answer from SES: {type(exc).__name__}: {exc}") from None

    retrying = Retrying(retry=retry_if_exception(_refused_for_now), stop=stop_after_attempt(max(1, attempts)),
                        wait=wait_random_exponential(multiplier=0.5, max=max_backoff_s), reraise=True)
    return str(retrying(once))


def _refused_for_now(exc: BaseException) -> bool:
    if not isinstance(exc, ClientError):
        return False
    return error_code(exc) in REFUSED_FOR_NOW_CODES or \
        exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") in REFUSED_FOR_NOW_STATUS


@dataclass
class WarmUp:
    """Sending pace that starts at `start_rate` per second and doubles every `interval_s` up to `max_rate`:
    a new region's sending reputation suffers from a sudden burst. A send takes its turn (`wait_turn`) before the
    ledger claims its id, so that a crash while waiting leaves nothing claimed, and says when it goes out
    (`sending`): the next turn is due a whole interval after the send, so a slow claim in between cannot bring two
    sends closer together at SES than the rate."""

    start_rate: float
    max_rate: float
    interval_s: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _started: float | None = field(default=None, init=False)
    _next_at: float = field(default=0.0, init=False)
    _rate: float | None = field(default=None, init=False)

    def rate_at(self, elapsed_s: float) -> float:
        doublings = math.floor(max(0.0, elapsed_s) / self.interval_s)
        return min(self.max_rate, self.start_rate * 2 ** min(doublings, 64))

    def wait_turn(self) -> float:
        """Sleep until the next send is due; returns the rate in force for it."""
        now = self.clock()
        if self._started is None:
            self._started = self._next_at = now
        if now < self._next_at:
            self.sleep(self._next_at - now)
            now = self._next_at
        self._rate = self.rate_at(now - self._started)
        self._next_at = now + 1.0 / self._rate
        return self._rate

    def sending(self) -> None:
        """The send whose turn was taken goes out now: the next one is due an interval from here."""
        if self._rate is None:
            raise RuntimeError("WarmUp.sending() before wait_turn(): a send must take its turn first")
        self._next_at = max(self._next_at, self.clock() + 1.0 / self._rate)
        self._rate = None


# ---- the send ledger -----------------------------------------------------------------------------------------------

def ensure_ledger(ddb: Any, table: str, *, timeout_s: float, poll_s: float) -> dict[str, Any]:
    """Create the ledger table (on demand, key `id`, TTL on `expires_at`) unless it exists; wait for ACTIVE
    (bounded). An entry only has to outlive the queue's longest retention (14 days) to stop a double send."""
    try:
        ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        created = True
    except ClientError as exc:
        if error_code(exc) != "ResourceInUseException":
            raise
        created = False
    poll_until(lambda: ddb.describe_table(TableName=table)["Table"]["TableStatus"], lambda s: s == "ACTIVE",
               timeout_s=timeout_s, poll_s=poll_s, what=f"ledger table {table} ACTIVE")
    ttl = ddb.describe_time_to_live(TableName=table).get("TimeToLiveDescription", {})
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        ddb.update_time_to_live(TableName=table,
                                TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})
    return {"created": created}


def claim(ddb: Any, table: str, notification_id: str, run_id: str) -> str:
    """Record the id as "sending" unless the ledger knows it; returns "claimed" or the state already recorded
    ("sent", or "sending" from an attempt that did not finish)."""
    try:
        ddb.put_item(TableName=table, ConditionExpression="attribute_not_exists(id)",
                     Item={"id": {"S": notification_id}, "state": {"S": "sending"}, "run_id": {"S": run_id},
                           "claimed_at": {"N": f"{time.time():.3f}"},
                           "expires_at": {"N": str(int(time.time() + LEDGER_RETENTION_S))}})
        return "claimed"
    except ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise
    item = ddb.get_item(TableName=table, Key={"id": {"S": notification_id}}, ConsistentRead=True).get("Item", {})
    return str(item.get("state", {}).get("S", "sending"))


def mark_sent(ddb: Any, table: str, notification_id: str, message_id: str, region: str) -> None:
    ddb.update_item(TableName=table, Key={"id": {"S": notification_id}},
                    UpdateExpression="SET #s = :sent, ses_message_id = :m, ses_region = :r, sent_at = :t",
                    ExpressionAttributeNames={"#s": "state"},
                    ExpressionAttributeValues={":sent": {"S": "sent"}, ":m": {"S": message_id}, ":r": {"S": region},
                                               ":t": {"N": f"{time.time():.3f}"}})


def release(ddb: Any, table: str, notification_id: str) -> None:
    """Forget a claim SES refused, so a later run can try again once the cause is fixed (never a "sent" one)."""
    try:
        ddb.delete_item(TableName=table, Key={"id": {"S": notification_id}},
                        ConditionExpression="#s = :sending", ExpressionAttributeNames={"#s": "state"},
                        ExpressionAttributeValues={":sending": {"S": "sending"}})
    except ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise
