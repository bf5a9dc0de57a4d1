"""Draw docs/regions.png: the two regions, what replicates between them, and what each posture runs in region B.

The region-B columns are read from the posture table (ops/core/posture.py), so the picture changes when the table
does; `scripts/dev figures` redraws it and tests/test_docs.py fails while the committed image is stale.
"""
from __future__ import annotations

import argparse
import io
from dataclasses import dataclass, replace
from pathlib import Path

from ops.core.paths import REPO_ROOT
from ops.core.posture import FAILED_OVER, POSTURE_TABLE, PRODUCTION, Posture, PostureRow, Region

FIGURE = REPO_ROOT / "docs" / "regions.png"

# How much of production a cell runs: the cell's colour (off, a part, all of it, and B writing).
OFF, PART, FULL, WRITES = "off", "part", "full", "writes"
SHADES = {OFF: "#eceff1", PART: "#ffe0a3", FULL: "#b9e4c0", WRITES: "#7cc68a"}


@dataclass(frozen=True)
class Cell:
    text: str
    level: str


@dataclass(frozen=True)
class Column:
    title: str
    subtitle: str
    cells: dict[str, Cell]


def _count(count: int | str, unit: str = "", zero: str = "0") -> Cell:
    if count == PRODUCTION:
        return Cell("production", FULL)
    if count == 0:
        return Cell(zero, OFF)
    return Cell(f"{count}{unit}", PART)


def column(title: str, subtitle: str, row: PostureRow) -> Column:
    """What region B runs under one posture row; every text comes from the row."""
    b_writes = row.writer_region == Region.B
    aurora = _count(row.aurora_instances_b, zero="0 (headless)")
    if b_writes:
        aurora = Cell("production (writer)", WRITES)
    critical, standard = _count(row.critical_replicas_b), _count(row.standard_replicas_b)
    if critical.level == standard.level == FULL:
        deployments = Cell("production", FULL)
    else:
        deployments = Cell(f"{critical.text} / {standard.text}",
                           OFF if critical.level == standard.level == OFF else PART)
    weight = Cell(f"{row.dns_weight_a} / {row.dns_weight_b}",
                  WRITES if row.dns_weight_a == 0 else OFF if row.dns_weight_b == 0 else FULL)
    s3_from = row.s3_replication_from
    return Column(title, subtitle, {
        "Aurora instances": aurora,
        "EKS nodes": _count(row.eks_nodes_b, zero="0 (control plane)"),
        "Deployments\ncritical / standard": deployments,
        "Typesense": _count(row.typesense_replicas_b),
        "search feed": Cell("on" if row.search_feed_b else "off", PART if row.search_feed_b else OFF),
        "DNS weight A / B": weight,
        "S3 replicates": Cell(f"{s3_from.value} → {'B' if s3_from == Region.A else 'A'}",
                              WRITES if s3_from == Region.B else OFF),
    })


def posture_columns() -> list[Column]:
    """One column per posture as it stands (A writes), then failover, which is the same row from any posture."""
    titles = {Posture.PILOT_LIGHT: ("pilot light", "the default"), Posture.WARM_STANDBY: ("warm standby", ""),
              Posture.ACTIVE_ACTIVE: ("active-active", "B serves reads")}
    columns = [column(title, subtitle, POSTURE_TABLE[(posture, False)])
               for posture, (title, subtitle) in titles.items()]
    # The figure draws no cache row yet: the failover rows differ only there (pilot light's is a cold cache).
    assert all(replace(POSTURE_TABLE[(posture, True)], cache_b=FAILED_OVER.cache_b,
                       promote_cache=FAILED_OVER.promote_cache) == FAILED_OVER for posture in Posture)
    return columns + [column("failover", "failover: true, any posture", FAILED_OVER)]


# What region A runs (always production) and what every posture keeps in B, with the replication between them.
REGION_A = ["Aurora writer\n(global primary)", "EKS at production\n(every Deployment)", "Typesense\n(search index)",
            "S3 buckets", "DynamoDB tables", "KMS multi-Region key", "ECR repositories"]
ALWAYS_IN_B = ["Aurora secondary\n(storage replicates)", "EKS control plane", "Typesense StatefulSet",
               "S3 replica buckets", "DynamoDB replicas", "KMS replica key", "ECR replicas"]
REPLICATION = {0: "Aurora global database\n(lag typically < 1 s)", 3: "S3 CRR with RTC\n(99.99% in 15 min)",
               4: "DynamoDB global tables\n(typically < 1 s)", 5: "KMS multi-Region key", 6: "ECR replication\n(every push)"}
