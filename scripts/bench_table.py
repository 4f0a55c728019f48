"""Prints the criterion results of the last `cargo bench` run as a Markdown table: the median time
per iteration (with criterion's 95% confidence interval of the median) and, for the lifecycle
benchmarks, events per second. Reads <target>/criterion/<group>/<bench>/new/estimates.json.

Usage: python3 scripts/bench_table.py [TARGET_DIR]   (default: $CARGO_TARGET_DIR or target)
"""

from __future__ import annotations

import json
import os
import pathlib
import sys

ORDER = ["decision", "policies", "org_accounts", "resources", "chain", "load", "process"]


def fmt(ns: float) -> str:
    for unit, scale in [("s", 1e9), ("ms", 1e6), ("µs", 1e3)]:
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}" if ns / scale < 100 else f"{ns / scale:.0f} {unit}"
    return f"{ns:.0f} ns"


def main() -> None:
    target = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CARGO_TARGET_DIR", "target"))
    root = target / "criterion"
    rows = []
    for estimates in root.glob("**/new/estimates.json"):
        bench = json.loads((estimates.parent / "benchmark.json").read_text())
        median = json.loads(estimates.read_text())["median"]
        group = bench["group_id"]
        name = bench["function_id"] or ""
        if bench.get("value_str"):
            name = f"{name}/{bench['value_str']}" if name else bench["value_str"]
        throughput = bench.get("throughput") or {}
        rate = ""
        if "Elements" in throughput:
            rate = f"{throughput['Elements'] / (median['point_estimate'] / 1e9):,.0f} events/s"
        ci = median["confidence_interval"]
        natural = [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in name.split("/")]
        key = (ORDER.index(group) if group in ORDER else len(ORDER), group, natural)
        rows.append((key, f"| `{group}/{name}` | {fmt(median['point_estimate'])} | "
                          f"{fmt(ci['lower_bound'])} – {fmt(ci['upper_bound'])} | {rate} |"))
    print("| benchmark | median | 95% CI of the median | throughput |")
    print("|---|---|---|---|")
    for _, row in sorted(rows):
        print(row)


if __name__ == "__main__":
    main()
