"""What `drctl ses-failover` (RB-N-07) works on in region B: the queue of failed critical notifications with its
dead-letter queue, and the SSM parameters the application reads its sending region and credentials from.

- Queues: in B, so they outlive region A (A's application writes across regions; SQS takes a URL in any region).
  Both SSE-KMS with B's key, TLS only. SQS moves a message received MAX_RECEIVES times to the dead-letter queue:
  more than a few crashed or resumed runs (each receives a message once), so only a message nothing can send ends
  there; the runbook moves rejected and malformed ones itself. The dead-letter queue keeps messages longer than the
  source, as AWS advises (a redriven message keeps its original enqueue time), and accepts this source only.
- Parameters: declared with A's values (A sends, with A's secret), then owned by the runbook: it writes them during
  an outage, and the next `pulumi up` (the failover flip itself, say) must not send mail back through the region
  that is down. So their value is ignored after creation; the runbook, run with `--region` A, moves them back.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import child, data
from ops.core import naming

RETENTION_S = 7 * 86400  # a week: longer than any regional outage to recover from
DEAD_LETTER_RETENTION_S = 14 * 86400  # SQS's longest
MAX_RECEIVES = 10
DATA_KEY_REUSE_S = 300  # SQS's default: one KMS call per 5 minutes per sender, not per message


def queue_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account_id}:{name}"


def tls_only_policy(arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": arn,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


@dataclass
class FailedNotificationsArgs:
    region: str  # B
    account_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]  # B's key
    provider: aws.Provider
    initial_region: str  # A: who sends until the runbook says otherwise
    initial_secret_arn: pulumi.Input[str]  # A's credentials secret
    queue_name: str = naming.FAILED_NOTIFICATIONS_QUEUE
    dead_letter_name: str = naming.FAILED_NOTIFICATIONS_DLQ
    config_prefix: str = naming.SES_CONFIG_PREFIX


class FailedNotifications(pulumi.ComponentResource):
    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    dead_letter_url: pulumi.Output[str]
    dead_letter_arn: pulumi.Output[str]
    parameter_names: dict[str, str]

    def __init__(self, name: str, args: FailedNotificationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dr-platform:notifications:FailedNotifications", name, None, opts)
        p = args.provider
        # The source's ARN is known from its name: the dead-letter queue admits it without waiting for it.
        source_arn = pulumi.Output.from_input(args.account_id).apply(
            lambda account: queue_arn(args.region, account, args.queue_name))
        # Undelivered critical notifications are data: kept if removed from the program.
        dead_letter = aws.sqs.Queue(
            f"{name}-dlq", name=args.dead_letter_name, kms_master_key_id=args.kms_key_arn,
            kms_data_key_reuse_period_seconds=DATA_KEY_REUSE_S, message_retention_seconds=DEAD_LETTER_RETENTION_S,
            redrive_allow_policy=source_arn.apply(lambda arn: json.dumps(
                {"redrivePermission": "byQueue", "sourceQueueArns": [arn]})),
            opts=data(self, p))
        queue = aws.sqs.Queue(
            f"{name}-queue", name=args.queue_name, kms_master_key_id=args.kms_key_arn,
            kms_data_key_reuse_period_seconds=DATA_KEY_REUSE_S, message_retention_seconds=RETENTION_S,
            redrive_policy=dead_letter.arn.apply(lambda arn: json.dumps(
                {"deadLetterTargetArn": arn, "maxReceiveCount": MAX_RECEIVES})),
            opts=data(self, p))
        for suffix, q in (("queue", queue), ("dlq", dead_letter)):
            aws.sqs.QueuePolicy(f"{name}-{suffix}-policy", queue_url=q.url, policy=q.arn.apply(tls_only_policy),
                                opts=child(self, p))

        self.parameter_names = naming.ses_parameter_names(args.config_prefix)
        initial = {"region": args.initial_region, "credentialsSecretArn": args.initial_secret_arn}
        for key, parameter in self.parameter_names.items():
            # Not secrets (a region, an ARN): String, as the runbook writes them. The runbook owns the value.
            aws.ssm.Parameter(f"{name}-{parameter.rsplit('/', 1)[-1]}", name=parameter, type="String", tier="Standard",
                              insecure_value=initial[key],
                              description="Where the application sends critical mail from; written by drctl "
                                          "ses-failover (RB-N-07), so pulumi ignores changes to it",
                              opts=child(self, p, ignore_changes=["insecure_value"]))
        self.queue_url, self.queue_arn = queue.url, queue.arn
        self.dead_letter_url, self.dead_letter_arn = dead_letter.url, dead_letter.arn
        self.register_outputs({"queueUrl": self.queue_url, "deadLetterUrl": self.dead_letter_url})
