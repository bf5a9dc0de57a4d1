"""CloudWatch alarms, read-only: the state of named alarms (DescribeAlarms by name, 100 names a call)."""
from __future__ import annotations

from typing import Any

NAMES_PER_CALL = 100  # DescribeAlarms takes at most 100 AlarmNames


def alarm_states(cloudwatch: Any, names: list[str],
                 alarm_types: tuple[str, ...] = ("MetricAlarm",)) -> dict[str, dict[str, Any] | None]:
    """Per alarm name: {"state", "reason", "updated"} (StateValue OK | ALARM | INSUFFICIENT_DATA), or None when no
    alarm of that name and of `alarm_types` (MetricAlarm, CompositeAlarm) exists in the client's region."""
    found: dict[str, dict[str, Any] | None] = {name: None for name in names}
    paginator = cloudwatch.get_paginator("describe_alarms")
    for start in range(0, len(names), NAMES_PER_CALL):
        chunk = names[start:start + NAMES_PER_CALL]
        for page in paginator.paginate(AlarmNames=chunk, AlarmTypes=list(alarm_types)):
            for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                found[alarm["AlarmName"]] = {"state": alarm.get("StateValue"), "reason": alarm.get("StateReason", ""),
                                             "updated": alarm.get("StateUpdatedTimestamp")}
    return found


def alarm_name(arn: str) -> str:
    """`arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME` → NAME (alarm names may contain ':')."""
    return arn.split(":alarm:", 1)[1]
