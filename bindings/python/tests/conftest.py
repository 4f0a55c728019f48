"""Shared paths and fixtures: the repository's reference bundle and its conformance corpus."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from gatehouse import Engine

REPO = Path(__file__).resolve().parents[3]
POLICIES = REPO / "policies"
CONFORMANCE = POLICIES / "conformance"
# The conformance harness's limit: the runaway-policy case needs far longer on any machine, every
# other case far less.
TIME_LIMIT = 0.5


def load_case(name: str) -> Dict[str, Any]:
    """A conformance case by file stem."""
    case: Dict[str, Any] = json.loads((CONFORMANCE / f"{name}.json").read_text())
    return case


def cases_with_outcome(outcome: str) -> List[str]:
    """Stems of the admission cases with the reference bundle and a dict intent whose decision is
    ``outcome``. Their ``context`` keys are the keyword arguments of ``Engine.evaluate``."""
    names = []
    for path in sorted(CONFORMANCE.glob("*.json")):
        case = json.loads(path.read_text())
        if (
            not case.get("bundle_overlay")
            and case.get("stage", "admission") == "admission"
            and isinstance(case["intent"], dict)
            and case["want"].get("outcome") == outcome
        ):
            names.append(path.stem)
    return names


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    yield Engine.from_directory(POLICIES, time_limit=TIME_LIMIT)


def run_python(script: str, *args: str, timeout: float = 120) -> "subprocess.CompletedProcess[str]":
    """Runs ``script`` in a fresh interpreter (this one's, with the package installed) in its own
    process group, and kills the whole group (forked children included) when it outlives
    ``timeout``: a hang fails the test (``subprocess.TimeoutExpired``) instead of the suite."""
    with subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
