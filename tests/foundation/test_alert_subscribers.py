"""The alert topics page someone: one SNS subscription per configured endpoint on each stack's topic (none when
none is configured), endpoints checked per protocol before anything is declared; and CloudWatch may use the topic's
key exactly as AWS documents it for event sources publishing to encrypted topics."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ops.drctl.cli import app
from ops.drctl.planning.mockplan import Plan, plan_stack
from stacks.config_files import load_stack_settings
from stacks.settings import ConfigError

SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
ONCALL = [{"protocol": "email", "endpoint": "oncall@example.com"},
          {"protocol": "https", "endpoint": "https://events.pagerduty.com/integration/abc123/enqueue"},
          {"protocol": "sqs", "endpoint": "arn:aws:sqs:us-west-2:123456789012:dr-alerts"}]


def subscriptions_flag(subscriptions: list[dict]) -> str:
    return f"alerts.subscriptions={json.dumps(subscriptions)}"


def test_no_subscriber_configured_means_no_subscription(primary_plan: Plan, dr_plans: dict) -> None:
    assert load_stack_settings("primary").alerts.subscriptions == []
    for plan in (primary_plan, *dr_plans.values()):
        assert plan.by_type(SUBSCRIPTION) == []


@pytest.mark.parametrize("stack", ["primary", "dr"])
def test_each_configured_endpoint_subscribes_to_the_stacks_topic(stack: str) -> None:
    plan = plan_stack(stack, [subscriptions_flag(ONCALL)])
    (topic,) = [t for t in plan.by_type("aws:sns/topic:Topic") if "replication-alerts" in t.inputs["name"]]
    found = plan.by_type(SUBSCRIPTION)
    assert sorted((s.inputs["protocol"], s.inputs["endpoint"]) for s in found) == \
        sorted((s["protocol"], s["endpoint"]) for s in ONCALL)
    for subscription in found:
        assert subscription.inputs["topic"] == plan.outputs["alertsTopicArn"]
        assert subscription.region == topic.region and subscription.parent == topic.parent


def test_subscription_names_do_not_move_when_the_list_is_reordered() -> None:
    names = {r.name for r in plan_stack("primary", [subscriptions_flag(ONCALL)]).by_type(SUBSCRIPTION)}
    reordered = {r.name for r in plan_stack("primary", [subscriptions_flag(ONCALL[::-1])]).by_type(SUBSCRIPTION)}
    assert names == reordered and len(names) == len(ONCALL)


BAD = [  # (subscriptions, the key the message must name, a word it must say)
    ([{"protocol": "http", "endpoint": "http://pager.example.com/hook"}], "alerts.subscriptions[0].protocol",
     "https"),
    ([{"protocol": "pigeon", "endpoint": "roof"}], "alerts.subscriptions[0].protocol", "email"),
    ([{"protocol": "email", "endpoint": "oncall.example.com"}], "alerts.subscriptions[0].endpoint", "email"),
    ([ONCALL[0], {"protocol": "https", "endpoint": "http://pager.example.com/hook"}],
     "alerts.subscriptions[1].endpoint", "https://"),
    ([{"protocol": "sms", "endpoint": "555-0100"}], "alerts.subscriptions[0].endpoint", "E.164"),
    ([{"protocol": "sqs", "endpoint": "dr-alerts"}], "alerts.subscriptions[0].endpoint", "arn:aws:sqs:"),
    ([{"protocol": "lambda", "endpoint": "arn:aws:sqs:us-west-2:123456789012:q"}],
     "alerts.subscriptions[0].endpoint", "arn:aws:lambda:"),
    ([ONCALL[0], ONCALL[0]], "alerts.subscriptions[1]", "twice"),
    ([{"protocol": "email"}], "alerts.subscriptions[0].endpoint", "required"),
]


@pytest.mark.parametrize(("subscriptions", "key", "word"), BAD)
def test_bad_subscriptions_are_refused_naming_the_key(subscriptions: list, key: str, word: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_stack_settings("dr", [subscriptions_flag(subscriptions)])
    assert raised.value.key == key
    assert str(raised.value).startswith(f"dr-platform:{key}: ") and word in str(raised.value)


def test_the_cli_refuses_a_bad_subscription_with_exit_2() -> None:
    result = CliRunner().invoke(app, ["plan", "primary", "--set",
                                      subscriptions_flag([{"protocol": "http", "endpoint": "http://x.example"}])])
    assert result.exit_code == 2
    assert "alerts.subscriptions[0].protocol" in result.output


def test_cloudwatch_uses_the_topic_key_as_aws_documents(primary_plan: Plan, dr_plans: dict) -> None:
    """Amazon SNS developer guide, "Enable compatibility between event sources from AWS services and encrypted
    topics": the key policy statement for the publishing service is Allow, Principal {"Service":
    "service.amazonaws.com"}, Action ["kms:GenerateDataKey*", "kms:Decrypt"], Resource "*", with no Condition. AWS
    documents no aws:SourceAccount in CloudWatch's KMS requests for alarm actions; a condition on a key the request
    does not carry denies it, and the alarm's notification is dropped with nothing but a line in its history."""
    for plan in (primary_plan, *dr_plans.values()):
        (topic,) = [t for t in plan.by_type("aws:sns/topic:Topic") if "replication-alerts" in t.inputs["name"]]
        key = next(k for k in plan.by_type("aws:kms/key:Key") if k.parent == topic.parent)
        found = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
        assert found["CloudWatchPublishesAlarmsToTheTopic"] == {
            "Sid": "CloudWatchPublishesAlarmsToTheTopic", "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"}
