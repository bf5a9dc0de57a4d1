"""CloudWatch alarms, read-only: the state of named alarms (DescribeAlarms by name, 100 names a call)."""
from __future__ import annotations

from typing import Any

NAMES_PER_CALL = 100  # DescribeAlarms takes at most 100 AlarmNames


def alarm_states(cloudwatch: Any, names: list[str]) -> dict[str, dict[str, Any] | None]:
    """Per alarm name: {"state", "reason", "updated"} (StateValue OK | ALARM | INSUFFICIENT_DATA), or None when no
    metric alarm of that name exists in the client's region."""
    found: dict[str, dict[str, Any] | None] = {name: None for name in names}
    paginator = cloudwatch.get_paginator("describe_alarms")
    for start in range(0, len(names), NAMES_PER_CALL):
        chunk = names[start:start + NAMES_PER_CALL]
        for page in paginator.paginate(AlarmNames=chunk, AlarmTypes=["MetricAlarm"]):
            for alarm in page.get("MetricAlarms", []):
                found[alarm["AlarmName"]] = {"state": alarm.get("StateValue"), "reason": alarm.get("StateReason", ""),
                                             "updated": alarm.get("StateUpdatedTimestamp")}
    return found
