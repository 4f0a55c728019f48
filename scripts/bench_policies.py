"""What each reference policy costs in a decision: the reference bundle's `lib.rego` and
`derived.rego` (evaluated once per bundle) with one admission policy at a time (and with a stub
policy that never matches, the fixed cost), each timed on the conformance case
`allow-prod-reference` through the Python bindings.

The costs add up to about the whole bundle's, so the list shows where a decision's time goes.
Needs the `gatehouse` package (the release wheel that `scripts/bench.sh` installs into
`<target>/bench-venv`):

    target/bench-venv/bin/python scripts/bench_policies.py [--calls N]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import tempfile

import gatehouse
from bench_opa import median_us  # scripts/ is on sys.path: this file runs from it

ROOT = pathlib.Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
RULES = POLICIES / "rules"
CASE = "allow-prod-reference"
STUB = 'package gatehouse.policies.stub\n\ndeny contains "x" if { false }\n'


def decision_us(engine: gatehouse.Engine, text: str, context: dict, calls: int) -> float:
    """Median µs of one decision, after a warm-up of a tenth of `calls`."""
    native = getattr(engine, "_native")
    for _ in range(calls // 10):
        native.evaluate(text, context)
    return median_us(lambda: native.evaluate(text, context), calls)


def bundle_with(directory: pathlib.Path, policy: pathlib.Path | None) -> gatehouse.Engine:
    """The reference bundle's manifest, data, lib.rego and derived.rego, plus `policy` (or the
    stub)."""
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(POLICIES / "data", directory / "data")
    shutil.copy(POLICIES / "bundle.json", directory / "bundle.json")
    (directory / "rules").mkdir()
    shutil.copy(RULES / "lib.rego", directory / "rules" / "lib.rego")
    shutil.copy(RULES / "derived.rego", directory / "rules" / "derived.rego")
    if policy is None:
        (directory / "rules" / "stub.rego").write_text(STUB)
    else:
        target = directory / "rules" / policy.relative_to(RULES)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(policy, target)
    return gatehouse.Engine.from_directory(directory)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per bundle")
    args = parser.parse_args()

    case = json.loads((POLICIES / "conformance" / f"{CASE}.json").read_text())
    text = json.dumps(case["intent"], separators=(",", ":"))
    context = case["context"]
    policies = sorted(
        p for p in RULES.rglob("*.rego")
        if p.name not in ("lib.rego", "derived.rego")
        and not p.name.endswith("_test.rego")
        and "gates" not in p.parts
    )
    whole = decision_us(gatehouse.Engine.from_directory(POLICIES), text, context, args.calls)
    with tempfile.TemporaryDirectory() as tmp:
        directory = pathlib.Path(tmp) / "bundle"
        base = decision_us(bundle_with(directory, None), text, context, args.calls)
        rows = []
        for policy in policies:
            alone = decision_us(bundle_with(directory, policy), text, context, args.calls)
            rows.append((str(policy.relative_to(RULES)), alone, alone - base))
    print(f"case {CASE}; medians per decision (Python bindings, intent JSON -> decision JSON)")
    print(f"  {'whole reference bundle':40s} {whole:8.1f} µs")
    print(f"  {'lib.rego + a stub policy (fixed cost)':40s} {base:8.1f} µs")
    print(f"  {'policy':40s} {'alone':>8s}    {'minus fixed':>11s}")
    for name, alone, extra in sorted(rows, key=lambda r: -r[2]):
        print(f"  {name:40s} {alone:8.1f} µs {extra:8.1f} µs")
    total = base + sum(r[2] for r in rows)
    print(f"  {'fixed + every policy':40s} {total:8.1f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
