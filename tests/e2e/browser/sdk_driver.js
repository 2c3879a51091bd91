// A small stand-in for the transports of LivePerson's JS Chat SDK, written from
// browser-transports.md (§2, §3.2-§3.7, §4.2-§4.7): it loads the bridge in a hidden iframe,
// runs the handshake and posts request messages to it; or sends calls as JSONP script tags.
// The test drives it through window.lp.
(function () {
  "use strict";
  var pageOrigin = location.protocol + "//" + location.host;
  var pending = {};
  var frame = null, frameOrigin = null;

  function id(prefix) {
    return prefix + "_" + Math.floor(Math.random() * 1e5) + "_" + Math.floor(Math.random() * 1e5);
  }

  function originOf(url) {
    var match = /^(https?:\/\/[^\/?#]+)/i.exec(url);
    return match ? match[1].toLowerCase() : null;
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== frameOrigin) return; // §3.6: only the frame's origin
    var reply = event.data;
    if (typeof reply === "string") {
      try { reply = JSON.parse(reply); } catch (e) { return; }
    }
    var waiter = pending[reply.callId];
    if (!waiter) return;
    delete pending[reply.callId];
    waiter(reply);
  });

  function post(message) {
    message.callId = id("call");
    message.domain = frameOrigin;
    message.returnDomain = pageOrigin;
    return new Promise(function (resolve, reject) {
      pending[message.callId] = resolve;
      setTimeout(function () {
        if (pending[message.callId]) { delete pending[message.callId]; reject(new Error("timed out: " + message.url)); }
      }, 15000);
      frame.contentWindow.postMessage(JSON.stringify(message), frameOrigin);
    });
  }

  // §2: .json before the query, v=1, &NC=true.
  function restUrl(url) {
    if (!/\.json/i.test(url)) url = url.replace(/(\?|$)/, ".json$1");
    if (url.indexOf("v=1") < 0) url += (url.indexOf("?") < 0 ? "?" : "&") + "v=1";
    if (url.indexOf("NC=true") < 0) url += "&NC=true";
    return url;
  }

  function headersFor(appKey, override) {
    var headers = { AUTHORIZATION: "LivePerson appKey=" + appKey, Pragma: "no-cache",
                    "Cache-Control": "private, max-age=0, no-cache, no-store" };
    if (override) headers["X-HTTP-Method-Override"] = override;
    return headers;
  }

  // SDK methods think PUT/DELETE; they travel as POST with the override header.
  function wire(method) {
    return method === "PUT" || method === "DELETE" ? { method: "POST", override: method } : { method: method };
  }

  var lp = {
    // §3.2/§3.3: the iframe, its load, then the validation handshake.
    openBridge: function (bridgeUrl) {
      frameOrigin = originOf(bridgeUrl);
      frame = document.createElement("iframe");
      frame.id = frame.name = id("fr");
      frame.setAttribute("tabindex", "-1");
      frame.setAttribute("aria-hidden", "true");
      frame.setAttribute("role", "presentation");
      frame.title = "";
      frame.style.cssText = "width:0;height:0;position:absolute;top:-1000px;left:-1000px;";
      document.body.appendChild(frame);
      var loaded = new Promise(function (resolve) { frame.addEventListener("load", resolve); });
      frame.src = bridgeUrl + (bridgeUrl.indexOf("?") < 0 ? "?" : "&") + "bust=" + Date.now() +
                  "&loc=" + encodeURIComponent(pageOrigin);
      return loaded.then(function () {
        return post({ validation: true, timeout: 100, retries: -1, defaults: {}, headers: { "LP-URL": location.href } });
      });
    },

    // One REST call through the bridge (§3.4); resolves with the reply minus callId.
    bridge: function (method, url, data, appKey, extra) {
      var how = wire(method);
      var headers = headersFor(appKey, how.override);
      headers["LP-URL"] = location.href;
      var message = { url: restUrl(url), method: how.method, headers: headers, data: data === undefined ? "" : data,
                      transportOrder: ["postmessage", "rest2jsonp"], timeout: 60000 };
      if (extra) Object.keys(extra).forEach(function (k) { message[k] = extra[k]; });
      return post(message);
    },

    // One REST call through the JSONP tunnel (§4.2-§4.7), cut into parts past 2083 characters.
    jsonp: function (domainBase, site, method, url, data, appKey) {
      var how = wire(method);
      var payload = { u: restUrl(url).replace(".json?", "?"), m: how.method, b: data === undefined ? "" : data,
                      h: headersFor(appKey, how.override) };
      var encoded = encodeURIComponent(JSON.stringify(payload));
      var base = domainBase + "/api/account/" + site + "/js2rest" + (url.indexOf("/chat") >= 0 ? "/chat" : "") +
                 "?lpV=1&lpjson=1";
      if ((base + "&lpB=" + encoded + "&cb=lpCb00000x00000").length <= 2083) {
        return script(base + "&lpB=" + encoded);
      }
      var pieces = [];
      for (var i = 0; i < encoded.length; i += 1800) pieces.push(encoded.slice(i, i + 1800));
      var token = null;
      var chain = Promise.resolve(null);
      pieces.forEach(function (piece, index) {
        chain = chain.then(function (previous) {
          if (previous && previous.lpMeta) token = previous.lpMeta.lpS;
          if (previous && previous.responseCode !== 200) return previous;
          lp.pieces += 1;
          return script(base + "&lpP=" + (index + 1) + "&lpO=" + pieces.length +
                        (token ? "&lpS=" + token : "") + "&lpB=" + piece);
        });
      });
      return chain;
    },

    parts: 0, // scripts sent
    pieces: 0, // of which parts of a long payload
  };

  function script(url) {
    lp.parts += 1;
    return new Promise(function (resolve, reject) {
      var name = "lpCb" + Math.floor(Math.random() * 1e5) + "x" + Math.floor(Math.random() * 1e5);
      var tag = document.createElement("script");
      window[name] = function (answer) { delete window[name]; tag.remove(); resolve(answer); };
      tag.charset = "UTF-8";
      tag.onerror = function () { delete window[name]; tag.remove(); reject(new Error("script failed: " + url)); };
      tag.src = url + "&cb=" + name;
      document.head.appendChild(tag);
    });
  }

  window.lp = lp;
})();
