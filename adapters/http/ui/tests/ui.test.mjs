// End to end in headless Chromium against a real `gatehouse serve`: the form shows a field-level
// violation from the in-browser WASM preview before anything is submitted; the fixed intent is
// submitted; the status table and the timeline follow VALIDATED → IN_PROGRESS → SUCCESS as the
// test pipeline calls back; an approver approves from the timeline (If-Match); a bundle changed
// on the server after the page loaded shows up as a preview/server mismatch; the signals page
// draws its charts; without the WASM package the form previews through POST /v1/evaluate.
// Screenshots go to target/ui-screenshots/. No assertion depends on wall-clock time.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { TOKENS, devIntent, shot, startBrowser, startServer } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await startBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Fills the form as a user would, field by field, with a dev intent in `region`. */
async function fillForm(page, region) {
  await page.getByLabel("Requested by").fill("erin@example.com");
  await page.getByLabel("Service", { exact: true }).fill("web-frontend");
  await page.getByLabel("Version").fill("2.0.0-rc.1");
  await page.getByLabel("Artifact").fill(devIntent().spec.artifact);
  await page.getByLabel("Environment").selectOption("dev");
  await page.getByLabel("Cloud").selectOption("aws");
  await page.getByLabel("Account").selectOption("555555555555");
  await page.getByLabel("Region").fill(region);
  await page.locator("#f-res-0-name").fill("web");
  await page.locator("#f-res-0-size").fill("t3.small");
  await page.locator("#f-tag-0-value").fill("team-web");
  await page.locator("#f-tag-1-value").fill("CC-2001");
  await page.locator("#f-tag-2-value").fill("internal");
  await page.getByLabel("Estimated monthly cost (USD)").fill("120");
}

const regionViolation = (page) =>
  page.locator('ul[data-for="spec.target.region"] li[data-policy="region.allowed"]');

let submittedId;

test("the form shows a field-level violation while typing, then submits the fixed intent", async () => {
  const page = await browser.page();
  await page.goto(`${server.base}/`);
  // Signing in through the token field.
  await page.getByRole("heading", { name: "Sign in with a token" }).waitFor();
  await page.getByLabel("API token").fill(TOKENS.requester);
  await page.getByRole("button", { name: "Use token" }).click();
  await page.getByRole("heading", { name: "New deployment" }).waitFor();

  // The preview runs in the page, on the server's exact bundle, whose digest is shown.
  const engine = page.locator("p.engine");
  await engine.waitFor();
  assert.equal(await engine.getAttribute("data-mode"), "wasm", await engine.textContent());
  const bundle = (await server.api("GET", "/v1/bundle")).body;
  assert.equal(await engine.locator("code").getAttribute("title"), bundle.digest);

  await fillForm(page, "ap-southeast-2");
  // Beside the region field, before any submission: the violation, its remediation and level.
  const violation = regionViolation(page);
  await violation.waitFor();
  assert.equal(await violation.getAttribute("data-status"), "blocking");
  assert.match(await violation.textContent(), /hard-mandatory/);
  assert.match(await violation.locator(".remediation").textContent(), /Deploy to one of the regions/);
  assert.equal(await page.getByLabel("Region").getAttribute("aria-invalid"), "true");
  await page.locator('#preview-outcome [data-outcome="deny"]').waitFor();
  assert.equal((await server.api("GET", "/v1/deployments")).body.total, 0, "nothing submitted yet");
  await shot(page, "1-form-violation");

  // Fixed: the violation goes away and the preview allows it.
  await page.getByLabel("Region").fill("us-west-2");
  await page.locator('#preview-outcome [data-outcome="allow"]').waitFor();
  assert.equal(await regionViolation(page).count(), 0);
  await page.getByRole("button", { name: "Submit deployment" }).press("Enter");
  await page.locator("#server-result #match").waitFor();
  assert.equal(await page.locator("#mismatch").count(), 0);
  await page.locator('#server-result [data-state="VALIDATED"]').waitFor();
  submittedId = (await page.locator("#open-timeline").getAttribute("href")).split("/").pop();
  await shot(page, "2-form-submitted");

  const stored = (await server.api("GET", `/v1/deployments/${submittedId}`)).body;
  assert.equal(stored.state, "VALIDATED");
  assert.equal(stored.intent.metadata.name, "web-frontend-dev-2.0.0-rc.1");
  assert.equal(stored.submitted_by, "dev@example.com");
  assert.deepEqual(page.problems, []);
  await page.close();
});

