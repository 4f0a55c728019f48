// The TypeScript types (src/types.d.ts, emitted into pkg/gatehouse_wasm.d.ts) type-check a real
// usage and reject misuses: `tsc --noEmit -p tests/tsconfig.json` (typescript from package-lock).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { WASM_DIR } from "./helpers.mjs";

test("tsc --noEmit accepts tests/usage.ts against pkg/gatehouse_wasm.d.ts", () => {
  const dts = join(WASM_DIR, "pkg", "gatehouse_wasm.d.ts");
  assert.ok(existsSync(dts), `${dts} is missing; run build.sh`);
  assert.match(readFileSync(dts, "utf8"), /export interface Decision\b/);
  const tsc = join(WASM_DIR, "node_modules", ".bin", "tsc");
  const run = spawnSync(tsc, ["--noEmit", "-p", join(WASM_DIR, "tests", "tsconfig.json")], {
    encoding: "utf8",
  });
  assert.equal(run.status, 0, `tsc failed:\n${run.stdout}${run.stderr}`);
});
