// The self-service deployment form. The form's model becomes a DeploymentIntent on every change;
// the preview (WASM engine over the server's bundle, or POST /v1/evaluate) judges it and each
// violation is shown beside the field its `path` names (`spec.resources[0].size` → that row's
// size, `spec.tags.owner` → the owner tag, anything else → the nearest enclosing section, or the
// list at the top). Submitting posts the intent to /v1/deployments and shows the server's
// decision next to the preview's; any difference is listed, not hidden.

import { ApiError, call } from "./api.js";
import { flash, h, outcomeBadge, problemText, shortDigest, stateBadge } from "./dom.js";
import { Previewer, compareDecisions } from "./preview.js";

const ENVIRONMENTS = ["dev", "staging", "prod"];
const CLOUDS = ["aws", "azure"];
const STRATEGIES = ["rolling", "blue-green", "canary"];
const RESOURCE_TYPES = ["compute.instance", "compute.vm", "database.postgres", "database.sql", "storage.bucket"];

/** A small allowed dev deployment (policies/examples/web-frontend-dev-allowed.yaml). */
const EXAMPLE = {
  requested_by: "erin@example.com",
  change_ticket: "",
  service: "web-frontend",
  version: "2.0.0-rc.1",
  artifact: "ghcr.io/acme/web-frontend@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
  environment: "dev",
  cloud: "aws",
  account: "555555555555",
  region: "us-west-2",
  resources: [{ type: "compute.instance", name: "web", size: "t3.small", count: "1", encrypted: "", public: "" }],
  tags: [
    { key: "owner", value: "team-web" },
    { key: "cost-center", value: "CC-2001" },
    { key: "data-classification", value: "internal" },
  ],
  cost: "120",
  strategy: "rolling",
};

function blankModel(reference) {
  return {
    name: "",
    nameAuto: true,
    requested_by: "",
    change_ticket: "",
    service: "",
    version: "",
    artifact: "",
    environment: "dev",
    cloud: "aws",
    account: "",
    region: "",
    resources: [{ type: "compute.instance", name: "", size: "", count: "1", encrypted: "", public: "" }],
    tags: (reference.required_tags ?? ["owner", "cost-center", "data-classification"]).map((key) => ({ key, value: "" })),
    cost: "",
    strategy: "rolling",
  };
}

/** `web-frontend-dev-2.0.0-rc.1`, made to fit the metadata.name pattern. */
function autoName(m) {
  const raw = [m.service, m.environment, m.version].filter(Boolean).join("-").toLowerCase();
  return raw.replace(/[^a-z0-9.-]+/g, "-").replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "").slice(0, 128);
}

/** A number when the text is one, else the text itself (the schema then says what is wrong). */
const numberOr = (text) => (/^\s*-?\d+(\.\d+)?\s*$/.test(text) ? Number(text) : text);
const boolOr = (text) => (text === "true" ? true : text === "false" ? false : undefined);

/** The DeploymentIntent the model describes. Empty optional fields are left out. */
export function toIntent(m) {
  const aws = m.cloud === "aws";
  const metadata = { name: m.nameAuto ? autoName(m) : m.name, requested_by: m.requested_by };
  if (m.change_ticket) metadata.change_ticket = m.change_ticket;
  const spec = {
    service: m.service,
    version: m.version,
    artifact: m.artifact,
    environment: m.environment,
    target: aws
      ? { cloud: "aws", account: m.account, region: m.region }
      : { cloud: m.cloud, subscription: m.account, location: m.region },
    resources: m.resources.map((r) => {
      const out = { type: r.type, name: r.name };
      if (r.size) out.size = r.size;
      if (r.count !== "") out.count = numberOr(r.count);
      if (boolOr(r.encrypted) !== undefined) out.encrypted = boolOr(r.encrypted);
      if (boolOr(r.public) !== undefined) out.public = boolOr(r.public);
      return out;
    }),
    tags: Object.fromEntries(m.tags.filter((t) => t.key !== "").map((t) => [t.key, t.value])),
    strategy: m.strategy,
  };
  if (m.cost !== "") spec.estimated_monthly_cost = numberOr(m.cost);
  return { apiVersion: "gatehouse.dev/v1", kind: "DeploymentIntent", metadata, spec };
}

