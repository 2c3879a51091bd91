// The agent console: log in (Login Service), an agent session, availability, rings, chats side
// by side, queues and canned responses. Everything goes through the public APIs of this origin;
// the bearer lives in this tab only (sessionStorage), never in a cookie or localStorage.

import { Api, ApiError, asList, sameOrigin } from "./api.js";
import { ChatPanel } from "./chat.js";
import { AGAIN_LATER, Follower, Repeater } from "./follow.js";
import { durationText, el } from "./lines.js";

const STORED = "parley.console";
const REFRESH_MS = 4 * 60 * 1000; // the Login Service asks for a refresh every 3 to 5 minutes
const QUEUE_MS = 5000;
const SESSIONS_MS = 5000; // chats accepted elsewhere (another tab, device): A10 at most every 2 s

const $ = (id) => document.getElementById(id);

class Desk {
  constructor() {
    this.api = null;
    this.me = null;
    this.panels = new Map();
    this.canned = [];
    this.ringKey = "";
    this.countdown = null;
    this.alerts = 0; // rings announced (sound, notification): the browser tests count them
  }

  // -- login ---------------------------------------------------------------------------------

  async login(account, username, password) {
    const api = new Api(account);
    const body = await api.post(`${api.base}/login?v=1.3`, { username, password });
    api.bearer = body.bearer;
    this.stored = { account, bearer: body.bearer, csrf: body.csrf };
    await this.begin(api);
  }

  async resume() {
    const saved = JSON.parse(sessionStorage.getItem(STORED) || "null");
    if (!saved) return false;
    this.stored = saved;
    try {
      await this.begin(new Api(saved.account, saved.bearer), saved.session);
      return true;
    } catch {
      sessionStorage.removeItem(STORED);
      return false;
    }
  }

  async begin(api, session = null) {
    this.api = api;
    api.onUnauthorized = () => this.expired();
    if (session) {
      try {
        await api.get(session);
      } catch (error) {
        if (error.status === 401) throw error;
        session = null; // the session ended (idle timeout, restart of the login): open another
      }
    }
    if (!session) {
      const created = await api.post(`${api.base}/agentSession?v=1&NC=true`, { loginData: "" });
      session = sameOrigin(created.agentSessionLocation.link["@href"]);
    }
    this.sessionHref = session;
    this.stored.session = session;
    sessionStorage.setItem(STORED, JSON.stringify(this.stored));
    const info = (await api.get(`${session}/info`)).info;
    this.me = info;
    this.skills = asList(info.skillsInfo && info.skillsInfo.skillInfo);
    $("agent-name").textContent = info.agentName;
    this.availability = info.availability.chat;
    $("availability").value = this.availability;
    $("login-view").hidden = true;
    $("desk").hidden = false;
    $("availability").focus(); // the login form is gone: keyboard users continue at the top
    document.title = `${info.agentName} · parley console`;
    this.buildQueueTable();
    this.rings = new Follower((signal, hold) => this.pollRings(signal, hold), {
      onError: (error) => {
        if (error.status === 404) this.reopen(); // the agent session ended, the login did not
        return error.status !== 401 && error.status !== 404;
      },
      onMode: (mode) => this.showMode(mode),
    });
    this.rings.start();
    this.queue = new Repeater(() => this.refreshQueue(), QUEUE_MS);
    this.queue.start();
    this.sessions = new Repeater(() => this.refreshSessions(), SESSIONS_MS);
    this.sessions.start();
    this.refresher = setInterval(() => this.refreshLogin(), REFRESH_MS);
    await this.loadCanned();
  }

  // The agent session ended under us (idle past the server's timeout, e.g. a laptop asleep, or
  // closed elsewhere) while the bearer is still good: open a new one and carry on. Chats held
  // by the old session were requeued or ended by the server; those still ours come back via A10.
  async reopen() {
    if (this.reopening || this.ending) return;
    this.reopening = true;
    try {
      this.stopFollowing();
      for (const panel of this.panels.values()) {
        panel.stop();
        panel.root.remove();
      }
      this.panels.clear();
      await this.begin(this.api);
      $("chats-empty").hidden = this.panels.size > 0;
      this.status("Your agent session had ended; a new one is open.");
    } catch (error) {
      if (error.status !== 401) this.leave(`The console lost its session: ${error.message}`);
    } finally {
      this.reopening = false;
    }
  }

