#!/usr/bin/env python3
"""Runs the conformance corpus through a `gatehouse` binary and compares every decision with its
golden bytes: the check the nightly regression workflow runs against the latest release, and
that the test command runs against the debug build.

Usage: python3 scripts/conformance_check.py [GATEHOUSE_BINARY] [--policies DIR]

Cases the CLI can express (admission stage, no bundle overlay, a context of `now`, `history` and
`approvals`) are grouped by context and checked with one `gatehouse check --format json` run per
group. Exit 0 when every decision is byte-identical to its golden file, 1 otherwise (each
difference printed), 2 when the binary cannot run. Standard library only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    binary = "gatehouse"
    policies = ROOT / "policies"
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--policies" and args:
            policies = Path(args.pop(0))
        elif arg.startswith("-"):
            print(__doc__, file=sys.stderr)
            return 2
        else:
            binary = arg
    corpus = policies / "conformance"
    groups: dict[tuple[str, str, str], list[tuple[str, dict]]] = defaultdict(list)
    skipped = 0
    for path in sorted(corpus.glob("*.json")):
        case = json.loads(path.read_text())
        context = case["context"]
        if (
            case.get("bundle_overlay")
            or case.get("stage", "admission") != "admission"
            or set(context) - {"now", "history", "approvals"}
        ):
            skipped += 1
            continue
        key = (
            context["now"],
            json.dumps(context.get("history", [])),
            json.dumps(context.get("approvals", [])),
        )
        groups[key].append((path.name, case))

    checked = 0
    problems: list[str] = []
    for (now, history, approvals), cases in groups.items():
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            intents = work / "intents"
            intents.mkdir()
            for name, case in cases:
                (intents / name).write_text(json.dumps(case["intent"]))
            (work / "history.json").write_text(history)
            (work / "approvals.json").write_text(approvals)
            command = [
                binary, "check", "--format", "json", "--policies", str(policies), "--now", now,
                "--history", str(work / "history.json"), "--approvals", str(work / "approvals.json"),
                str(intents),
            ]
            try:
                run = subprocess.run(command, capture_output=True, text=True, check=False)
            except OSError as e:
                print(f"conformance: cannot run {binary}: {e}", file=sys.stderr)
                return 2
            if run.returncode not in (0, 1):
                print(f"conformance: {' '.join(command)} exited {run.returncode}:\n{run.stderr}", file=sys.stderr)
                return 2
            report = json.loads(run.stdout)
        by_name = {Path(entry["file"]).name: entry for entry in report["results"]}
        for name, _case in cases:
            golden = (corpus / "golden" / name).read_text().rstrip("\n")
            entry = by_name.get(name)
            decision = entry.get("decision") if entry else None
            if decision is None:
                problems.append(f"{name}: no decision ({entry})")
                continue
            got = json.dumps(decision, separators=(",", ":"), ensure_ascii=False)
            checked += 1
            if got != golden:
                problems.append(f"{name}: differs from its golden decision\n  golden: {golden}\n  got:    {got}")
    for problem in problems:
        print(problem)
    print(
        f"conformance: {checked} cases through `{binary}`, {len(problems)} differences, "
        f"{skipped} cases the CLI cannot express (gates, bundle overlays, evidence)"
    )
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
