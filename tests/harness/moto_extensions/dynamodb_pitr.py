"""DynamoDB point-in-time recovery with AWS's documented semantics.

moto 5.2.5 copies the source table's *current* items whatever RestoreDateTime says, ignores
UseLatestRestorableTime and every override, never refuses a table without PITR, and freezes
LatestRestorableDateTime at the moment PITR was enabled. AWS (RestoreTableToPointInTime,
PointInTimeRecoveryDescription):
- the restore time must lie in [EarliestRestorableDateTime, LatestRestorableDateTime], else
  InvalidRestoreTimeException; PITR disabled on the source → PointInTimeRecoveryUnavailableException;
  RestoreDateTime or UseLatestRestorableTime=true is required;
- EarliestRestorableDateTime is when PITR was enabled, or now − RecoveryPeriodInDays if later;
  LatestRestorableDateTime is "typically 5 minutes before the current time" (`LATEST_LAG_S`, 0 here so tests
  need not wait five minutes; set it to exercise the gap);
- the new table gets the data as of that time, the source's key schema, GSIs/LSIs, capacity and encryption
  (or the Billing/ProvisionedThroughput/SSESpecification overrides); it does NOT get streams, TTL, tags or
  PITR; it is CREATING (RestoreInProgress) for a while before ACTIVE (`RESTORE_SECONDS`).

To answer "as of T", every table keeps a per-key change history: (time, key, item copy or None for a delete),
recorded after each put/delete/update, plus the items it held before its first recorded change. The restore is
as of the exact instant requested (botocore sends microseconds); AWS resolves it to the second.
"""
from __future__ import annotations

