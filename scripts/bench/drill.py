"""Benchmark: the Q2 drill on the sandbox, RTO (detection included) and RPO over several runs.

    scripts/dev bench drill        (or: python -m scripts.bench.drill [--runs 5] [--planned-runs 5] [--warm-runs 5])

Each run is a whole `drctl drill run Q2` without the failback (a fresh region pair, 1 s of write load, A's
database and service SIGKILLed, detection by health check, `drctl failover --unplanned` unchanged); reports go
to a temp dir. "paused" runs pause B's WAL replay 0.5 s before the kill, so there is a lag to lose; "warm" runs
are unplanned with B built at warm standby's row (an instance to promote, nodes, a cache member the runbook
promotes too), beside the stack's own posture (pilot light) in the same run. Goals
(the sandbox's detection settings: health checks every 0.1 s, 2 failures): RTO <= 2 s;
unplanned RPO within 100 ms of the replication lag pg_stat_replication reported at the kill; planned
switchover RPO 0.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def _spread(values: list[float]) -> str:
    return f"min {min(values):.3f}  median {statistics.median(values):.3f}  max {max(values):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--runs", type=int, default=5, help="unplanned runs (at least 5 for the figures)")
    parser.add_argument("--planned-runs", type=int, default=5, help="planned switchover runs")
    parser.add_argument("--warm-runs", type=int, default=5, help="unplanned runs with B at warm standby")
    parser.add_argument("--paused-runs", type=int, default=3,
                        help="unplanned runs with B's WAL replay paused 0.5 s before the kill (a real lag to lose)")
    args = parser.parse_args()

    from ops.drctl.drills.run import drill
    from ops.drctl.drills.scenarios import Q2Options
    from ops.drctl.sandbox.region_pair import SandboxOptions

    sandbox = SandboxOptions(with_search=False, with_stripe=False)  # neither takes part in the failover
    warm = replace(sandbox, posture="warm-standby")

    def pause_replay(pair) -> None:
        with pair.b.node.connect("postgres") as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
        time.sleep(0.5)

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-drill-") as tmp:
        for variant, count in (("unplanned", args.runs), ("warm", args.warm_runs), ("planned", args.planned_runs),
                               ("paused", args.paused_runs)):
            for n in range(1, count + 1):
                started = time.perf_counter()
                run = drill("Q2", report_dir=Path(tmp) / "reports", journal_dir=Path(tmp) / "runs",
                            q2=Q2Options(planned=variant == "planned", failback=False,
                                         sandbox=warm if variant == "warm" else sandbox,
                                         before_disaster=pause_replay if variant == "paused" else None)).run
                m = run["measured"]
                detection = (run["marks"]["detected"] - run["marks"]["disaster"]) if "detected" in run["marks"] \
                    else None
                runbook = next((s["seconds"] for s in run["steps"] if s["name"] == "failover runbook"), None)
                rows.append({"variant": variant, "n": n, "status": run["status"], "rto": m["rto"]["seconds"],
                             "rpo": m["rpo"]["seconds"], "lost": len(m["rpo"]["lost_heartbeats"]),
                             "lag": m.get("replication_lag_at_disaster_s"), "detection": detection,
                             "runbook": runbook, "wall": time.perf_counter() - started, "error": run["error"]})
                r = rows[-1]
                print(f"{variant:9} run {n}: {r['status']:6} RTO {r['rto']} s  RPO {r['rpo']} s "
                      f"({r['lost']} heartbeats lost)  lag at disaster {r['lag']} s  detection "
                      f"{'-' if detection is None else f'{detection:.3f}'} s  runbook {runbook} s  "
                      f"(whole drill {r['wall']:.1f} s)", flush=True)
                if r["error"]:
                    print(f"  error: {r['error'].splitlines()[0]}")
    print()
    for variant in ("unplanned", "warm", "planned", "paused"):
        done = [r for r in rows if r["variant"] == variant and r["status"] == "done" and r["rto"] is not None]
        if not done:
            continue
        rtos, rpos = [r["rto"] for r in done], [r["rpo"] for r in done]
        print(f"{variant} ({len(done)} runs): RTO {_spread(rtos)} s   goal <= 2 s: "
              f"{'met' if max(rtos) <= 2 else 'NOT met'}")
        print(f"{variant} ({len(done)} runs): RPO {_spread(rpos)} s", end="")
        if variant == "planned":
            print(f"   goal 0: {'met' if max(rpos) == 0 else 'NOT met'}")
        elif variant == "paused" and min(rpos) == 0:
            print("   NOT as designed: a paused replay must lose the heartbeats B had not replayed")
        else:
            gaps = [abs(r["rpo"] - (r["lag"] or 0.0)) for r in done]
            print(f"   |RPO - lag at kill| max {max(gaps):.3f} s, goal <= 0.1 s: "
                  f"{'met' if max(gaps) <= 0.1 else 'NOT met'}")
        detections = [r["detection"] for r in done if r["detection"] is not None]
        if detections:
            print(f"{variant}: detection {_spread(detections)} s")


if __name__ == "__main__":
    main()