  stopFollowing() {
    for (const stopper of [this.rings, this.queue, this.sessions]) if (stopper) stopper.stop();
    clearInterval(this.refresher);
    clearInterval(this.countdown);
  }

  async refreshLogin() {
    try {
      await this.api.post(`${this.api.base}/refresh`, { csrf: this.stored.csrf });
    } catch { /* an expired login shows itself on the next call */ }
  }

  expired() {
    if (this.ending) return;
    this.leave("Your login has expired; please log in again.");
  }

  async logout() {
    this.ending = true;
    try { await this.api.remove(this.sessionHref); } catch { /* already closed */ }
    try { await this.api.post(`${this.api.base}/logout`, { csrf: this.stored.csrf }); } catch { /* already out */ }
    this.leave("You are logged out.");
  }

  leave(message) {
    this.ending = true;
    this.stopFollowing();
    for (const panel of this.panels.values()) panel.stop();
    this.panels.clear();
    sessionStorage.removeItem(STORED);
    $("chats").replaceChildren();
    $("chats-empty").hidden = false;
    $("ring").hidden = true;
    $("desk").hidden = true;
    $("login-view").hidden = false;
    $("login-error").textContent = message;
    $("login-password").value = "";
    $("login-account").value = this.api ? this.api.account : $("login-account").value;
    this.ending = false;
    $("login-user").focus();
  }

  showMode(mode) {
    $("transport").textContent = mode === "push" ? "live (long-poll)" : "polling every 2 s";
  }

  // -- availability and rings ------------------------------------------------------------------

  async setAvailability(value) {
    try {
      const body = await this.api.put(`${this.sessionHref}/availability`, { availability: { chat: value } });
      this.availability = body.availability.chat;
      $("availability").value = this.availability;
      this.status(`You are ${body.availability.chat}.`);
    } catch (error) {
      this.status(`Availability not changed: ${error.message}`);
    }
    this.queue.now();
  }

  async pollRings(signal, hold) {
    // While something rings, a held request would only wake for the next change and leave a ring
    // that was withdrawn (timed out, taken by the visitor leaving) on screen: plain polls then.
    const query = this.ringing ? "" : `?wait=${hold}`;
    const body = await this.api.get(`${this.sessionHref}/incomingRequests${query}`, { signal });
    const ring = body.incomingRequests;
    const count = Number(ring.ringingCount);
    this.ringing = count > 0;
    this.showRing(count, ring.nextRing);
    return count ? AGAIN_LATER : false;
  }

  showRing(count, offer) {
    const box = $("ring");
    clearInterval(this.countdown);
    if (!count) {
      box.hidden = true;
      this.ringKey = "";
      return;
    }
    const wait = offer ? offer.waitTime : null;
    const shownAt = performance.now();
    const render = () => {
      const gone = (performance.now() - shownAt) / 1000;
      const parts = [];
      if (offer && offer.skillName) parts.push(`Skill: ${offer.skillName}`);
      if (wait !== null && wait !== undefined) parts.push(`visitor waiting ${durationText(wait + gone)}`);
      if (offer && offer.timeLeft !== undefined) {
        parts.push(`ring times out in ${Math.max(0, Math.round(offer.timeLeft - gone))} s (of ${offer.ringTimeout} s)`);
      }
      $("ring-count").textContent = count > 1 ? `${count} chats ringing` : "1 chat ringing";
      $("ring-details").textContent = parts.join(" · ");
    };
    render();
    this.countdown = setInterval(render, 1000);
    const wasHidden = box.hidden;
    box.hidden = false;
    const key = `${count}:${offer ? offer.skillName : ""}:${offer ? offer.waitTime - (offer.ringTimeout - offer.timeLeft) : ""}`;
    if (wasHidden || key !== this.ringKey) this.alert(offer);
    this.ringKey = key;
  }

