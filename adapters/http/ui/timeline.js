// One deployment's lifecycle: its record, every hash-chained event (time, actor, decision, dispatch,
// callback, gates), the ledger verification, and the actions the API offers on it (approve and
// cancel, each sent with `If-Match` = the ETag this page last read). Polled until terminal.

import { ApiError, call, get } from "./api.js";
import { fmtTime, h, outcomeBadge, problemText, shortDigest, stateBadge } from "./dom.js";
import { POLL_MS } from "./deployments.js";
import { TERMINAL_STATES } from "./lifecycle.js";

const TERMINAL = new Set(TERMINAL_STATES);

const EVENT_LABELS = {
  requested: "Requested",
  validated: "Validated by policy",
  rejected: "Rejected by policy",
  approval_required: "Approval required",
  approval_recorded: "Approval recorded",
  dispatched: "Pipeline triggered",
  started: "Pipeline started",
  succeeded: "Pipeline succeeded",
  failed: "Failed",
  cancelled: "Cancelled",
};

export function renderTimeline(view, id) {
  let stopped = false;
  let timer = 0;
  let shownSeq = -1;
  let current = null;
  let identity = null;
  get("/v1/whoami").then((me) => { identity = me; }, () => {});
  const header = h("div", { class: "deployment-head" });
  const chain = h("div", { class: "chain", id: "chain" });
  const actions = h("section", { class: "actions-panel", id: "actions", "aria-label": "Actions" });
  const events = h("ol", { class: "timeline", id: "events" });
  const status = h("p", { class: "muted", id: "timeline-status" });
  view.replaceChildren(
    h("p", {}, h("a", { href: "#/deployments" }, "← All deployments")),
    header, chain, actions,
    h("h2", {}, "Lifecycle"),
    events, status,
  );

  async function refresh() {
    clearTimeout(timer);
    if (stopped) return;
    try {
      const [deployment, list, audit] = await Promise.all([
        get(`/v1/deployments/${encodeURIComponent(id)}`),
        get(`/v1/deployments/${encodeURIComponent(id)}/events`),
        get("/v1/audit/verify"),
      ]);
      if (stopped) return;
      if (deployment.last_seq !== shownSeq || deployment.dispatch?.attempts !== current?.dispatch?.attempts) {
        shownSeq = deployment.last_seq;
        current = deployment;
        renderHead(deployment);
        renderActions(deployment, list);
        events.replaceChildren(...list.map(renderEvent));
      }
      renderChain(audit, list, deployment);
      status.textContent = TERMINAL.has(deployment.state)
        ? `Final state ${deployment.state}.`
        : `Updated ${new Date().toISOString().slice(11, 19)} UTC; refreshes every ${POLL_MS / 1000} s.`;
      status.classList.remove("error");
      if (TERMINAL.has(deployment.state)) return;
    } catch (error) {
      status.textContent = `Cannot load ${id}: ${problemText(error)}`;
      status.classList.add("error");
      if (error instanceof ApiError && error.status === 404) return;
    }
    if (!stopped) timer = setTimeout(refresh, POLL_MS);
  }

  function renderHead(d) {
    header.replaceChildren(
      h("h1", {}, `${d.service} ${d.version} → ${d.environment}`),
      h("p", { class: "state-line" }, stateBadge(d.state), " ", outcomeBadge(d.decision?.outcome), " ", h("code", {}, d.id)),
      h("dl", { class: "facts" },
        fact("Target", `${d.cloud} · ${d.account} · ${d.region}`),
        fact("Artifact", h("code", { class: "wrap" }, d.artifact)),
        fact("Requested by", d.requested_by),
        fact("Submitted by", d.submitted_by),
        fact("Created", fmtTime(d.created_at)),
        fact("Updated", fmtTime(d.updated_at)),
        fact("Bundle", h("code", { title: d.bundle_digest }, shortDigest(d.bundle_digest))),
        fact("ETag", h("code", { title: d.etag }, shortDigest(d.etag))),
        fact("Dispatch", d.dispatch ? dispatchText(d.dispatch) : "none (the pipeline reports on its own)"),
      ),
    );
  }

  function renderChain(audit, list, d) {
    let linked = true;
    list.forEach((e, i) => {
      const previous = i === 0 ? "0".repeat(64) : list[i - 1].hash;
      if (e.prev_hash !== previous || e.seq !== i + 1) linked = false;
    });
    const tip = list.length ? list[list.length - 1].hash : "";
    const ok = audit.ok && linked && tip === d.last_hash;
    chain.dataset.ok = String(ok);
    chain.className = `chain ${ok ? "ok" : "broken"}`;
    chain.replaceChildren(
      h("strong", {}, ok ? "✓ Ledger verified" : "✗ Ledger verification failed"),
      ` — the server re-hashed the whole ledger, ${plural(audit.events, "event")} of ${plural(audit.deployments, "deployment")}`,
      ` (${audit.ok ? "all intact" : `first broken: ${JSON.stringify(audit.first_broken)}`}); `,
      `this deployment's ${plural(list.length, "event")} link ${linked ? "in order" : "with a gap"}`,
      tip === d.last_hash ? " up to its ETag." : ", but the last one is not its ETag.",
    );
  }

  function renderActions(d, list) {
    const parts = [];
    const decision = latestDecision(list) ?? d.decision;
    if (d.state === "REQUESTED" && decision?.outcome === "needs_approval") {
      const pending = decision.violations.filter((v) => v.status === "pending_approval");
      const needed = [...new Set(pending.map((v) => v.override_role).filter(Boolean))];
      // Offer the roles this token may approve in first (GET /v1/whoami), then the others.
      const mine = identity?.approval_roles ?? [];
      const roles = [...needed.filter((r) => mine.includes(r)), ...needed.filter((r) => !mine.includes(r))];
      const roleSelect = h("select", { id: "approve-role", name: "role" },
        (roles.length ? roles : ["release-approver"]).map((r) => h("option", { value: r }, r)));
      const comment = h("textarea", { id: "approve-comment", name: "comment", rows: 2 });
      const result = h("p", { "aria-live": "polite", class: "result-line" });
      parts.push(h("form", {
        class: "approve", id: "approve-form",
        on: { submit: (e) => { e.preventDefault(); act("approvals", { role: roleSelect.value, comment: comment.value || undefined }, result); } },
      },
      h("h2", {}, "Approval"),
      h("p", {}, "Waiting for approval: ", pending.map((v) => `${v.policy} (${v.override_role ?? "approver"})`).join(", "), "."),
      h("div", { class: "field" }, h("label", { for: "approve-role" }, "Approve as"), roleSelect),
      h("div", { class: "field" }, h("label", { for: "approve-comment" }, "Comment (optional)"), comment),
      h("button", { type: "submit", class: "primary", id: "approve" }, "Approve"),
      h("p", { class: "help" }, "Needs an approver token with that approval role; the requester cannot approve their own deployment."),
      result));
    }
    if (d.state === "REQUESTED" || d.state === "VALIDATED") {
      const reason = h("input", { id: "cancel-reason", type: "text", name: "reason" });
      const result = h("p", { "aria-live": "polite", class: "result-line" });
      parts.push(h("form", {
        class: "cancel", id: "cancel-form",
        on: { submit: (e) => { e.preventDefault(); act("cancel", { reason: reason.value || undefined }, result); } },
      },
      h("h2", {}, "Cancel"),
      h("div", { class: "field" }, h("label", { for: "cancel-reason" }, "Reason (optional)"), reason),
      h("button", { type: "submit", class: "danger", id: "cancel" }, "Cancel deployment"),
      result));
    }
    actions.hidden = parts.length === 0;
    actions.replaceChildren(...parts);
  }

  async function act(what, body, result) {
    result.textContent = "Sending…";
    result.className = "result-line";
    try {
      await call(`/v1/deployments/${encodeURIComponent(id)}/${what}`, {
        method: "POST", json: body, headers: { "If-Match": `"${current.etag}"` },
      });
      result.textContent = what === "cancel" ? "Cancelled." : "Approval recorded.";
      shownSeq = -1;
      refresh();
    } catch (error) {
      result.className = "result-line error";
      result.textContent = error instanceof ApiError && error.status === 412
        ? "The deployment changed since this page read it; the page has been refreshed, check it and try again."
        : problemText(error);
      if (error instanceof ApiError && error.status === 412) {
        shownSeq = -1;
        refresh();
      }
    }
  }

  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

const fact = (term, value) => [h("dt", {}, term), h("dd", {}, value)];

function dispatchText(d) {
  return [
    `${d.status}, ${d.attempts} attempt${d.attempts === 1 ? "" : "s"} via ${d.executor}`,
    d.last_error ? ` — last error: ${d.last_error}` : "",
    d.receipt ? [" — receipt ", h("code", {}, JSON.stringify(d.receipt))] : "",
  ];
}

function latestDecision(list) {
  for (let i = list.length - 1; i >= 0; i--) if (list[i].data?.decision) return list[i].data.decision;
  return null;
}

function decisionSummary(decision, label) {
  if (!decision) return null;
  return h("div", { class: "decision" },
    h("p", {}, `${label}: `, outcomeBadge(decision.outcome),
      ` ${decision.violations.length} finding${decision.violations.length === 1 ? "" : "s"} · bundle `,
      h("code", { title: decision.bundle?.digest }, `${decision.bundle?.revision ?? ""} ${shortDigest(decision.bundle?.digest)}`)),
    decision.violations.length
      ? h("ul", { class: "compact" }, decision.violations.map((v) => h("li", { dataset: { policy: v.policy, status: v.status } },
        h("span", { class: `badge status-${v.status}` }, v.status.replace("_", " ")), " ",
        h("code", {}, v.policy), v.path ? [" at ", h("code", {}, v.path)] : "", ` — ${v.message}`)))
      : null,
    (decision.errors ?? []).map((e) => h("p", { class: "error" }, `${e.code}: ${e.message}`)),
  );
}

function evidenceBlock(evidence) {
  if (!evidence) return null;
  const smoke = Array.isArray(evidence.smoke) ? evidence.smoke : [];
  return h("div", { class: "evidence" },
    smoke.length
      ? h("p", {}, "Smoke checks: ", smoke.map((c, i) => [i ? ", " : "", h("span", { class: c.passed ? "pass" : "fail" }, `${c.passed ? "✓" : "✗"} ${c.name}`)]))
      : h("p", {}, "Smoke checks: none reported"),
    evidence.observed
      ? h("p", {}, "Observed: ", h("code", { class: "wrap" }, Object.entries(evidence.observed).map(([k, v]) => `${k}=${v}`).join(" · ")))
      : null,
  );
}

/** A pipeline run's link: only http(s) URLs become links (rows stored before the server
 * checked `run_url` may hold `javascript:` or `data:` ones); anything else is shown as text. */
function runLink(url) {
  return /^https?:\/\//i.test(url)
    ? h("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, url)
    : h("code", {}, url);
}

function renderEvent(e) {
  const d = e.data ?? {};
  const details = [];
  if (e.type === "requested") details.push(h("p", {}, "Intent ", h("code", { title: d.intent_digest }, shortDigest(d.intent_digest))));
  if (d.decision) details.push(decisionSummary(d.decision, e.type === "approval_recorded" ? "Decision with this approval" : "Decision"));
  if (d.decision_after) details.push(h("p", {}, `After the approval the decision is `, outcomeBadge(d.outcome), "."));
  if (d.approval) {
    details.push(h("p", {}, `Approved by ${d.approval.by} as `, h("code", {}, d.approval.role),
      d.approval.comment ? `: “${d.approval.comment}”` : ""));
  }
  if (e.type === "dispatched" || d.executor) {
    details.push(h("p", {}, `Executor ${d.executor ?? "?"}, attempt ${d.attempts ?? "?"}`,
      d.receipt ? [", receipt ", h("code", { class: "wrap" }, JSON.stringify(d.receipt))] : ""));
  }
  if (d.reported) {
    details.push(h("p", {}, `Pipeline reported `, h("code", {}, d.reported),
      d.run_url ? [" · run ", runLink(d.run_url)] : "",
      d.delivery_id ? [" · delivery ", h("code", {}, d.delivery_id)] : ""));
  }
  if (d.evidence) details.push(evidenceBlock(d.evidence));
  if (d.gates) details.push(decisionSummary(d.gates, "Release gates"));
  if (d.reason) details.push(h("p", { class: e.type === "failed" ? "error" : "" }, `Reason: ${d.reason}`));
  return h("li", { class: `event type-${e.type}`, dataset: { type: e.type, seq: e.seq } },
    h("div", { class: "event-head" },
      h("span", { class: "seq" }, `#${e.seq}`),
      h("strong", {}, EVENT_LABELS[e.type] ?? e.type),
      h("time", { datetime: e.at }, fmtTime(e.at)),
      h("span", { class: "actor" }, `by ${e.actor}`)),
    details,
    h("details", {}, h("summary", {}, "Event data and hashes"),
      h("p", { class: "hashes" }, "prev ", h("code", {}, e.prev_hash), h("br"), "hash ", h("code", {}, e.hash)),
      h("pre", { class: "json" }, JSON.stringify(d, null, 2))),
  );
}
