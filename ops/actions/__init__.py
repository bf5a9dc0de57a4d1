"""AWS actions: one boto3 function per operation, no Pulumi, no CLI.

Shared by the runbooks (ops/drctl/runbooks), the Pulumi steps (components/) and the drills, so that what a drill
measures is exactly what an operator runs at 3 a.m.
"""
