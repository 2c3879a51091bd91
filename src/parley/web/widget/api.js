// The visitor API (Server Chat API) on this page's own origin, in JSON.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// A fetch that failed before any answer (network down): worth retrying; an ApiError is not.
export function isNetworkFailure(error) {
  return !(error instanceof ApiError);
}

// Random enough for an Idempotency-Key (a chat request's needs 16+ characters).
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Api {
  constructor(account, appKey) {
    this.account = account;
    this.appKey = appKey;
    this.base = `${location.origin}/api/account/${encodeURIComponent(account)}`;
  }

  // ``target`` is an href the server gave (absolute, no suffix), its path (from /api/), or a path
  // under the account. Only the path is kept: the page calls its own origin, whatever public URL
  // the hrefs were built from.
  url(target, params = {}) {
    const absolute = target.startsWith("http") || target.startsWith("/api/");
    const given = new URL(absolute ? target : this.base + target, location.origin);
    const url = new URL(given.pathname + given.search, location.origin);
    url.pathname += ".json";
    url.searchParams.set("v", "1");
    url.searchParams.set("NC", "true");
    url.searchParams.set("appKey", this.appKey);
    for (const [name, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
    }
    return url.toString();
  }

  async call(method, target, { params, body, key, signal } = {}) {
    const headers = { Accept: "application/json" };
    let verb = method;
    if (method === "PUT") {
      verb = "POST";
      headers["X-HTTP-Method-Override"] = "PUT"; // the API's documented form of every PUT
    }
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (key) headers["Idempotency-Key"] = key;
    const response = await fetch(this.url(target, params), {
      method: verb,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      signal,
    });
    const text = await response.text();
    let parsed = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
    }
    if (!response.ok) {
      const message = parsed && parsed.error ? parsed.error.message : `HTTP ${response.status}`;
      throw new ApiError(response.status, message);
    }
    return { status: response.status, body: parsed, location: response.headers.get("Location") };
  }

  get(target, params, signal) {
    return this.call("GET", target, { params, signal });
  }
}
