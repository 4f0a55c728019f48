"""A bundle directory as the core reads it, through the `gatehouse` binary (no second
implementation of the bundle format or of the data merge here): `packed(dir)` is the output of
`gatehouse bundle` (`{name, revision, digest, files}`, the decision files by path) and
`merged_data(dir)` that of `gatehouse bundle --data` (every data file deep-merged). Shared by the
fuzz seeder (fuzz/seed.py) and the OPA comparison (scripts/bench_opa.py).

The binary is `$GATEHOUSE_BIN`, else the debug build in `$CARGO_TARGET_DIR` (or `target/`)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent


def gatehouse_bin() -> str:
    """The `gatehouse` binary to ask."""
    if os.environ.get("GATEHOUSE_BIN"):
        return os.environ["GATEHOUSE_BIN"]
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    return str(target / "debug" / "gatehouse")


def _bundle(bundle: pathlib.Path, *flags: str) -> dict:
    binary = gatehouse_bin()
    if not pathlib.Path(binary).is_file():
        raise SystemExit(f"bundle_data: no gatehouse binary at {binary} "
                         "(build it with `cargo build --locked -p gatehouse-cli`, or set GATEHOUSE_BIN)")
    out = subprocess.run([binary, "bundle", "--policies", str(bundle), *flags],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"bundle_data: `gatehouse bundle` failed on {bundle}:\n{out.stderr}")
    return json.loads(out.stdout)


def packed(bundle: pathlib.Path) -> dict:
    """`gatehouse bundle`: the bundle's decision files (`files`: path -> text) and digest."""
    return _bundle(bundle)


def merged_data(bundle: pathlib.Path) -> dict:
    """`gatehouse bundle --data`: the data document the engine evaluates against."""
    return _bundle(bundle, "--data")


def policy_modules(bundle: dict) -> list[tuple[str, str]]:
    """The Rego modules of a packed bundle, `(path, text)` in path order."""
    return sorted((path, text) for path, text in bundle["files"].items() if path.endswith(".rego"))
