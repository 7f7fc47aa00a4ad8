// api.js — every call to the hub's API goes through apiGet: the envelope, errors and the bearer token.
//
// Answers are {"meta":{"code":2000,"message":"OK"},"data":…}; anything else throws an ApiError carrying
// the HTTP status, the envelope code and meta.message. A 401 asks for a token once (see auth.js); the
// token is kept in sessionStorage and sent as `Authorization: Bearer <token>` on every call.

const TOKEN_KEY = "fleetlens.token";

export class ApiError extends Error {
  constructor(status, code, message, path) {
    super(message);
    this.status = status;
    this.code = code;
    this.path = path;
  }
}

let onUnauthorized = () => {};

/** Registers the function called when a call answers 401 (it shows the token form). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: the token lives until the page is closed */
  }
}

/** Builds "/v1/route?k=v…" leaving out parameters that are undefined, null or "". */
export function apiPath(route, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `${route}?${s}` : route;
}

/** GET route with params; resolves to the envelope's data, throws ApiError otherwise. */
export async function apiGet(route, params = {}, { signal } = {}) {
  const path = apiPath(route, params);
  const headers = { Accept: "application/json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, { headers, cache: "no-store", signal });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, 0, `the hub did not answer (${e.message})`, path);
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON: described below */
  }
  const meta = body && typeof body === "object" ? body.meta : null;
  if (res.status === 401) {
    onUnauthorized(meta?.message || "a token is required", Boolean(token));
  }
  if (!res.ok || !meta || meta.code !== 2000) {
    const message = meta?.message || `HTTP ${res.status} ${res.statusText}`.trim();
    throw new ApiError(res.status, meta?.code ?? 0, message, path);
  }
  return body.data;
}

/** True when the hub does not serve this route (yet): 501, or 404 "no route …". */
export function isMissingRoute(err) {
  return err instanceof ApiError && (err.status === 501 || (err.status === 404 && /^no route/i.test(err.message)));
}