test("the status table and the timeline follow the pipeline to SUCCESS", async () => {
  assert.ok(submittedId, "needs the submitted deployment");
  const table = await browser.page(TOKENS.requester);
  await table.goto(`${server.base}/ui/#/deployments`);
  const row = table.locator(`tr[data-id="${submittedId}"]`);
  await row.locator('[data-state="VALIDATED"]').waitFor();
  assert.equal(await row.locator(".badge").textContent(), "VALIDATED");
  await shot(table, "3-table-validated");

  const timeline = await browser.page(TOKENS.requester);
  await timeline.goto(`${server.base}/ui/#/deployments/${submittedId}`);
  await timeline.locator('.state-line [data-state="VALIDATED"]').waitFor();
  await timeline.locator('#chain[data-ok="true"]').waitFor();

  await server.callback(submittedId, { status: "started", run_url: "https://ci.example.com/runs/7" });
  await row.locator('[data-state="IN_PROGRESS"]').waitFor();
  await timeline.locator('.state-line [data-state="IN_PROGRESS"]').waitFor();
  await timeline.locator('li.event[data-type="started"] > p a', { hasText: "https://ci.example.com/runs/7" }).waitFor();

  const { artifact, target } = devIntent().spec;
  await server.callback(submittedId, {
    status: "succeeded",
    run_url: "https://ci.example.com/runs/7",
    evidence: { smoke: [{ name: "health", passed: true }], observed: { artifact, account: target.account, region: target.region } },
  });
  await row.locator('[data-state="SUCCESS"]').waitFor();
  await timeline.locator('.state-line [data-state="SUCCESS"]').waitFor();
  const types = await timeline.locator("li.event").evaluateAll((items) => items.map((li) => li.dataset.type));
  assert.deepEqual(types, ["requested", "validated", "started", "succeeded"]);
  const succeeded = timeline.locator('li.event[data-type="succeeded"]');
  assert.match(await succeeded.textContent(), /Release gates: allowed/);
  assert.match(await succeeded.textContent(), /✓ health/);
  assert.match(await succeeded.textContent(), /by pipeline/);
  await timeline.locator('#chain[data-ok="true"]').waitFor();
  assert.match(await timeline.locator("#chain").textContent(), /Ledger verified/);
  await shot(timeline, "4-timeline-success");

  // Filters: by state and by service.
  await table.getByLabel("State").selectOption("SUCCESS");
  await table.locator(`tr[data-id="${submittedId}"]`).waitFor();
  await table.getByLabel("State").selectOption("FAILED");
  await table.locator("td.empty").waitFor();
  await table.getByLabel("State").selectOption("");
  await table.getByLabel("Service").fill("web-frontend");
  await table.waitForFunction(() => location.hash === "#/deployments?service=web-frontend");
  await row.locator('[data-state="SUCCESS"]').waitFor();
  await shot(table, "5-table-success");
  assert.deepEqual([...table.problems, ...timeline.problems], []);
  await table.close();
  await timeline.close();
});

