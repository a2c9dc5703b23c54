"""``python -m allocator bench``: the need rule against first-come on four nights.

Each (night, rule) runs in its own subprocess so that peak memory is honest: it is the
process's peak resident set size (``ru_maxrss``), which includes OR-Tools' C++ allocations,
the interpreter and the night itself (about 100 MiB of it is just Python plus OR-Tools).
The solve time is wall time of ``solve()`` in that process (night already built), the best of
three runs for the small nights; its CPU time is shown beside it, since a busy machine
stretches wall time but not CPU time (the solver is single-threaded). The reference is one max-flow (SimpleMaxFlow) over the same
aggregated eligibility graph: a lower bound on what any exact method must spend.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CASES: dict[str, dict[str, Any]] = {
    "bergen": {"sites": 5, "beds": 150, "requests": 240},
    "city": {"sites": 60, "beds": 3000, "requests": 3500},
    "toronto": {"toronto": "2024-01-15"},
    "metropolis": {"sites": 200, "beds": 12000, "requests": 14000},
}
BANDS = ((80, 100), (60, 79), (40, 59), (20, 39), (0, 19))


def build(case: str):
    """The night of a benchmark case (deterministic)."""
    spec = CASES[case]
    if "toronto" in spec:
        from allocator.toronto import toronto_night

        return toronto_night(spec["toronto"])
    from allocator.generate import random_night

    return random_night(seed=2026, **spec)


def max_flow_seconds(night) -> tuple[float, int]:
    """Time one max-flow over the class graph (people grouped by eligible classes)."""
    import numpy as np
    from ortools.graph.python import max_flow

    from allocator.layout import prepare

    start = time.perf_counter()
    prep = prepare(night)
    layout = prep.layout
    groups: dict[tuple[int, ...], int] = {}
    for r in night.requests:
        classes = layout.eligible_classes(r)
        groups[classes] = groups.get(classes, 0) + 1
    n_classes = len(layout.classes)
    tails, heads, caps = [], [], []
    for c in layout.classes:
        tails.append(2 + c.index)
        heads.append(1)
        caps.append(len(c.beds))
    for g, (classes, count) in enumerate(groups.items()):
        node = 2 + n_classes + g
        tails.append(0)
        heads.append(node)
        caps.append(count)
        for c in classes:
            tails.append(node)
            heads.append(2 + c)
            caps.append(count)
    smf = max_flow.SimpleMaxFlow()
    smf.add_arcs_with_capacity(np.asarray(tails, dtype=np.int32),
                               np.asarray(heads, dtype=np.int32), np.asarray(caps, dtype=np.int64))
    smf.solve(0, 1)
    return time.perf_counter() - start, int(smf.optimal_flow())


def child(case: str, rule: str) -> dict[str, Any]:
    """Run one case in this process and report timings, memory and placed counts."""
    from allocator.api import solve

    night = build(case)
    repeats = 3 if len(night.beds) < 5000 else 1
    seconds, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = solve(night, rule=rule, time_limit=60.0)
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    need = {r.person: r.need for r in night.requests}
    bands = [sum(lo <= need[a.person] <= hi for a in result.assignments) for lo, hi in BANDS]
    wanted = [sum(lo <= r.need <= hi for r in night.requests) for lo, hi in BANDS]
    out = {"case": case, "rule": rule, "beds": len(night.beds), "requests": len(night.requests),
           "status": result.status.value, "seconds": min(seconds), "cpu": min(cpu),
           "placed": len(result.assignments), "bands": bands, "wanted": wanted}
    if rule == "need":
        out["maxflow_seconds"], out["maxflow"] = max_flow_seconds(night)
    out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main(quick: bool = False) -> int:
    """Print the table; each row is measured in a fresh subprocess."""
    cases = ["bergen"] if quick else list(CASES)
    root = str(Path(__file__).resolve().parents[1])
    header = (f"{'night':<11}{'beds':>6}{'reqs':>7} {'rule':<11}{'status':<9}{'solve s':>8}{'cpu s':>7}"
              f"{'peak MiB':>9}{'placed':>7}  " + " ".join(f"{f'{lo}-{hi}':>7}" for lo, hi in BANDS)
              + f"{'maxflow s':>10}")
    print(header)
    print("-" * len(header))
    for case in cases:
        for rule in ("need", "first-come"):
            done = subprocess.run([sys.executable, "-m", "allocator.bench", "--case", case,
                                   "--rule", rule], capture_output=True, text=True, cwd=root)
            if done.returncode != 0:
                print(f"{case:<11} {rule}: failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            row = json.loads(done.stdout)
            bands = " ".join(f"{f'{p}/{w}':>7}" for p, w in zip(row["bands"], row["wanted"]))
            ref = f"{row['maxflow_seconds']:>10.3f}" if "maxflow_seconds" in row else f"{'':>10}"
            print(f"{case:<11}{row['beds']:>6}{row['requests']:>7} {rule:<11}{row['status']:<9}"
                  f"{row['seconds']:>8.3f}{row['cpu']:>7.3f}{row['peak_mib']:>9.0f}{row['placed']:>7}  {bands}{ref}")
    print("need bands: placed/asking per need band; maxflow s: one SimpleMaxFlow over the same "
          "eligibility graph (reference).")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", choices=sorted(CASES), required=True)
    parser.add_argument("--rule", choices=("need", "first-come"), required=True)
    args = parser.parse_args()
    print(json.dumps(child(args.case, args.rule)))
