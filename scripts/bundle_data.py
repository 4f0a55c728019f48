"""The data document of a bundle directory as the core builds it: every `data/**/*.json` file
deep-merged in path order (objects merge key by key, anything else replaces). Shared by the fuzz
seeder (fuzz/seed.py) and the OPA comparison (scripts/bench_opa.py)."""

from __future__ import annotations

import json
import pathlib


def merged_data(bundle: pathlib.Path) -> dict:
    """Deep-merges `bundle/data/**/*.json` in sorted path order."""

    def merge(into: dict, value: dict) -> None:
        for key, item in value.items():
            if isinstance(item, dict) and isinstance(into.get(key), dict):
                merge(into[key], item)
            else:
                into[key] = item

    data: dict = {}
    for path in sorted((bundle / "data").rglob("*.json")):
        merge(data, json.loads(path.read_text()))
    return data
