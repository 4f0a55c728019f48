"""Bounded evaluation and safe bundle reading from Python (issues 21 and 27): a derived rule
building ``numbers.range(1, 400000000)`` aborted the interpreter, a named pipe at
``rules/x.rego`` blocked ``Engine.from_directory`` forever (ignoring Ctrl-C) and a link to
``/dev/zero`` was read until memory ran out. Each attack runs in a child interpreter with a capped
address space and a deadline, so that a regression fails the test instead of hanging it or taking
the machine's memory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict

from conftest import POLICIES, load_case

# Long enough for a loaded machine; a hang fails the test.
DEADLINE = 120
# About 4 GB of address space for the child.
ADDRESS_SPACE = 4_000_000_000

CHILD = textwrap.dedent(
    """
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
    from gatehouse import Engine, GatehouseError
    args = json.loads(sys.argv[1])
    try:
        engine = Engine.from_directory(args["dir"], time_limit=0.5, overlay=args["overlay"])
    except GatehouseError as e:
        print(json.dumps({{"raised": type(e).__name__, "errors": e.errors()}}))
        sys.exit(0)
    case = args["case"]
    decision = engine.evaluate(case["intent"], now=case["context"]["now"],
                               history=case["context"].get("history"))
    print(json.dumps({{"decision": json.loads(decision.to_json())}}))
    """
).format(cap=ADDRESS_SPACE)


def in_child(directory: Path, overlay: Dict[str, str]) -> Dict[str, Any]:
    """Loads ``directory`` (with ``overlay``) and evaluates an allowed case in a capped child."""
    args = json.dumps(
        {"dir": str(directory), "overlay": overlay, "case": load_case("allow-dev-minimal")}
    )
    done = subprocess.run(
        [sys.executable, "-c", CHILD, args],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    result: Dict[str, Any] = json.loads(done.stdout)
    return result


def bundle_copy(tmp_path: Path) -> Path:
    bundle = tmp_path / "policies"
    bundle.mkdir()
    shutil.copy(POLICIES / "bundle.json", bundle / "bundle.json")
    shutil.copytree(POLICIES / "rules", bundle / "rules")
    shutil.copytree(POLICIES / "data", bundle / "data")
    return bundle


def test_a_derived_rule_building_a_huge_range_raises_bundle_error_at_its_line() -> None:
    overlay = {"rules/zz_derived.rego": "package governance.derived\n\nbig := count(numbers.range(1, 400000000))\n"}
    result = in_child(POLICIES, overlay)
    assert result.get("raised") == "BundleError", result
    (record,) = result["errors"]
    assert record["code"] == "derived_evaluation"
    assert "`numbers.range` would return 400000000 numbers; the range limit is 1000000" in record["message"]
    assert record["span"]["file"] == str(POLICIES / "rules" / "zz_derived.rego")
    assert record["span"]["line"] == 3


def test_a_policy_building_a_huge_range_denies_with_limit_exceeded() -> None:
    overlay = {
        "rules/zz_range.rego": 'package gatehouse.policies.zz_range\n\ndeny contains {"policy": "tags.required", "path": "", "message": "x"} if {\n\tcount(numbers.range(1, 1e8)) < 0\n}\n'
    }
    decision = in_child(POLICIES, overlay)["decision"]
    assert decision["outcome"] == "deny"
    (error,) = decision["errors"]
    assert error["code"] == "limit_exceeded"
    assert (error["span"]["file"], error["span"]["line"]) == ("rules/zz_range.rego", 4)


def test_a_named_pipe_in_the_bundle_raises_without_blocking(tmp_path: Path) -> None:
    bundle = bundle_copy(tmp_path)
    fifo = bundle / "rules" / "x.rego"
    os.mkfifo(fifo)
    result = in_child(bundle, {})
    assert result.get("raised") == "BundleError", result
    (record,) = result["errors"]
    assert record["code"] == "bundle_unreadable"
    assert f"cannot read bundle file `{fifo}`: not a regular file (it is a named pipe)" == record["message"]


def test_a_link_to_dev_zero_in_the_bundle_raises(tmp_path: Path) -> None:
    bundle = bundle_copy(tmp_path)
    link = bundle / "data" / "zero.json"
    link.symlink_to("/dev/zero")
    result = in_child(bundle, {})
    assert result.get("raised") == "BundleError", result
    (record,) = result["errors"]
    assert record["code"] == "bundle_unreadable"
    assert "not a regular file (it is a character device)" in record["message"]