  alert(offer) {
    this.alerts += 1;
    beep();
    if ("Notification" in window && Notification.permission === "granted" && document.hidden) {
      const note = new Notification("Incoming chat", { body: offer && offer.skillName ? `Skill ${offer.skillName}` : "", tag: "parley-ring" });
      note.onclick = () => { window.focus(); $("accept").focus(); };
    }
  }

  async accept() {
    try {
      const taken = await this.api.post(`${this.sessionHref}/incomingRequests`, { chat: "start" }, { raw: true });
      $("ring").hidden = true;
      clearInterval(this.countdown);
      this.ringing = false; // the next poll holds again (or sees the next ring at once)
      this.queue.now();
      const panel = await this.openChat(sameOrigin(taken.body.chatLocation.link["@href"]));
      if (panel) panel.text.focus();
    } catch (error) {
      this.status(error instanceof ApiError && error.status === 404 ? "The ring was gone before you accepted it." : `Not accepted: ${error.message}`);
    }
  }

  // -- chats -----------------------------------------------------------------------------------

  async openChat(href) {
    const key = href.split("?")[0].split("/").pop();
    if (this.panels.has(key)) return this.panels.get(key);
    const panel = new ChatPanel(this, href.split("?")[0]);
    this.panels.set(key, panel);
    $("chats").append(panel.root);
    $("chats-empty").hidden = true;
    try {
      await panel.open();
    } catch (error) {
      panel.lost(`This chat could not be opened: ${error.message}`);
    }
    return panel;
  }

  chatLeft() {
    this.queue.now();
  }

  chatClosed(panel) {
    this.panels.delete(panel.key);
    $("chats-empty").hidden = this.panels.size > 0;
    const next = $("chats").querySelector("textarea:not([disabled])");
    (next || $("availability")).focus();
  }

  async refreshSessions() {
    const body = await this.api.get(`${this.sessionHref}/chatSessions`);
    for (const item of asList(body.chatSessions && body.chatSessions.chatSession)) {
      const key = item.chatSessionKey;
      if (!this.panels.has(key)) await this.openChat(sameOrigin(item.link["@href"]));
    }
  }

  // -- queues ------------------------------------------------------------------------------------

  buildQueueTable() {
    const rows = this.skills.map((skill) => el("tr", { "data-skill": skill.id },
      el("th", { scope: "row", text: skill.name }), el("td", { class: "online" }), el("td", { class: "busy" }),
      el("td", { class: "chats" }), el("td", { class: "wait" })));
    $("queue-rows").replaceChildren(...rows);
    $("queue-empty").hidden = rows.length > 0;
  }

  async refreshQueue() {
    // The server changes it too: an unanswered ring sets the agent Away (agent spec §4.3).
    let now;
    try {
      now = (await this.api.get(`${this.sessionHref}/availability`)).availability.chat;
    } catch (error) {
      if (error.status === 404) this.reopen(); // found here within seconds; a held ring poll finds it later
      throw error;
    }
    if (now !== this.availability) {
      this.availability = now;
      $("availability").value = now;
      this.status(now === "Away" ? "A ring went unanswered: you are Away now." : `You are ${now} now.`);
    }
    const roster = await this.api.get(`${this.sessionHref}/availableAgents`);
    const agents = asList(roster.availableAgents.agents && roster.availableAgents.agents.agent);
    for (const skill of this.skills) {
      const row = $("queue-rows").querySelector(`tr[data-skill="${skill.id}"]`);
      const staff = agents.filter((a) => asList(a.skills && a.skills.skill).map(String).includes(String(skill.id)));
      row.querySelector(".online").textContent = staff.filter((a) => a["@chatState"] === "2").length;
      row.querySelector(".busy").textContent = staff.filter((a) => a["@chatState"] === "3").length;
      row.querySelector(".chats").textContent = staff.reduce((sum, a) => sum + Number(a.chats || 0), 0);
      let wait = "";
      try {
        const estimate = await this.api.get(`${this.api.base}/chat/estimatedWaitTime?v=1&skill=${encodeURIComponent(skill.name)}`);
        const seconds = Number(estimate.estimatedWaitTime);
        wait = seconds === -1 ? "nobody online" : seconds === -2 ? "unknown" : durationText(seconds);
      } catch { /* shown as empty */ }
      row.querySelector(".wait").textContent = wait;
    }
  }

