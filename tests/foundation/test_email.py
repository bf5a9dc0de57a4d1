"""Critical mail (RB-N-07) on the plan of the real program: identities with Easy DKIM and MAIL FROM in both regions
and their records in the zone, event publishing, the replicated credentials, and in B the queue, its dead-letter
queue and the sending parameters, in the order the engine creates them."""
from __future__ import annotations

import base64
import json

import pytest

from components.email import smtp_password
from ops.drctl.planning.mockplan import Plan, PlannedResource, planned_outputs
from ops.drctl.planning.steps import step_order
from stacks.config_files import load_stack_settings

A, B = "us-east-1", "us-west-2"
IDENTITY = "aws:sesv2/emailIdentity:EmailIdentity"
MAIL_FROM = "aws:sesv2/emailIdentityMailFromAttributes:EmailIdentityMailFromAttributes"
RECORD = "aws:route53/record:Record"
QUEUE = "aws:sqs/queue:Queue"
PARAMETER = "aws:ssm/parameter:Parameter"


def records(plan: Plan, type_: str) -> dict[str, PlannedResource]:
    return {r.inputs["name"]: r for r in plan.by_type(RECORD) if r.inputs["type"] == type_}


def identity_of(plan: Plan) -> PlannedResource:
    (identity,) = plan.by_type(IDENTITY)
    return identity


@pytest.mark.parametrize("stack", ["primary", "dr"])
def test_each_region_has_the_domain_signed_with_easy_dkim_and_its_three_cnames_in_the_zone(
        stack: str, primary_plan: Plan, dr_plan: Plan) -> None:
    plan, region = (primary_plan, A) if stack == "primary" else (dr_plan, B)
    identity = identity_of(plan)
    assert identity.region == region and identity.inputs["emailIdentity"] == "example.com"
    assert identity.inputs["dkimSigningAttributes"] == {"nextSigningKeyLength": "RSA_2048_BIT"}  # Easy DKIM
    tokens = planned_outputs(identity)["dkimSigningAttributes"]["tokens"]
    cnames = records(plan, "CNAME")
    for token in tokens:  # what SES looks for before it calls the domain verified
        record = cnames[f"{token}._domainkey.example.com"]
        assert record.inputs["records"] == [f"{token}.dkim.amazonses.com"]
    assert len(tokens) == 3
    assert len({r.inputs["zoneId"] for r in plan.by_type(RECORD)}) == 1  # dns.zoneName's zone, like the API's
    assert plan.outputs["sesIdentities"] == {region: f"arn:aws:ses:{region}:123456789012:identity/example.com"}


def test_the_two_regions_sign_with_their_own_tokens(primary_plan: Plan, dr_plan: Plan) -> None:
    a, b = (set(planned_outputs(identity_of(p))["dkimSigningAttributes"]["tokens"]) for p in (primary_plan, dr_plan))
    assert a and b and not a & b  # six CNAMEs, each stack owning its three
    dkim_a, dkim_b = ({n for n in records(p, "CNAME") if "._domainkey." in n} for p in (primary_plan, dr_plan))
    assert not dkim_a & dkim_b


@pytest.mark.parametrize("stack", ["primary", "dr"])
def test_mail_from_per_region_with_its_feedback_mx_and_spf(stack: str, primary_plan: Plan, dr_plan: Plan) -> None:
    plan, region = (primary_plan, A) if stack == "primary" else (dr_plan, B)
    (mail_from,) = plan.by_type(MAIL_FROM)
    domain = f"mail.{region}.example.com"
    assert mail_from.region == region
    assert mail_from.inputs == {"emailIdentity": "example.com", "mailFromDomain": domain,
                                "behaviorOnMxFailure": "USE_DEFAULT_VALUE"}
    assert records(plan, "MX")[domain].inputs["records"] == [f"10 feedback-smtp.{region}.amazonses.com"]
    assert records(plan, "TXT")[domain].inputs["records"] == ["v=spf1 include:amazonses.com ~all"]


