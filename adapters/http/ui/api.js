// The v1 API as the pages use it: the bearer token from sessionStorage, JSON in and out, problem
// documents (RFC 9457) turned into `ApiError`s.

const TOKEN_KEY = "gatehouse.token";

export const getToken = () => sessionStorage.getItem(TOKEN_KEY) ?? "";

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** A non-2xx answer; `problem` is the problem document when the server sent one. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem ?? { status };
  }
}

/**
 * Calls the API. Returns `{status, headers, body}` for 2xx answers; throws `ApiError` otherwise.
 * `options.json` is sent as the JSON body; `options.headers` are added.
 */
export async function call(path, { method = "GET", json, headers = {} } = {}) {
  const all = { Accept: "application/json", ...headers };
  const token = getToken();
  if (token) all.Authorization = `Bearer ${token}`;
  const init = { method, headers: all, cache: "no-store" };
  if (json !== undefined) {
    all["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  if (!response.ok) throw new ApiError(response.status, typeof body === "object" ? body : null);
  return { status: response.status, headers: response.headers, body };
}

/** GET returning the body only. */
export const get = async (path) => (await call(path)).body;

/** A query string from the non-empty values of an object. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const text = q.toString();
  return text ? `?${text}` : "";
}