test("an approver approves from the timeline, with If-Match", async () => {
  const intent = devIntent();
  intent.metadata.name = "web-frontend-dev-over-budget";
  intent.spec.estimated_monthly_cost = 600;
  const submitted = await server.api("POST", "/v1/deployments", { json: { intent } });
  assert.equal(submitted.status, 201);
  assert.equal(submitted.body.decision.outcome, "needs_approval");
  const id = submitted.body.id;

  const page = await browser.page(TOKENS.approver);
  await page.goto(`${server.base}/ui/#/deployments/${id}`);
  await page.locator('.state-line [data-state="REQUESTED"]').waitFor();
  const form = page.locator("#approve-form");
  await form.waitFor();
  assert.equal(await page.getByLabel("Approve as").inputValue(), "finops-approver");
  await page.getByLabel("Comment (optional)").fill("budget agreed with finance");
  await shot(page, "6-timeline-awaiting-approval");
  const sent = page.waitForRequest((r) => r.url().endsWith(`/v1/deployments/${id}/approvals`));
  await page.getByRole("button", { name: "Approve" }).click();
  const request = await sent;
  assert.equal(request.headers()["if-match"], `"${submitted.body.etag}"`);
  assert.deepEqual(request.postDataJSON(), { role: "finops-approver", comment: "budget agreed with finance" });
  await page.locator('.state-line [data-state="VALIDATED"]').waitFor();
  await page.locator('li.event[data-type="approval_recorded"] > p', { hasText: "budget agreed with finance" }).waitFor();
  assert.equal(await page.locator("#approve-form").count(), 0);
  await shot(page, "6-timeline-approved-validated");
  const events = (await server.api("GET", `/v1/deployments/${id}/events`)).body.map((e) => e.type);
  assert.deepEqual(events, ["requested", "approval_required", "approval_recorded", "validated"]);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test("a decision that differs from the preview is shown as a mismatch", async () => {
  const page = await browser.page(TOKENS.requester);
  await page.goto(`${server.base}/ui/#/new`);
  await page.locator('p.engine[data-mode="wasm"]').waitFor();
  await page.getByRole("button", { name: "Fill with an example" }).click();
  await page.locator('#preview-outcome [data-outcome="allow"]').waitFor();
  // The server's bundle changes after the page loaded it: the dev cost ceiling drops to 100 USD.
  server.editData("reference.json", (doc) => { doc.governance.reference.cost_ceilings_usd.dev = 100; });
  const reloaded = await server.api("POST", "/v1/admin/reload", { token: TOKENS.admin });
  assert.equal(reloaded.status, 200, JSON.stringify(reloaded.body));
  await page.getByRole("button", { name: "Submit deployment" }).click();
  const mismatch = page.locator("#mismatch");
  await mismatch.waitFor();
  const text = await mismatch.textContent();
  assert.match(text, /outcome: preview allow, server needs_approval/);
  assert.match(text, /only on the server: cost\.ceiling · spec\.estimated_monthly_cost · pending_approval/);
  assert.match(text, /bundle: preview sha256:/);
  await shot(page, "7-form-mismatch");
  assert.deepEqual(page.problems, []);
  await page.close();
});

test("the signals page draws the figures", async () => {
  // One denied submission too, so that there are violated policies to chart.
  const denied = devIntent();
  denied.metadata.name = "web-frontend-dev-ap";
  denied.spec.target.region = "ap-southeast-2";
  assert.equal((await server.api("POST", "/v1/deployments", { json: { intent: denied } })).body.state, "REJECTED");
  const page = await browser.page(TOKENS.requester);
  await page.goto(`${server.base}/ui/#/signals`);
  const byState = page.locator("#chart-deployments-by-state");
  await byState.locator("svg").waitFor();
  const rows = await byState.locator("table tbody tr").evaluateAll((trs) =>
    trs.map((tr) => [tr.querySelector("th").textContent, tr.querySelector("td").textContent]));
  const want = Object.entries((await server.api("GET", "/v1/signals")).body.by_state).map(([k, v]) => [k, String(v)]);
  assert.deepEqual(rows, want);
  assert.ok(rows.some(([state]) => state === "SUCCESS"));
  for (const title of ["Deployments by environment", "Top violated policies", "Deployment frequency (successful per day)",
    "Change failure rate", "Lead time, request to success (median)"]) {
    await page.getByRole("figure", { name: title }).waitFor();
  }
  await page.locator("#chart-change-failure-rate svg").waitFor();
  const policies = await page.locator("#chart-top-violated-policies-deployments-stopped-or-held- table tbody th").allTextContents();
  assert.ok(policies.includes("region.allowed"), policies.join());
  await shot(page, "8-signals");

  // The whole table, every state so far.
  await page.goto(`${server.base}/ui/#/deployments`);
  await page.locator('tr [data-state="REJECTED"]').waitFor();
  assert.equal(await page.locator("tbody tr").count(), 4);
  await shot(page, "10-table-all");
  assert.deepEqual(page.problems, []);
  await page.close();
});

test("resource rows are added and removed from the keyboard, each with its own findings", async () => {
  const page = await browser.page(TOKENS.requester);
  await page.goto(`${server.base}/ui/#/new`);
  await page.locator('p.engine[data-mode="wasm"]').waitFor();
  await page.getByRole("button", { name: "Fill with an example" }).click();
  await page.getByRole("button", { name: "Add resource" }).focus();
  await page.keyboard.press("Enter");
  // The new row's first control has the focus: type into it, then tab through the row.
  assert.equal(await page.evaluate(() => document.activeElement.id), "f-res-1-type");
  assert.equal(await page.evaluate(() => document.activeElement.value), "compute.instance");
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.type("database.postgres");
  await page.keyboard.press("Tab");
  await page.keyboard.type("db");
  await page.getByLabel("Encrypted").nth(1).selectOption("false");
  await page.getByLabel("Public").nth(1).selectOption("true");
  const publicFinding = page.locator('ul[data-for="spec.resources[1].public"] li[data-policy="network.no-public-database"]');
  const encryptedFinding = page.locator('ul[data-for="spec.resources[1].encrypted"] li[data-policy="storage.encrypted"]');
  await publicFinding.waitFor();
  await encryptedFinding.waitFor();
  assert.equal(await page.locator('ul[data-for^="spec.resources[0]"] li').count(), 0, "row 1 has no findings");
  await shot(page, "11-form-resource-rows");
  await page.getByRole("button", { name: "Remove resource 2" }).press("Enter");
  await page.waitForFunction(() => document.getElementById("deploy-form").dataset.preview === "done"
    && !document.querySelector('#preview-violations li[data-path^="spec.resources"]'));
  assert.equal(await page.locator("fieldset.row").count(), 1);
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Add resource");
  assert.deepEqual(page.problems, []);
  await page.close();
});

test("every form control has a label", async () => {
  const page = await browser.page(TOKENS.requester);
  await page.goto(`${server.base}/ui/#/new`);
  await page.locator("#preview-outcome .badge").waitFor();
  const unlabelled = await page.locator("input, select, textarea, button").evaluateAll((els) =>
    els.filter((el) => !(el.labels?.length || el.getAttribute("aria-label") || (el.tagName === "BUTTON" && el.textContent.trim())))
      .map((el) => el.outerHTML.slice(0, 80)));
  assert.deepEqual(unlabelled, []);
  await page.close();
});

test("without the WASM package the form previews through POST /v1/evaluate and says so", async () => {
  const bare = await startServer({ wasmDir: "/nonexistent/gatehouse-wasm-pkg" });
  try {
    const page = await browser.page(TOKENS.requester);
    await page.goto(`${bare.base}/ui/#/new`);
    const engine = page.locator('p.engine[data-mode="server"]');
    await engine.waitFor();
    assert.match(await engine.textContent(), /Previewed by the server \(POST \/v1\/evaluate\)/);
    assert.match(await engine.textContent(), /not installed/);
    // The foot of the page says so, and how to install the engine.
    assert.match(await page.locator("#wasm-notice").textContent(), /In-browser previews are unavailable.*GATEHOUSE_UI_WASM_DIR/s);
    await fillForm(page, "ap-southeast-2");
    await regionViolation(page).waitFor();
    await shot(page, "9-form-fallback");
    await page.getByLabel("Region").fill("eu-west-1");
    await page.locator('#preview-outcome [data-outcome="allow"]').waitFor();
    await page.close();
  } finally {
    await bare.stop();
  }
});
