// parley's one-line embed: adds a launcher button and the chat widget's iframe to any page.
//   <script src="https://chat.example/widget/embed.js" data-account="…" data-app-key="…" data-skill="…"></script>
// It runs on the host site, so it touches nothing of that page but the two elements it adds, sets
// their styles through the CSSOM (allowed by a host's CSP that forbids inline style attributes),
// and trusts messages only from the widget's own window and origin.
(function () {
  "use strict";

  var script = document.currentScript;
  // Without its own src there is nothing to frame; a second copy of the snippet adds nothing.
  if (!script || !script.src || document.getElementById("parley-widget-launcher")) return;
  var origin = new URL(script.src).origin; // the widget and its API live where this script came from
  var data = script.dataset;
  var query = new URLSearchParams();
  query.set("account", data.account || "");
  query.set("appKey", data.appKey || "");
  if (data.skill) query.set("skill", data.skill);
  var label = data.label || "Chat with us";

  var frame = document.createElement("iframe");
  frame.src = origin + "/widget/?" + query.toString();
  frame.title = "Chat";
  frame.id = "parley-widget-frame";
  frame.hidden = true;
  // Loaded now though hidden: a chat in progress (the widget keeps it per tab) reopens after a reload.
  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.id = "parley-widget-launcher";
  launcher.textContent = label;
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", frame.id);

  var phone = window.matchMedia("(max-width: 480px)");

  function place() {
    var f = frame.style;
    f.position = "fixed";
    f.zIndex = "2147483646";
    f.border = "0";
    f.background = "#fff";
    if (phone.matches) {
      f.inset = "0";
      f.width = "100%";
      f.height = "100%";
      f.borderRadius = "0";
    } else {
      f.inset = "auto 20px 80px auto";
      f.width = "370px";
      f.height = "min(560px, calc(100vh - 100px))";
      f.borderRadius = "10px";
      f.boxShadow = "0 6px 30px rgba(0,0,0,.25)";
    }
    var b = launcher.style;
    b.position = "fixed";
    b.zIndex = "2147483647";
    b.right = "20px";
    b.bottom = "20px";
    b.padding = "12px 18px";
    b.border = "0";
    b.borderRadius = "24px";
    b.background = "#1f5fbf";
    b.color = "#fff";
    b.font = "600 15px/1.2 system-ui, sans-serif";
    b.cursor = "pointer";
    b.boxShadow = "0 3px 12px rgba(0,0,0,.25)";
    // A full-screen widget on a phone has its own close button; the launcher would cover it.
    b.display = phone.matches && !frame.hidden ? "none" : "block";
  }

  function open(focus) {
    frame.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    launcher.textContent = "Close chat";
    place();
    if (focus) frame.contentWindow.postMessage({ parley: "focus" }, origin);
  }

  function close() {
    frame.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.textContent = label;
    place();
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (frame.hidden) open(true); else close();
  });
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    var message = event.data || {};
    if (message.parley === "open") open(false);
    else if (message.parley === "close") close();
  });
  if (phone.addEventListener) phone.addEventListener("change", place);

  function mount() {
    place();
    // The launcher first: Tab goes from it into the open widget, the order of what it controls.
    document.body.appendChild(launcher);
    document.body.appendChild(frame);
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
