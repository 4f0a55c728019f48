// Small DOM helpers shared by the pages: element construction (text only, never HTML strings from
// data), state badges, time formatting.

/**
 * Creates an element. `attrs` keys: `class`, `dataset` (object), `on` (event → handler), any
 * other attribute; `false`/`null` values are skipped. Children: nodes, strings, arrays, nullish.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElementNS(
    tag === "svg" || attrs.svg ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml",
    tag,
  );
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined || key === "svg") continue;
    if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (key !== "value") el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  // After the children, so that a <select> has its options.
  if (attrs.value !== undefined && attrs.value !== null) el.value = attrs.value;
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** An SVG element (same arguments as `h`). */
export const s = (tag, attrs = {}, ...children) => h(tag, { ...attrs, svg: true }, ...children);

/** A badge for a lifecycle state (text, not only colour). */
export function stateBadge(state) {
  return h("span", { class: `badge state-${String(state).toLowerCase()}`, dataset: { state } },
    String(state).replace("_", " "));
}

/** A badge for a decision outcome. */
export function outcomeBadge(outcome) {
  const label = { allow: "allowed", needs_approval: "needs approval", deny: "denied" }[outcome] ?? outcome;
  return h("span", { class: `badge outcome-${outcome}`, dataset: { outcome } }, label);
}

/** `2026-11-23 18:39:47 UTC` (the API's times are UTC). */
export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** `1.3 s`, `4 min`, `2.5 h`, `3.1 d`. */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 90) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(0)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

/** A digest cut to `sha256:` and its first 12 hex digits, e.g. `sha256:0123456789ab…`. */
export const shortDigest = (d) => (d ? `${String(d).slice(0, 19)}…` : "—");

/** Shows a message in the page's live region. */
export function flash(message, kind = "info") {
  const box = document.getElementById("flash");
  box.replaceChildren(message ? h("p", { class: `flash ${kind}` }, message) : "");
}

/** A problem document (or any error) as one line. */
export function problemText(error) {
  const p = error?.problem;
  if (p) return `${p.title ?? "Error"} (${p.status}): ${p.detail ?? p.code ?? ""}`;
  return String(error?.message ?? error);
}
