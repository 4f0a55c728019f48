#!/usr/bin/env python3
"""Prints one `[dependency-groups]` group of bindings/python/pyproject.toml, one requirement per
line, for `pip install` (the pins of the repository's Python tools live there, once).

Usage: python3 scripts/py_group.py NAME
"""

import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "bindings" / "python" / "pyproject.toml"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    groups = tomllib.loads(PYPROJECT.read_text())["dependency-groups"]
    if argv[0] not in groups:
        print(f"py_group: no group `{argv[0]}` in {PYPROJECT} (groups: {', '.join(groups)})", file=sys.stderr)
        return 2
    for requirement in groups[argv[0]]:
        if not isinstance(requirement, str):
            print(f"py_group: group `{argv[0]}` includes another group; list requirements", file=sys.stderr)
            return 2
        print(requirement)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
