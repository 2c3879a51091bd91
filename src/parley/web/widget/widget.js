// parley's visitor chat widget: availability, offline form, pre-chat survey, the chat, end, exit
// survey, transcript by mail. The account, app key and skill come from the page's query (the
// embed script puts them there). The chat URI is the visitor's only secret: it stays in this
// origin's sessionStorage, so a reload of the page continues the chat and no other site sees it.

import { Api, ApiError, isNetworkFailure, newKey } from "./api.js";
import { Feed } from "./feed.js";
import { lineItem, pendingItem } from "./lines.js";
import { Outbox } from "./outbox.js";
import { storage } from "./storage.js";
import { SurveyForm } from "./survey.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const account = params.get("account") || "";
const skill = params.get("skill") || "";
const api = new Api(account, params.get("appKey") || "");
const CHAT_KEY = `parley.chat.${account}`;
const OUTBOX_KEY = `parley.outbox.${account}`;
const TYPING_IDLE_MS = 3000; // "not typing" after this long without a keystroke
const TYPING_REFRESH_MS = 10000; // the server forgets "typing" after 30 s without a refresh
const framed = window.parent !== window;

const PANELS = ["loading", "start", "offline", "chat", "ended"];
let panel = "loading";
let prechat = null;
let chat = null; // {uri, feed, outbox, seen, pending, sentIds, info, typing}
let focusWanted = false; // the launcher was used while the widget was still loading

function show(name) {
  panel = name;
  for (const id of PANELS) $(id).hidden = id !== name && !(id === "chat" && name === "ended");
  $("line-form").hidden = $("end").hidden = name !== "chat";
  if (focusWanted && name !== "loading") {
    focusWanted = false;
    focusPanel();
  }
}

function status(text) {
  $("status").textContent = text || "";
}

function problem(text) {
  $("problem").textContent = text || "";
  $("problem").hidden = !text;
}

function tell(message) {
  if (framed) window.parent.postMessage({ parley: message }, "*"); // no secret in it: any host may hear
}

// Retries a call while the network is down (with a visible note), never on an API refusal.
async function patiently(call) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const result = await call();
      status("");
      return result;
    } catch (error) {
      if (!isNetworkFailure(error)) throw error;
      status("Connection lost, retrying…");
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** attempt, 8000)));
    }
  }
}

async function survey(kind) {
  try {
    const { body } = await patiently(() => api.get(`/chat/${kind}`, { skill }));
    return body;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null; // none configured
    throw error;
  }
}

async function begin() {
  problem("");
  show("loading");
  const stored = storage.get(CHAT_KEY);
  if (stored) {
    tell("open");
    if (await resume(stored)) return;
  }
  const { body } = await patiently(() => api.get("/chat/availability", { skill }));
  if (body.availability === true) {
    const document_ = await survey("preSurvey");
    prechat = document_ ? new SurveyForm($("prechat-survey"), document_, "prechat") : null;
    if (!prechat) $("prechat-survey").replaceChildren();
    show("start");
  } else {
    const document_ = await survey("offlineSurvey");
    if (document_) {
      const form = new SurveyForm($("offline-survey"), document_, "offline");
      $("offline-form").hidden = false;
      $("offline-form").onsubmit = (event) => {
        event.preventDefault();
        submitOffline(form);
      };
    } else {
      $("offline-none").hidden = false;
    }
    show("offline");
  }
}

async function submitOffline(form) {
  problem("");
  let answers;
  try {
    answers = form.answers();
  } catch (error) {
    problem(error.message);
    return;
  }
  try {
    await patiently(() => api.call("PUT", "/chat/offlineSurvey",
      { body: { survey: { id: form.id, question: answers }, skill: skill || undefined } }));
  } catch (error) {
    problem(error.message);
    return;
  }
  $("offline-form").hidden = true;
  $("offline-sent").hidden = false;
  $("offline-sent").focus();
}

async function startChat(event) {
  event.preventDefault();
  problem("");
  const request = { userAgent: navigator.userAgent };
  if (skill) request.skill = skill;
  if (document.referrer) request.chatReferrer = document.referrer;
  if (prechat) {
    try {
      request.survey = { id: prechat.id, question: prechat.answers() };
    } catch (error) {
      problem(error.message);
      return;
    }
  }
  $("start-chat").disabled = true;
  const key = newKey(); // the same key on every retry: one chat, however often the network drops
  let created;
  try {
    created = await patiently(() => api.call("POST", "/chat/request", { body: { request }, key }));
  } catch (error) {
    problem(error.message);
    $("start-chat").disabled = false;
    return;
  }
  $("start-chat").disabled = false;
  const uri = new URL(created.location).pathname;
  storage.set(CHAT_KEY, uri);
  const name = $("visitor-name").value.trim();
  if (name) {
    try {
      await patiently(() => api.call("PUT", `${uri}/info/visitorName`, { body: { visitorName: name } }));
    } catch (error) {
      problem(error.message);
    }
  }
  await resume(uri);
  $("line").focus();
}

