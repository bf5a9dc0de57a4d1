"""AWS FIS experiment templates for the quarterly drills FIS can inject (docs/drills.md, "--account").

One template per drill scenario, in the stack of the region it injects into: an experiment acts on its own region's
resources, and its stop conditions are that region's alarms. Each template has its own role, allowed exactly what
FIS's action reference lists for the template's actions (https://docs.aws.amazon.com/fis/latest/userguide/
fis-actions-reference.html, and the AWSFaultInjectionSimulator*Access managed policies), on the template's targets
only; the role's `dr-platform:fis-actions` tag names those actions, so the policy pack (policy/rules.py
`fis-role-least-privilege`) can check the role against them. Experiment logs go to a log group encrypted with its
own small key (CloudWatch Logs must be granted a key; the data key grants no service anything).

Pod faults (`aws:eks:pod-*`, https://docs.aws.amazon.com/fis/latest/userguide/eks-pod-actions.html) run inside
the cluster: FIS starts its own pod in the target namespace under a Kubernetes service account the action names
(`kubernetesServiceAccount`), and acts as a Kubernetes user its role is mapped to. So a template with pod faults
also gets, from `PodFaultAccess`: that ServiceAccount, the Role the page lists for it (rules as given there), a
RoleBinding of the Role to the ServiceAccount and to the user, and an EKS access entry mapping the template's role
to that user (the clusters authenticate by access entries, `API` mode). The targets are identified by parameters
(cluster, namespace, label selector): FIS takes no ARNs or tags for `aws:eks:pod`.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi_kubernetes import Provider as KubernetesProvider
from pulumi_kubernetes.core.v1 import ServiceAccount
from pulumi_kubernetes.meta.v1 import ObjectMetaArgs
from pulumi_kubernetes.rbac.v1 import PolicyRuleArgs, Role, RoleBinding, RoleRefArgs, SubjectArgs

from components.base import child, data
from ops.core import naming
from ops.core.environments import Names

LOG_RETENTION_DAYS = 400  # a drill's evidence outlives the year of drills it belongs to
LOG_SCHEMA_VERSION = 2  # FIS's current experiment log schema
# FIS takes at most 5 stop conditions per template (its quotas page; not adjustable): the region's alarms, however
# many the buckets and tables make, are one composite alarm, in ALARM when any of them is.
MAX_STOP_CONDITIONS = 5


@dataclass(frozen=True)
class FaultTarget:
    name: str  # the template's target name, e.g. "az-subnets"
    resource_type: str  # FIS's target type, e.g. "aws:ec2:subnet"
    resource_arns: list[pulumi.Input[str]] = field(default_factory=list)
    # Targets FIS identifies by parameters instead (aws:eks:pod: clusterIdentifier, namespace, selectorType, ...).
    parameters: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    selection_mode: str = "ALL"


@dataclass(frozen=True)
class FaultAction:
    name: str  # e.g. "az-network-down"
    action_id: str  # FIS's action id, e.g. "aws:network:disrupt-connectivity"
    target_key: str  # the action's target key, e.g. "Subnets"
    target: FaultTarget
    description: str
    parameters: dict[str, str] = field(default_factory=dict)
    # What the action's role statements need beyond the target ARNs (a cluster's name, the VPC's ARN).
    context: dict[str, pulumi.Input[str]] = field(default_factory=dict)


# The Role FIS's pod actions need in the target namespace, as the FIS user guide gives it ("Configure the Kubernetes
# service account", eks-pod-actions.html), unchanged: one Role for every pod action. pod-delete uses no ephemeral
# container, but the page documents no narrower Role, and what FIS's own pod does is not documented beyond it.
POD_FAULT_RULES = [
    PolicyRuleArgs(api_groups=[""], resources=["configmaps"], verbs=["get", "create", "patch", "delete"]),
    PolicyRuleArgs(api_groups=[""], resources=["pods"], verbs=["create", "list", "get", "delete", "deletecollection"]),
    PolicyRuleArgs(api_groups=[""], resources=["pods/ephemeralcontainers"], verbs=["update"]),
    PolicyRuleArgs(api_groups=[""], resources=["pods/exec"], verbs=["create"]),
    PolicyRuleArgs(api_groups=["apps"], resources=["deployments"], verbs=["get"]),
]


@dataclass
class PodFaultAccess:
    """What a template with pod faults is given in its cluster (the module's docstring)."""
    cluster_name: pulumi.Input[str]
    namespace: str  # the target pods' namespace: FIS's pod runs there, under `service_account`
    kubernetes_provider: KubernetesProvider
    service_account: str
    after: list[pulumi.Resource] = field(default_factory=list)  # the namespace


@dataclass
class DrillExperimentArgs:
    scenario: str  # "Q2": the quarter whose drill this is (`drctl drill run Q2 --account` finds it by tag)
    description: str
    region: str
    actions: list[FaultAction]
    stop_alarm_arns: list[pulumi.Input[str]]
    account_id: pulumi.Input[str]
    provider: aws.Provider
    pod_access: PodFaultAccess | None = None  # required by `aws:eks:pod-*` actions
    stops_on: str = "any of the region's replication alarms"  # what the stop alarms mean, for the composite
    names: Names = field(default_factory=Names)  # the environment's: role, log group, alarm, the template's tags


# ---- what each FIS action needs, as its reference lists it ---------------------------------------------------------

Statements = Callable[[list[str], dict[str, str], str, str], list[dict[str, Any]]]


def _rds_failover(arns: list[str], _ctx: dict[str, str], _region: str, _account: str) -> list[dict[str, Any]]:
    return [{"Sid": "FailOverTheTargetCluster", "Effect": "Allow",
             "Action": ["rds:FailoverDBCluster", "rds:DescribeDBClusters"], "Resource": arns}]


def _network_disrupt(arns: list[str], ctx: dict[str, str], region: str, account: str) -> list[dict[str, Any]]:
    """FIS swaps the subnets' network ACL for one it creates (tagged managedByFIS) and puts the original back."""
    acls = f"arn:aws:ec2:{region}:{account}:network-acl/*"
    return [
        # CreateNetworkAcl authorizes the new ACL and the VPC it goes in: only this VPC, only FIS-tagged ACLs.
        {"Sid": "CreateTheDisruptingAcl", "Effect": "Allow", "Action": ["ec2:CreateNetworkAcl"],
         "Resource": [ctx["vpc_arn"], acls], "Condition": {"StringEquals": {"aws:RequestTag/managedByFIS": "true"}}},
        {"Sid": "TagTheDisruptingAcl", "Effect": "Allow", "Action": ["ec2:CreateTags"], "Resource": [acls],
         "Condition": {"StringEquals": {"ec2:CreateAction": "CreateNetworkAcl",
                                        "aws:RequestTag/managedByFIS": "true"}}},
        {"Sid": "ManageOnlyFisAcls", "Effect": "Allow", "Action": ["ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAcl"],
         "Resource": [acls], "Condition": {"StringEquals": {"ec2:ResourceTag/managedByFIS": "true"}}},
        # The swap and the restore: the target subnets, and their original ACL (whichever it is) and FIS's.
        {"Sid": "SwapTheTargetSubnetsAcl", "Effect": "Allow", "Action": ["ec2:ReplaceNetworkAclAssociation"],
         "Resource": [*arns, acls]},
        {"Sid": "ReadTheNetwork", "Effect": "Allow",  # Describe*/Get* take no resource ARNs
         "Action": ["ec2:DescribeManagedPrefixLists", "ec2:DescribeNetworkAcls", "ec2:DescribeSubnets",
                    "ec2:DescribeVpcs", "ec2:GetManagedPrefixListEntries"], "Resource": "*"},
    ]


def _eks_terminate(arns: list[str], ctx: dict[str, str], region: str, account: str) -> list[dict[str, Any]]:
    return [
        {"Sid": "ReadTheTargetNodegroup", "Effect": "Allow", "Action": ["eks:DescribeNodegroup"], "Resource": arns},
        # EKS tags a managed node group's instances with its cluster and node group: only those are terminated.
        {"Sid": "TerminateOnlyTheNodegroupsInstances", "Effect": "Allow", "Action": ["ec2:TerminateInstances"],
         "Resource": [f"arn:aws:ec2:{region}:{account}:instance/*"],
         "Condition": {"StringEquals": {"ec2:ResourceTag/eks:cluster-name": ctx["cluster_name"],
                                        "ec2:ResourceTag/eks:nodegroup-name": ctx["nodegroup_name"]}}},
        {"Sid": "FindTheNodegroupsInstances", "Effect": "Allow", "Action": ["ec2:DescribeInstances"],
         "Resource": "*"},
    ]


def _eks_pod_delete(_arns: list[str], ctx: dict[str, str], _region: str, _account: str) -> list[dict[str, Any]]:
    """FIS finds the cluster and the pods' subnets; the pods themselves it deletes as the Kubernetes user its role
    is mapped to (PodFaultAccess), which IAM does not govern."""
    return [
        {"Sid": "ReadTheTargetCluster", "Effect": "Allow", "Action": ["eks:DescribeCluster"],
         "Resource": [ctx["cluster_arn"]]},
        {"Sid": "FindThePodsSubnets", "Effect": "Allow", "Action": ["ec2:DescribeSubnets"], "Resource": "*"},
    ]


ACTION_STATEMENTS: dict[str, Statements] = {
    "aws:rds:failover-db-cluster": _rds_failover,
    "aws:network:disrupt-connectivity": _network_disrupt,
    "aws:eks:terminate-nodegroup-instances": _eks_terminate,
    "aws:eks:pod-delete": _eks_pod_delete,
}
POD_ACTION_PREFIX = "aws:eks:pod-"  # the actions that run through PodFaultAccess
# Every experiment: FIS resolves targets through the tagging API, and delivers its log to CloudWatch Logs
# (https://docs.aws.amazon.com/fis/latest/userguide/monitoring-logging.html#experiment-log-permissions); none of
# these takes a resource ARN.
COMMON_STATEMENTS = [
    {"Sid": "ResolveTargets", "Effect": "Allow", "Action": ["tag:GetResources"], "Resource": "*"},
    {"Sid": "DeliverTheExperimentLog", "Effect": "Allow",
     "Action": ["logs:CreateLogDelivery", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups"], "Resource": "*"},
]


def role_policy(actions: list[tuple[FaultAction, list[str], dict[str, str]]], region: str, account: str) -> str:
    """The role's one inline policy: each action's statements on its resolved targets, then the common ones."""
    statements: list[dict[str, Any]] = []
    for action, arns, ctx in actions:
        for statement in ACTION_STATEMENTS[action.action_id](arns, ctx, region, account):
            statements.append({**statement, "Sid": f"{statement['Sid']}{_camel(action.name)}"})
    return json.dumps({"Version": "2012-10-17", "Statement": [*statements, *COMMON_STATEMENTS]})


def fis_trust(account: str, region: str) -> str:
    """FIS assumes the role for this account's experiments in the region only (the confused-deputy guard FIS
    documents: aws:SourceAccount and aws:SourceArn)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account},
                      "ArnLike": {"aws:SourceArn": f"arn:aws:fis:{region}:{account}:experiment/*"}}}]})


def logs_key_policy(account: str, region: str, log_group_name: str) -> str:
    """CloudWatch Logs may use the key for this log group only (its encryption context is the group's ARN)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "AccountAdministersTheKey", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "CloudWatchLogsEncryptsTheDrillLog", "Effect": "Allow",
         "Principal": {"Service": f"logs.{region}.amazonaws.com"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
                    "kms:GenerateDataKeyWithoutPlaintext"],
         "Resource": "*",
         "Condition": {"StringEquals": {"kms:EncryptionContext:aws:logs:arn":
                                     f"arn:aws:logs:{region}:{account}:log-group:{log_group_name}"}}},
    ]})


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


