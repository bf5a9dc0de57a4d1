"""The search catalog (ops/dr/typesense/reindex.json and the schemas beside it): which collections RB-N-04
rebuilds, from which table, how large the catalog is and the windows it must fit. Read here only: the Pulumi
program (B's search feed, one CronJob per collection), the reindex runbook and the planning all ask this module."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.core.paths import SEARCH_CATALOG, TYPESENSE_CONFIG_DIR

CATALOG_DIR = TYPESENSE_CONFIG_DIR
CATALOG_FILE = SEARCH_CATALOG.name


class CatalogError(ValueError):
    """The catalog cannot be read, or does not configure a collection. `about` is what was wrong ("config_dir" or
    "collection"), `value` the text naming it, so the toolkit can name its own option."""

    def __init__(self, about: str, value: str, problem: str) -> None:
        super().__init__(f"{about} {value}: {problem}")
        self.about, self.value, self.problem = about, value, problem


@dataclass(frozen=True)
class IndexSpec:
    alias: str
    schema: dict[str, Any]  # Typesense collection schema; "name" is replaced by the versioned collection name
    table: str
    key: str
    catalog_documents: int
    catalog_hot_documents: int
    windows_minutes: dict[str, float]

    @property
    def fields(self) -> list[dict[str, Any]]:
        return list(self.schema["fields"])


def _catalog(config_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((config_dir / CATALOG_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise CatalogError("config_dir", str(config_dir), f"cannot read {CATALOG_FILE}: {exc}") from None


def collections(config_dir: Path = CATALOG_DIR) -> list[str]:
    """The collections the catalog configures, sorted (one search-feed CronJob and one follow-up command each)."""
    return sorted(_catalog(config_dir).get("collections", {}))


def load_spec(collection: str, config_dir: Path = CATALOG_DIR) -> IndexSpec:
    config = _catalog(config_dir)
    entry = config.get("collections", {}).get(collection)
    if entry is None:
        known = ", ".join(sorted(config.get("collections", {}))) or "none"
        raise CatalogError("collection", repr(collection),
                           f"not configured in {config_dir / CATALOG_FILE} (known: {known})")
    try:
        schema = json.loads((config_dir / entry["schema"]).read_text())
    except (OSError, ValueError) as exc:
        raise CatalogError("collection", repr(collection), f"cannot read schema {entry['schema']}: {exc}") from None
    return IndexSpec(alias=collection, schema=schema, table=entry["source"]["table"], key=entry["source"]["key"],
                     catalog_documents=int(entry["catalog"]["documents"]),
                     catalog_hot_documents=int(entry["catalog"]["hot_documents"]),
                     windows_minutes={k: float(v) for k, v in config["windows_minutes"].items()})