const slotId = (path) => `v-${path.replace(/[^A-Za-z0-9_-]/g, "_")}`;

/** The reference and org data inside the bundle document (`files` holds each file's text). */
function bundleData(document) {
  const parse = (name) => {
    try {
      return JSON.parse(document?.files?.[name] ?? "{}")?.governance ?? {};
    } catch {
      return {};
    }
  };
  const org = parse("data/org.json").org ?? {};
  return { reference: parse("data/reference.json").reference ?? {}, org };
}

export async function renderForm(view) {
  const previewer = new Previewer();
  const status = h("p", { class: "muted" }, "Loading the policy bundle…");
  view.replaceChildren(h("h1", {}, "New deployment"), status);
  let bundleDocument;
  try {
    await previewer.load();
    bundleDocument = previewer.document;
  } catch (error) {
    status.textContent = `Cannot load the policy bundle: ${problemText(error)}. Set an API token above.`;
    status.className = "error";
    return;
  }
  const { reference, org } = bundleData(bundleDocument);
  const accounts = Object.entries(org.accounts ?? {}).map(([id, a]) => ({
    id,
    ...a,
    unit: org.units?.[a.parent]?.name ?? a.parent,
  }));
  let model = blankModel(reference);
  let lastPreview = null;
  let sequence = 0;
  let timer = 0;

  // ---- fields ------------------------------------------------------------------------------
  const fieldRefs = new Map();
  /** A labelled control with its help text and its violation slot. */
  function field({ id, label, path, control, help, wide }) {
    const helpId = help ? `${id}-help` : null;
    const span = wide === "span2";
    control.id = id;
    control.setAttribute("aria-describedby", [helpId, slotId(path)].filter(Boolean).join(" "));
    const wrapper = h("div", { class: `field${span ? " span2" : wide ? " wide" : ""}`, dataset: { path } },
      h("label", { for: id }, label),
      control,
      help ? h("p", { class: "help", id: helpId }, help) : null,
      h("ul", { class: "violations", id: slotId(path), dataset: { for: path } }),
    );
    fieldRefs.set(id, wrapper);
    return wrapper;
  }
  function input(key, attrs = {}) {
    return h("input", {
      type: "text", name: key, value: model[key], spellcheck: "false", autocomplete: "off", ...attrs,
      on: { input: (e) => { model[key] = e.target.value; changed(); } },
    });
  }
  function select(key, options, onChange) {
    return h("select", {
      name: key, value: model[key],
      on: { change: (e) => { model[key] = e.target.value; onChange?.(); changed(); } },
    }, options.map((o) => (typeof o === "string" ? h("option", { value: o }, o) : h("option", { value: o.value }, o.label))));
  }

  const nameInput = h("input", {
    type: "text", name: "name", spellcheck: "false", autocomplete: "off",
    on: { input: (e) => { model.name = e.target.value; model.nameAuto = e.target.value === ""; changed(); } },
  });
  const accountSelect = h("select", {
    name: "account",
    on: { change: (e) => { model.account = e.target.value; changed(); } },
  });
  const regionList = h("datalist", { id: "region-options" });
  const regionInput = h("input", {
    type: "text", name: "region", list: "region-options", spellcheck: "false", autocomplete: "off",
    on: { input: (e) => { model.region = e.target.value; changed(); } },
  });
  const sizeList = h("datalist", { id: "size-options" });
  const typeList = h("datalist", { id: "type-options" }, RESOURCE_TYPES.map((t) => h("option", { value: t })));
  const accountField = field({ id: "f-account", label: "Account", path: "spec.target.account", control: accountSelect,
    wide: "span2", help: "From the organisation's landing zone: account name · id · org unit." });
  const regionField = field({ id: "f-region", label: "Region", path: "spec.target.region", control: regionInput });

  /** Account options, region suggestions, size suggestions and paths for the cloud and environment. */
  function updateTarget() {
    const aws = model.cloud === "aws";
    const mine = accounts.filter((a) => a.cloud === model.cloud);
    accountSelect.replaceChildren(
      h("option", { value: "" }, `Choose ${aws ? "an account" : "a subscription"}…`),
      ...mine.map((a) => h("option", { value: a.id }, `${a.name} · ${a.id} · ${a.unit}`)),
    );
    if (!mine.some((a) => a.id === model.account)) model.account = "";
    accountSelect.value = model.account;
    const accountPath = aws ? "spec.target.account" : "spec.target.subscription";
    const regionPath = aws ? "spec.target.region" : "spec.target.location";
    retarget(accountField, accountPath, aws ? "Account" : "Subscription");
    retarget(regionField, regionPath, aws ? "Region" : "Location");
    const regions = reference.regions?.[model.cloud]?.[model.environment] ?? [];
    regionList.replaceChildren(...regions.map((r) => h("option", { value: r })));
    regionField.querySelector(".help")?.remove();
    regionField.insertBefore(
      h("p", { class: "help", id: "f-region-help" },
        regions.length ? `Approved for ${model.cloud} ${model.environment}: ${regions.join(", ")}` : ""),
      regionField.querySelector("ul.violations"));
    regionInput.setAttribute("aria-describedby", `f-region-help ${slotId(regionPath)}`);
    const sizes = reference.compute_sizes?.[model.environment] ?? [];
    sizeList.replaceChildren(...sizes.map((sz) => h("option", { value: sz })));
  }
  function retarget(wrapper, path, label) {
    wrapper.dataset.path = path;
    wrapper.querySelector("label").textContent = label;
    const slot = wrapper.querySelector("ul.violations");
    slot.id = slotId(path);
    slot.dataset.for = path;
    const control = wrapper.querySelector("input, select");
    const help = wrapper.querySelector(".help");
    control.setAttribute("aria-describedby", [help?.id, slot.id].filter(Boolean).join(" "));
  }

  // ---- resources and tags (rows) --------------------------------------------------------------
  const resourceRows = h("div", { class: "rows" });
  const addResource = h("button", {
    type: "button", class: "secondary",
    on: { click: () => {
      model.resources.push({ type: "compute.instance", name: "", size: "", count: "1", encrypted: "", public: "" });
      renderResources();
      resourceRows.querySelector(".row:last-child input")?.focus();
      changed();
    } },
  }, "Add resource");
  function renderResources() {
    resourceRows.replaceChildren(...model.resources.map((r, i) => {
      const base = `spec.resources[${i}]`;
      const cell = (key, label, attrs = {}) => field({
        id: `f-res-${i}-${key}`, label, path: `${base}.${key}`,
        control: h("input", {
          type: "text", value: r[key], spellcheck: "false", autocomplete: "off", ...attrs,
          on: { input: (e) => { r[key] = e.target.value; changed(); } },
        }),
      });
      const tri = (key, label) => field({
        id: `f-res-${i}-${key}`, label, path: `${base}.${key}`,
        control: h("select", { value: r[key], on: { change: (e) => { r[key] = e.target.value; changed(); } } },
          h("option", { value: "" }, "not set"), h("option", { value: "true" }, "yes"), h("option", { value: "false" }, "no")),
      });
      const cells = [
        cell("type", "Type", { list: "type-options" }),
        cell("name", "Name"),
        cell("size", "Size", { list: "size-options" }),
        cell("count", "Count", { inputmode: "numeric" }),
        tri("encrypted", "Encrypted"),
        tri("public", "Public"),
      ];
      // The cells are narrow: their findings go in a full-width band under the row (each slot
      // stays the one its control's aria-describedby names).
      const findings = h("div", { class: "row-findings" }, cells.map((c) => c.querySelector("ul.violations")));
      return h("fieldset", { class: "row", dataset: { path: base } },
        h("legend", {}, `Resource ${i + 1}`),
        cells,
        h("button", {
          type: "button", class: "remove", "aria-label": `Remove resource ${i + 1}`,
          disabled: model.resources.length === 1,
          on: { click: () => { model.resources.splice(i, 1); renderResources(); addResource.focus(); changed(); } },
        }, "Remove"),
        findings,
        h("ul", { class: "violations", id: slotId(base), dataset: { for: base } }),
      );
    }));
  }

  const tagRows = h("div", { class: "rows" });
  const addTag = h("button", {
    type: "button", class: "secondary",
    on: { click: () => {
      model.tags.push({ key: "", value: "" });
      renderTags();
      tagRows.querySelector(".row:last-child input")?.focus();
      changed();
    } },
  }, "Add tag");
  const classifications = reference.data_classifications ?? [];
  const classList = h("datalist", { id: "classification-options" }, classifications.map((c) => h("option", { value: c })));
  function renderTags() {
    tagRows.replaceChildren(...model.tags.map((t, i) => {
      const path = t.key ? `spec.tags.${t.key}` : `spec.tags.#${i}`;
      const row = h("div", { class: "row tag", dataset: { path } },
        h("div", { class: "field" },
          h("label", { for: `f-tag-${i}-key` }, "Key"),
          h("input", {
            id: `f-tag-${i}-key`, type: "text", value: t.key, spellcheck: "false", autocomplete: "off",
            on: { input: (e) => { t.key = e.target.value; retag(row, i, t); changed(); } },
          })),
        h("div", { class: "field" },
          h("label", { for: `f-tag-${i}-value` }, "Value"),
          h("input", {
            id: `f-tag-${i}-value`, type: "text", value: t.value, spellcheck: "false", autocomplete: "off",
            list: t.key === "data-classification" ? "classification-options" : null,
            on: { input: (e) => { t.value = e.target.value; changed(); } },
          })),
        h("button", {
          type: "button", class: "remove", "aria-label": `Remove tag ${t.key || i + 1}`,
          on: { click: () => { model.tags.splice(i, 1); renderTags(); addTag.focus(); changed(); } },
        }, "Remove"),
        h("ul", { class: "violations", id: slotId(path), dataset: { for: path } }),
      );
      for (const el of row.querySelectorAll("input")) el.setAttribute("aria-describedby", slotId(path));
      return row;
    }));
  }
  function retag(row, i, t) {
    const path = t.key ? `spec.tags.${t.key}` : `spec.tags.#${i}`;
    row.dataset.path = path;
    const slot = row.querySelector("ul.violations");
    slot.id = slotId(path);
    slot.dataset.for = path;
    for (const el of row.querySelectorAll("input")) el.setAttribute("aria-describedby", slot.id);
  }

  // ---- preview panel -------------------------------------------------------------------------
  const engineLine = previewer.mode === "wasm"
    ? h("p", { class: "engine", dataset: { mode: "wasm" } },
      "Previewed in this browser by the WASM engine with the server's bundle ",
      h("code", { title: previewer.bundle.digest }, `${previewer.bundle.name} ${previewer.bundle.revision} ${shortDigest(previewer.bundle.digest)}`), ".")
    : h("p", { class: "engine fallback", dataset: { mode: "server" } },
      "Previewed by the server (POST /v1/evaluate) with bundle ",
      h("code", { title: previewer.bundle.digest }, `${previewer.bundle.name} ${previewer.bundle.revision} ${shortDigest(previewer.bundle.digest)}`),
      `. The in-browser engine is not used: ${previewer.reason}.`);
  const outcomeBox = h("div", { class: "outcome", id: "preview-outcome", "aria-live": "polite" }, "…");
  const summary = h("ul", { class: "summary", id: "preview-violations" });
  const general = h("ul", { class: "violations general", id: slotId("(intent)"), dataset: { for: "" } });
  const errorsBox = h("div", { class: "errors" });
  const intentJson = h("pre", { class: "json" });
  const resultBox = h("section", { class: "result", id: "server-result", "aria-live": "polite", tabindex: "-1" });
  const submit = h("button", { type: "submit", class: "primary", id: "submit" }, "Submit deployment");

  const form = h("form", { id: "deploy-form", class: "deploy", novalidate: true, on: { submit: onSubmit } },
    general,
    h("fieldset", { dataset: { path: "metadata" } }, h("legend", {}, "Request"),
      h("div", { class: "grid" },
        field({ id: "f-name", label: "Request name", path: "metadata.name", control: nameInput,
          help: "Filled from service, environment and version until you type your own." }),
        field({ id: "f-requested-by", label: "Requested by", path: "metadata.requested_by",
          control: input("requested_by", { type: "email", autocomplete: "email" }), help: "Your email address." }),
        field({ id: "f-change-ticket", label: "Change ticket", path: "metadata.change_ticket",
          control: input("change_ticket"), help: `Needed for prod, e.g. ${reference.change_ticket_prefix ?? "CHG-"}12345.` }),
      ),
      h("ul", { class: "violations", id: slotId("metadata"), dataset: { for: "metadata" } })),
    h("fieldset", { dataset: { path: "spec" } }, h("legend", {}, "Release"),
      h("div", { class: "grid" },
        field({ id: "f-service", label: "Service", path: "spec.service", control: input("service"),
          help: "Lowercase, e.g. payments-api." }),
        field({ id: "f-version", label: "Version", path: "spec.version", control: input("version"),
          help: "Semantic version, e.g. 1.4.2." }),
        field({ id: "f-artifact", label: "Artifact", path: "spec.artifact", control: input("artifact"), wide: true,
          help: `Pinned image: registry/repo@sha256:<64 hex>. Registries: ${(reference.registries ?? []).join(", ")}.` }),
      ),
      h("ul", { class: "violations", id: slotId("spec"), dataset: { for: "spec" } })),
    h("fieldset", { dataset: { path: "spec.target" } }, h("legend", {}, "Target"),
      h("div", { class: "grid" },
        field({ id: "f-environment", label: "Environment", path: "spec.environment",
          control: select("environment", ENVIRONMENTS, updateTarget) }),
        field({ id: "f-cloud", label: "Cloud", path: "spec.target.cloud", control: select("cloud", CLOUDS, updateTarget) }),
        accountField,
        regionField,
      ),
      regionList, sizeList, typeList, classList,
      h("ul", { class: "violations", id: slotId("spec.target"), dataset: { for: "spec.target" } })),
    h("fieldset", { dataset: { path: "spec.resources" } }, h("legend", {}, "Resources"),
      resourceRows, addResource,
      h("ul", { class: "violations", id: slotId("spec.resources"), dataset: { for: "spec.resources" } })),
    h("fieldset", { dataset: { path: "spec.tags" } }, h("legend", {}, "Tags"),
      tagRows, addTag,
      h("ul", { class: "violations", id: slotId("spec.tags"), dataset: { for: "spec.tags" } })),
    h("fieldset", {}, h("legend", {}, "Cost and rollout"),
      h("div", { class: "grid" },
        field({ id: "f-cost", label: "Estimated monthly cost (USD)", path: "spec.estimated_monthly_cost",
          control: input("cost", { inputmode: "decimal" }),
          help: `Ceilings: ${Object.entries(reference.cost_ceilings_usd ?? {}).map(([e, c]) => `${e} ${c}`).join(", ")} USD.` }),
        field({ id: "f-strategy", label: "Strategy", path: "spec.strategy", control: select("strategy", STRATEGIES) }),
      )),
    h("div", { class: "actions" },
      submit,
      h("button", { type: "button", class: "secondary", on: { click: () => load(structuredClone({ ...EXAMPLE, name: "", nameAuto: true })) } },
        "Fill with an example"),
      h("button", { type: "button", class: "secondary", on: { click: () => load(blankModel(reference)) } }, "Clear")),
  );

  const aside = h("aside", { class: "preview", "aria-label": "Policy preview" },
    h("h2", {}, "Policy preview"),
    engineLine,
    outcomeBox,
    summary,
    errorsBox,
    h("details", {}, h("summary", {}, "Intent JSON"), intentJson),
  );
  view.replaceChildren(
    h("h1", {}, "New deployment"),
    h("p", { class: "lead" }, "Describe what to deploy. Policies are checked as you type; the server checks again when you submit."),
    h("div", { class: "split" }, h("div", {}, form, resultBox), aside),
  );

  function load(next) {
    model = next;
    for (const [key, el] of [["requested_by", "f-requested-by"], ["change_ticket", "f-change-ticket"], ["service", "f-service"],
      ["version", "f-version"], ["artifact", "f-artifact"], ["cost", "f-cost"], ["environment", "f-environment"],
      ["cloud", "f-cloud"], ["strategy", "f-strategy"]]) {
      document.getElementById(el).value = model[key];
    }
    nameInput.value = model.nameAuto ? "" : model.name;
    regionInput.value = model.region;
    updateTarget();
    accountSelect.value = model.account;
    renderResources();
    renderTags();
    changed();
  }

  // ---- evaluation ----------------------------------------------------------------------------
  function changed() {
    nameInput.placeholder = autoName(model);
    clearTimeout(timer);
    form.dataset.preview = "pending";
    timer = setTimeout(runPreview, previewer.mode === "wasm" ? 120 : 300);
  }

  async function runPreview() {
    const mine = ++sequence;
    const intent = toIntent(model);
    intentJson.textContent = JSON.stringify(intent, null, 2);
    let decision;
    try {
      decision = await previewer.evaluate(intent);
    } catch (error) {
      if (mine !== sequence) return;
      outcomeBox.replaceChildren(h("span", { class: "error" }, `Preview failed: ${problemText(error)}`));
      form.dataset.preview = "failed";
      return;
    }
    if (mine !== sequence) return;
    lastPreview = { intent, decision };
    showDecision(decision);
    form.dataset.preview = "done";
  }

  function violationItem(v, { link } = {}) {
    const target = link ? findSlot(v.path) : null;
    return h("li", { class: `violation status-${v.status}`, dataset: { policy: v.policy, path: v.path, status: v.status } },
      h("div", { class: "vhead" },
        h("span", { class: `badge status-${v.status}` }, v.status.replace("_", " ")),
        " ", h("strong", {}, v.title || v.policy), " ", h("code", { class: "policy" }, v.policy)),
      h("div", { class: "message" }, v.message),
      v.remediation ? h("div", { class: "remediation" }, h("span", { class: "label" }, "Fix: "), v.remediation) : null,
      h("div", { class: "meta" },
        `enforcement ${v.enforcement} · severity ${v.severity}`,
        v.override_role ? ` · approval by ${v.override_role}` : "",
        v.inherited_from ? ` · inherited from ${v.inherited_from}` : "",
        v.exempted_by ? ` · exempted by ${v.exempted_by}` : "",
        link && v.path ? [" · ", h("a", {
          href: "#", class: "goto",
          on: { click: (e) => { e.preventDefault(); (controlFor(target) ?? target?.closest("[data-path]")?.querySelector("input, select"))?.focus(); } },
        }, v.path)] : ""),
    );
  }

  /** The control whose description includes a violation slot, if one does. */
  const controlFor = (slot) => (slot?.id ? form.querySelector(`[aria-describedby~="${slot.id}"]`) : null);

  /** The violation slot for a path: the field with the longest matching path. */
  function findSlot(path) {
    let best = general;
    let bestLength = -1;
    for (const slot of form.querySelectorAll("ul.violations[data-for]")) {
      const p = slot.dataset.for;
      if (!p) continue;
      const matches = path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`);
      if (matches && p.length > bestLength) {
        best = slot;
        bestLength = p.length;
      }
    }
    return best;
  }

  function showDecision(decision) {
    outcomeBox.replaceChildren(
      h("span", { class: "label" }, "Preview: "), outcomeBadge(decision.outcome),
      h("span", { class: "muted" }, ` ${decision.violations.length} finding${decision.violations.length === 1 ? "" : "s"}`));
    for (const slot of form.querySelectorAll("ul.violations")) slot.replaceChildren();
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    for (const v of decision.violations) {
      const slot = findSlot(v.path);
      slot.append(violationItem(v));
      if (v.status === "blocking" || v.status === "pending_approval") {
        controlFor(slot)?.setAttribute("aria-invalid", "true");
      }
    }
    summary.replaceChildren(...decision.violations.map((v) => violationItem(v, { link: true })));
    errorsBox.replaceChildren(...(decision.errors ?? []).map((e) =>
      h("p", { class: "error" }, `${e.code}: ${e.message}${e.path ? ` (${e.path})` : ""}`)));
    submit.textContent = decision.outcome === "allow" ? "Submit deployment"
      : decision.outcome === "needs_approval" ? "Submit for approval" : "Submit anyway (the preview denies it)";
  }

  async function onSubmit(event) {
    event.preventDefault();
    clearTimeout(timer);
    await runPreview();
    const preview = lastPreview;
    submit.disabled = true;
    resultBox.replaceChildren(h("p", {}, "Submitting…"));
    try {
      const { body } = await call("/v1/deployments", {
        method: "POST",
        json: { intent: preview.intent },
        headers: { "Idempotency-Key": crypto.randomUUID() },
      });
      showResult(body, preview);
    } catch (error) {
      resultBox.replaceChildren(h("h2", {}, "Not submitted"), h("p", { class: "error", role: "alert" }, problemText(error)),
        error instanceof ApiError && error.status === 401 ? h("p", {}, "Set an API token with the requester role above.") : "");
    } finally {
      submit.disabled = false;
      resultBox.focus();
    }
  }

  function showResult(deployment, preview) {
    const differences = compareDecisions(preview.decision, deployment.decision);
    resultBox.replaceChildren(
      h("h2", {}, "Server decision"),
      h("p", {},
        outcomeBadge(deployment.decision.outcome), " ", stateBadge(deployment.state), " ",
        h("a", { href: `#/deployments/${deployment.id}`, id: "open-timeline" }, `Open the timeline of ${deployment.id}`)),
      differences.length
        ? h("div", { class: "mismatch", role: "alert", id: "mismatch" },
          h("strong", {}, "The server's decision differs from the preview. The server's decision is the one recorded."),
          h("ul", {}, differences.map((d) => h("li", {}, d))),
          preview.decision.bundle?.digest !== deployment.decision.bundle?.digest
            ? h("p", {}, "The server's policy bundle changed after this page loaded it: reload the page to preview with the current bundle.")
            : h("p", {}, "Same bundle, different decision: the context differed (time, history), or the preview is wrong; please report it."))
        : h("p", { class: "match", id: "match" }, `The server's decision matches the ${previewer.mode === "wasm" ? "in-browser" : "server"} preview.`),
      deployment.decision.violations.length
        ? h("ul", { class: "summary" }, deployment.decision.violations.map((v) => violationItem(v)))
        : "",
    );
    flash(`Submitted ${deployment.id}: ${deployment.state}`, deployment.state === "REJECTED" ? "warn" : deployment.state === "VALIDATED" ? "ok" : "info");
  }

  renderResources();
  renderTags();
  updateTarget();
  changed();
  return { view };
}
