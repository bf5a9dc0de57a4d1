"""CrossGuard wiring only: `pulumi preview --policy-pack policy`. The rules live in rules.py (PolicyPack blocks
the process, so nothing that tests import may construct it)."""
from pulumi_policy import (EnforcementLevel, PolicyConfigSchema, PolicyPack, ReportViolation,
                           ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs,
                           StackValidationPolicy)

from rules import DEFAULT_ALLOWED_REGIONS, RULES, STACK_RULES, Rule, StackRule


def _validator(rule: Rule):
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in rule.resource_types:
            return
        region = args.provider.props.get("region") if args.provider else None
        for message in rule.check(args.props, region, args.get_config()):
            report_violation(message, args.urn)
    return validate


def _stack_validator(rule: StackRule):
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [(r.resource_type, r.urn, r.props) for r in args.resources]
        for urn, message in rule.check(resources, args.get_config()):
            report_violation(message, urn)
    return validate


PolicyPack(
    name="dr-platform",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[*(ResourceValidationPolicy(
        name=rule.name, description=rule.description, validate=_validator(rule),
        config_schema=PolicyConfigSchema(properties={"allowedRegions": {
            "type": "array", "items": {"type": "string"}, "default": DEFAULT_ALLOWED_REGIONS}}))
        for rule in RULES),
        *(StackValidationPolicy(name=rule.name, description=rule.description, validate=_stack_validator(rule))
          for rule in STACK_RULES)],
)
