// The postMessage bridge of LivePerson's JS Chat SDK (browser-transports spec §3.3-§3.9).
// The page that frames this one posts requests as JSON strings; each is sent to this page's own
// origin and answered once, by callId, to the window and origin that asked.
(function () {
  "use strict";

  var OWN = location.protocol + "//" + location.host + "/";
  // The SDK sends Pragma, Cache-Control and LP-URL too; they are harmless, the server ignores them.
  var NO_BODY = { GET: true, HEAD: true };

  function reply(event, message) {
    try {
      event.source.postMessage(JSON.stringify(message), event.origin);
    } catch (e) {
      // A window that went away or an opaque ("null") origin: nobody to answer.
    }
  }

  function headersOf(response) {
    var out = {};
    response.headers.forEach(function (value, name) { out[name] = value; });
    var location = response.headers.get("Location");
    if (location !== null) out.Location = location; // the SDK reads exactly this key after chat/request
    return out;
  }

  function send(request) {
    var method = String(request.method || "GET").toUpperCase();
    var headers = new Headers();
    var given = request.headers && typeof request.headers === "object" ? request.headers : {};
    Object.keys(given).forEach(function (name) {
      if (typeof given[name] !== "string") return;
      try { headers.set(name, given[name]); } catch (e) { /* a name or value the browser refuses */ }
    });
    if (!headers.has("Accept")) headers.set("Accept", "application/json");
    var init = {
      method: method,
      headers: headers,
      // Never the browser's cookies for this origin: a framing page must not act as a logged-in
      // agent, and third-party cookies are partitioned or blocked anyway (spec §3.9).
      credentials: "omit",
      cache: "no-store",
      redirect: "follow",
    };
    var data = request.data;
    if (!NO_BODY[method] && data !== undefined && data !== null && data !== "") {
      init.body = typeof data === "string" ? data : JSON.stringify(data);
      headers.set("Content-Type", "application/json");
    }
    var timeout = typeof request.timeout === "number" && request.timeout > 0 ? request.timeout : 0;
    var retries = typeof request.retries === "number" && request.retries > 0 ? request.retries : 0;

    function attempt(left) {
      var controller = typeof AbortController === "function" ? new AbortController() : null;
      if (controller) init.signal = controller.signal;
      var timer = timeout && controller ? setTimeout(function () { controller.abort(); }, timeout) : null;
      return fetch(request.url, init).then(function (response) {
        return response.text().then(function (text) {
          if (timer) clearTimeout(timer);
          return { status: response.status, body: text, headers: headersOf(response) };
        });
      }, function (error) {
        if (timer) clearTimeout(timer);
        // Only a request that got no HTTP answer is repeated (spec §3.9, 5).
        if (left > 0) return attempt(left - 1);
        var aborted = error && error.name === "AbortError";
        return { status: 0, body: JSON.stringify({ error: { message: aborted ? "timeout" : "network error" } }),
                 headers: {} };
      });
    }
    return attempt(retries);
  }

  window.addEventListener("message", function (event) {
    var request = event.data;
    if (typeof request === "string") {
      try { request = JSON.parse(request); } catch (e) { return; }
    }
    if (!request || typeof request !== "object" || typeof request.callId !== "string") return;
    var callId = request.callId;
    if (request.validation === true) {
      reply(event, { callId: callId, responseType: "completeLoad", responseCode: 200 });
      return;
    }
    // Only this origin: the bridge is no proxy to anywhere else.
    if (typeof request.url !== "string" || request.url.indexOf(OWN) !== 0) {
      reply(event, { callId: callId, responseType: "errorLoad", responseCode: 400,
                     body: JSON.stringify({ error: { message: "url is not on the bridge's origin" } }),
                     error: { message: "url is not on the bridge's origin" }, headers: {} });
      return;
    }
    send(request).then(function (answer) {
      var ok = answer.status >= 200 && answer.status < 300;
      var message = { callId: callId, responseType: ok ? "completeLoad" : "errorLoad",
                      responseCode: answer.status, body: answer.body, headers: answer.headers };
      reply(event, message);
    });
  });
})();
