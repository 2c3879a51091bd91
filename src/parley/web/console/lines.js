// One chat line as DOM. Text always goes in as text (textContent), never as markup; the one
// exception is an html line an agent or the system wrote, which the server has sanitized already
// and which is rebuilt here once more from an allow-list, without its attributes. A visitor's
// line is always shown as text: what a visitor types is never markup in an agent's page.

const KEPT = new Set(["P", "DIV", "SPAN", "B", "I", "U", "STRONG", "EM", "BR", "UL", "OL", "LI", "DIR", "A"]);
const DROPPED = new Set(["SCRIPT", "STYLE", "IFRAME", "OBJECT", "EMBED", "TEMPLATE", "NOSCRIPT", "SVG", "MATH"]);

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function copySafe(source, target) {
  for (const child of source.childNodes) {
    if (child.nodeType === Node.TEXT_NODE) {
      target.append(document.createTextNode(child.data));
    } else if (child.nodeType === Node.ELEMENT_NODE) {
      const tag = child.tagName.toUpperCase();
      if (DROPPED.has(tag)) continue;
      if (!KEPT.has(tag)) {
        copySafe(child, target); // unknown markup: keep its text only
        continue;
      }
      const copy = document.createElement(tag.toLowerCase());
      if (tag === "A") {
        const href = child.getAttribute("href") || "";
        if (/^(https?:|mailto:)/i.test(href.trim())) {
          copy.setAttribute("href", href.trim());
          copy.setAttribute("target", "_blank");
          copy.setAttribute("rel", "noopener noreferrer");
        }
      }
      copySafe(child, copy);
      target.append(copy);
    }
  }
}

// Parsed in an inert document (DOMParser runs no script and loads no image), then copied.
export function safeHtml(markup) {
  const parsed = new DOMParser().parseFromString(`<body>${markup}</body>`, "text/html");
  const fragment = document.createDocumentFragment();
  copySafe(parsed.body, fragment);
  return fragment;
}

export function clock(time) {
  const when = time ? new Date(time) : new Date();
  return Number.isNaN(when.getTime()) ? "" : when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function lineElement(event) {
  const source = event.source || "system";
  const isPrivate = event.subType === "ONLY_TO_REP";
  const body = el("div", { class: "text" });
  if (event.textType === "html" && source !== "visitor") {
    body.append(safeHtml(event.text || ""));
  } else if (event.textType === "rich-content") {
    body.textContent = event.text || "[structured content]";
  } else {
    body.textContent = event.text || "";
  }
  const who = source === "system" ? "" : (event.by || source);
  return el("li", { class: `line from-${source}${isPrivate ? " private" : ""}`, "data-event": event["@id"] },
    el("span", { class: "meta" },
      el("span", { class: "by", text: who }),
      isPrivate ? el("span", { class: "badge", text: "agents only" }) : null,
      el("time", { text: clock(event.time) })),
    body);
}

export function durationText(seconds) {
  if (seconds === null || seconds === undefined || seconds < 0) return "";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
