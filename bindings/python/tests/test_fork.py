"""An engine survives ``fork``: the gunicorn ``--preload`` pattern (an engine built and used in the
parent, then a ``fork`` multiprocessing pool) evaluates in the children, with the parent's engine
and with a fresh split engine built there. Each run is a subprocess with a timeout, so a child
that hangs fails the test instead of hanging the suite (and the forking process has no other
threads of the test run in it)."""

from __future__ import annotations

import json

from conftest import POLICIES, load_case, run_python

SCRIPT = """
import json, multiprocessing, sys
from gatehouse import Engine

policies, case = sys.argv[1], json.loads(sys.argv[2])

def decide(engine):
    return engine.evaluate(case["intent"], **case["context"]).to_json()

parent = Engine.from_directory(policies, split=2)
assert parent.parts >= 2, parent.parts

def with_parent_engine(_):
    return decide(parent)

def with_fresh_engine(_):
    fresh = Engine.from_directory(policies, split=4, cache_size=8)
    return decide(fresh), fresh.parts

first = decide(parent)
with multiprocessing.get_context("fork").Pool(2) as pool:
    same = pool.map(with_parent_engine, range(4))
    fresh = pool.map(with_fresh_engine, range(2))
print(json.dumps({"parent": first, "same": same, "fresh": fresh, "after": decide(parent)}))
"""


def test_split_engines_evaluate_in_forked_children() -> None:
    case = load_case("allow-dev-minimal")
    run = run_python(SCRIPT, str(POLICIES), json.dumps(case))
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["same"] == [out["parent"]] * 4
    assert [decision for decision, _ in out["fresh"]] == [out["parent"]] * 2
    assert all(parts >= 2 for _, parts in out["fresh"])
    assert out["after"] == out["parent"]
