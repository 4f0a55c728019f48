// The page shell: the token field and a hash router over the four pages
//   #/new                  the self-service form with its live policy preview
//   #/deployments?filters  the status table
//   #/deployments/{id}     one deployment's timeline (approve, cancel)
//   #/signals              the signals dashboard

import { ApiError, get, getToken, setToken } from "./api.js";
import { renderDeployments } from "./deployments.js";
import { flash, h } from "./dom.js";
import { renderForm } from "./form.js";
import { renderSignals } from "./signals.js";
import { renderTimeline } from "./timeline.js";

let cleanup = null;

function route() {
  cleanup?.();
  cleanup = null;
  const view = document.getElementById("view");
  const [path, search = ""] = (location.hash.replace(/^#/, "") || "/new").split("?");
  const params = new URLSearchParams(search);
  const parts = path.split("/").filter(Boolean);
  const page = parts[0] ?? "new";
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.page === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!getToken()) {
    view.replaceChildren(
      h("h1", {}, "Sign in with a token"),
      h("p", {}, "Every page reads from the Gatehouse API, which needs a bearer token. Enter yours in the ",
        h("label", { for: "token", class: "inline" }, "API token"), " field above."),
    );
    document.title = "Gatehouse";
    return;
  }
  if (page === "deployments" && parts[1]) {
    document.title = `${parts[1]} · Gatehouse`;
    cleanup = renderTimeline(view, decodeURIComponent(parts[1]));
  } else if (page === "deployments") {
    document.title = "Deployments · Gatehouse";
    cleanup = renderDeployments(view, params);
  } else if (page === "signals") {
    document.title = "Signals · Gatehouse";
    cleanup = renderSignals(view, params);
  } else {
    document.title = "New deployment · Gatehouse";
    renderForm(view);
  }
}

/** Shows who the token belongs to (GET /v1/whoami), and the demo tokens only in demo mode. */
async function showIdentity() {
  const hint = document.getElementById("token-hint");
  const demo = (me) => me.demo
    ? [" Demo server: its log lists the demo tokens, e.g. ", h("code", {}, "demo-requester"),
      " and ", h("code", {}, "demo-approver"), "."]
    : [];
  try {
    const me = await get("/v1/whoami");
    const who = me.name
      ? [`Signed in as ${me.name} (${me.role}${me.approval_roles.length ? `; approves as ${me.approval_roles.join(", ")}` : ""}).`]
      : ["No token: enter one to use the pages."];
    hint.replaceChildren(...who, ...demo(me));
  } catch (error) {
    // Without a token only a demo server (or one with anonymous reading) answers whoami.
    hint.replaceChildren(error instanceof ApiError && error.status === 401
      ? (getToken() ? "This token is not valid on this server." : "No token: enter one to use the pages.")
      : "Cannot reach the server.");
  }
}

function init() {
  const input = document.getElementById("token");
  input.value = getToken();
  showIdentity();
  document.getElementById("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    flash(input.value.trim() ? "Token set for this tab." : "Token cleared.", "ok");
    showIdentity();
    route();
  });
  window.addEventListener("hashchange", () => {
    route();
    document.getElementById("view").focus({ preventScroll: true });
  });
  route();
}

init();
