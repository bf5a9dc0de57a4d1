"""Critical mail from either region (RB-N-07): per region an SES domain identity signed with Easy DKIM, a custom
MAIL FROM domain, and a configuration set that publishes delivery failures to an encrypted SNS topic; in region A,
the application's sending credentials, kept in Secrets Manager and replicated to B.

- DKIM: Easy DKIM gives each region's identity its own three tokens; their CNAMEs go into the Route53 zone (looked
  up as components/dns.py does). The identity becomes verified when SES finds them; no record is typed by hand.
- MAIL FROM: `<sub>.<region>.<domain>` per region, since its MX must name that region's feedback endpoint; with its
  SPF TXT. On an MX failure SES falls back to its own MAIL FROM (mail still goes out, DKIM-aligned).
- Events: bounces, complaints, rejects, delivery delays and rendering failures go to a topic encrypted with its own
  small CMK (SES must be allowed to use the key, and the data key grants no service principal anything, as in
  components/alarms.py). The identity names the configuration set as its default, so every send publishes events.
- Credentials: an IAM user allowed ses:SendRawEmail (what SMTP sends with) from the configured sender only, through
  the two identities and configuration sets only. Its key is generated here (no secret in config or code); the
  secret holds the access key and the SMTP password of each region (SMTP passwords are derived per region).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.base import child, data
from ops.core import naming
from ops.core.environments import Names

DKIM_KEY_LENGTH = "RSA_2048_BIT"
DKIM_TOKENS = 3  # Easy DKIM always publishes three
DKIM_TTL = 1800
MAIL_FROM_TTL = 600
SPF = "v=spf1 include:amazonses.com ~all"
# USE_DEFAULT_VALUE: an MX lookup that fails sends with SES's MAIL FROM instead of refusing critical mail.
ON_MX_FAILURE = "USE_DEFAULT_VALUE"
FAILURE_EVENTS = ["BOUNCE", "COMPLAINT", "REJECT", "DELIVERY_DELAY", "RENDERING_FAILURE"]
EVENT_DESTINATION = "delivery-failures"
CREDENTIALS_RECOVERY_DAYS = 7


def dkim_record(token: str, domain: str) -> tuple[str, str]:
    """(name, CNAME target) of one Easy DKIM token."""
    return f"{token}._domainkey.{domain}", f"{token}.dkim.amazonses.com"


def feedback_mx(region: str) -> str:
    return f"10 feedback-smtp.{region}.amazonses.com"


def identity_arn(region: str, account_id: str, domain: str) -> str:
    return f"arn:aws:ses:{region}:{account_id}:identity/{domain}"


def configuration_set_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:ses:{region}:{account_id}:configuration-set/{name}"


def smtp_password(secret_access_key: str, region: str) -> str:
    """The SES SMTP password of an access key in `region` (AWS's published derivation, version 4: SigV4 over the
    fixed date 11111111 and the message SendRawEmail); the same key gives each region a different password."""
    def sign(key: bytes, message: str) -> bytes:
        return hmac.new(key, message.encode(), hashlib.sha256).digest()

    signature = sign(f"AWS4{secret_access_key}".encode(), "11111111")
    for part in (region, "ses", "aws4_request", "SendRawEmail"):
        signature = sign(signature, part)
    return base64.b64encode(bytes([0x04]) + signature).decode()


def events_key_policy(account_id: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "AccountAdministersTheKey", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "kms:*", "Resource": "*"},
        # SES encrypts what it publishes to the topic. No condition, as for CloudWatch in components/alarms.py: a
        # condition key the request lacks would drop every event; the key serves this one topic.
        {"Sid": "SesPublishesEventsToTheTopic", "Effect": "Allow", "Principal": {"Service": "ses.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"},
    ]})


def events_topic_policy(topic_arn: str, account_id: str, region: str, configuration_set: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "AccountOwnsTheTopic", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
         "Action": ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe", "sns:Publish"],
         "Resource": topic_arn},
        {"Sid": "SesPublishesThisConfigurationSetsEvents", "Effect": "Allow",
         "Principal": {"Service": "ses.amazonaws.com"}, "Action": "sns:Publish", "Resource": topic_arn,
         "Condition": {"StringEquals": {"aws:SourceAccount": account_id},
                       "ArnLike": {"aws:SourceArn": configuration_set_arn(region, account_id, configuration_set)}}},
    ]})


@dataclass
class SendingDomainArgs:
    region: str
    domain: str  # the identity, e.g. example.com
    mail_from_domain: str
    zone_name: str  # the Route53 public zone holding the domain's records (dns.zoneName)
    account_id: pulumi.Input[str]
    provider: aws.Provider
    configuration_set: str = naming.SES_CONFIGURATION_SET
    names: Names = field(default_factory=Names)  # the environment's: its events topic


class SendingDomain(pulumi.ComponentResource):
    """One region's SES identity with Easy DKIM, MAIL FROM and its configuration set with event publishing."""

    identity_arn: pulumi.Output[str]
    configuration_set_name: pulumi.Output[str]
    events_topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: SendingDomainArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dr-platform:email:SendingDomain", name, None, opts)
        p, region = args.provider, args.region
        key = aws.kms.Key(f"{name}-events-key", description=f"dr-platform SES delivery events ({region})",
                          enable_key_rotation=True, deletion_window_in_days=7,
                          policy=pulumi.Output.from_input(args.account_id).apply(events_key_policy),
                          opts=child(self, p))
        topic = aws.sns.Topic(f"{name}-events", name=args.names.project_name(f"email-events-{region}"),
                              kms_master_key_id=key.arn,
                              opts=child(self, p))
        topic_policy = aws.sns.TopicPolicy(
            f"{name}-events-policy", arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, args.account_id).apply(
                lambda v: events_topic_policy(v[0], v[1], region, args.configuration_set)),
            opts=child(self, p))
        configuration_set = aws.sesv2.ConfigurationSet(
            f"{name}-configuration-set", configuration_set_name=args.configuration_set,
            delivery_options={"tls_policy": "REQUIRE"},  # never hand critical mail over in clear text
            reputation_options={"reputation_metrics_enabled": True},
            sending_options={"sending_enabled": True},
            suppression_options={"suppressed_reasons": ["BOUNCE", "COMPLAINT"]},
            opts=child(self, p))
        aws.sesv2.ConfigurationSetEventDestination(
            f"{name}-events-destination", configuration_set_name=configuration_set.configuration_set_name,
            event_destination_name=EVENT_DESTINATION,
            event_destination={"enabled": True, "matching_event_types": FAILURE_EVENTS,
                               "sns_destination": {"topic_arn": topic.arn}},
            # SES publishes from the moment the destination exists: the topic's and key's policies come first.
            opts=child(self, p, depends_on=[topic_policy, key]))
        identity = aws.sesv2.EmailIdentity(
            f"{name}-identity", email_identity=args.domain,
            configuration_set_name=configuration_set.configuration_set_name,
            dkim_signing_attributes={"next_signing_key_length": DKIM_KEY_LENGTH}, opts=child(self, p))

        zone = aws.route53.get_zone_output(name=args.zone_name, private_zone=False,
                                           opts=pulumi.InvokeOutputOptions(parent=self, provider=p))
        tokens = identity.dkim_signing_attributes.apply(_tokens)
        for index in range(DKIM_TOKENS):
            record = tokens.apply(lambda found, i=index: dkim_record(found[i], args.domain) if len(found) > i
                                  else ("", ""))
            aws.route53.Record(f"{name}-dkim-{index}", zone_id=zone.zone_id, type="CNAME", ttl=DKIM_TTL,
                               name=record[0], records=[record[1]], opts=child(self, p))

        aws.sesv2.EmailIdentityMailFromAttributes(
            f"{name}-mail-from", email_identity=identity.email_identity, mail_from_domain=args.mail_from_domain,
            behavior_on_mx_failure=ON_MX_FAILURE, opts=child(self, p))
        aws.route53.Record(f"{name}-mail-from-mx", zone_id=zone.zone_id, name=args.mail_from_domain, type="MX",
                           ttl=MAIL_FROM_TTL, records=[feedback_mx(region)], opts=child(self, p))
        aws.route53.Record(f"{name}-mail-from-spf", zone_id=zone.zone_id, name=args.mail_from_domain, type="TXT",
                           ttl=MAIL_FROM_TTL, records=[SPF], opts=child(self, p))

        self.identity_arn = identity.arn
        self.configuration_set_name = configuration_set.configuration_set_name
        self.events_topic_arn = topic.arn
        self.register_outputs({"identityArn": self.identity_arn, "eventsTopicArn": self.events_topic_arn})