class DrillExperiment(pulumi.ComponentResource):
    template_id: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DrillExperimentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dr-platform:drills:DrillExperiment", name, None, opts)
        pod_faults = any(a.action_id.startswith(POD_ACTION_PREFIX) for a in args.actions)
        if pod_faults and args.pod_access is None:  # refused before anything is declared
            raise ValueError(f"{args.scenario}: pod actions ({POD_ACTION_PREFIX}*) run in a cluster: pod_access is "
                             "required")
        p, scenario = args.provider, args.scenario.lower()
        names = args.names
        log_group_name = names.fis_log_group(args.scenario, args.region)
        account = pulumi.Output.from_input(args.account_id)
        key = aws.kms.Key(f"{name}-log-key", description=f"dr-platform {args.scenario} drill log ({args.region})",
                          enable_key_rotation=True, deletion_window_in_days=7,
                          policy=account.apply(lambda acct: logs_key_policy(acct, args.region, log_group_name)),
                          opts=data(self, p))
        # The drills' evidence: kept like data (protected, retained when removed from the program).
        log_group = aws.cloudwatch.LogGroup(f"{name}-log", name=log_group_name, kms_key_id=key.arn,
                                            retention_in_days=LOG_RETENTION_DAYS, opts=data(self, p))

        resolved = pulumi.Output.all(
            account, *[pulumi.Output.all(*a.target.resource_arns) for a in args.actions],
            *[pulumi.Output.all(**a.context) if a.context else pulumi.Output.from_input({}) for a in args.actions])
        count = len(args.actions)

        def policy(values: list[Any]) -> str:
            acct, arns, contexts = values[0], values[1:1 + count], values[1 + count:]
            return role_policy(list(zip(args.actions, arns, contexts)), args.region, acct)

        role = aws.iam.Role(
            f"{name}-role", name=names.fis_role_name(args.scenario, args.region),
            description=f"FIS runs the {args.scenario} drill's actions, on its targets only",
            assume_role_policy=account.apply(lambda acct: fis_trust(acct, args.region)),
            inline_policies=[aws.iam.RoleInlinePolicyArgs(name=f"fis-{scenario}-actions",
                                                          policy=resolved.apply(policy))],
            tags={naming.FIS_ACTIONS_TAG: " ".join(sorted({a.action_id for a in args.actions}))},
            opts=child(self, p))
        in_cluster = self._pod_access(name, args, args.pod_access, role) if args.pod_access and pod_faults else []

        stop = aws.cloudwatch.CompositeAlarm(
            f"{name}-stop", alarm_name=names.project_name(f"{scenario}-drill-stop-{args.region}"),
            alarm_description=f"Stops the {args.scenario} drill: {args.stops_on} in ALARM",
            alarm_rule=pulumi.Output.all(*args.stop_alarm_arns).apply(
                lambda arns: " OR ".join(f'ALARM("{arn}")' for arn in arns)),
            opts=child(self, p)) if args.stop_alarm_arns else None

        targets = {a.target.name: a.target for a in args.actions}
        template = aws.fis.ExperimentTemplate(
            f"{name}-template", description=args.description, role_arn=role.arn,
            actions=[aws.fis.ExperimentTemplateActionArgs(
                name=a.name, action_id=a.action_id, description=a.description,
                parameters=[aws.fis.ExperimentTemplateActionParameterArgs(key=k, value=v)
                            for k, v in sorted(a.parameters.items())] or None,
                target=aws.fis.ExperimentTemplateActionTargetArgs(key=a.target_key, value=a.target.name))
                for a in args.actions],
            targets=[aws.fis.ExperimentTemplateTargetArgs(
                name=t.name, resource_type=t.resource_type, selection_mode=t.selection_mode,
                resource_arns=t.resource_arns or None, parameters=t.parameters or None)
                for t in targets.values()],
            stop_conditions=[aws.fis.ExperimentTemplateStopConditionArgs(source="aws:cloudwatch:alarm",
                                                                         value=stop.arn) if stop else
                             aws.fis.ExperimentTemplateStopConditionArgs(source="none")],
            log_configuration=aws.fis.ExperimentTemplateLogConfigurationArgs(
                log_schema_version=LOG_SCHEMA_VERSION,
                cloudwatch_logs_configuration=aws.fis.ExperimentTemplateLogConfigurationCloudwatchLogsConfigurationArgs(
                    log_group_arn=log_group.arn.apply(lambda arn: f"{arn}:*"))),
            experiment_options=aws.fis.ExperimentTemplateExperimentOptionsArgs(
                account_targeting="single-account", empty_target_resolution_mode="fail"),
            tags={naming.FIS_DRILL_TAG: args.scenario, "Name": names.project_name(f"{scenario}-drill-{args.region}"),
                  **names.tags()},  # the toolkit tells the environments' templates apart by it
            opts=child(self, p, depends_on=in_cluster))
        self.template_id = template.id
        self.role_arn = role.arn
        self.stop_alarm_arn = stop.arn if stop else None
        self.register_outputs({"templateId": self.template_id, "roleArn": self.role_arn})

    def _pod_access(self, name: str, args: DrillExperimentArgs, access: PodFaultAccess,
                    role: aws.iam.Role) -> list[pulumi.Resource]:
        """The ServiceAccount FIS's pod runs as, the Role the user guide lists, bound to it and to the Kubernetes
        user the template's role is mapped to by an access entry."""
        user = naming.fis_kubernetes_user(args.scenario)
        scenario = args.scenario.lower()
        k8s = pulumi.ResourceOptions(parent=self, provider=access.kubernetes_provider, depends_on=access.after)
        meta = {"namespace": access.namespace, "labels": {"app.kubernetes.io/part-of": "dr-platform-drills"}}
        account = ServiceAccount(f"{name}-service-account", metadata=ObjectMetaArgs(
            name=access.service_account, **meta), opts=k8s)
        rules = Role(f"{name}-k8s-role", metadata=ObjectMetaArgs(name=f"dr-platform-fis-{scenario}", **meta),
                     rules=POD_FAULT_RULES, opts=k8s)
        binding = RoleBinding(
            f"{name}-k8s-role-binding", metadata=ObjectMetaArgs(name=f"dr-platform-fis-{scenario}", **meta),
            role_ref=RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name=rules.metadata.name),
            subjects=[SubjectArgs(kind="ServiceAccount", name=access.service_account, namespace=access.namespace),
                      SubjectArgs(kind="User", name=user, api_group="rbac.authorization.k8s.io")],
            opts=pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=[account, rules])))
        entry = aws.eks.AccessEntry(f"{name}-access-entry", cluster_name=access.cluster_name,
                                    principal_arn=role.arn, user_name=user, type="STANDARD",
                                    opts=child(self, args.provider))
        return [account, rules, binding, entry]
