// The preview page: loads the browser package (pkg/, --target web) and the bundle document that
// `gatehouse bundle` printed, evaluates the intent in the text area as it is edited and renders
// the decision. `?now=<RFC 3339>` pins the decision time (tests); otherwise it is the current time.
import init, { Engine } from "/pkg/gatehouse_wasm.js";

const $ = (id) => document.getElementById(id);
const now = new URLSearchParams(location.search).get("now") ?? new Date().toISOString();

function render(decision) {
  $("outcome").textContent = decision.outcome;
  $("outcome").dataset.outcome = decision.outcome;
  const items = decision.violations.map((v) => {
    const li = document.createElement("li");
    li.dataset.policy = v.policy;
    li.dataset.path = v.path;
    li.dataset.status = v.status;
    li.innerHTML = `<span class="policy"></span> <span class="status"></span><br><span class="message"></span>`;
    li.querySelector(".policy").textContent = v.policy;
    li.querySelector(".status").textContent = `${v.status} · ${v.path || "(intent)"}`;
    li.querySelector(".message").textContent = v.message;
    return li;
  });
  $("violations").replaceChildren(...items);
  $("errors").textContent = decision.errors.map((e) => `${e.code}: ${e.message}`).join("\n");
}

function showError(error) {
  $("outcome").textContent = error.code ?? "error";
  $("outcome").dataset.outcome = "error";
  $("violations").replaceChildren();
  $("errors").textContent = error.message;
}

async function main() {
  await init();
  const [bundle, intent] = await Promise.all([
    fetch("/bundle.json").then((r) => r.json()),
    fetch("/www/intent.json").then((r) => r.text()),
  ]);
  const engine = new Engine(bundle);
  $("bundle").textContent = `${bundle.name} ${bundle.revision} (${engine.bundleDigest.slice(0, 19)}…)`;
  const evaluate = () => {
    let parsed;
    try {
      parsed = JSON.parse($("intent").value);
    } catch (e) {
      showError(e);
      return;
    }
    try {
      render(engine.evaluate(parsed, { now }));
    } catch (e) {
      showError(e);
    }
  };
  $("intent").value = intent;
  $("intent").addEventListener("input", evaluate);
  evaluate();

  /** Median and mean milliseconds of one `evaluate` call, over `runs` calls. */
  window.benchmark = (runs) => {
    const parsed = JSON.parse($("intent").value);
    const context = { now };
    for (let i = 0; i < 20; i++) engine.evaluate(parsed, context);
    const times = [];
    const start = performance.now();
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      engine.evaluate(parsed, context);
      times.push(performance.now() - t0);
    }
    const total = performance.now() - start;
    times.sort((a, b) => a - b);
    return { runs, median_ms: times[Math.floor(runs / 2)], mean_ms: total / runs, crossOriginIsolated };
  };
}

window.gatehouseReady = main().then(
  () => true,
  (e) => {
    showError(e);
    throw e;
  },
);
