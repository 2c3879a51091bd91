// The public APIs of this origin, as an agent calls them: JSON both ways, the bearer of this tab.

export class ApiError extends Error {
  constructor(status, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
  }
}

// A list in the API's JSON: one item collapses to an object, none is omitted (server spec §1.8).
export function asList(value) {
  if (value === undefined || value === null || value === "") return [];
  return Array.isArray(value) ? value : [value];
}

export function linkOf(links, rel) {
  const found = asList(links).find((item) => item["@rel"] === rel);
  return found ? found["@href"] : null;
}

// An idempotency key: a retried send after a lost answer is then written once (crypto.randomUUID
// exists only in secure contexts; getRandomValues everywhere).
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// Hrefs name the public URL the server was told, which may differ from the page's origin (a proxy);
// the page may only talk to its own origin, so the path and query are kept and the origin is ours.
export function sameOrigin(href) {
  const url = new URL(href, location.href);
  return location.origin + url.pathname + url.search;
}

export class Api {
  constructor(account, bearer = null) {
    this.account = account;
    this.bearer = bearer;
    this.onUnauthorized = () => {};
  }

  get base() {
    return `${location.origin}/api/account/${encodeURIComponent(this.account)}`;
  }

  // method: GET, POST, PUT or DELETE; PUT and DELETE travel as POST with the override, as clients do.
  async call(method, href, body, { signal, headers = {}, raw = false } = {}) {
    const sent = { Accept: "application/json", ...headers };
    if (this.bearer) sent.Authorization = `Bearer ${this.bearer}`;
    let verb = method;
    if (method === "PUT" || method === "DELETE") {
      sent["X-HTTP-Method-Override"] = method;
      verb = "POST";
    }
    const init = { method: verb, headers: sent, signal, credentials: "omit", cache: "no-store" };
    if (body !== undefined) {
      sent["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(sameOrigin(href), init);
    const text = await response.text();
    let parsed = null;
    if (text) {
      try { parsed = JSON.parse(text); } catch { parsed = null; }
    }
    if (!response.ok) {
      const message = parsed && parsed.error ? parsed.error.message : `HTTP ${response.status}`;
      if (response.status === 401) this.onUnauthorized();
      throw new ApiError(response.status, message);
    }
    return raw ? { body: parsed, location: response.headers.get("Location") } : parsed;
  }

  get(href, options) { return this.call("GET", href, undefined, options); }
  post(href, body, options) { return this.call("POST", href, body, options); }
  put(href, body, options) { return this.call("PUT", href, body, options); }
  remove(href, options) { return this.call("DELETE", href, undefined, options); }
}