def _tokens(dkim: object) -> list[str]:
    found = dkim.get("tokens") if isinstance(dkim, dict) else getattr(dkim, "tokens", None)
    return list(found or [])


def sender_policy(account_id: str, sender: str, domain: str, regions: list[str], configuration_set: str) -> str:
    """ses:SendRawEmail (SMTP's action) as `sender` only, through the domain's identity and the configuration set
    of each region: a leaked credential can send neither as anyone else nor from any other identity."""
    resources = [arn for region in regions for arn in (identity_arn(region, account_id, domain),
                                                       configuration_set_arn(region, account_id, configuration_set))]
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "SendAsTheSenderOnly", "Effect": "Allow", "Action": "ses:SendRawEmail", "Resource": resources,
        "Condition": {"StringEquals": {"ses:FromAddress": sender}}}]})


def credentials_value(access_key_id: str, secret_access_key: str, regions: list[str]) -> str:
    return json.dumps({"accessKeyId": access_key_id, "secretAccessKey": secret_access_key,
                       "smtpUsername": access_key_id,
                       "smtp": {region: {"host": f"email-smtp.{region}.amazonaws.com", "port": 587,
                                         "password": smtp_password(secret_access_key, region)} for region in regions}})


@dataclass
class SendingCredentialsArgs:
    sender: str
    domain: str
    regions: list[str]  # A first; the secret replicates to the others
    account_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]  # A's data key
    replica_kms_key_arn: pulumi.Input[str]  # B's replica of it
    provider: aws.Provider  # region A's
    configuration_set: str = naming.SES_CONFIGURATION_SET
    names: Names = field(default_factory=Names)  # the environment's: the sender user and the secret


