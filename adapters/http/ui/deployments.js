// The deployment status table: GET /v1/deployments with the filters, polled so that it follows
// the lifecycle as pipelines report. Rows link to each deployment's timeline.

import { get, query } from "./api.js";
import { fmtTime, h, problemText, stateBadge } from "./dom.js";
import { STATES } from "./lifecycle.js";

export const POLL_MS = 2000;
const PAGE = 50;

export function renderDeployments(view, params) {
  const filters = {
    state: params.get("state") ?? "",
    environment: params.get("environment") ?? "",
    cloud: params.get("cloud") ?? "",
    service: params.get("service") ?? "",
  };
  let offset = 0;
  let timer = 0;
  let stopped = false;
  let shown = "";

  const choice = (key, label, values) => h("div", { class: "field" },
    h("label", { for: `filter-${key}` }, label),
    h("select", {
      id: `filter-${key}`, value: filters[key],
      on: { change: (e) => { filters[key] = e.target.value; offset = 0; refresh(); } },
    }, h("option", { value: "" }, "any"), values.map((v) => h("option", { value: v }, v))));
  const serviceInput = h("input", {
    id: "filter-service", type: "search", value: filters.service, spellcheck: "false", autocomplete: "off",
    on: { input: (e) => { filters.service = e.target.value.trim(); offset = 0; clearTimeout(timer); timer = setTimeout(refresh, 250); } },
  });
  const tbody = h("tbody");
  const caption = h("caption", {}, "Loading…");
  const status = h("p", { class: "muted", "aria-live": "off", id: "table-status" });
  const prev = h("button", { type: "button", class: "secondary", on: { click: () => { offset = Math.max(0, offset - PAGE); refresh(); } } }, "Previous page");
  const next = h("button", { type: "button", class: "secondary", on: { click: () => { offset += PAGE; refresh(); } } }, "Next page");

  view.replaceChildren(
    h("h1", {}, "Deployments"),
    h("form", { class: "filters", role: "search", "aria-label": "Filter deployments", on: { submit: (e) => { e.preventDefault(); refresh(); } } },
      choice("state", "State", STATES),
      choice("environment", "Environment", ["dev", "staging", "prod"]),
      choice("cloud", "Cloud", ["aws", "azure"]),
      h("div", { class: "field" }, h("label", { for: "filter-service" }, "Service"), serviceInput)),
    h("div", { class: "table-wrap" },
      h("table", { class: "deployments", id: "deployments" },
        caption,
        h("thead", {}, h("tr", {},
          ["Deployment", "Service", "Version", "Environment", "Target", "State", "Requested by", "Updated (UTC)"].map((c) => h("th", { scope: "col" }, c)))),
        tbody)),
    h("div", { class: "pager" }, prev, next),
    status,
  );

  async function refresh() {
    clearTimeout(timer);
    if (stopped) return;
    const hash = `#/deployments${query(filters)}`;
    if (location.hash !== hash) history.replaceState(null, "", hash);
    try {
      const page = await get(`/v1/deployments${query({ ...filters, limit: PAGE, offset })}`);
      if (stopped) return;
      render(page);
      status.textContent = `Updated ${new Date().toISOString().slice(11, 19)} UTC; refreshes every ${POLL_MS / 1000} s.`;
      status.classList.remove("error");
    } catch (error) {
      status.textContent = `Cannot list deployments: ${problemText(error)}`;
      status.classList.add("error");
    }
    if (!stopped) timer = setTimeout(refresh, POLL_MS);
  }

  function render(page) {
    const from = page.total ? page.offset + 1 : 0;
    const to = page.offset + page.items.length;
    caption.textContent = `${page.total} deployment${page.total === 1 ? "" : "s"}${page.total ? `, ${from}–${to} shown, newest first` : ""}`;
    prev.disabled = page.offset === 0;
    next.disabled = page.next_offset === null || page.next_offset === undefined;
    const key = JSON.stringify(page.items.map((d) => [d.id, d.state, d.updated_at]));
    if (key === shown) return;
    shown = key;
    if (!page.items.length) {
      tbody.replaceChildren(h("tr", {}, h("td", { colspan: 8, class: "empty" }, "No deployments match. ", h("a", { href: "#/new" }, "Start one"), ".")));
      return;
    }
    tbody.replaceChildren(...page.items.map((d) => h("tr", { dataset: { id: d.id, state: d.state } },
      h("td", {}, h("a", { href: `#/deployments/${d.id}` }, h("code", {}, d.id))),
      h("td", {}, d.service),
      h("td", {}, d.version),
      h("td", {}, d.environment),
      h("td", { class: "target" }, `${d.cloud} · ${d.region}`, h("br"), h("span", { class: "muted" }, d.account)),
      h("td", {}, stateBadge(d.state)),
      h("td", {}, d.requested_by),
      h("td", {}, h("time", { datetime: d.updated_at }, fmtTime(d.updated_at).replace(" UTC", ""))),
    )));
  }

  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
