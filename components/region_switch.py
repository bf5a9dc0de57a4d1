"""AWS's own failover engine for this platform: an ARC Region switch plan generated from the posture table, so a
declared failover is one approval away.

The plan (activePassive, primary A) has two workflows:
- activate B (failover). Triggered when the detection alarm in B goes red (the canary probing A), or started by
  an operator. First, in parallel with the approval (the one human step), what the writer role needs and is safe
  to do before anyone decides (reversible, billed, loses nothing): B's writer capacity where the posture leaves
  the secondary headless (pilot light: a custom-action Lambda running the failover runbook's own
  `scale_instances`; ARC has no block that adds instances to a cluster) and, where B has no nodes, its compute:
  the node group up to the failover row (a Lambda running `scale_nodegroup`: the managed node group's own API)
  and B's Deployments at 100 % of A's (ARC's EKSResourceScaling block). Then, in parallel: the Aurora global
  database (switchover when the execution is graceful, failover with data loss when ungraceful) and every extra
  store's step (the cache's promotion, passed in). Then the Route53 health-check block; where B already serves
  (warm standby) in parallel with B's compute growing to production, so the traffic moves once B writes.
- activate A (failback): a planned switchover back to A, every extra store's step (the cache's promotion back to
  A's member) and the Route53 block; A always runs production, so no capacity step, and no approval (an operator
  starts it).

Custom-action Lambda steps and ungraceful executions (ARC developer guide, "Custom action Lambda execution block",
How it works): "In ungraceful execution mode, Region switch skips the Lambda execution block step", and the API's
LambdaUngraceful behavior "must be set to skip"; every Lambda step here says so (`ungracefuls: skip`) rather than
leave it implicit. So only a graceful execution runs them: start the plan graceful (its Lambda steps need nothing of
A) and switch to ungraceful, if Aurora's switchover cannot complete, once they are done; an execution started
ungraceful leaves B's writer capacity, nodes and the cache's promotion to `drctl failover` (the same actions). The
same page asks for "two Lambda functions for the step to execute—one in each of the plan's Regions" (the API takes
1-2): the cache's step, which runs both ways, lists A's function (the primary stack's) and B's; the capacity steps,
which only the failover workflow has and which run in B, list B's only.

No trigger once B writes: the canary then watches A recover, and a failback is always started by a person.

The execution role may do exactly what these steps do (AWS's sample policies per execution block in the ARC
developer guide, scoped to this plan's resources), and while there is a trigger, what ARC does as it when the trigger
fires: read the alarm and start this plan; the approval role may only approve this plan's steps; each
Lambda's role may only do its one action. ARC scales Deployments through an EKS access entry of the execution role
with AWS's AmazonARCRegionSwitchScalingPolicy, in B's cluster (here) and in A's (the primary stack's, which also
makes the role: `RegionSwitchPrincipal`, since EKS admits only a principal that exists).
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import child, service_trust
from ops.core import region_switch_steps
from ops.core.environments import PROJECT
from ops.core.paths import REPO_ROOT

PLAN_TYPE = "aws:arcregionswitch/plan:Plan"
STORES_TAG = "dr-platform:stores-with-a-role"  # the policy rule's (policy/rules.py: the pack stands alone)
SERVICE_PRINCIPAL = "arc-region-switch.amazonaws.com"
SCALING_ACCESS_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonARCRegionSwitchScalingPolicy"
EXECUTION_ROLE_NAME = "dr-platform-region-switch"
APPROVAL_ROLE_NAME = "dr-platform-region-switch-approver"
# Step names: the assessment (ops/drctl/planning/assess.py) and the policy rule read the plan by them.
PREPARE_STEP = "prepare-and-approve"
WRITER_CAPACITY_STEP = "writer-capacity"
NODE_CAPACITY_STEP = "node-capacity"
DEPLOYMENTS_STEP = "deployments"
APPROVAL_STEP = "approve-failover"
DATA_STORES_STEP = region_switch_steps.DATA_STORES_STEP
AURORA_STEP = region_switch_steps.AURORA_STEP
DNS_STEP = "route53-health-checks"
SERVE_STEP = "serve-and-grow"  # warm standby: DNS beside B's compute growth
APPROVAL_TIMEOUT_MINUTES = 60
CAPACITY_TIMEOUT_MINUTES = 30  # a new Aurora instance takes ~10-15 min; twice that before ARC gives up
PROMOTION_TIMEOUT_MINUTES = 30
RETRY_INTERVAL_MINUTES = 1.0
MIN_MINUTES_BETWEEN_TRIGGERED_EXECUTIONS = 60
LAMBDA_RUNTIME = "python3.12"
LAMBDA_TIMEOUT_S = 900  # a Lambda's maximum: the handler waits up to 780 s, then ARC reruns it
LOG_RETENTION_DAYS = 90
# What the Lambda package carries: the shared actions it runs and what they import; tenacity is the one
# dependency the Lambda runtime lacks (boto3 and botocore it has).
PACKAGED_MODULES = ("ops/__init__.py", "ops/core/__init__.py", "ops/core/naming.py", "ops/actions/__init__.py",
                    "ops/actions/aws.py", "ops/actions/polling.py", "ops/actions/aurora.py", "ops/actions/eks.py",
                    "ops/actions/elasticache.py", "ops/actions/arc_custom_actions.py")
CACHE_PROMOTION_HANDLER = "cache_promotion"
LAMBDA_UNGRACEFUL = [{"behavior": "skip"}]  # the only value ARC takes: ungraceful executions skip Lambda steps


def cache_promotion_function_name(region: str, project: str = PROJECT) -> str:
    """Each region's cache promotion function (A's in the primary stack, B's in the dr stack); `project` is the
    environment's (ops/core/environments.Names.project)."""
    return f"{project}-cache-promotion-{region}"