import copy
import time
from collections import defaultdict
from datetime import datetime
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time
from moto.dynamodb.exceptions import (
    ERROR_TYPE_PREFIX,
    MockValidationException,
    PointInTimeRecoveryUnavailable,
    SourceTableNotFoundException,
    TableAlreadyExistsException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler, DynamoResult

LATEST_LAG_S = 0.0  # AWS: typically 300 s
RESTORE_SECONDS = 0.3  # how long a restored table stays CREATING

Key = tuple[DynamoType, DynamoType | None]


class InvalidRestoreTime(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__(ERROR_TYPE_PREFIX + "InvalidRestoreTimeException", message)


class _History:
    """The items a table held before its first recorded change, then every change in order."""

    def __init__(self, table: Table) -> None:
        self.baseline = copy.deepcopy(table.items)
        self.changes: list[tuple[float, Key, Any]] = []

    def items_at(self, when: float) -> Any:
        items = copy.deepcopy(self.baseline)
        for at, (hash_key, range_key), item in self.changes:
            if at > when:
                break
            if range_key is None:
                if item is None:
                    items.pop(hash_key, None)
                else:
                    items[hash_key] = copy.deepcopy(item)
            elif item is None:
                items.get(hash_key, {}).pop(range_key, None)
            else:
                items.setdefault(hash_key, {})[range_key] = copy.deepcopy(item)
        return items


def _history(table: Table) -> _History:
    found = getattr(table, "_pitr_history", None)
    if found is None:
        found = _History(table)
        table._pitr_history = found  # type: ignore[attr-defined]
    return found


def _record(table: Table, key: Key) -> None:
    _history(table).changes.append((time.time(), key, copy.deepcopy(table.get_item(*key))))


_put_item = Table.put_item
_delete_item = Table.delete_item
_update_item = DynamoDBBackend.update_item


def _tracked_put_item(self: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    _history(self)  # baseline before the first change
    item = _put_item(self, item_attrs, *args, **kwargs)
    _record(self, (item.hash_key, item.range_key))
    return item


def _tracked_delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Any:
    _history(self)
    item = _delete_item(self, hash_key, range_key)
    if item is not None:
        _record(self, (hash_key, range_key))
    return item


def _tracked_update_item(self: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Any:
    _history(self.get_table(table_name))
    item = _update_item(self, table_name, *args, **kwargs)  # mutates the stored item in place
    _record(self.get_table(table_name), (item.hash_key, item.range_key))
    return item


# ---- the PITR window -------------------------------------------------------------------------------------------

def _window(table: Table) -> tuple[float, float] | None:
    pitr = table.continuous_backups["PointInTimeRecoveryDescription"]
    if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
        return None
    now = unix_time()
    enabled_at = getattr(table, "_pitr_enabled_at", pitr["EarliestRestorableDateTime"])
    period_s = float(pitr.get("RecoveryPeriodInDays", 35)) * 86400
    return max(enabled_at, now - period_s), now - LATEST_LAG_S


_update_continuous_backups = DynamoDBBackend.update_continuous_backups


def _update_continuous_backups_tracked(self: DynamoDBBackend, table_name: str,
                                       point_in_time_spec: dict[str, Any]) -> dict[str, Any]:
    table = self.tables.get(table_name)
    was_enabled = table is not None and _window(table) is not None
    result = _update_continuous_backups(self, table_name, point_in_time_spec)  # raises moto's not-found error
    if table is not None and point_in_time_spec["PointInTimeRecoveryEnabled"] and not was_enabled:
        table._pitr_enabled_at = unix_time()  # type: ignore[attr-defined]
        _history(table)
    return result


def _describe_continuous_backups(self: DynamoDBBackend, table_name: str) -> dict[str, Any]:
    described = copy.deepcopy(_original_describe_continuous_backups(self, table_name))
    window = _window(self.get_table(table_name))
    if window is not None:
        pitr = described["PointInTimeRecoveryDescription"]
        pitr["EarliestRestorableDateTime"], pitr["LatestRestorableDateTime"] = window
    return described


_original_describe_continuous_backups = DynamoDBBackend.describe_continuous_backups


# ---- the restore -----------------------------------------------------------------------------------------------

class PointInTimeRestoredTable(Table):
    """A table restored as of a time: CREATING for RESTORE_SECONDS, then ACTIVE."""

    def __init__(self, name: str, account_id: str, region: str, source: Table, restore_time: float,
                 request: dict[str, Any]) -> None:
        billing_mode = request.get("BillingModeOverride") or source.billing_mode
        throughput = request.get("ProvisionedThroughputOverride") or copy.deepcopy(source.throughput)
        sse = request.get("SSESpecificationOverride") or copy.deepcopy(source.sse_specification)
        super().__init__(name, account_id=account_id, region=region, schema=copy.deepcopy(source.schema),
                         attr=copy.deepcopy(source.attr), throughput=throughput, billing_mode=billing_mode,
                         sse_specification=sse)
        self.indexes = copy.deepcopy(source.indexes)
        self.global_indexes = copy.deepcopy(source.global_indexes)
        restored = _history(source).items_at(restore_time)
        self.items = defaultdict(dict, restored)
        self.source_table_arn = source.table_arn
        self.restore_date_time = restore_time
        self.ready_at = time.monotonic() + RESTORE_SECONDS

    def describe(self, base_key: str = "TableDescription") -> dict[str, Any]:
        result = super().describe(base_key=base_key)
        restoring = time.monotonic() < self.ready_at
        result[base_key]["TableStatus"] = "CREATING" if restoring else "ACTIVE"
        result[base_key]["RestoreSummary"] = {"SourceTableArn": self.source_table_arn,
                                              "RestoreDateTime": self.restore_date_time,
                                              "RestoreInProgress": restoring}
        return result


def _restore_table_to_point_in_time(self: DynamoDBBackend, request: dict[str, Any]) -> PointInTimeRestoredTable:
    source_name = request.get("SourceTableName") or str(request.get("SourceTableArn", "")).split("/")[-1]
    target_name = request["TargetTableName"]
    if source_name not in self.tables:
        raise SourceTableNotFoundException(source_name)
    source = self.tables[source_name]
    if target_name in self.tables:
        raise TableAlreadyExistsException(target_name)
    window = _window(source)
    if window is None:
        raise PointInTimeRecoveryUnavailable(source_name)
    earliest, latest = window
    if request.get("UseLatestRestorableTime"):
        restore_time = latest
    elif request.get("RestoreDateTime") is not None:
        requested = request["RestoreDateTime"]  # moto parses the body with the service model: a datetime
        restore_time = requested.timestamp() if isinstance(requested, datetime) else float(requested)
        if not earliest <= restore_time <= latest:
            raise InvalidRestoreTime(f"RestoreDateTime {restore_time} is outside the restorable window "
                                     f"[{earliest}, {latest}]")
    else:
        raise MockValidationException("RestoreDateTime or UseLatestRestorableTime=true is required")
    table = PointInTimeRestoredTable(target_name, self.account_id, self.region_name, source, restore_time, request)
    self.tables[target_name] = table
    return table


def _restore_response(self: DynamoHandler) -> Any:
    restored = _restore_table_to_point_in_time(self.dynamodb_backend, self.body)
    return DynamoResult(restored.describe())


def install() -> None:
    Table.put_item = _tracked_put_item  # type: ignore[method-assign]
    Table.delete_item = _tracked_delete_item  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _tracked_update_item  # type: ignore[method-assign]
    DynamoDBBackend.update_continuous_backups = _update_continuous_backups_tracked  # type: ignore[method-assign]
    DynamoDBBackend.describe_continuous_backups = _describe_continuous_backups  # type: ignore[method-assign]
    DynamoHandler.restore_table_to_point_in_time = _restore_response  # type: ignore[method-assign]