  // -- canned responses ----------------------------------------------------------------------------

  get cannedHref() { return `${this.sessionHref}/cannedResponses`; }

  async loadCanned() {
    try {
      const body = await this.api.get(this.cannedHref);
      this.canned = asList(body.cannedResponses && body.cannedResponses.cannedResponse);
    } catch {
      this.canned = [];
    }
    const list = $("canned-list");
    list.replaceChildren(...this.canned.map((item) => {
      const remove = el("button", { type: "button", class: "remove", text: "Delete", "aria-label": `Delete canned response ${item.title}` });
      remove.addEventListener("click", () => this.deleteCanned(item));
      return el("li", { "data-id": item["@id"] },
        el("strong", { text: item.title }), el("span", { class: "canned-text", text: item.text }), remove);
    }));
    $("canned-empty").hidden = this.canned.length > 0;
    for (const panel of this.panels.values()) panel.fillCanned(this.canned);
  }

  async addCanned(title, text) {
    try {
      await this.api.post(this.cannedHref, { cannedResponse: { title, text } });
      $("canned-form").reset();
      $("canned-result").textContent = "Saved.";
    } catch (error) {
      $("canned-result").textContent = `Not saved: ${error.message}`;
    }
    await this.loadCanned();
  }

  async deleteCanned(item) {
    try {
      await this.api.remove(item.link["@href"]);
      $("canned-result").textContent = `Deleted “${item.title}”.`;
    } catch (error) {
      $("canned-result").textContent = `Not deleted: ${error.message}`;
    }
    await this.loadCanned();
    $("canned-title").focus();
  }

  status(message) {
    $("status").textContent = message;
  }
}

// A short two-tone chime made on the spot (no sound file); browsers allow it after a first click or key.
let audio = null;
function beep() {
  try {
    audio = audio || new AudioContext();
    if (audio.state === "suspended") audio.resume();
    const now = audio.currentTime;
    [880, 660].forEach((frequency, index) => {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, now + index * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.2, now + index * 0.18 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + index * 0.18 + 0.16);
      tone.connect(gain).connect(audio.destination);
      tone.start(now + index * 0.18);
      tone.stop(now + index * 0.18 + 0.17);
    });
  } catch { /* no audio here */ }
}

const desk = new Desk();
window.parleyConsole = desk; // for the browser tests and the curious: the page's state, read-only use

function wire() {
  const params = new URLSearchParams(location.search);
  if (params.get("account")) $("login-account").value = params.get("account");
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("login-error").textContent = "";
    // Asking on a click or key press is the only way browsers allow; a refusal only costs the notification.
    if ("Notification" in window && Notification.permission === "default") Notification.requestPermission().catch(() => {});
    try {
      await desk.login($("login-account").value.trim(), $("login-user").value, $("login-password").value);
      $("login-password").value = "";
    } catch (error) {
      $("login-error").textContent = error.status === 401 ? "Wrong account, user name or password." : `Login failed: ${error.message}`;
      $("login-password").focus();
    }
  });
  $("availability").addEventListener("change", (event) => desk.setAvailability(event.target.value));
  $("logout").addEventListener("click", () => desk.logout());
  $("accept").addEventListener("click", () => desk.accept());
  $("canned-form").addEventListener("submit", (event) => {
    event.preventDefault();
    desk.addCanned($("canned-title").value.trim(), $("canned-text").value.trim());
  });
  desk.resume().then((resumed) => {
    document.body.dataset.ready = "true";
    if (!resumed) ($("login-account").value ? $("login-user") : $("login-account")).focus();
  });
}

wire();
