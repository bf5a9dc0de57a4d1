"""SNS: tell the people subscribed to a topic (e-mail, chat, the status-page owner) what a runbook is doing."""
from __future__ import annotations

import re
from typing import Any

TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:(?P<region>[a-z]{2}(-[a-z]+)+-\d):\d{12}:[A-Za-z0-9_-]{1,256}$")
SUBJECT_LIMIT = 99  # SNS: no line breaks or control characters, less than 100 characters
ASCII_FOR = str.maketrans({"→": "->", "←": "<-", "—": "-", "–": "-", "…": "..."})


def topic_region(topic_arn: str) -> str:
    """The region of a standard topic's ARN; ValueError naming it otherwise (FIFO topics need a group id)."""
    match = TOPIC_ARN.match(topic_arn)
    if not match:
        raise ValueError(f"{topic_arn!r} is not a standard SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)")
    return match["region"]


def subject_line(text: str) -> str:
    """A Subject SNS takes and every e-mail client shows: one line of printable ASCII (SNS accepts UTF-8, but
    some subscribers rewrite non-ASCII subjects), under 100 characters."""
    one_line = " ".join(text.translate(ASCII_FOR).split())
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in one_line)[:SUBJECT_LIMIT]


def publish(sns: Any, topic_arn: str, subject: str, message: str) -> str:
    return sns.publish(TopicArn=topic_arn, Subject=subject_line(subject), Message=message)["MessageId"]
