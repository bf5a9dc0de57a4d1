"""SES sending as a test needs to observe it: a per-region sending quota and the time each message was accepted.

moto 5.2.5 answers GetSendQuota with the sandbox figures (MaxSendRate 1/s, Max24HourSend 200) in every region and
offers no way to change them, so a warm-up ramp capped by MaxSendRate could never be tested. `set_quota(region,
...)` stores the account's quota on that region's SES backend, as AWS support raises it for an account (a moto reset
forgets it, like every other state); GetSendQuota reports it, with SentLast24Hours still counted by moto.

Each accepted message also gets `accepted_at` (time.time() on the server), so a test can check the sending pace
from the server's side: `sent(region)` lists moto's record of the messages SES accepted in that region.
"""
from __future__ import annotations

import time
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import Message, SESBackend, SESQuota, ses_backends

_original_get_send_quota = SESBackend.get_send_quota
_original_send_email = SESBackend.send_email


def set_quota(region: str, *, max_send_rate: float, max_24_hour_send: float,
              account_id: str = DEFAULT_ACCOUNT_ID) -> None:
    ses_backends[account_id][region]._drctl_quota = (max_send_rate, max_24_hour_send)


def sent(region: str, account_id: str = DEFAULT_ACCOUNT_ID) -> list[Message]:
    return list(ses_backends[account_id][region].sent_messages)


def _get_send_quota(self: SESBackend) -> Any:
    quota: SESQuota = _original_get_send_quota(self)
    configured = getattr(self, "_drctl_quota", None)
    if configured is not None:
        quota.max_send_rate, quota.max24_hour_send = configured
    return quota


def _send_email(self: SESBackend, *args: Any, **kwargs: Any) -> Message:
    message = _original_send_email(self, *args, **kwargs)
    message.accepted_at = time.time()  # type: ignore[attr-defined]
    return message


def install() -> None:
    SESBackend.get_send_quota = _get_send_quota  # type: ignore[method-assign]
    SESBackend.send_email = _send_email  # type: ignore[method-assign]
