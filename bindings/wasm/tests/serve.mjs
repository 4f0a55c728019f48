// A tiny static server for the browser test, on 127.0.0.1 only: /www/* and /pkg/* from
// bindings/wasm, /snippets/* from tests/.out/snippets (docs/wasm.md's browser snippets, written by
// the test), /bundle.json from the file given as the first argument. Prints
// `listening <port>` once ready; the test stops it by its PID. Cross-origin isolation headers
// give the page precise timers (performance.now() at 5 µs instead of 100 µs).
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, sep } from "node:path";

import { OUT, WASM_DIR } from "./helpers.mjs";

const bundlePath = process.argv[2];
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".ts": "text/plain; charset=utf-8",
};

function resolve(urlPath) {
  if (urlPath === "/bundle.json") return bundlePath;
  const path = normalize(decodeURIComponent(urlPath)).replace(/^[/\\]+/, "");
  const [top] = path.split(sep);
  if (top !== "www" && top !== "pkg" && top !== "snippets") return null;
  const full = join(top === "snippets" ? OUT : WASM_DIR, path);
  return existsSync(full) && statSync(full).isFile() ? full : null;
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  if (url.pathname === "/") {
    res.writeHead(302, { location: `/www/index.html${url.search}` }).end();
    return;
  }
  const file = resolve(url.pathname);
  if (!file) {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    return;
  }
  res.writeHead(200, {
    "content-type": TYPES[extname(file)] ?? "application/octet-stream",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-embedder-policy": "require-corp",
  });
  createReadStream(file).pipe(res);
});

server.listen(0, "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
