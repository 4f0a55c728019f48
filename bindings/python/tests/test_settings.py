"""Every numeric setting of an engine is range-checked with a :class:`~gatehouse.SettingError`
(a ``GatehouseError``, so a ``ValueError``) naming the setting; none aborts the process, raises a
panic, or takes memory before a decision needs it. The settings run in a subprocess: a setting
that aborts the process (``memory allocation ... failed``) fails the test instead of the run."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest
from conftest import POLICIES, run_python

SCRIPT = """
import json, sys
from gatehouse import Engine

def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

for name, value in json.loads(sys.argv[2]):
    value = float(value) if isinstance(value, str) else value
    before = rss_kib()
    try:
        engine = Engine.from_directory(sys.argv[1], **{name: value})
    except BaseException as e:
        result = {"raised": [c.__name__ for c in type(e).__mro__], "message": str(e)}
    else:
        result = {"loaded": engine.parts, "grew_kib": rss_kib() - before}
    print(json.dumps(result), flush=True)
"""

OUT_OF_RANGE = [
    ("cache_size", 2**32),
    ("cache_size", 2**60),
    ("cache_size", 2**64),
    ("cache_size", 10**9),
    ("cache_size", -1),
    ("split", 0),
    ("split", 2**32),
    ("split", 2**64),
    ("split", -1),
    ("time_limit", 0),
    ("time_limit", -1.0),
    ("time_limit", "nan"),
    ("time_limit", "inf"),
    ("time_limit", 1e300),
]


def run(settings: List[Any]) -> List[Dict[str, Any]]:
    process = run_python(SCRIPT, str(POLICIES), json.dumps(settings))
    lines = [json.loads(line) for line in process.stdout.splitlines()]
    assert process.returncode == 0, (process.returncode, process.stderr[-2000:], lines)
    return lines


def test_settings_out_of_range_are_setting_errors() -> None:
    results = run(OUT_OF_RANGE)
    for (name, value), result in zip(OUT_OF_RANGE, results):
        assert "raised" in result, (name, value, result)
        assert result["raised"][:3] == ["SettingError", "GatehouseError", "ValueError"], (name, value, result)
        assert f"`{name}`" in result["message"], result


@pytest.mark.parametrize("name", ["cache_size", "split"])
def test_the_largest_settings_load_without_taking_memory(name: str) -> None:
    from gatehouse import MAX_CACHE_SIZE, MAX_SPLIT

    largest = {"cache_size": MAX_CACHE_SIZE, "split": MAX_SPLIT}[name]
    (result,) = run([(name, largest)])
    assert "loaded" in result, result
    # A bundle loads in a few MB; a cache sized up front would take hundreds.
    assert result["grew_kib"] < 64 * 1024, result
