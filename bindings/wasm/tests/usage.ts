// Type-checked (never run) by types.test.mjs with `tsc --noEmit`: the package's .d.ts must type
// this usage, and reject the marked misuses.
import init, {
  Engine,
  validateIntent,
  type Approval,
  type ApprovalRecord,
  type Decision,
  type DeploymentIntent,
  type EvaluationContext,
  type GatehouseError,
  type PackedBundle,
  type SchemaError,
  type Violation,
} from "../pkg/gatehouse_wasm.js";

export async function preview(bundle: PackedBundle, intent: DeploymentIntent): Promise<string[]> {
  await init();
  const engine = new Engine(bundle);
  const digest: string = engine.bundleDigest;
  const context: EvaluationContext = { now: new Date().toISOString() };
  const decision: Decision = engine.evaluate(intent, context);
  const gates: Decision = engine.evaluateGates(intent, { ...context, evidence: { smoke: [] } });
  const text: string = engine.evaluateJson(JSON.stringify(intent), JSON.stringify(context));
  const schemaErrors: SchemaError[] = validateIntent({ apiVersion: "gatehouse.dev/v1" });
  const blocking: Violation[] = decision.violations.filter((v) => v.status === "blocking");
  if (decision.outcome === "needs_approval") {
    console.log(decision.violations.map((v) => v.override_role ?? ""));
  }
  const approved: Decision = engine.evaluate(intent, {
    ...context,
    approvals: [{ by: "bob@example.com", role: "release-approver", reference: "evt-1" }],
  });
  const sources: string[] = (approved.approvals ?? []).map((a) => `${a.by}:${a.source}`);
  const omitted: number = approved.truncated?.violations ?? 0;
  console.log(sources, omitted);
  engine.free();
  return [digest, gates.outcome, text, ...schemaErrors.map((e) => e.path), ...blocking.map((v) => v.message)];
}

export function describe(error: unknown): string {
  const e = error as GatehouseError;
  return `${e.code}: ${e.errors.map((d) => `${d.message} ${d.span?.file ?? ""}:${d.span?.line ?? 0}`).join("; ")}`;
}

export function misuses(engine: Engine, intent: DeploymentIntent, decision: Decision): void {
  // @ts-expect-error the context needs `now`
  engine.evaluate(intent, {});
  // @ts-expect-error intents are objects; JSON text goes to evaluateJson
  engine.evaluate(JSON.stringify(intent), { now: "2026-11-23T12:00:00Z" });
  // @ts-expect-error evaluateJson takes text
  engine.evaluateJson(intent, "{}");
  // @ts-expect-error outcomes are allow | needs_approval | deny
  if (decision.outcome === "maybe") return;
  // @ts-expect-error a bundle is {files} or a `gatehouse bundle` document
  new Engine({ rules: {} });
  // @ts-expect-error the digest is read-only
  engine.bundleDigest = "sha256:0";
  // @ts-expect-error a context's approval has source caller (or none)
  engine.evaluate(intent, { now: "2026-11-23T12:00:00Z", approvals: [{ by: "a@b.c", role: "r", source: "intent" }] });
  // @ts-expect-error only the control plane records control_plane approvals (the engine refuses them)
  engine.evaluate(intent, { now: "2026-11-23T12:00:00Z", approvals: [{ by: "a@b.c", role: "r", source: "control_plane" }] });
  // A decision's approval records are not a context's approvals: they may carry sources only a
  // trusted producer records.
  // @ts-expect-error ApprovalRecord's source is caller | control_plane | github_review
  const again: Approval[] = decision.approvals ?? [];
  console.log(again);
  // @ts-expect-error a decision's approval record always says who recorded it
  const unsourced: ApprovalRecord = { by: "a@b.c", role: "r" };
  console.log(unsourced);
  // @ts-expect-error approvals are not part of an intent
  const claimed: DeploymentIntent = { ...intent, spec: { ...intent.spec, approvals: [] } };
  console.log(claimed);
}