@pytest.mark.parametrize("stack", ["primary", "dr"])
def test_delivery_failures_are_published_to_an_encrypted_topic_ses_may_use(stack: str, primary_plan: Plan,
                                                                           dr_plan: Plan) -> None:
    plan = primary_plan if stack == "primary" else dr_plan
    (destination,) = plan.by_type("aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination")
    event = destination.inputs["eventDestination"]
    assert {"BOUNCE", "COMPLAINT", "REJECT", "DELIVERY_DELAY"} <= set(event["matchingEventTypes"])
    assert event["enabled"] is True
    (topic,) = [t for t in plan.by_type("aws:sns/topic:Topic") if t.inputs["name"].startswith("dr-platform-email")]
    assert event["snsDestination"]["topicArn"] == planned_outputs(topic)["arn"]
    (key,) = [k for k in plan.by_type("aws:kms/key:Key") if planned_outputs(k)["arn"] == topic.inputs["kmsMasterKeyId"]]
    grants = [s for s in json.loads(key.inputs["policy"])["Statement"]
              if s["Principal"] == {"Service": "ses.amazonaws.com"}]
    assert grants and "kms:GenerateDataKey*" in grants[0]["Action"]
    (configuration_set,) = plan.by_type("aws:sesv2/configurationSet:ConfigurationSet")
    assert configuration_set.inputs["deliveryOptions"] == {"tlsPolicy": "REQUIRE"}
    # the identity's default configuration set: every send publishes its events, whatever the caller passes
    assert identity_of(plan).inputs["configurationSetName"] == configuration_set.inputs["configurationSetName"]


def test_the_credentials_are_generated_replicated_to_b_with_its_key_and_may_only_send_as_the_sender(
        primary_plan: Plan) -> None:
    (secret,) = [s for s in primary_plan.by_type("aws:secretsmanager/secret:Secret")
                 if s.inputs["name"] == "dr-platform/ses-credentials"]
    assert secret.region == A and secret.inputs["kmsKeyId"] == primary_plan.outputs["kmsPrimaryKeyArn"]
    assert secret.inputs["replicas"] == [{"region": B, "kmsKeyId": primary_plan.outputs["kmsReplicaKeyArn"]}]
    (value,) = [v for v in primary_plan.by_type("aws:secretsmanager/secretVersion:SecretVersion")
                if v.parent and "SendingCredentials" in v.parent]
    assert value.inputs["secretString"] == "[secret]"  # generated from the access key, never in config
    (policy,) = primary_plan.by_type("aws:iam/userPolicy:UserPolicy")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Action"] == "ses:SendRawEmail" and statement["Effect"] == "Allow"
    assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": "no-reply@example.com"}}
    assert sorted(statement["Resource"]) == sorted(
        f"arn:aws:ses:{region}:123456789012:{kind}" for region in (A, B)
        for kind in ("identity/example.com", "configuration-set/dr-platform-critical-mail"))


# terraform-provider-aws's vectors for its ses_smtp_password_v4 (internal/service/iam/access_key_test.go,
# TestSESSMTPPasswordFromSecretKeySigV4): an implementation known to authenticate against SES.
SMTP_VECTORS = [("eu-central-1", "some+secret+key", "BMXhUYlu5Z3gSXVQORxlVa7XPaz91aGWdfHxvkOZdWZ2"),
                ("eu-central-1", "another+secret+key", "BBbphbrQmrKMx42d1N6+C7VINYEBGI5v9VsZeTxwskfh"),
                ("us-west-1", "some+secret+key", "BH+jbMzper5WwlwUar9E1ySBqHa9whi0GPo+sJ0mVYJj"),
                ("us-west-1", "another+secret+key", "BKVmjjMDFk/qqw8EROW99bjCS65PF8WKvK5bSr4Y6EqF")]


@pytest.mark.parametrize(("region", "secret", "expected"), SMTP_VECTORS)
def test_smtp_passwords_match_the_providers_derivation(region: str, secret: str, expected: str) -> None:
    assert smtp_password(secret, region) == expected
    assert base64.b64decode(expected)[0] == 0x04  # version 4