// Opens the chat at ``uri``: its whole history, then the feed from there. False when it is gone.
async function resume(uri) {
  let body;
  try {
    ({ body } = await patiently(() => api.get(uri, { from: 0 })));
  } catch (error) {
    storage.remove(CHAT_KEY);
    storage.remove(OUTBOX_KEY);
    return false;
  }
  $("lines").replaceChildren();
  chat = { uri, seen: new Set(), pending: new Map(), sentIds: new Map(), info: {}, typing: null };
  show("chat");
  const events = body.chat.events && body.chat.events.event;
  const list = events === undefined ? [] : Array.isArray(events) ? events : [events];
  const next = new URL(body.chat.link.find((l) => l["@rel"] === "next")["@href"]).searchParams.get("from");
  chat.outbox = new Outbox(api, uri, OUTBOX_KEY, { onSent: sent, onFailed: failed, onTrouble: trouble });
  for (const line of chat.outbox.waiting) addPending(line);
  onEvents(list);
  onInfo(body.chat.info);
  if (body.chat.info.state === "ended") return true; // nothing more will come: no feed to hold open
  chat.feed = new Feed(api, uri, Number(next), { onEvents, onInfo, onTrouble: trouble, onGone: gone });
  chat.feed.start();
  chat.outbox.flush(true);
  return true;
}

function trouble(on) {
  status(on ? "Connection lost, reconnecting…" : "");
}

function gone() {
  storage.remove(CHAT_KEY);
  problem("This chat is no longer available.");
  ended();
}

function onEvents(events) {
  const list = $("lines");
  for (const event of events) {
    const id = Number(event["@id"]);
    if (chat.seen.has(id)) continue;
    chat.seen.add(id);
    if (event["@type"] === "line") {
      list.append(lineItem(event));
      const mine = chat.sentIds.get(id);
      if (mine) {
        mine.remove();
        chat.sentIds.delete(id);
      }
    } else if (event["@type"] === "state") {
      if (event.state !== "waiting") $("queue").hidden = true;
      if (event.state === "ended") ended();
    }
  }
  for (const item of [...chat.sentIds.values(), ...chat.pending.values()]) list.append(item); // unconfirmed stay last
  list.scrollTop = list.scrollHeight;
}

function addPending(line) {
  const item = pendingItem(line.text, chat.info.visitorName);
  chat.pending.set(line.key, item);
  $("lines").append(item);
  $("lines").scrollTop = $("lines").scrollHeight;
}

function sent(line, id) {
  const item = chat.pending.get(line.key);
  chat.pending.delete(line.key);
  if (!item) return;
  if (Number.isNaN(id) || chat.seen.has(id)) item.remove(); // the line itself is shown already
  else chat.sentIds.set(id, item); // removed when the line arrives
}

function failed(line, error) {
  const item = chat.pending.get(line.key);
  chat.pending.delete(line.key);
  if (item) {
    item.classList.add("failed");
    item.querySelector(".note").textContent = `not sent: ${error.message}`;
  }
}

function onInfo(info) {
  if (!info || !chat) return;
  chat.info = info;
  const agent = $("agent");
  agent.hidden = !info.agentName;
  agent.textContent = info.agentName ? `You are chatting with ${info.agentName}` : "";
  const queue = $("queue");
  if (info.state === "waiting") {
    const parts = ["Waiting for an agent."];
    if (info.queuePosition) parts.push(`You are number ${info.queuePosition} in line.`);
    const wait = Number(info.estimatedWaitTime);
    if (wait > 0) parts.push(`Estimated wait: about ${wait < 60 ? `${wait} seconds` : `${Math.round(wait / 60)} minutes`}.`);
    queue.textContent = parts.join(" ");
    queue.hidden = false;
  } else {
    queue.hidden = true;
  }
  const typing = $("typing");
  typing.hidden = info.agentTyping !== "typing";
  typing.textContent = typing.hidden ? "" : `${info.agentName || "The agent"} is typing…`;
  if (info.state === "ended") ended();
}

