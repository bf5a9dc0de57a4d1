"""AWS Resilience Hub: the DR matrix as resiliency policies, and the platform as apps AWS assesses against them.

One `aws.resiliencehub.ResiliencyPolicy` per tier, its numbers the config's `objectives.<tier>` (the same numbers
`drctl assess` and the CI matrix gate check), for every disruption type Resilience Hub assesses (AZ, hardware,
software, region): the matrix has one objective per tier, whatever the disruption. One app per tier holds what
serves that tier: the Aurora global database and both its clusters (the relational core serves every tier), the
tier's buckets and tables in both regions, and its services' Deployments on both EKS clusters.

pulumi-aws 7.51.1 has the policy but no `aws.resiliencehub.App`, so the app is CloudFormation's
`AWS::ResilienceHub::App` through Cloud Control (`aws.cloudcontrol.Resource`), whose schema takes the app template
(`AppTemplateBody`) and the resource mappings. No CloudFormation stack or Terraform state holds our resources, so
they are mapped one by one (`Resource`, by ARN and region) and the workloads by cluster and namespace (`EKS`): two
of the mapping types Resilience Hub accepts (CfnStack, Resource, AppRegistryApp, ResourceGroup, Terraform, EKS).
Assessments run daily, as a role Resilience Hub assumes with AWS's assessment policy (the role-based permission
model, not the caller's IAM user).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.base import child, service_trust
from ops.core.environments import Names

# Resilience Hub's policy tiers (ResiliencyPolicy `tier`) for ours.
POLICY_TIERS = {"critical": "Critical", "standard": "Important"}
DISRUPTIONS = ("az", "hardware", "software", "region")
ASSESSMENT_POLICY_ARN = "arn:aws:iam::aws:policy/AWSResilienceHubAsssessmentExecutionPolicy"  # AWS's spelling
APP_TYPE = "AWS::ResilienceHub::App"


@dataclass(frozen=True)
class AppResource:
    name: str  # the logical name in the app template, unique within the app
    type: str  # the CloudFormation type Resilience Hub knows it by, e.g. AWS::RDS::DBCluster
    arn: pulumi.Input[str]
    region: str
    component: str  # the AppComponent it belongs to, e.g. "database"
    component_type: str  # e.g. AWS::ResilienceHub::DatabaseAppComponent


@dataclass(frozen=True)
class EksWorkloads:
    cluster_name: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    namespace: str
    region: str
    deployments: list[str]


@dataclass(frozen=True)
class TierApp:
    tier: str  # "critical" | "standard"
    rto_minutes: int
    rpo_minutes: int
    resources: list[AppResource]
    workloads: list[EksWorkloads] = field(default_factory=list)


@dataclass
class ResilienceHubArgs:
    apps: list[TierApp]
    failover_region: str  # region B: where the apps fail over to (the template's `failover-regions`)
    account_id: pulumi.Input[str]
    provider: aws.Provider
    names: Names = field(default_factory=Names)  # the environment's: role, policy and app names


def go_duration(minutes: int) -> str:
    """The policy's RTO/RPO format (a Go duration): 5 → "5m"."""
    return f"{minutes}m"


def policy_args(rto_minutes: int, rpo_minutes: int) -> aws.resiliencehub.ResiliencyPolicyPolicyArgs:
    objective = {"rto": go_duration(rto_minutes), "rpo": go_duration(rpo_minutes)}
    return aws.resiliencehub.ResiliencyPolicyPolicyArgs(
        az=aws.resiliencehub.ResiliencyPolicyPolicyAzArgs(**objective),
        hardware=aws.resiliencehub.ResiliencyPolicyPolicyHardwareArgs(**objective),
        software=aws.resiliencehub.ResiliencyPolicyPolicySoftwareArgs(**objective),
        region=aws.resiliencehub.ResiliencyPolicyPolicyRegionArgs(**objective))


