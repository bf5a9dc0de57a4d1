"""Critical mail in each stack (RB-N-07): A's identity and the replicated credentials in the primary stack; B's
identity, the failed-notifications queue and the sending parameters in the dr stack. The outputs are what
`drctl ses-failover` reads by default (ops/drctl/stack_outputs.py)."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.email import (
    SendingCredentials,
    SendingCredentialsArgs,
    SendingDomain,
    SendingDomainArgs,
)
from components.notifications import FailedNotifications, FailedNotificationsArgs
from stacks.common import export_all
from stacks.settings import Settings


def sending_domain(settings: Settings, region: str, provider: aws.Provider,
                   account: pulumi.Input[str]) -> SendingDomain:
    e = settings.email
    return SendingDomain(f"email-{region}", SendingDomainArgs(
        region=region, domain=e.sender_domain, mail_from_domain=e.mail_from_domain(region),
        zone_name=settings.dns.zone_name, account_id=account, provider=provider,
        configuration_set=settings.names.ses_configuration_set, names=settings.names))


def export_identity(settings: Settings, region: str, domain: SendingDomain) -> None:
    export_all({
        "sesSender": settings.email.sender,
        "sesIdentities": {region: domain.identity_arn},
        "sesConfigurationSet": domain.configuration_set_name,
        "sesEventsTopicArn": domain.events_topic_arn,
        "sesMailFromDomain": settings.email.mail_from_domain(region),
    })


def primary_email(settings: Settings, provider_a: aws.Provider, account: pulumi.Input[str],
                  key_arn: pulumi.Input[str], replica_key_arn: pulumi.Input[str]) -> None:
    a, b = settings.primary_region, settings.dr_region
    domain = sending_domain(settings, a, provider_a, account)
    credentials = SendingCredentials("ses-credentials", SendingCredentialsArgs(
        sender=settings.email.sender, domain=settings.email.sender_domain, regions=[a, b], account_id=account,
        kms_key_arn=key_arn, replica_kms_key_arn=replica_key_arn, provider=provider_a,
        configuration_set=settings.names.ses_configuration_set, names=settings.names))
    export_identity(settings, a, domain)
    export_all({
        "sesCredentialsSecretName": credentials.secret_name,
        "sesCredentialsSecretArn": credentials.secret_arn,  # A's; the dr stack derives B's replica
    })


def dr_email(settings: Settings, provider_b: aws.Provider, account: pulumi.Input[str],
             replica_key_arn: pulumi.Input[str], primary: pulumi.StackReference) -> None:
    a, b = settings.primary_region, settings.dr_region
    domain = sending_domain(settings, b, provider_b, account)
    secret_a = primary.require_output("sesCredentialsSecretArn")
    failed = FailedNotifications("failed-notifications", FailedNotificationsArgs(
        region=b, account_id=account, kms_key_arn=replica_key_arn, provider=provider_b, initial_region=a,
        initial_secret_arn=secret_a, queue_name=settings.names.failed_notifications_queue,
        dead_letter_name=settings.names.failed_notifications_dlq, config_prefix=settings.names.ses_config_prefix))
    export_identity(settings, b, domain)
    export_all({
        # The replica in B keeps the primary's name and suffix; only the region differs.
        "sesCredentialsSecretName": settings.names.ses_credentials_secret,
        "sesCredentialsSecretArn": pulumi.Output.from_input(secret_a).apply(
            lambda arn: arn.replace(f":{a}:", f":{b}:", 1)),
        "sesQueueName": settings.names.failed_notifications_queue,
        "sesQueueUrl": failed.queue_url,
        "sesQueueArn": failed.queue_arn,
        "sesDeadLetterQueueName": settings.names.failed_notifications_dlq,
        "sesDeadLetterQueueUrl": failed.dead_letter_url,
        "sesDeadLetterQueueArn": failed.dead_letter_arn,
        "sesConfigPrefix": settings.names.ses_config_prefix,
        "sesParameterNames": failed.parameter_names,
    })
