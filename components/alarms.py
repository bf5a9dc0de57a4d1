"""Replication alarms: CloudWatch tells the on-call when a data store's replication lag puts its RPO at risk, or
when S3 fails to replicate an object at all (a FAILED object publishes no latency, so no lag alarm would fire).

Each lag metric lives in one region (Aurora's in the secondary's, S3's and DynamoDB's in the source's), so each
stack alarms on the metrics of its own region, into an SNS topic of that region. Alarms fire at half the tier's
RPO: the lag is still inside the objective, and there is time to act before it is breached.

The topic is encrypted with its own small CMK, not the data key: CloudWatch must be allowed to use a topic's key
(the AWS managed aws/sns key cannot grant that, so alarms into it are silently dropped), and the data key should
not grant a service principal anything.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.base import child
from ops.core.environments import Names

PERIOD_SECONDS = 60  # lag metrics are published per minute
EVALUATION_PERIODS = 5
DATAPOINTS_TO_ALARM = 3  # 3 bad minutes out of 5: one slow batch does not page anyone


@dataclass(frozen=True)
class LagAlarm:
    name: str  # unique within the stack, e.g. "aurora-dr-core-us-west-2"
    namespace: str
    metric: str
    dimensions: dict[str, pulumi.Input[str]]
    threshold: float  # in the metric's own unit
    description: str
    # A lag waits for 3 bad minutes out of 5; a count of failures (each one a lost object) pages at the first.
    statistic: str = "Maximum"
    evaluation_periods: int = EVALUATION_PERIODS
    datapoints_to_alarm: int = DATAPOINTS_TO_ALARM
    what: str = "replication-lag"  # the alarm's name ends with it
    # A canary's SuccessPercent (components/canary.py) alarms when it falls, per run, and when no run reports.
    period: int = PERIOD_SECONDS
    comparison: str = "GreaterThanThreshold"
    treat_missing_data: str = "notBreaching"


@dataclass(frozen=True)
class AlertSubscriber:
    protocol: str  # an SNS protocol (email, https, sms, sqs, lambda); stacks/settings.py validates the endpoint
    endpoint: str


@dataclass
class ReplicationAlarmsArgs:
    region: str
    alarms: list[LagAlarm]
    provider: aws.Provider
    account_id: pulumi.Input[str]  # the key policy's administrator
    subscribers: list[AlertSubscriber] = field(default_factory=list)
    names: Names = field(default_factory=Names)  # the environment's: its topic and alarm names


def half_rpo(rpo_minutes: int, unit_seconds: float) -> float:
    """Half the RPO in the metric's unit (unit_seconds: 1 for seconds, 0.001 for milliseconds)."""
    return rpo_minutes * 60 / 2 / unit_seconds


def alerts_key_policy(account_id: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "AccountAdministersTheKey", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "kms:*", "Resource": "*"},
        # As the SNS developer guide gives it for an AWS service publishing to an encrypted topic ("Enable
        # compatibility between event sources from AWS services and encrypted topics"): no condition. AWS does not
        # document aws:SourceAccount in CloudWatch's KMS requests, and a condition on a key the request lacks
        # denies it: the notification would be dropped. The key serves this topic only, and the topic's default
        # policy admits publishers of this account only.
        {"Sid": "CloudWatchPublishesAlarmsToTheTopic", "Effect": "Allow",
         "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"},
    ]})


class ReplicationAlarms(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ReplicationAlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dr-platform:alarms:ReplicationAlarms", name, None, opts)
        key = aws.kms.Key(f"{name}-key", description=f"dr-platform replication alerts ({args.region})",
                          enable_key_rotation=True, deletion_window_in_days=7,
                          policy=pulumi.Output.from_input(args.account_id).apply(alerts_key_policy),
                          opts=child(self, args.provider))
        topic = aws.sns.Topic(f"{name}-topic", name=args.names.project_name(f"replication-alerts-{args.region}"),
                              kms_master_key_id=key.arn, opts=child(self, args.provider))
        self.alarm_arns: dict[str, pulumi.Output[str]] = {}  # by LagAlarm.name: what drills stop on
        for alarm in args.alarms:
            self.alarm_arns[alarm.name] = aws.cloudwatch.MetricAlarm(
                f"{name}-{alarm.name}", name=args.names.project_name(f"{alarm.name}-{alarm.what}"),
                alarm_description=alarm.description, namespace=alarm.namespace, metric_name=alarm.metric,
                dimensions=alarm.dimensions, statistic=alarm.statistic, period=alarm.period,
                evaluation_periods=alarm.evaluation_periods, datapoints_to_alarm=alarm.datapoints_to_alarm,
                threshold=alarm.threshold, comparison_operator=alarm.comparison,
                # No datapoints means nothing to replicate (S3 and DynamoDB publish only on writes) or a headless
                # secondary: not a lag, and no failure. A region that stops answering is the health checks' job.
                treat_missing_data=alarm.treat_missing_data,
                alarm_actions=[topic.arn], ok_actions=[topic.arn], opts=child(self, args.provider)).arn
        for subscriber in args.subscribers:
            # Named by what it delivers to, not its place in the list: reordering the config replaces nothing.
            digest = hashlib.sha256(f"{subscriber.protocol}:{subscriber.endpoint}".encode()).hexdigest()[:10]
            aws.sns.TopicSubscription(f"{name}-{subscriber.protocol}-{digest}", topic=topic.arn,
                                      protocol=subscriber.protocol, endpoint=subscriber.endpoint,
                                      opts=child(self, args.provider))
        self.topic_arn = topic.arn
        self.register_outputs({"topicArn": self.topic_arn})
