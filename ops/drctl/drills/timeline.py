"""The drill's timeline as a PNG: steps as bars, every probe result as a point (good writes by region, failures
in red), the disaster, the detection and the recovery marked. matplotlib with the Agg backend (no display)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

REGION_COLOURS = {"us-east-1": "tab:blue", "us-west-2": "tab:green"}


def draw(run: dict[str, Any], path: Path) -> Path:
    origin = run["marks"].get("disaster", run["started_at"])
    steps = [s for s in run["steps"] if s["finished_at"] is not None and s["name"] != "start region pair"]
    probes = run.get("probes", {})
    rows = len(steps) + len(probes)
    figure, axes = plt.subplots(figsize=(11, 1.2 + 0.28 * rows), dpi=100)
    labels: list[str] = []
    for y, step in enumerate(reversed(steps)):
        colour = "tab:gray" if "/" in step["name"] else ("tab:orange" if step["ok"] else "tab:red")
        axes.barh(y, max(step["finished_at"] - step["started_at"], 0.005), left=step["started_at"] - origin,
                  height=0.6, color=colour)
        labels.append(step["name"])
    for offset, (name, results) in enumerate(probes.items()):
        y = len(steps) + offset
        labels.append(f"probe: {name}")
        for ok, region in ((True, "us-east-1"), (True, "us-west-2"), (False, None)):
            xs = [r["sent_at"] - origin for r in results if r["ok"] == ok and (not ok or r["region"] == region)]
            if xs:
                axes.scatter(xs, [y] * len(xs), s=9, marker="|" if ok else "x",
                             color=REGION_COLOURS.get(region or "", "tab:red"),
                             label=(f"ok in {region}" if ok else "request failed") if offset == 0 else None)
    for mark, style in (("disaster", "tab:red"), ("detected", "tab:purple"), ("recovered", "tab:green"),
                        ("failed_back", "tab:blue")):
        if mark in run["marks"]:
            axes.axvline(run["marks"][mark] - origin, color=style, linestyle="--", linewidth=1, label=mark)
    axes.set_yticks(range(len(labels)), labels, fontsize=7)
    axes.set_xlabel("seconds from the disaster")
    rto = (run["measured"].get("rto") or {}).get("seconds")
    rpo = (run["measured"].get("rpo") or {}).get("seconds")
    figures = f"RTO {rto if rto is not None else 'n/a'} s, RPO {rpo if rpo is not None else 'n/a'} s"
    back = run["measured"].get("failback") if run["scenario"] == "annual" else None
    if back:
        back_rto, back_rpo = (back.get("rto") or {}).get("seconds"), (back.get("rpo") or {}).get("seconds")
        figures = (f"failover {figures}; failback RTO {back_rto if back_rto is not None else 'n/a'} s, "
                   f"RPO {back_rpo if back_rpo is not None else 'n/a'} s")
    axes.set_title(f"{run['scenario']} {run['variant']} ({run['origin']}) — run {run['run_id']}: {figures}",
                   fontsize=9)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=7, loc="lower right", ncol=3)
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
