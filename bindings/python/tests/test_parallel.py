"""Decisions split in parts, served from the cache, or evaluated on many threads have the same
bytes as one evaluation on one thread."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List

import pytest
from conftest import CONFORMANCE, POLICIES, TIME_LIMIT

from gatehouse import Engine


def plain_cases() -> List[Dict[str, Any]]:
    """The admission cases on the reference bundle whose intent is a dict."""
    cases = []
    for path in sorted(CONFORMANCE.glob("*.json")):
        case = json.loads(path.read_text())
        if (
            not case.get("bundle_overlay")
            and case.get("stage", "admission") == "admission"
            and isinstance(case["intent"], dict)
        ):
            case["golden"] = (CONFORMANCE / "golden" / path.name).read_text().rstrip("\n")
            cases.append(case)
    return cases


CASES = plain_cases()


def decide(engine: Engine, case: Dict[str, Any]) -> str:
    context = case["context"]
    return engine.evaluate(
        case["intent"],
        now=context["now"],
        history=context.get("history"),
        approvals=context.get("approvals"),
    ).to_json()


def test_split_decisions_have_the_same_bytes() -> None:
    engine = Engine.from_directory(POLICIES, time_limit=TIME_LIMIT, split=4)
    assert engine.parts == 4
    assert engine.cache_stats() is None
    for case in CASES:
        assert decide(engine, case) == case["golden"]


def test_the_cache_serves_repeats_with_the_same_bytes() -> None:
    engine = Engine.from_directory(POLICIES, time_limit=TIME_LIMIT, cache_size=1000)
    for _ in range(2):
        for case in CASES:
            assert decide(engine, case) == case["golden"]
    stats = engine.cache_stats()
    assert stats is not None
    # Cases with the same intent and context (the corpus may hold such pairs) are one key.
    distinct = len({json.dumps([case["intent"], case["context"]], sort_keys=True) for case in CASES})
    assert stats["misses"] == stats["entries"] == distinct
    assert stats["hits"] == 2 * len(CASES) - distinct
    assert stats["capacity"] == 1000
    assert stats["evictions"] == 0


def test_threads_share_one_engine() -> None:
    engine = Engine.from_directory(POLICIES, time_limit=TIME_LIMIT, split=2)
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda case: decide(engine, case), CASES * 3))
    assert got == [case["golden"] for case in CASES * 3]


@pytest.mark.parametrize("split, cache_size", [(0, 0), (1, -1), (True, 0)])
def test_counts_are_checked(split: int, cache_size: int) -> None:
    with pytest.raises(ValueError):
        Engine.from_directory(POLICIES, split=split, cache_size=cache_size)


def test_engines_from_files_take_the_options(tmp_path: Path) -> None:
    files = {
        str(p.relative_to(POLICIES)): p.read_text()
        for p in POLICIES.rglob("*")
        if p.is_file()
        and p.suffix in {".rego", ".json"}
        and not p.name.endswith("_test.rego")
        and p.relative_to(POLICIES).parts[0] in {"rules", "data", "bundle.json"}
    }
    engine = Engine.from_files(files, split=2, cache_size=4)
    assert engine.parts == 2
    case = CASES[0]
    assert decide(engine, case) == case["golden"]