class SendingCredentials(pulumi.ComponentResource):
    """The application's SES credentials (an IAM user's key, generated here) in a secret replicated to B."""

    secret_arn: pulumi.Output[str]
    secret_name: pulumi.Output[str]

    def __init__(self, name: str, args: SendingCredentialsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dr-platform:email:SendingCredentials", name, None, opts)
        p = args.provider
        user = aws.iam.User(f"{name}-user", name=args.names.ses_sender_user, opts=child(self, p))
        aws.iam.UserPolicy(f"{name}-user-policy", user=user.name, policy=pulumi.Output.from_input(
            args.account_id).apply(lambda account: sender_policy(account, args.sender, args.domain, args.regions,
                                                                 args.configuration_set)),
            opts=child(self, p))
        access_key = aws.iam.AccessKey(f"{name}-key", user=user.name, opts=child(self, p))
        secret = aws.secretsmanager.Secret(
            f"{name}-secret", name=args.names.ses_credentials_secret,
            description="SES sending credentials of the application (replicated to the DR region)",
            kms_key_id=args.kms_key_arn, recovery_window_in_days=CREDENTIALS_RECOVERY_DAYS,
            replicas=[aws.secretsmanager.SecretReplicaArgs(region=region, kms_key_id=args.replica_kms_key_arn)
                      for region in args.regions[1:]],
            opts=data(self, p))  # what B's application reads during an outage: kept like data
        aws.secretsmanager.SecretVersion(
            f"{name}-secret-value", secret_id=secret.id,
            secret_string=pulumi.Output.secret(pulumi.Output.all(access_key.id, access_key.secret).apply(
                lambda v: credentials_value(v[0], v[1], args.regions))),
            opts=child(self, p))
        self.secret_arn = secret.arn
        self.secret_name = secret.name
        self.register_outputs({"secretArn": self.secret_arn})