def test_queue_and_dead_letter_queue_are_encrypted_with_bs_key_tls_only_and_redriven(dr_plan: Plan,
                                                                                     primary_plan: Plan) -> None:
    queues = {q.inputs["name"]: q for q in dr_plan.by_type(QUEUE)}
    queue, dead_letter = queues["critical-notifications-failed"], queues["critical-notifications-dlq"]
    for q in (queue, dead_letter):
        assert q.region == B and q.inputs["kmsMasterKeyId"] == primary_plan.outputs["kmsReplicaKeyArn"]
        assert q.protect and q.retainOnDelete  # undelivered critical mail is data
    redrive = json.loads(queue.inputs["redrivePolicy"])
    assert redrive == {"deadLetterTargetArn": planned_outputs(dead_letter)["arn"], "maxReceiveCount": 10}
    assert json.loads(dead_letter.inputs["redriveAllowPolicy"]) == {
        "redrivePermission": "byQueue", "sourceQueueArns": [planned_outputs(queue)["arn"]]}
    assert dead_letter.inputs["messageRetentionSeconds"] > queue.inputs["messageRetentionSeconds"]
    policies = {p.inputs["queueUrl"]: json.loads(p.inputs["policy"])
                for p in dr_plan.by_type("aws:sqs/queuePolicy:QueuePolicy")}
    for q in (queue, dead_letter):
        (deny,) = policies[planned_outputs(q)["url"]]["Statement"]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert dr_plan.outputs["sesQueueUrl"] == planned_outputs(queue)["url"]


@pytest.mark.parametrize(("posture", "failover"), [("pilot-light", False), ("warm-standby", False),
                                                   ("active-active", True)])
def test_parameters_start_with_as_sender_and_are_the_runbooks_afterwards(dr_plans: dict, primary_plan: Plan,
                                                                          posture: str, failover: bool) -> None:
    plan = dr_plans[(posture, failover)]
    parameters = {p.inputs["name"]: p for p in plan.by_type(PARAMETER)}
    assert {n: p.inputs["insecureValue"] for n, p in parameters.items()} == {
        "/dr-platform/ses/region": A, "/dr-platform/ses/credentials-secret-arn":
            primary_plan.outputs["sesCredentialsSecretArn"]}  # even after failover: the runbook moves mail
    for parameter in parameters.values():
        assert parameter.region == B and parameter.inputs["type"] == "String"
        assert parameter.ignoreChanges == ["insecureValue"]  # a later `pulumi up` leaves the runbook's value
    assert sorted(plan.outputs["sesParameterNames"].values()) == sorted(parameters)


def test_the_outputs_name_what_the_runbook_reads(dr_plan: Plan, primary_plan: Plan) -> None:
    outputs = dr_plan.outputs
    assert outputs["sesCredentialsSecretArn"] == primary_plan.outputs["sesCredentialsSecretArn"].replace(
        f":{A}:", f":{B}:")  # the replica in B
    assert (outputs["sesQueueName"], outputs["sesDeadLetterQueueName"], outputs["sesCredentialsSecretName"],
            outputs["sesConfigPrefix"], outputs["sesSender"]) == (
        "critical-notifications-failed", "critical-notifications-dlq", "dr-platform/ses-credentials",
        "/dr-platform/ses", "no-reply@example.com")


def test_a_first_deploy_creates_the_identity_before_its_records_and_the_policies_before_the_destination(
        dr_plan: Plan) -> None:
    order = step_order(Plan(stack="dr", config={}), dr_plan)

    def step(type_: str, name_part: str):
        (found,) = [s for s in order.steps if s.resource.type == type_ and name_part in s.resource.name]
        return found

    identity = step(IDENTITY, "identity")
    for index in range(3):
        assert order.happens_after(step(RECORD, f"dkim-{index}"), identity)
    assert order.happens_after(step(MAIL_FROM, "mail-from"), identity)
    destination = step("aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination", "events")
    assert order.happens_after(destination, step("aws:sns/topicPolicy:TopicPolicy", "events-policy"))
    assert order.happens_after(destination, step("aws:kms/key:Key", "events-key"))
    assert order.happens_after(step(QUEUE, "failed-notifications-queue"), step(QUEUE, "failed-notifications-dlq"))


def test_failing_over_changes_no_mail_resource(dr_plans: dict) -> None:
    from ops.drctl.planning.diff import diff_plans

    diff = diff_plans(dr_plans[("pilot-light", False)], dr_plans[("pilot-light", True)])
    touched = [c.resource.urn for c in diff.changed] + [r.urn for r in (*diff.added, *diff.removed)]
    assert not [u for u in touched if "email" in u or "failed-notifications" in u]


def test_both_stacks_send_as_the_same_domain_into_the_same_zone() -> None:
    """Each stack writes its region's records into dns.zoneName: a zone (or sender) set in one stack file only would
    verify the domain in one region and not the other."""
    primary, dr = load_stack_settings("primary"), load_stack_settings("dr")
    assert (primary.dns.zone_name, primary.email) == (dr.dns.zone_name, dr.email)
