// The signals dashboard: GET /v1/signals drawn as plain SVG bar charts (counts by state, by
// environment, by cloud; top violated policies; per environment the deployment frequency, change
// failure rate and lead time). Every chart has a text table behind it for screen readers.

import { get } from "./api.js";
import { fmtDuration, fmtTime, h, problemText, s } from "./dom.js";

const WINDOWS = [7, 30, 90];

export function renderSignals(view, params) {
  let windowDays = Number(params.get("window_days")) || 30;
  const body = h("div", { class: "charts", id: "charts" }, h("p", {}, "Loading…"));
  const picker = h("select", {
    id: "window", value: String(windowDays),
    on: { change: (e) => { windowDays = Number(e.target.value); history.replaceState(null, "", `#/signals?window_days=${windowDays}`); load(); } },
  }, WINDOWS.map((w) => h("option", { value: String(w) }, `last ${w} days`)));
  view.replaceChildren(
    h("h1", {}, "Signals"),
    h("form", { class: "filters", on: { submit: (e) => e.preventDefault() } },
      h("div", { class: "field" }, h("label", { for: "window" }, "Window"), picker)),
    body,
  );

  async function load() {
    try {
      const data = await get(`/v1/signals?window_days=${windowDays}`);
      body.replaceChildren(...charts(data));
    } catch (error) {
      body.replaceChildren(h("p", { class: "error" }, `Cannot load signals: ${problemText(error)}`));
    }
  }
  load();
}

function charts(data) {
  const envs = Object.entries(data.environments ?? {});
  return [
    h("p", { class: "muted", id: "signals-window" },
      `${data.total} deployment${data.total === 1 ? "" : "s"} from ${fmtTime(data.since)} to ${fmtTime(data.until)}.`),
    h("div", { class: "chart-grid" },
      chart("Deployments by state", Object.entries(data.by_state ?? {}), { colour: (k) => `state-${k.toLowerCase()}` }),
      chart("Deployments by environment", Object.entries(data.by_environment ?? {})),
      chart("Deployments by cloud", Object.entries(data.by_cloud ?? {})),
      chart("Top violated policies (deployments stopped or held)",
        (data.top_violated_policies ?? []).map((p) => [p.policy, p.deployments ?? 0]),
        { empty: "No violations in this window." }),
      chart("Deployments by service", Object.entries(data.by_service ?? {})),
      chart("Deployment frequency (successful per day)", envs.map(([e, m]) => [e, m.deployment_frequency_per_day ?? 0]),
        { format: (v) => `${v.toFixed(2)} / day` }),
      chart("Change failure rate", envs.filter(([, m]) => m.change_failure_rate !== null && m.change_failure_rate !== undefined)
        .map(([e, m]) => [e, m.change_failure_rate]),
        { format: (v) => `${(v * 100).toFixed(0)} %`, max: 1, colour: () => "bar-fail", empty: "No finished deployment in this window." }),
      chart("Lead time, request to success (median)", envs.filter(([, m]) => m.lead_time_median_seconds !== null && m.lead_time_median_seconds !== undefined)
        .map(([e, m]) => [e, m.lead_time_median_seconds]),
        { format: fmtDuration, empty: "No successful deployment in this window." }),
      chart("Lead time (90th percentile)", envs.filter(([, m]) => m.lead_time_p90_seconds !== null && m.lead_time_p90_seconds !== undefined)
        .map(([e, m]) => [e, m.lead_time_p90_seconds]),
        { format: fmtDuration, empty: "No successful deployment in this window." }),
    ),
  ];
}

/** A horizontal bar chart in SVG with its data table (visually hidden) for assistive technology. */
function chart(title, rows, { format = (v) => String(v), max, colour = () => "", empty = "No data in this window." } = {}) {
  const id = `chart-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  const figure = h("figure", { class: "chart", id, "aria-labelledby": `${id}-title` },
    h("figcaption", { id: `${id}-title` }, title));
  if (!rows.length) {
    figure.append(h("p", { class: "muted" }, empty));
    return figure;
  }
  const top = Math.max(max ?? 0, ...rows.map(([, v]) => v)) || 1;
  const labelWidth = 150;
  const barWidth = 220;
  const rowHeight = 26;
  const width = labelWidth + barWidth + 100;
  const height = rows.length * rowHeight + 8;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-hidden": "true", class: "bars" },
    rows.map(([label, value], i) => {
      const y = 4 + i * rowHeight;
      const w = Math.max(value > 0 ? 2 : 0, (value / top) * barWidth);
      return s("g", { class: `bar ${colour(label)}` },
        s("text", { x: labelWidth - 8, y: y + 16, "text-anchor": "end", class: "label" }, truncate(label, 22)),
        s("rect", { x: labelWidth, y: y + 3, width: barWidth, height: rowHeight - 8, rx: 3, class: "track" }),
        s("rect", { x: labelWidth, y: y + 3, width: w, height: rowHeight - 8, rx: 3, class: "fill" }),
        s("text", { x: labelWidth + barWidth + 8, y: y + 16, class: "value" }, format(value)));
    }));
  figure.append(svg,
    h("table", { class: "visually-hidden" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Item"), h("th", { scope: "col" }, "Value"))),
      h("tbody", {}, rows.map(([label, value]) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, format(value)))))));
  return figure;
}

const truncate = (text, n) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);