@dataclass(frozen=True)
class ExtraRecoveryStep:
    """A data store's recovery step beyond Aurora's, run in parallel with it (e.g. the ElastiCache global datastore's
    promotion, as a CustomActionLambda step built with `custom_action_step`). `store` is its `kind:id` as listed in
    `stores_with_a_role`; its steps are named `store_step_name(store)`, which the policy rule looks for."""

    store: str
    failover_step: Mapping[str, Any]  # a PlanWorkflowStepArgsDict for the activate-B workflow
    failback_step: Mapping[str, Any] | None = None  # the same for activate-A, when the store moves back too
    execution_role_statements: Sequence[Mapping[str, Any]] = ()  # what else ARC itself needs to run the step(s)
    function_arns: Sequence[pulumi.Input[str]] = ()  # the Lambdas its steps run: the execution role invokes them
    depends_on: Sequence[pulumi.Resource] = ()  # what its steps refer to, created before the plan


@dataclass(frozen=True)
class AuroraTarget:
    global_cluster_id: pulumi.Input[str]
    global_cluster_arn: pulumi.Input[str]
    cluster_arns: Mapping[str, pulumi.Input[str]]  # region -> member cluster ARN
    recovery_cluster_id: str  # B's cluster
    instance_class: str


@dataclass(frozen=True)
class EksTarget:
    cluster_names: Mapping[str, str]  # region -> cluster name (A's by name: the dr stack never calls A)
    nodegroup_name: str
    namespace: str
    deployments: Sequence[str]  # scaled in B to 100 % of A's replicas
    # Those of them that B's HPAs scale (the posture runs them in B): ARC disables the HPA's scale-down when it is
    # named, so the HPA cannot take back the replicas ARC adds before the traffic arrives.
    autoscaled_in_recovery: Sequence[str] = ()


@dataclass(frozen=True)
class DetectionAlarm:
    name: str  # the plan's name for it
    arn: pulumi.Input[str]


@dataclass
class RegionSwitchArgs:
    plan_name: str
    primary_region: str
    recovery_region: str
    account_id: pulumi.Input[str]
    provider: aws.Provider  # region B's: the plan, roles and Lambdas live there
    # The plan's execution role, made by the primary stack beside A's access entry (RegionSwitchPrincipal): EKS
    # admits a principal only once it exists, and the primary stack goes first. Its permissions are added here,
    # next to the steps they serve.
    execution_role_name: pulumi.Input[str]
    execution_role_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]  # B's key: the Lambdas' environment is encrypted with it
    aurora: AuroraTarget
    eks: EksTarget
    hosted_zone_id: pulumi.Input[str]
    record_name: str  # the API's FQDN
    record_set_regions: Mapping[str, str]  # record set identifier -> region it sends traffic to
    # From the posture table: what B needs before it can take the writer role.
    writer_instances_to_create: int  # 0: B already has an instance to promote (no step)
    nodes_to_reach: int  # 0: B's node group is already at the failover row (no step)
    # True: B serves nothing until its nodes and pods are up (no nodes in the posture's row), so the promotion waits
    # for them; False: B already serves its critical paths: the traffic moves once B writes, and B grows to
    # production under it.
    compute_gates_promotion: bool = True
    trigger_alarms: Sequence[DetectionAlarm] = ()  # empty once B writes: no automatic execution
    # Every store whose writer role moves, `kind:id` (the Aurora global cluster's is `aurora-global:<id>`): the plan
    # carries the list in a tag, and the policy rule region-switch-covers-every-store checks each has its steps.
    stores_with_a_role: Sequence[str] = ()
    recovery_time_objective_minutes: int = 60
    extra_steps: Sequence[ExtraRecoveryStep] = ()
    depends_on: Sequence[pulumi.Resource] = ()  # what the plan's steps refer to (cluster, node group, Deployments)
    approval_role_name: str = APPROVAL_ROLE_NAME  # IAM names are the account's: a mirror's are its own
    function_prefix: str = PROJECT  # the custom-action Lambdas' `<prefix>-<step>-<region>`