async function ended() {
  if (panel === "ended") return;
  show("ended");
  $("typing").hidden = true;
  $("queue").hidden = true;
  if (chat && chat.outbox) chat.outbox.stop();
  $("ended-title").focus();
  if (!chat) return;
  const uri = chat.uri;
  try {
    const { body } = await patiently(() => api.get(`${uri}/exitSurvey`));
    const form = new SurveyForm($("exit-survey"), body, "exit");
    $("exit-form").hidden = false;
    $("exit-form").onsubmit = async (event) => {
      event.preventDefault();
      problem("");
      try {
        const answers = form.answers();
        await patiently(() => api.call("PUT", `${uri}/exitSurvey`, { body: { survey: { id: form.id, question: answers } } }));
      } catch (error) {
        problem(error.message);
        return;
      }
      $("exit-form").hidden = true;
      $("exit-sent").hidden = false;
    };
  } catch (error) {
    $("exit-form").hidden = true; // no exit survey configured (404)
  }
}

async function requestTranscript(event) {
  event.preventDefault();
  problem("");
  const email = $("transcript-email").value.trim();
  if (!email) {
    problem("Please enter your e-mail address.");
    $("transcript-email").focus();
    return;
  }
  try {
    await patiently(() => api.call("PUT", `${chat.uri}/transcriptRequest`, { body: { transcriptRequest: { email } } }));
  } catch (error) {
    problem(error.message);
    return;
  }
  $("transcript-form").hidden = true;
  $("transcript-sent").hidden = false;
}

function sendLine(event) {
  event.preventDefault();
  const field = $("line");
  const text = field.value.trim();
  if (!text || !chat) return;
  field.value = "";
  chat.typing = null; // the server resets typing when the line arrives
  clearTimeout(chat.typingIdle);
  addPending(chat.outbox.add(text));
  field.focus();
}

function typed() {
  if (!chat || panel !== "chat") return;
  const now = Date.now();
  const field = $("line");
  if (!field.value.trim()) return;
  if (!chat.typing || now - chat.typing > TYPING_REFRESH_MS) {
    chat.typing = now;
    setTyping("typing");
  }
  clearTimeout(chat.typingIdle);
  chat.typingIdle = setTimeout(() => {
    chat.typing = null;
    setTyping("not-typing");
  }, TYPING_IDLE_MS);
}

function setTyping(value) {
  // Best effort: a lost typing flag is not worth a retry; the server forgets it anyway.
  api.call("PUT", `${chat.uri}/info/visitorTyping`, { body: { visitorTyping: value } }).catch(() => {});
}

async function endChat() {
  problem("");
  try {
    await patiently(() => api.call("POST", `${chat.uri}/events`, { body: { event: { "@type": "state", state: "ended" } } }));
  } catch (error) {
    problem(error.message);
    return;
  }
  ended();
}

function restart() {
  if (chat) {
    if (chat.feed) chat.feed.stop();
    if (chat.outbox) chat.outbox.stop();
  }
  chat = null;
  storage.remove(CHAT_KEY);
  storage.remove(OUTBOX_KEY);
  $("lines").replaceChildren();
  for (const id of ["exit-form", "exit-sent", "transcript-sent", "agent", "offline-sent", "offline-none"]) {
    $(id).hidden = true;
  }
  problem("");
  $("transcript-form").hidden = false;
  $("exit-survey").replaceChildren();
  begin().then(focusPanel);
}

function focusPanel() {
  if (panel === "start") {
    if (!(prechat && prechat.focus())) $("visitor-name").focus();
  } else if (panel === "chat") {
    $("line").focus();
  } else if (panel === "offline") {
    const first = $("offline").querySelector("input, select, textarea, p[tabindex]:not([hidden])");
    if (first) first.focus();
  } else if (panel === "ended") {
    $("ended-title").focus();
  }
}

$("start-form").addEventListener("submit", startChat);
$("line-form").addEventListener("submit", sendLine);
$("line").addEventListener("input", typed);
$("line").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) sendLine(event); // Shift+Enter: new line
});
$("end").addEventListener("click", endChat);
$("transcript-form").addEventListener("submit", requestTranscript);
$("restart").addEventListener("click", restart);
$("close").hidden = !framed;
$("close").addEventListener("click", () => tell("close"));
window.addEventListener("message", (event) => {
  if (event.source !== window.parent || !event.data || event.data.parley !== "focus") return;
  if (panel === "loading") focusWanted = true;
  else focusPanel();
});

if (!account) {
  show("offline");
  problem("This chat is not set up: the embed needs data-account and data-app-key.");
} else {
  begin().catch((error) => problem(error.message));
}
