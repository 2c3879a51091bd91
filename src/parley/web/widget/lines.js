// One chat line as a list item. Text is always text (textContent); the one exception is an agent's
// line of textType html, which the server has already sanitized and which is rebuilt here through
// a second allow-list, element by element, so that no markup the API lets through by mistake can
// run or load anything.

const KEEP = new Set(["P", "DIV", "SPAN", "B", "STRONG", "I", "EM", "U", "BR", "A", "UL", "OL", "LI"]);
const DROP = new Set(["SCRIPT", "STYLE", "TEMPLATE", "IFRAME", "OBJECT", "EMBED", "NOSCRIPT", "SVG", "MATH"]);
const LINK_SCHEMES = new Set(["http:", "https:", "mailto:"]);
const DIRECTIONS = new Set(["ltr", "rtl", "auto"]);

function copySafe(from, to) {
  for (const node of from.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      to.append(node.data);
    } else if (node.nodeType === Node.ELEMENT_NODE) {
      const tag = node.tagName.toUpperCase();
      if (DROP.has(tag)) continue;
      if (!KEEP.has(tag)) {
        copySafe(node, to); // unknown wrapper: keep its text, not the element
        continue;
      }
      const copy = document.createElement(tag.toLowerCase());
      const dir = (node.getAttribute("dir") || "").toLowerCase();
      if (DIRECTIONS.has(dir)) copy.setAttribute("dir", dir);
      if (tag === "A") {
        try {
          const target = new URL(node.getAttribute("href") || "", "https://invalid.example/");
          if (LINK_SCHEMES.has(target.protocol) && target.hostname !== "invalid.example") {
            copy.href = target.href;
            copy.target = "_blank";
            copy.rel = "noopener noreferrer";
          }
        } catch {
          // no usable link: the text stays
        }
      }
      copySafe(node, copy);
      to.append(copy);
    }
  }
}

export function safeHtml(html) {
  // DOMParser documents are inert: nothing in them runs or loads while they are read here.
  const parsed = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
  const out = document.createDocumentFragment();
  copySafe(parsed.body, out);
  return out;
}

export function lineItem(event) {
  const item = document.createElement("li");
  const source = event.source || "system";
  item.className = `line ${source}`;
  item.dataset.id = event["@id"];
  if (source !== "system") {
    const by = document.createElement("span");
    by.className = "by";
    by.textContent = event.by || (source === "visitor" ? "You" : "Agent");
    item.append(by);
  }
  const text = document.createElement("span");
  text.className = "text";
  if (event.textType === "html" && source === "agent") {
    text.append(safeHtml(String(event.text || "")));
  } else if (event.textType === "rich-content" && !event.text) {
    text.textContent = "[rich content]";
  } else {
    text.textContent = String(event.text ?? "");
  }
  item.append(text);
  return item;
}

export function pendingItem(text, name) {
  const item = document.createElement("li");
  item.className = "line visitor pending";
  const by = document.createElement("span");
  by.className = "by";
  by.textContent = name || "You";
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  const note = document.createElement("span");
  note.className = "note";
  note.textContent = "sending…";
  item.append(by, body, note);
  return item;
}
