"""Checks that the conformance goldens differ from those at a git revision only in the bundle's
digest and revision (what a change to `policies/` that keeps every decision must show after
`GATEHOUSE_BLESS=1 cargo test -p gatehouse-core --test conformance`).

Usage: python3 scripts/golden_diff.py [REV]     (default: HEAD)
Exit status 1 when a golden differs in anything else, or when goldens were added or removed.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
GOLDEN = "policies/conformance/golden"


def at_revision(rev: str) -> dict[str, str]:
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{rev}:{GOLDEN}"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.split()
    return {
        name: subprocess.run(
            ["git", "show", f"{rev}:{GOLDEN}/{name}"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout
        for name in names
    }


def without_bundle_identity(text: str) -> dict:
    decision = json.loads(text)
    decision["bundle"].pop("digest")
    decision["bundle"].pop("revision")
    return decision


def main() -> int:
    rev = sys.argv[1] if len(sys.argv) > 1 else "HEAD"
    before = at_revision(rev)
    now = {p.name: p.read_text() for p in sorted((ROOT / GOLDEN).glob("*.json"))}
    problems = []
    if set(before) != set(now):
        problems.append(f"golden files differ: only at {rev}: {sorted(set(before) - set(now))}, "
                        f"only now: {sorted(set(now) - set(before))}")
    changed = {"digest": set(), "revision": set()}
    for name in sorted(set(before) & set(now)):
        a, b = json.loads(before[name]), json.loads(now[name])
        for field in changed:
            if a["bundle"][field] != b["bundle"][field]:
                changed[field].add((a["bundle"][field], b["bundle"][field]))
        if without_bundle_identity(before[name]) != without_bundle_identity(now[name]):
            problems.append(f"{name}: the decision differs beyond the bundle's digest and revision")
        elif before[name].encode() != now[name].encode() and not any(
            a["bundle"][f] != b["bundle"][f] for f in changed
        ):
            problems.append(f"{name}: the bytes differ although the decision is equal")
    print(f"{len(set(before) & set(now))} goldens compared with {rev}")
    for field, pairs in changed.items():
        for old, new in sorted(pairs):
            print(f"  bundle.{field}: {old} -> {new}")
    for p in problems:
        print(f"  DIFFERENT {p}")
    if problems:
        return 1
    print("  every other byte is the same")
    return 0


if __name__ == "__main__":
    sys.exit(main())