def store_step_name(store: str) -> str:
    """`elasticache-global:dr-cache` -> `elasticache-global-dr-cache`: the step the policy rule expects."""
    return store.replace(":", "-")


def lambda_package() -> pulumi.AssetArchive:
    """The custom actions' code, from this repository as it is, plus tenacity from the environment running Pulumi."""
    import tenacity

    assets: dict[str, pulumi.Asset | pulumi.Archive] = {
        module: pulumi.FileAsset(str(REPO_ROOT / module)) for module in PACKAGED_MODULES}
    assets["tenacity"] = pulumi.FileArchive(str(Path(tenacity.__file__).parent))
    return pulumi.AssetArchive(assets)


def plan_arn_pattern(account: str, plan_name: str) -> str:
    """Every version of the plan called `plan_name`: its ARN ends in `:<6 characters ARC picks>`."""
    return f"arn:aws:arc-region-switch::{account}:plan/{plan_name}:*"


def _policy(*statements: Mapping[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def writer_capacity_policy(region: str, account: str, cluster_id: str) -> str:
    """CreateDBInstance of `<cluster>-<n>` instances into B's cluster, and reading them back; nothing else."""
    return _policy(
        {"Sid": "CreateInstancesInTheSecondary", "Effect": "Allow", "Action": "rds:CreateDBInstance",
         "Resource": [f"arn:aws:rds:{region}:{account}:cluster:{cluster_id}",
                      f"arn:aws:rds:{region}:{account}:db:{cluster_id}-*"]},
        {"Sid": "ReadTheSecondarysInstances", "Effect": "Allow", "Action": "rds:DescribeDBInstances",
         "Resource": f"arn:aws:rds:{region}:{account}:db:*"})


def node_capacity_policy(region: str, account: str, cluster: str, nodegroup: str) -> str:
    return _policy({"Sid": "ScaleTheNodeGroup", "Effect": "Allow",
                    "Action": ["eks:DescribeNodegroup", "eks:UpdateNodegroupConfig"],
                    "Resource": f"arn:aws:eks:{region}:{account}:nodegroup/{cluster}/{nodegroup}/*"})


def cache_promotion_policy(account: str, global_group_id: str) -> str:
    """Read the Global Datastore and move its primary; nothing else. Both actions take the globalreplicationgroup
    resource only (Service Authorization Reference for ElastiCache, as parliament's database has it)."""
    return _policy({"Sid": "PromoteThisRegionsMember", "Effect": "Allow",
                    "Action": ["elasticache:DescribeGlobalReplicationGroups",
                               "elasticache:FailoverGlobalReplicationGroup"],
                    "Resource": f"arn:aws:elasticache::{account}:globalreplicationgroup:{global_group_id}"})


def runtime_policy(log_group_arn: str, key_arn: str, function_name: str) -> str:
    """Its logs, and its environment decrypted with B's key (Lambda decrypts with the function's role, in the
    context of the function's name)."""
    return _policy({"Sid": "WriteItsLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"{log_group_arn}:*"},
                   {"Sid": "ReadItsEnvironment", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn,
                    "Condition": {"StringEquals": {"kms:EncryptionContext:LambdaFunctionName": function_name}}})


def custom_action_step(name: str, description: str, function_arns: Sequence[pulumi.Input[str]],
                       region_to_run: str = "activatingRegion") -> dict[str, Any]:
    """A CustomActionLambda step running its function in the activating region (ARC picks, of the functions
    listed, the one in that region: list one per region when the step runs both ways), rerun every minute until it
    succeeds (its handler fails while the capacity is still coming); skipped by ungraceful executions (ARC)."""
    return {"name": name, "execution_block_type": "CustomActionLambda", "description": description,
            "custom_action_lambda_configs": [{
                "lambdas": [{"arn": arn} for arn in function_arns], "region_to_run": region_to_run,
                "retry_interval_minutes": RETRY_INTERVAL_MINUTES, "timeout_minutes": CAPACITY_TIMEOUT_MINUTES,
                "ungracefuls": LAMBDA_UNGRACEFUL}]}


@dataclass
class CustomActionArgs:
    function_name: str  # also its role's and log group's
    handler: str  # a function of ops.actions.arc_custom_actions (add its modules to PACKAGED_MODULES)
    environment: Mapping[str, pulumi.Input[str]]  # what it acts on: nothing is taken from ARC's event
    action_policy: pulumi.Input[str]  # its one action, and nothing else
    kms_key_arn: pulumi.Input[str]  # the region's key, for its environment
    provider: aws.Provider


def custom_action_lambda(parent: pulumi.Resource | None, name: str, args: CustomActionArgs) -> aws.lambda_.Function:
    """A custom-action Lambda packaged from this repository, with a role that may do its action, write its logs
    and decrypt its environment; for the plan's own steps and for an extra store's (the cache's promotion)."""
    p, function_name = args.provider, args.function_name
    opts = pulumi.ResourceOptions(parent=parent, provider=p)
    role = aws.iam.Role(f"{name}-role", name=function_name, assume_role_policy=service_trust("lambda.amazonaws.com"),
                        opts=opts)
    logs = aws.cloudwatch.LogGroup(f"{name}-logs", name=f"/aws/lambda/{function_name}",
                                   retention_in_days=LOG_RETENTION_DAYS, opts=opts)
    grants = [aws.iam.RolePolicy(f"{name}-action", role=role.id, policy=args.action_policy, opts=opts),
              aws.iam.RolePolicy(f"{name}-runtime", role=role.id, policy=pulumi.Output.all(
                  logs.arn, args.kms_key_arn).apply(lambda v: runtime_policy(v[0], v[1], function_name)), opts=opts)]
    return aws.lambda_.Function(
        name, name=function_name, role=role.arn, runtime=LAMBDA_RUNTIME,
        handler=f"ops.actions.arc_custom_actions.{args.handler}", code=lambda_package(), timeout=LAMBDA_TIMEOUT_S,
        memory_size=256, environment={"variables": dict(args.environment)}, kms_key_arn=args.kms_key_arn,
        logging_config={"log_format": "Text", "log_group": logs.name},
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[*grants, logs])))


@dataclass
class CachePromotionArgs:
    region: str  # the function's, and its member's
    account_id: pulumi.Input[str]
    global_group_id: pulumi.Input[str]  # A's Global Datastore (its id carries an AWS-chosen prefix)
    replication_group_id: pulumi.Input[str]  # the member in `region` that the function makes the primary
    kms_key_arn: pulumi.Input[str]  # the region's key
    provider: aws.Provider  # the region's
    function_prefix: str = PROJECT  # the environment's project word (Names.project)


class CachePromotion(pulumi.ComponentResource):
    """One region's cache promotion function, for the plan's cache step (A's in the primary stack, B's in the dr
    stack): its member becomes the Global Datastore's primary through the shared `promote_cache`; its role may
    read and fail over that Global Datastore only."""

    function: aws.lambda_.Function
    function_arn: pulumi.Output[str]

    def __init__(self, name: str, args: CachePromotionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dr-platform:regionswitch:CachePromotion", name, None, opts)
        policy = pulumi.Output.all(args.account_id, args.global_group_id).apply(
            lambda v: cache_promotion_policy(v[0], v[1]))
        environment = {"GLOBAL_GROUP_ID": args.global_group_id, "REPLICATION_GROUP_ID": args.replication_group_id}
        self.function = custom_action_lambda(self, name, CustomActionArgs(
            function_name=cache_promotion_function_name(args.region, args.function_prefix), handler=CACHE_PROMOTION_HANDLER,
            environment=environment, action_policy=policy, kms_key_arn=args.kms_key_arn, provider=args.provider))
        self.function_arn = self.function.arn
        self.register_outputs({"functionArn": self.function_arn})


def cache_recovery_step(store: str, function_arns: Mapping[str, pulumi.Input[str]],
                        depends_on: Sequence[pulumi.Resource] = ()) -> ExtraRecoveryStep:
    """The cache's promotion in both workflows: one step listing each region's function (region -> ARN); ARC runs
    the activating region's, which promotes its own member (B's on the failover, A's on the failback)."""
    step = custom_action_step(store_step_name(store), "the cache's Global Datastore member in the activating region "
                              "becomes the primary (ops.actions.elasticache.promote_cache, as drctl failover)",
                              list(function_arns.values()))
    return ExtraRecoveryStep(store, failover_step=step, failback_step=step, function_arns=list(function_arns.values()),
                             depends_on=list(depends_on))


class RegionSwitch(pulumi.ComponentResource):
    plan_arn: pulumi.Output[str]
    approval_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: RegionSwitchArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dr-platform:regionswitch:RegionSwitch", name, None, opts)
        p, a, b = args.provider, args.primary_region, args.recovery_region
        account = pulumi.Output.from_input(args.account_id)
        execution_role_arn = pulumi.Output.from_input(args.execution_role_arn)
        # Approvers assume it (their own IAM policies say who may); it may approve this plan's steps only.
        approval_role = aws.iam.Role(f"{name}-approval", name=args.approval_role_name,
                                     assume_role_policy=account.apply(lambda acct: json.dumps({
                                         "Version": "2012-10-17", "Statement": [{
                                             "Effect": "Allow", "Action": "sts:AssumeRole",
                                             "Principal": {"AWS": f"arn:aws:iam::{acct}:root"}}]})),
                                     opts=child(self, p))
        access = self._cluster_access(name, args, execution_role_arn)

        capacity: list[dict[str, Any]] = []
        functions: list[aws.lambda_.Function] = []
        if args.writer_instances_to_create > 0:
            function = self._custom_action(name, args, WRITER_CAPACITY_STEP, "writer_capacity", {
                "CLUSTER_ID": args.aurora.recovery_cluster_id,
                "WRITER_INSTANCES": str(args.writer_instances_to_create),
                "INSTANCE_CLASS": args.aurora.instance_class},
                account.apply(lambda acct: writer_capacity_policy(b, acct, args.aurora.recovery_cluster_id)))
            functions.append(function)
            capacity.append(custom_action_step(
                WRITER_CAPACITY_STEP, f"B's headless secondary gets {args.writer_instances_to_create} instances "
                "(ops.actions.aurora.scale_instances, as drctl failover)", [function.arn]))
        if args.nodes_to_reach > 0:
            cluster_b = args.eks.cluster_names[b]
            function = self._custom_action(name, args, NODE_CAPACITY_STEP, "node_capacity", {
                "CLUSTER_NAME": cluster_b, "NODEGROUP_NAME": args.eks.nodegroup_name,
                "DESIRED_NODES": str(args.nodes_to_reach)},
                account.apply(lambda acct: node_capacity_policy(b, acct, cluster_b, args.eks.nodegroup_name)))
            functions.append(function)
            capacity.append(custom_action_step(
                NODE_CAPACITY_STEP, f"B's node group to {args.nodes_to_reach} nodes "
                "(ops.actions.eks.scale_nodegroup, as drctl failover)", [function.arn]))
        cluster_arns = {region: account.apply(lambda acct, r=region, c=cluster: f"arn:aws:eks:{r}:{acct}:cluster/{c}")
                        for region, cluster in args.eks.cluster_names.items()}
        if args.eks.deployments:
            capacity.append(self._deployments_step(args, cluster_arns))

        # What the writer role waits for runs in parallel with the approval (which can then be given while B
        # prepares: the promotion waits for the longer); where B already serves, its compute grows beside the DNS
        # move, after the promotion. Both lose nothing if the approval never comes.
        writer = [c for c in capacity if c["name"] == WRITER_CAPACITY_STEP]
        compute = [c for c in capacity if c["name"] != WRITER_CAPACITY_STEP]
        gating, beside = (writer + compute, []) if args.compute_gates_promotion else (writer, compute)
        approval = {"name": APPROVAL_STEP, "execution_block_type": "ManualApproval",
                    "description": "the one human decision: B takes the writer role",
                    "execution_approval_configs": [{"approval_role": approval_role.arn,
                                                    "timeout_minutes": APPROVAL_TIMEOUT_MINUTES}]}
        # Where B already serves (warm standby), the traffic moves as soon as B writes and B grows to production
        # under it: a warm standby takes the load at reduced capacity at once (its HPAs and the Cluster Autoscaler
        # follow the load), so DNS waits for the promotion only, not for new nodes (minutes).
        dns = self._dns_step(args)
        failover_steps: list[dict[str, Any]] = [
            {"name": PREPARE_STEP, "execution_block_type": "Parallel",
             "description": "B gets what the writer role needs while a person decides: reversible, loses nothing",
             "parallel_configs": [{"steps": [*gating, approval]}]} if gating else approval,
            self._data_stores([self._aurora_step(args, unplanned_allowed=True),
                               *(dict(s.failover_step) for s in args.extra_steps)]),
            {"name": SERVE_STEP, "execution_block_type": "Parallel",
             "description": "B takes the traffic while its compute grows to production under it",
             "parallel_configs": [{"steps": [dns, *beside]}]} if beside else dns]
        failback_steps = [self._data_stores([self._aurora_step(args, unplanned_allowed=False),
                                             *(dict(s.failback_step) for s in args.extra_steps if s.failback_step)]),
                          self._dns_step(args)]

        alarms = [{"map_block_key": alarm.name, "alarm_type": "trigger", "resource_identifier": alarm.arn}
                  for alarm in args.trigger_alarms]
        triggers = [{"action": "activate", "target_region": b, "description": "region A unreachable from B",
                     "min_delay_minutes_between_executions": MIN_MINUTES_BETWEEN_TRIGGERED_EXECUTIONS,
                     "conditions": [{"associated_alarm_name": alarm.name, "condition": "red"}]}
                    for alarm in args.trigger_alarms]
        # Before the plan: ARC evaluates a plan as it is created, with the execution role's permissions.
        execution_policy = aws.iam.RolePolicy(f"{name}-execution-policy", role=args.execution_role_name,
                                              policy=pulumi.Output.all(
            account, execution_role_arn, pulumi.Output.from_input(args.aurora.global_cluster_arn),
            pulumi.Output.all(*args.aurora.cluster_arns.values()),
            pulumi.Output.all(*[f.arn for f in functions], *[arn for s in args.extra_steps for arn in s.function_arns]),
            pulumi.Output.from_input(args.hosted_zone_id), pulumi.Output.all(*[al.arn for al in args.trigger_alarms]),
            approval_role.arn,
        ).apply(lambda v: self.execution_policy(args, *v)), opts=child(self, p))
        # Before the plan too: evaluation checks that the approver role may approve (by the plan's name, as the
        # execution policy: its ARN ends in a suffix ARC picks).
        approval_policy = aws.iam.RolePolicy(f"{name}-approval-policy", role=approval_role.id,
                                             policy=account.apply(lambda acct: _policy(
            {"Sid": "ApproveThisPlansSteps", "Effect": "Allow", "Action": "arc-region-switch:ApprovePlanExecutionStep",
             "Resource": plan_arn_pattern(acct, args.plan_name)})), opts=child(self, p))
        plan = aws.arcregionswitch.Plan(
            f"{name}-plan", name=args.plan_name, region=b, execution_role=execution_role_arn,
            recovery_approach="activePassive", regions=[a, b], primary_region=a,
            recovery_time_objective_minutes=args.recovery_time_objective_minutes,
            description="dr-platform: fail over to B (approval first) and back to A; generated from the posture table",
            tags={STORES_TAG: " ".join(args.stores_with_a_role)},
            associated_alarms=alarms or None, triggers=triggers or None,
            workflows=[{"workflow_target_action": "activate", "workflow_target_region": b,
                        "workflow_description": "failover: A down or drained, B takes over", "steps": failover_steps},
                       {"workflow_target_action": "activate", "workflow_target_region": a,
                        "workflow_description": "failback: planned switchover to A", "steps": failback_steps}],
            opts=child(self, p, depends_on=[*access, *functions, execution_policy, approval_policy, *args.depends_on,
                                            *(r for s in args.extra_steps for r in s.depends_on)]))

        self.plan_arn = plan.arn
        self.approval_role_arn = approval_role.arn
        self.register_outputs({"planArn": plan.arn, "approvalRoleArn": approval_role.arn})

    @staticmethod
    def execution_policy(args: RegionSwitchArgs, account: str, role_arn: str, global_arn: str,
                         cluster_arns: list[str], function_arns: list[str], zone_id: str,
                         alarm_arns: list[str], approval_role_arn: str) -> str:
        """Exactly what the plan's steps do, from AWS's sample policy of each execution block, on this plan's
        resources only, and what ARC's evaluation reads to judge them. The plan by its name (its ARN ends in a
        suffix ARC picks): the policy exists before it."""
        eks = args.eks.cluster_names
        plan_arn = plan_arn_pattern(account, args.plan_name)
        cluster_arns_eks = [f"arn:aws:eks:{r}:{account}:cluster/{c}" for r, c in eks.items()]
        statements: list[Mapping[str, Any]] = [
            # Evaluation simulates this role's permissions, and the approver role's ("Plan evaluation for Region
            # switch plans": the approver may ApprovePlanExecutionStep).
            {"Sid": "PlanEvaluationSimulatesTheRoles", "Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy",
             "Resource": [role_arn, approval_role_arn]},
            {"Sid": "ReadThisPlan", "Effect": "Allow",
             "Action": ["arc-region-switch:GetPlan", "arc-region-switch:GetPlanExecution",
                        "arc-region-switch:ListPlanExecutions"], "Resource": plan_arn},
            # As AWS's sample policy of the Aurora Global Database block has it: read-only, and how ARC looks the
            # global cluster and its members up (by identifier or by listing) is not documented.
            {"Sid": "AuroraReadTheGlobalDatabase", "Effect": "Allow",
             "Action": ["rds:DescribeGlobalClusters", "rds:DescribeDBClusters"], "Resource": "*"},
            {"Sid": "AuroraMoveTheWriter", "Effect": "Allow",
             "Action": ["rds:FailoverGlobalCluster", "rds:SwitchoverGlobalCluster"],
             "Resource": [global_arn, *cluster_arns]},
            {"Sid": "EksFindTheClusters", "Effect": "Allow", "Action": "eks:DescribeCluster",
             "Resource": cluster_arns_eks},
            {"Sid": "EksCheckItsAccessEntries", "Effect": "Allow", "Action": "eks:ListAssociatedAccessPolicies",
             "Resource": [f"arn:aws:eks:{r}:{account}:access-entry/{c}/*" for r, c in eks.items()]},
            {"Sid": "Route53ReadTheApiRecords", "Effect": "Allow", "Action": "route53:ListResourceRecordSets",
             "Resource": f"arn:aws:route53:::hostedzone/{zone_id}"},
        ]
        if args.eks.deployments:
            # Service quota checks, on by default for a new plan (the provider cannot turn them off): for the EKS
            # block ARC reads the node groups' instance families and compares both regions' quotas; without these
            # reads, evaluation warns ("Working with service quota checks"). Read only: increases stay a person's.
            statements += [
                {"Sid": "QuotaChecksReadTheQuotas", "Effect": "Allow", "Action": "servicequotas:GetServiceQuota",
                 "Resource": "*"},
                {"Sid": "QuotaChecksFindTheNodeGroups", "Effect": "Allow",
                 "Action": ["eks:ListNodegroups", "eks:ListFargateProfiles"], "Resource": cluster_arns_eks},
                {"Sid": "QuotaChecksReadTheNodeGroups", "Effect": "Allow", "Action": "eks:DescribeNodegroup",
                 "Resource": [f"arn:aws:eks:{r}:{account}:nodegroup/{c}/*/*" for r, c in eks.items()]}]
        if function_arns:
            statements.append({"Sid": "RunTheCustomActions", "Effect": "Allow",
                               "Action": ["lambda:GetFunction", "lambda:InvokeFunction"], "Resource": function_arns})
        if alarm_arns:
            # A trigger runs as this role: it reads the alarms, then starts the plan (ARC developer guide, "Plan
            # execution role trust policy"; plan evaluation warns when StartPlanExecution is missing).
            statements.append({"Sid": "ReadTheTriggerAlarms", "Effect": "Allow",
                               "Action": ["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"],
                               "Resource": alarm_arns})
            statements.append({"Sid": "TriggersStartThisPlan", "Effect": "Allow",
                               "Action": "arc-region-switch:StartPlanExecution", "Resource": plan_arn})
        for extra in args.extra_steps:
            statements.extend(extra.execution_role_statements)
        return _policy(*statements)

    def _cluster_access(self, name: str, args: RegionSwitchArgs, role_arn: pulumi.Output[str]) -> list[pulumi.Resource]:
        """B's cluster lets the execution role scale workloads; A's entry is the primary stack's."""
        return cluster_access(self, name, args.eks.cluster_names[args.recovery_region], args.eks.namespace, role_arn,
                              args.provider, list(args.depends_on))

    def _custom_action(self, name: str, args: RegionSwitchArgs, step: str, handler: str,
                       environment: dict[str, str], action_policy: pulumi.Output[str]) -> aws.lambda_.Function:
        return custom_action_lambda(self, f"{name}-{step}", CustomActionArgs(
            function_name=f"{args.function_prefix}-{step}-{args.recovery_region}", handler=handler, environment=environment,
            action_policy=action_policy, kms_key_arn=args.kms_key_arn, provider=args.provider))

    @staticmethod
    def _deployments_step(args: RegionSwitchArgs, cluster_arns: Mapping[str, pulumi.Output[str]]) -> dict[str, Any]:
        ns = args.eks.namespace
        return {"name": DEPLOYMENTS_STEP, "execution_block_type": "EKSResourceScaling",
                "description": "B's Deployments to A's replica counts (the failover row: production)",
                "eks_resource_scaling_configs": [{
                    "kubernetes_resource_types": [{"api_version": "apps/v1", "kind": "Deployment"}],
                    "eks_clusters": [{"cluster_arn": arn} for arn in cluster_arns.values()],
                    "scaling_resources": [{"namespace": ns, "resources": [
                        {"resource_name": region, "name": deployment, "namespace": ns,
                         **({"hpa_name": deployment} if region == args.recovery_region
                            and deployment in args.eks.autoscaled_in_recovery else {})}
                        for region in args.eks.cluster_names]} for deployment in args.eks.deployments],
                    "target_percent": 100, "capacity_monitoring_approach": "sampledMaxInLast24Hours",
                    "timeout_minutes": CAPACITY_TIMEOUT_MINUTES}]}

    @staticmethod
    def _aurora_step(args: RegionSwitchArgs, unplanned_allowed: bool) -> dict[str, Any]:
        """Graceful: SwitchoverGlobalCluster (RPO 0). Ungraceful (A gone), on the failover only: FailoverGlobalCluster
        with data loss, what `drctl failover --unplanned` calls."""
        config: dict[str, Any] = {"behavior": "switchoverOnly", "global_cluster_identifier": args.aurora.global_cluster_id,
                                  "database_cluster_arns": list(args.aurora.cluster_arns.values()),
                                  "timeout_minutes": PROMOTION_TIMEOUT_MINUTES}
        if unplanned_allowed:
            config["ungracefuls"] = [{"ungraceful": "failover"}]
        return {"name": AURORA_STEP, "execution_block_type": "AuroraGlobalDatabase",
                "description": "the writer role moves to the activated region", "global_aurora_configs": [config]}

    @staticmethod
    def _data_stores(steps: list[dict[str, Any]]) -> dict[str, Any]:
        return {"name": DATA_STORES_STEP, "execution_block_type": "Parallel",
                "description": "every store with a writer role moves",
                "parallel_configs": [{"steps": steps}]}

    @staticmethod
    def _dns_step(args: RegionSwitchArgs) -> dict[str, Any]:
        return {"name": DNS_STEP, "execution_block_type": "Route53HealthCheck",
                "description": "ARC's health checks on the API's record sets follow the activated region",
                "route53_health_check_configs": [{
                    "hosted_zone_id": args.hosted_zone_id, "record_name": args.record_name,
                    "record_sets": [{"record_set_identifier": identifier, "region": region}
                                    for identifier, region in args.record_set_regions.items()]}]}


def cluster_access(parent: pulumi.Resource, name: str, cluster_name: pulumi.Input[str], namespace: str,
                   role_arn: pulumi.Input[str], provider: aws.Provider,
                   after: list[pulumi.Resource]) -> list[pulumi.Resource]:
    """An EKS access entry for the plan's execution role with AWS's AmazonARCRegionSwitchScalingPolicy (scale and
    read Deployments, HPAs), in the workloads' namespace only: ARC reads A's replica counts and scales B's."""
    entry = aws.eks.AccessEntry(f"{name}-eks-access", cluster_name=cluster_name, principal_arn=role_arn,
                                type="STANDARD", opts=child(parent, provider, depends_on=after))
    association = aws.eks.AccessPolicyAssociation(
        f"{name}-eks-scaling", cluster_name=cluster_name, principal_arn=role_arn, policy_arn=SCALING_ACCESS_POLICY,
        access_scope={"type": "namespace", "namespaces": [namespace]}, opts=child(parent, provider, depends_on=[entry]))
    return [entry, association]


@dataclass
class RegionSwitchPrincipalArgs:
    cluster_name: pulumi.Input[str]  # A's cluster
    namespace: str
    provider: aws.Provider  # A's
    after: list[pulumi.Resource] = field(default_factory=list)  # the cluster
    role_name: str = EXECUTION_ROLE_NAME  # IAM names are the account's: a mirror's is its own


class RegionSwitchPrincipal(pulumi.ComponentResource):
    """For the primary stack: the plan's execution role (ARC may assume it; its permissions are the dr stack's,
    beside the plan) and A's access entry for it. Made first because EKS refuses an entry for a principal that does
    not exist yet, and the primary stack is deployed before the dr stack."""

    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(self, name: str, args: RegionSwitchPrincipalArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("dr-platform:regionswitch:RegionSwitchPrincipal", name, None, opts)
        role = aws.iam.Role(f"{name}-execution", name=args.role_name,
                            description="ARC Region switch plan dr-platform (permissions: the dr stack's)",
                            assume_role_policy=service_trust(SERVICE_PRINCIPAL), opts=child(self, args.provider))
        cluster_access(self, name, args.cluster_name, args.namespace, role.arn, args.provider, args.after)
        self.role_arn, self.role_name = role.arn, role.name
        self.register_outputs({"roleArn": role.arn})