def app_template(app: TierApp, resolved: list[tuple[str, str]], failover_region: str, account: str) -> str:
    """The app template (PutDraftAppVersionTemplate's appTemplateBody): resources, their AppComponents, and the
    region the app fails over to. `resolved`: each workload group's (cluster name, namespace)."""
    resources = [{"logicalResourceId": {"identifier": r.name}, "type": r.type, "name": r.name}
                 for r in app.resources]
    components: dict[tuple[str, str], list[str]] = {}
    for r in app.resources:
        components.setdefault((r.component, r.component_type), []).append(r.name)
    for group, (cluster, namespace) in zip(app.workloads, resolved):
        source = f"{cluster}/{namespace}"
        for deployment in group.deployments:
            name = f"{deployment}-{group.region}"
            resources.append({"logicalResourceId": {"identifier": deployment, "eksSourceName": source},
                              "type": "AWS::EKS::Deployment", "name": name})
            components.setdefault(("services", "AWS::ResilienceHub::ComputeAppComponent"), []).append(name)
    return json.dumps({
        "resources": resources,
        "appComponents": [{"name": name, "type": type_, "resourceNames": names}
                          for (name, type_), names in components.items()],
        "excludedResources": {"logicalResourceIds": []},
        "version": 2.0,
        "additionalInfo": {"failover-regions": [json.dumps([{"region": failover_region,
                                                             "accounts": [{"id": account}]}])]},
    }, sort_keys=True)


class ResilienceHub(pulumi.ComponentResource):
    policy_arns: dict[str, pulumi.Output[str]]
    app_arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: ResilienceHubArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dr-platform:resilience:ResilienceHub", name, None, opts)
        p = args.provider
        invoker = aws.iam.Role(f"{name}-assessor",
                               name=args.names.project_name(f"resilience-hub-{args.failover_region}"),
                               description="Resilience Hub reads the platform's resources to assess them",
                               assume_role_policy=service_trust("resiliencehub.amazonaws.com"), opts=child(self, p))
        attachment = aws.iam.RolePolicyAttachment(f"{name}-assessor-policy", role=invoker.name,
                                                  policy_arn=ASSESSMENT_POLICY_ARN, opts=child(self, p))
        self.policy_arns, self.app_arns = {}, {}
        for app in args.apps:
            policy = aws.resiliencehub.ResiliencyPolicy(
                f"{name}-{app.tier}-policy", name=args.names.project_name(app.tier), tier=POLICY_TIERS[app.tier],
                description=f"The DR matrix's {app.tier} tier: RTO {app.rto_minutes} min, RPO {app.rpo_minutes} min "
                            "(config objectives)",
                policy=policy_args(app.rto_minutes, app.rpo_minutes), opts=child(self, p))
            state = pulumi.Output.all(
                policy.arn, invoker.name, pulumi.Output.from_input(args.account_id),
                pulumi.Output.all(*[r.arn for r in app.resources]),
                pulumi.Output.all(*[pulumi.Output.all(w.cluster_name, w.cluster_arn) for w in app.workloads]),
            ).apply(lambda v, app=app: self._desired_state(app, args, *v))
            made = aws.cloudcontrol.Resource(f"{name}-{app.tier}-app", type_name=APP_TYPE, desired_state=state,
                                             opts=child(self, p, depends_on=[attachment]))
            self.policy_arns[app.tier] = policy.arn
            self.app_arns[app.tier] = made.id  # Cloud Control's identifier of an App is its ARN
        self.register_outputs({"policyArns": self.policy_arns, "appArns": self.app_arns})

    @staticmethod
    def _desired_state(app: TierApp, args: ResilienceHubArgs, policy_arn: str, invoker: str, account: str,
                       arns: list[str], clusters: list[list[str]]) -> str:
        mappings = [{"MappingType": "Resource", "ResourceName": r.name,
                     "PhysicalResourceId": {"Type": "Arn", "Identifier": arn, "AwsRegion": r.region,
                                            "AwsAccountId": account}} for r, arn in zip(app.resources, arns)]
        resolved = []
        for group, (cluster_name, cluster_arn) in zip(app.workloads, clusters):
            resolved.append((cluster_name, group.namespace))
            mappings.append({"MappingType": "EKS", "EksSourceName": f"{cluster_name}/{group.namespace}",
                             "PhysicalResourceId": {"Type": "Arn", "Identifier": cluster_arn,
                                                    "AwsRegion": group.region, "AwsAccountId": account}})
        return json.dumps({
            "Name": args.names.project_name(app.tier),
            "Description": f"dr-platform, {app.tier} tier: what serves it in both regions",
            "ResiliencyPolicyArn": policy_arn,
            "AppAssessmentSchedule": "Daily",
            "PermissionModel": {"Type": "RoleBased", "InvokerRoleName": invoker},
            "AppTemplateBody": app_template(app, resolved, args.failover_region, account),
            "ResourceMappings": mappings,
        }, sort_keys=True)
