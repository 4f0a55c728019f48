"""Every ``python`` snippet of README.md, docs/python.md and the package's README (its PyPI page)
runs, so the pages cannot drift from the API. The snippets of one page run in order, in one
namespace (a later snippet may use an earlier one's ``engine``), in a fresh interpreter from the
repository root; they state what they promise with ``assert``. A snippet that must not run is
preceded by the line ``<!-- snippet: not run (REASON) -->``; no page needs one today."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import List

import pytest
from conftest import REPO, run_python

PAGES = ["README.md", "docs/python.md", "bindings/python/README.md"]
BLOCK = re.compile(r"(?P<marker><!-- snippet: not run \([^)]+\) -->\n)?```python\n(?P<code>.*?)```", re.S)

RUNNER = """
import json, os, sys
os.chdir(sys.argv[1])
namespace = {"__name__": "__snippet__"}
for index, code in enumerate(json.loads(sys.argv[2])):
    try:
        exec(compile(code, f"{sys.argv[3]} snippet {index + 1}", "exec"), namespace)
    except BaseException:
        print(f"{sys.argv[3]}: snippet {index + 1} failed:\\n{code}", file=sys.stderr)
        raise
"""


def snippets(page: str) -> List[str]:
    return [m["code"] for m in BLOCK.finditer((REPO / page).read_text()) if not m["marker"]]


@pytest.mark.parametrize("page", PAGES)
def test_the_page_has_python_snippets(page: str) -> None:
    assert snippets(page), f"{page} has no python snippet"


@pytest.mark.parametrize("page", PAGES)
def test_the_snippets_run(page: str) -> None:
    run = run_python(RUNNER, str(REPO), json.dumps(snippets(page)), page)
    assert run.returncode == 0, run.stderr[-4000:]