NOT_REPLICATED = {2: "not replicated: B's search\nfeed reads B's Aurora"}


def draw(path: Path) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    width, height = 120, 66  # axis units; 10 px each at dpi 100, so the image is 1200 px wide
    plt.rcParams["font.family"] = "DejaVu Sans"
    fig = plt.figure(figsize=(width / 10, height / 10), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")

    def box(x: float, y: float, w: float, h: float, colour: str, edge: str = "#546e7a", lw: float = 1.0) -> None:
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=0.7", facecolor=colour,
                                    edgecolor=edge, linewidth=lw))

    def region(x: float, w: float, title: str, subtitle: str, colour: str) -> None:
        box(x, 8, w, 51.5, colour, edge="#37474f", lw=1.5)
        ax.text(x + w / 2, 57, title, ha="center", va="center", fontsize=14, weight="bold")
        ax.text(x + w / 2, 54.6, subtitle, ha="center", va="center", fontsize=9.5, color="#37474f")

    ax.text(width / 2, 63, "Region A runs production; region B runs what its posture says. "
            "Each change is a config flip and pulumi up --stack dr", ha="center", va="center", fontsize=12.5,
            weight="bold")
    region(1, 16, "Region A", "us-east-1 · production", "#e3f2fd")
    region(32, 87, "Region B", "us-west-2 · per posture (Pulumi.dr.yaml: posture, failover)", "#f3e5f5")

    row_top, row_h, row_gap = 49, 4.8, 0.8
    ys = [row_top - i * (row_h + row_gap) - row_h for i in range(len(REGION_A))]
    for label, y in zip(REGION_A, ys):
        box(2, y, 14, row_h, "#ffffff")
        ax.text(9, y + row_h / 2, label, ha="center", va="center", fontsize=8.5, linespacing=1.1)
    for label, y in zip(ALWAYS_IN_B, ys):
        box(33, y, 13.5, row_h, "#ffffff")
        ax.text(39.75, y + row_h / 2, label, ha="center", va="center", fontsize=8, linespacing=1.1)
    ax.text(39.75, row_top + 1.4, "always there", ha="center", va="center", fontsize=9, style="italic")
    for index, label in REPLICATION.items():
        y = ys[index] + row_h / 2
        ax.add_patch(FancyArrowPatch((16.1, y), (32.9, y), arrowstyle="-|>", mutation_scale=13, linewidth=1.6,
                                     color="#1565c0"))
        ax.text(24.5, y + 0.3, label, ha="center", va="bottom", fontsize=8, color="#0d47a1", linespacing=1.05)
    for index, label in NOT_REPLICATED.items():
        ax.text(24.5, ys[index] + row_h / 2, label, ha="center", va="center", fontsize=7.5, color="#78909c",
                style="italic", linespacing=1.05)

    columns = posture_columns()
    labels = list(columns[0].cells)
    label_right, col_x, col_w, col_gap = 62.6, 63.6, 13.1, 0.5
    for label, y in zip(labels, ys):
        ax.text(label_right, y + row_h / 2, label, ha="right", va="center", fontsize=8.5, weight="bold",
                linespacing=1.05)
        for j, col in enumerate(columns):
            cell = col.cells[label]
            x = col_x + j * (col_w + col_gap)
            box(x, y, col_w, row_h, SHADES[cell.level], edge="#90a4ae")
            ax.text(x + col_w / 2, y + row_h / 2, cell.text.replace(" (", "\n("), ha="center", va="center",
                    fontsize=8.5, linespacing=1.05)
    for j, col in enumerate(columns):
        x = col_x + j * (col_w + col_gap) + col_w / 2
        ax.text(x, row_top + 2.2, col.title, ha="center", va="center", fontsize=10, weight="bold")
        ax.text(x, row_top + 0.8, col.subtitle, ha="center", va="center", fontsize=7.5, color="#455a64")

    for x, level, text in [(64, OFF, "none / off"), (76, PART, "part of production"), (93, FULL, "production"),
                           (106, WRITES, "B writes")]:
        box(x, 3, 2.4, 2.2, SHADES[level], edge="#90a4ae")
        ax.text(x + 3, 4.1, text, va="center", fontsize=8.5)
    ax.text(2, 4.1, "Region A always runs production. After failover B writes and S3 replicates B → A;\n"
            "failback is a switchover back to A, and B returns to its posture.", fontsize=8.5, va="center", color="#37474f")

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})  # no version stamp: same bytes each run
    plt.close(fig)
    png = buffer.getvalue()
    path.write_bytes(png)
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=FIGURE, help=f"where to write (default {FIGURE})")
    out = parser.parse_args().output
    draw(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
