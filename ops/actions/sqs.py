"""SQS actions for draining a queue safely: a message leaves the queue only after its work is done."""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ops.actions.aws import error_code

SQS_MAX_BATCH = 10
SQS_MAX_WAIT_S = 20


def queue_url(sqs: Any, name: str) -> str | None:
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as exc:
        if error_code(exc) in ("AWS.SimpleQueueService.NonExistentQueue",
                                                          "QueueDoesNotExist"):
            return None
        raise


def depth(sqs: Any, url: str) -> tuple[int, int]:
    """(visible, in flight) — approximate on AWS, settled after a few seconds."""
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def receive(sqs: Any, url: str, *, count: int, wait_s: int, visibility_s: int) -> list[dict[str, Any]]:
    """Up to `count` messages, hidden from other readers for `visibility_s` (they come back if we crash)."""
    return list(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=max(1, min(count, SQS_MAX_BATCH)),
                                    WaitTimeSeconds=max(0, min(wait_s, SQS_MAX_WAIT_S)),
                                    VisibilityTimeout=visibility_s).get("Messages", []))


def delete(sqs: Any, url: str, message: dict[str, Any]) -> None:
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def set_visibility(sqs: Any, url: str, message: dict[str, Any], seconds: int) -> None:
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=seconds)


def move(sqs: Any, url: str, message: dict[str, Any], dead_letter_url: str, reason: str) -> None:
    """Copy to the dead-letter queue, then delete from the source (a crash in between leaves a copy in both)."""
    sqs.send_message(QueueUrl=dead_letter_url, MessageBody=message["Body"], MessageAttributes={
        "drctl-reason": {"DataType": "String", "StringValue": reason[:1024]}})
    delete(sqs, url, message)
