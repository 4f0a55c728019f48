"""Gatehouse next to OPA's Go engine, in one process: the same bundle, data and intents through
both, prepared once, checked to return the same violations, then timed per decision.

OPA is `libopabridge.so` from the PyPI wheel `opa-golib-python-bindings==0.4.4` (OPA v1.20.2
compiled as a Go c-shared library), downloaded with pip into `<target>/opa/` on first use and
called through ctypes. Gatehouse is the `gatehouse` Python package (the release wheel that
`scripts/bench.sh` builds and installs). Both sides take JSON text in and give JSON text out:

* Gatehouse: `_native.evaluate(intent_json, context)` -> decision JSON (schema validation,
  every admission policy, catalogue, exemptions and overrides, the intent digest);
* OPA: `OpaEvalDocument("gatehouse_internal.admission", input_json)` -> every policy package's
  `deny` set as JSON, through OPA's prepared-query cache (the same gathering module that
  Gatehouse generates; OPA does none of the decision work around it).

Derived rules (the package `bundle.json` names as `derived`) are treated the same way on both
sides: evaluated once when the bundle is set up (OPA: one `OpaEvalDocument` of the derived
package on an engine holding only those modules and the data), their values added to the data,
and the derived modules left out of the engine that decides.

Cases: every admission case of `policies/conformance/` whose intent passes the schema and that
needs no bundle overlay (OPA and Gatehouse must agree on every one), and, when given
`--synthetic DIR...`, bundles written by `cargo run --example synthetic_bundle`.

Usage: python3 scripts/bench_opa.py [--calls N] [--synthetic DIR ...]
Exit status 1 when the engines disagree on any case.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
import zipfile

# scripts/ is on sys.path: this file runs from it. The bundle comes from `gatehouse bundle`.
from bundle_data import merged_data, packed, policy_modules

ROOT = pathlib.Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
OPA_WHEEL = "opa-golib-python-bindings==0.4.4"
GATHER = "gatehouse_internal.admission"

# Cases timed per decision (the first is the criterion benchmark `decision/prod_allowed`).
TIMED = ["allow-prod-reference", "allow-dev-minimal", "database-public", "many-violations"]


def opa_library() -> ctypes.CDLL:
    """Downloads the wheel once into <target>/opa/ and loads libopabridge.so."""
    directory = TARGET / "opa"
    library = directory / "libopabridge.so"
    if not library.exists():
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "--python-version", "3.14",
             "--platform", "manylinux_2_34_x86_64", OPA_WHEEL, "-d", str(directory)],
            check=True,
        )
        wheel = next(directory.glob("opa_golib_python_bindings-0.4.4-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            library.write_bytes(archive.read("opa_bindings/libopabridge.so"))
    lib = ctypes.CDLL(str(library))
    lib.OpaNew.restype = ctypes.c_uint64
    lib.OpaNew.argtypes = []
    lib.OpaFreeString.restype = None
    lib.OpaFreeString.argtypes = [ctypes.c_void_p]
    for name in ["OpaAddPolicy", "OpaAddData"]:
        fn = getattr(lib, name)
        fn.restype = ctypes.c_void_p
        fn.argtypes = [ctypes.c_uint64, ctypes.c_char_p, ctypes.c_char_p]
    lib.OpaEvalDocument.restype = ctypes.c_void_p
    lib.OpaEvalDocument.argtypes = [
        ctypes.c_uint64, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
    ]
    return lib


def package_of(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("package "):
            return line.removeprefix("package ").strip()
    return ""


class Opa:
    """One OPA engine over a bundle directory (its policy modules and merged data as
    `gatehouse bundle` gives them, with the derived package's values computed once)."""

    def __init__(self, lib: ctypes.CDLL, bundle: pathlib.Path, packages: list[str]):
        self.lib = lib
        self.handle = lib.OpaNew()
        files = packed(bundle)
        manifest = json.loads(files["files"]["bundle.json"])
        derived = manifest.get("derived")
        data = merged_data(bundle)
        modules, derived_modules = [], []
        for path, text in policy_modules(files):
            package = package_of(text)
            is_derived = derived and (package == derived or package.startswith(derived + "."))
            (derived_modules if is_derived else modules).append((path, text))
        if derived:
            once = Opa.__new__(Opa)
            once.lib, once.handle = lib, lib.OpaNew()
            for path, text in derived_modules:
                once.call(lib.OpaAddPolicy, path.encode(), text.encode())
            once.call(lib.OpaAddData, b"", json.dumps(data).encode())
            pointer = lib.OpaEvalDocument(once.handle, derived.encode(), b"{}", 0, 0)
            try:
                envelope = json.loads(ctypes.string_at(pointer))
            finally:
                lib.OpaFreeString(pointer)
            if envelope.get("error"):
                raise RuntimeError(f"OPA: {envelope['error']}")
            [result] = envelope["result"]
            [expression] = result["expressions"]
            node = data
            *parents, last = derived.split(".")
            for key in parents:
                node = node.setdefault(key, {})
            node[last] = expression["value"]
        for path, text in modules:
            self.call(lib.OpaAddPolicy, path.encode(), text.encode())
        self.call(lib.OpaAddData, b"", json.dumps(data).encode())
        entries = "\n".join(f'\t"{p}": data.{p}.deny,' for p in packages)
        gather = f"package gatehouse_internal\n\nadmission := {{\n{entries}\n}}\n"
        self.call(lib.OpaAddPolicy, b"<gatehouse>/gather.rego", gather.encode())

    def call(self, fn, *args) -> dict:
        pointer = fn(self.handle, *args)
        try:
            envelope = json.loads(ctypes.string_at(pointer))
        finally:
            self.lib.OpaFreeString(pointer)
        if envelope.get("error"):
            raise RuntimeError(f"OPA: {envelope['error']}")
        return envelope

    def evaluate_raw(self, input_json: bytes) -> bytes:
        """The timed call: JSON input in, JSON result out."""
        pointer = self.lib.OpaEvalDocument(self.handle, GATHER.encode(), input_json, 0, 0)
        try:
            return ctypes.string_at(pointer)
        finally:
            self.lib.OpaFreeString(pointer)

    def violations(self, input_json: bytes) -> list[dict]:
        envelope = json.loads(self.evaluate_raw(input_json))
        if envelope.get("error"):
            raise RuntimeError(f"OPA: {envelope['error']}")
        [result] = envelope["result"]
        [expression] = result["expressions"]
        return [v for deny in expression["value"].values() for v in deny]


def key(v: dict) -> str:
    """What both engines must agree on for one violation."""
    fields = {f: v.get(f) for f in ["policy", "path", "message", "evidence", "inherited_from"]}
    return json.dumps(fields, sort_keys=True)


def median_us(fn, calls: int) -> float:
    samples = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000


def compare(name: str, gatehouse, opa: Opa, cases: list[tuple[str, str, dict, bytes]],
            timed: list[str], calls: int) -> tuple[int, list[tuple[str, float, float]]]:
    """Checks every case on both engines; times the `timed` ones. Returns (mismatches, rows)."""
    native = getattr(gatehouse, "_native")
    mismatches = 0
    for case, text, context, opa_input in cases:
        _, decision = native.evaluate(text, context)
        mine = sorted(key(v) for v in json.loads(decision)["violations"])
        theirs = sorted(set(key(v) for v in opa.violations(opa_input)))
        if mine != theirs:
            mismatches += 1
            print(f"  MISMATCH {name}/{case}:\n    gatehouse {mine}\n    opa       {theirs}")
    print(f"  {name}: {len(cases) - mismatches}/{len(cases)} cases give the same violations")
    rows = []
    by_name = {c[0]: c for c in cases}
    for case in timed:
        _, text, context, opa_input = by_name[case]
        for _ in range(50):  # warm up both
            native.evaluate(text, context)
            opa.evaluate_raw(opa_input)
        # Interleave blocks so that both engines see the same machine noise.
        g, o = [], []
        for _ in range(10):
            g.append(median_us(lambda: native.evaluate(text, context), calls // 10))
            o.append(median_us(lambda: opa.evaluate_raw(opa_input), calls // 10))
        rows.append((f"{name}/{case}", statistics.median(g), statistics.median(o)))
    return mismatches, rows


def conformance_cases() -> list[tuple[str, str, dict, bytes]]:
    import gatehouse

    engine = gatehouse.Engine.from_directory(POLICIES)
    cases = []
    for path in sorted((POLICIES / "conformance").glob("*.json")):
        case = json.loads(path.read_text())
        if case.get("bundle_overlay") or case.get("stage", "admission") != "admission":
            continue
        if not isinstance(case["intent"], dict) or engine.validate_intent(case["intent"]):
            continue  # schema errors: Gatehouse evaluates no policy, OPA would
        text = json.dumps(case["intent"], separators=(",", ":"))
        context = case["context"]
        opa_input = json.dumps({"intent": case["intent"], "context": context}).encode()
        cases.append((path.stem, text, context, opa_input))
    return engine, cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per engine and case")
    parser.add_argument("--synthetic", nargs="*", default=[], type=pathlib.Path,
                        help="synthetic bundle directories (cargo run --example synthetic_bundle)")
    args = parser.parse_args()

    import gatehouse

    lib = opa_library()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"machine: {platform.machine()} {cpu}, {os.cpu_count()} cpus; python {platform.python_version()}")
    print(f"OPA: {OPA_WHEEL} (OPA v1.20.2, Go c-shared); Gatehouse: {gatehouse.__file__}")

    engine, cases = conformance_cases()
    opa = Opa(lib, POLICIES, reference_packages())
    mismatches, rows = compare("reference", engine, opa, cases, TIMED, args.calls)

    for directory in args.synthetic:
        synthetic = gatehouse.Engine.from_directory(directory)
        manifest = json.loads((directory / "bundle.json").read_text())
        names = sorted(
            f"gatehouse.policies.{p.stem}" for p in (directory / "rules" / "synth").glob("*.rego"))
        opa_synthetic = Opa(lib, directory, names)
        intents = json.loads((directory / "intents.json").read_text())
        synthetic_cases = []
        for case, intent in intents.items():
            context = {"now": "2026-11-23T12:00:00Z"}
            synthetic_cases.append((case, json.dumps(intent, separators=(",", ":")), context,
                                    json.dumps({"intent": intent, "context": context}).encode()))
        m, r = compare(manifest["name"], synthetic, opa_synthetic, synthetic_cases,
                       ["no_violation", "one_violation"], max(args.calls // 10, 50))
        mismatches += m
        rows += r

    print(f"\n  {'case':<42} {'gatehouse':>12} {'OPA':>12} {'OPA / gatehouse':>16}")
    for name, g, o in rows:
        print(f"  {name:<42} {g:>9.1f} µs {o:>9.1f} µs {o / g:>15.2f}x")
    print("  (medians per decision; Gatehouse: intent JSON -> decision JSON; OPA: input JSON -> "
          "deny sets JSON)")
    if mismatches:
        print(f"{mismatches} case(s) differ between the engines")
        return 1
    return 0


def reference_packages() -> list[str]:
    names = []
    for _, text in policy_modules(packed(POLICIES)):
        for line in text.splitlines():
            if line.startswith("package gatehouse.policies."):
                names.append(line.removeprefix("package ").strip())
    return sorted(set(names))


if __name__ == "__main__":
    sys.exit(main())
