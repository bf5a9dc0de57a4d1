"""Quarterly DR drills run end to end (seed 000 N.6): a scenario on the sandbox's region pair (or a real
account), measured by probes, written up as evidence (markdown + JSON twin + PNG timeline)."""
