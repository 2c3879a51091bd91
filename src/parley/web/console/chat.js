// One chat the agent holds: its lines, the visitor's details, the compose box with private notes
// and canned responses, transfer, end, and the agent survey after the end.

import { asList, linkOf, newKey } from "./api.js";
import { Follower, Repeater, POLL_MS } from "./follow.js";
import { durationText, el, lineElement } from "./lines.js";

const TYPING_REFRESH_MS = 5000; // the server forgets a typing flag after 30 s; refresh well before
const TYPING_IDLE_MS = 3000; // no key for this long: not typing any more
let panels = 0;

export class ChatPanel {
  constructor(desk, href) {
    this.desk = desk;
    this.api = desk.api;
    this.href = href;
    this.key = href.split("/").pop();
    this.n = ++panels;
    this.next = 0;
    this.seen = new Set();
    this.links = {};
    this.ended = false;
    this.gone = false;
    this.typingSentAt = -Infinity;
    this.idleTimer = null;
    this.build();
    this.events = new Follower((signal, hold) => this.pull(signal, hold), {
      onError: (error) => this.failed(error),
      onMode: (mode) => desk.showMode(mode),
    });
    this.info = new Repeater(() => this.refreshInfo(), POLL_MS);
  }

  id(part) { return `chat-${this.n}-${part}`; }

  build() {
    this.title = el("h2", { id: this.id("title"), text: "visitor" });
    this.closeButton = el("button", { type: "button", class: "close", hidden: true, text: "Close" });
    this.closeButton.addEventListener("click", () => this.close());
    this.skill = el("dd", { class: "skill" });
    this.waited = el("dd", { class: "waited" });
    this.stateText = el("dd", { class: "state" });
    this.prechat = el("details", { class: "prechat", hidden: true }, el("summary", { text: "Pre-chat answers" }));
    this.prechatList = el("dl");
    this.prechat.append(this.prechatList);
    this.log = el("ol", { class: "log", "aria-label": "Conversation", "aria-live": "polite" });
    this.typing = el("p", { class: "typing", "aria-live": "polite" });

    this.text = el("textarea", { id: this.id("text"), rows: 2, maxlength: 10000 });
    this.private = el("input", { type: "checkbox", id: this.id("private") });
    this.cannedSelect = el("select", { id: this.id("canned") });
    this.fillCanned(this.desk.canned);
    this.compose = el("form", { class: "compose" },
      el("label", { for: this.id("text"), text: "Message" }), this.text,
      el("div", { class: "row" },
        el("span", { class: "check" }, this.private, el("label", { for: this.id("private"), text: "Private note (agents only)" })),
        el("label", { for: this.id("canned"), text: "Canned response" }), this.cannedSelect,
        el("button", { type: "submit", text: "Send" })));
    this.compose.addEventListener("submit", (event) => { event.preventDefault(); this.send(); });
    this.text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
    this.text.addEventListener("input", () => this.typed());
    this.cannedSelect.addEventListener("change", () => this.insertCanned());

    this.target = el("select", { id: this.id("target") });
    this.note = el("input", { id: this.id("note"), maxlength: 10000 });
    this.transferForm = el("form", { class: "transfer" },
      el("label", { for: this.id("target"), text: "Transfer to" }), this.target,
      el("label", { for: this.id("note"), text: "Note for the next agent" }), this.note,
      el("button", { type: "submit", text: "Transfer" }));
    this.transferForm.addEventListener("submit", (event) => { event.preventDefault(); this.transfer(); });
    this.target.addEventListener("focus", () => this.loadTargets());

    this.endButton = el("button", { type: "button", class: "end", text: "End chat" });
    this.endButton.addEventListener("click", () => this.end());
    this.notice = el("p", { class: "notice", role: "status" });
    this.survey = el("section", { class: "survey", hidden: true, "aria-labelledby": this.id("survey-title") });

    this.root = el("article", { class: "chat", "aria-labelledby": this.id("title"), "data-key": this.key },
      el("header", {}, this.title, this.closeButton),
      el("dl", { class: "facts" },
        el("dt", { text: "Skill" }), this.skill,
        el("dt", { text: "Waited" }), this.waited,
        el("dt", { text: "State" }), this.stateText),
      this.prechat, this.log, this.typing, this.notice, this.compose, this.transferForm, this.endButton, this.survey);
  }

  async open() {
    const body = await this.api.get(this.href);
    const chat = body.chat;
    for (const item of asList(chat.link)) this.links[item["@rel"]] = item["@href"];
    this.eventsHref = linkOf(chat.events.link, "self") || `${this.href}/events`;
    this.infoHref = this.links.info || `${this.href}/info`;
    this.absorb(chat.events);
    this.showInfo(chat.info);
    this.loadPrechat();
    this.loadTargets();
    this.events.start();
    this.info.start();
  }

  // The events after the last one seen; held by the server until something happens (or polled).
  async pull(signal, hold) {
    const body = await this.api.get(`${this.eventsHref}?from=${this.next}&wait=${hold}`, { signal });
    return this.absorb(body.events);
  }

  absorb(events) {
    let news = false;
    for (const event of asList(events && events.event)) {
      const id = Number(event["@id"]);
      if (this.seen.has(id)) continue;
      this.seen.add(id);
      this.next = Math.max(this.next, id + 1);
      news = true;
      if (event["@type"] === "line") {
        this.log.append(lineElement(event));
        this.log.lastElementChild.scrollIntoView({ block: "nearest" });
      } else if (event["@type"] === "state") {
        this.states = (this.states || []).concat(event);
        this.showState(event.state);
      }
    }
    if (news) this.showWait();
    return news;
  }

  showState(state) {
    this.stateText.textContent = state;
    if (state === "ended" && !this.ended) this.finish("The chat has ended.");
  }

  showWait() {
    // From the last time the chat waited to the moment it reached this agent.
    const states = this.states || [];
    const chatting = states.map((e) => e.state).lastIndexOf("chatting");
    if (chatting < 0) return;
    const waiting = states.slice(0, chatting).map((e) => e.state).lastIndexOf("waiting");
    if (waiting < 0) return;
    const seconds = (new Date(states[chatting].time) - new Date(states[waiting].time)) / 1000;
    this.waited.textContent = durationText(seconds);
  }

  async refreshInfo() {
    if (this.gone) return;
    try {
      const body = await this.api.get(this.infoHref);
      this.showInfo(body.info);
    } catch (error) {
      if (error.status === 404) this.lost();
    }
  }

  showInfo(info) {
    if (!info) return;
    this.title.textContent = info.visitorName || "visitor";
    this.skill.textContent = info.skillName || "none";
    this.typing.textContent = info.visitorTyping === "typing" ? `${info.visitorName || "The visitor"} is typing…` : "";
    if (info.state) this.showState(info.state);
  }

  async loadPrechat() {
    if (!this.links["visit-id"]) return;
    try {
      const body = await this.api.get(this.links["visit-id"]);
      const survey = body.visit && body.visit.preChatSurvey && body.visit.preChatSurvey.survey;
      const questions = asList(survey && survey.question);
      this.prechatList.replaceChildren();
      for (const question of questions) {
        const answer = asList(question.answer).join(", ");
        this.prechatList.append(el("dt", { text: question.label || `Question ${question.id}` }), el("dd", { text: answer }));
      }
      if (questions.length) {
        this.prechat.hidden = false;
        this.prechat.open = true;
      }
    } catch { /* no visit details: nothing to show */ }
  }

  fillCanned(items) {
    const chosen = this.cannedSelect.value;
    this.cannedSelect.replaceChildren(el("option", { value: "", text: items.length ? "Insert…" : "none yet" }));
    for (const item of items) this.cannedSelect.append(el("option", { value: item["@id"], text: item.title }));
    this.cannedSelect.value = chosen;
  }

  insertCanned() {
    const item = this.desk.canned.find((c) => c["@id"] === this.cannedSelect.value);
    if (item) {
      this.text.value = this.text.value ? `${this.text.value} ${item.text}` : item.text;
      this.text.focus();
    }
    this.cannedSelect.value = "";
  }

  typed() {
    clearTimeout(this.idleTimer);
    if (!this.text.value) {
      this.setTyping("not-typing");
      return;
    }
    if (performance.now() - this.typingSentAt > TYPING_REFRESH_MS) this.setTyping("typing");
    this.idleTimer = setTimeout(() => this.setTyping("not-typing"), TYPING_IDLE_MS);
  }

  async setTyping(value) {
    if (this.ended || this.gone || this.private.checked) return; // a note is not for the visitor's eyes
    this.typingSentAt = value === "typing" ? performance.now() : -Infinity;
    try {
      await this.api.put(`${this.infoHref}/agentTyping`, { agentTyping: value });
    } catch { /* a lost typing flag is no harm */ }
  }

  async send() {
    const text = this.text.value.trim();
    if (!text || this.ended || this.gone) return;
    const event = { "@type": "line", text, textType: "plain" };
    if (this.private.checked) event.subType = "ONLY_TO_REP";
    clearTimeout(this.idleTimer);
    this.typingSentAt = -Infinity;
    try {
      await this.api.post(this.eventsHref, { event }, { headers: { "Idempotency-Key": newKey() } });
      this.text.value = "";
      this.private.checked = false;
      this.notice.textContent = "";
    } catch (error) {
      this.notice.textContent = `Not sent: ${error.message}`;
    }
    this.text.focus();
  }

  async loadTargets() {
    if (this.ended || this.gone) return;
    const skills = el("optgroup", { label: "Skills" });
    const agents = el("optgroup", { label: "Agents" });
    try {
      const offered = await this.api.get(this.links.transfer || `${this.href}/transfer`);
      for (const skill of asList(offered.transfer && offered.transfer.skill)) {
        skills.append(el("option", { value: `skill:${skill.id}`, text: `${skill.name} (${skill.onlineAgents} online)` }));
      }
      const roster = await this.api.get(`${this.desk.sessionHref}/availableAgents`);
      for (const agent of asList(roster.availableAgents.agents && roster.availableAgents.agents.agent)) {
        // Online (2) or Occupied (3) agents take transfers (agent spec §4.2); never oneself.
        if (agent["@id"] === this.desk.me.id || !["2", "3"].includes(agent["@chatState"])) continue;
        agents.append(el("option", { value: `agent:${agent["@id"]}`, text: agent.nickname || agent.userName }));
      }
    } catch { /* keep what is there */ }
    const chosen = this.target.value; // read now: the agent may have chosen while the lists loaded
    this.target.replaceChildren(el("option", { value: "", text: "Choose…" }), skills, agents);
    this.target.value = [...this.target.options].some((o) => o.value === chosen) ? chosen : "";
  }

  async transfer() {
    const [kind, id] = this.target.value.split(":");
    if (!kind) {
      this.notice.textContent = "Choose a skill or an agent to transfer to.";
      this.target.focus();
      return;
    }
    const body = { transfer: { [kind]: { id: Number(id) } } };
    if (this.note.value.trim()) body.transfer.text = this.note.value.trim();
    try {
      await this.api.post(this.links.transfer || `${this.href}/transfer`, body, { headers: { "Idempotency-Key": newKey() } });
      this.lost(`Transferred to ${this.target.selectedOptions[0].textContent}.`);
    } catch (error) {
      this.notice.textContent = `Not transferred: ${error.message}`;
    }
  }

  async end() {
    try {
      await this.api.post(this.eventsHref, { event: { "@type": "state", state: "ended" } });
      this.finish("You ended the chat.");
    } catch (error) {
      this.notice.textContent = `Not ended: ${error.message}`;
    }
  }

  failed(error) {
    if (error.status === 404 || error.status === 401) {
      this.lost();
      return false;
    }
    return true; // a network blip: the follower tries again, from the same event
  }

  // The chat left this agent (a transfer, a requeue): nothing more can be done with it here.
  lost(message = "This chat is no longer assigned to you.") {
    if (this.gone || this.ended) return;
    this.gone = true;
    this.stop();
    this.disable(message);
    this.desk.chatLeft(this);
  }

  finish(message) {
    if (this.ended) return;
    this.ended = true;
    this.stop(); // an ended chat has nothing more to follow
    this.typing.textContent = "";
    this.disable(message);
    this.showSurvey();
    this.desk.chatLeft(this);
  }

  disable(message) {
    this.notice.textContent = message;
    this.root.classList.add("closed");
    for (const part of [this.compose, this.transferForm]) {
      for (const control of part.elements) control.disabled = true;
    }
    this.endButton.disabled = true;
    this.closeButton.hidden = false;
  }

  async showSurvey() {
    const href = this.links["agent-survey"];
    if (!href) return;
    let survey;
    try {
      survey = (await this.api.get(href)).survey;
    } catch {
      return; // 404: no agent survey configured for this skill
    }
    const title = el("h3", { id: this.id("survey-title"), text: survey.header || survey.title || "Agent survey" });
    const form = el("form", { class: "survey-form" });
    const questions = asList(survey.questions && survey.questions.question);
    for (const question of questions) form.append(this.questionField(question));
    const result = el("p", { role: "status" });
    form.append(el("button", { type: "submit", text: "Submit survey" }), result);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const answers = questions.map((q) => ({ id: Number(q.id), answer: this.answerOf(form, q) }))
        .filter((a) => (Array.isArray(a.answer) ? a.answer.length : a.answer !== ""));
      try {
        await this.api.put(href, { survey: { id: Number(survey.id), question: answers } });
        result.textContent = "Survey saved.";
        for (const control of form.elements) control.disabled = true;
        this.closeButton.focus();
      } catch (error) {
        result.textContent = `Not saved: ${error.message}`;
      }
    });
    this.survey.replaceChildren(title, form);
    this.survey.hidden = false;
  }

  questionField(question) {
    const name = this.id(`q${question.id}`);
    const mandatory = question.mandatory === true || question.mandatory === "true";
    const label = `${question.label}${mandatory ? " (required)" : ""}`;
    const entries = asList(question.entry);
    if (question.type === "Checkbox" || question.type.startsWith("Radio")) {
      const kind = question.type === "Checkbox" ? "checkbox" : "radio";
      const set = el("fieldset", {}, el("legend", { text: label }));
      entries.forEach((entry, index) => {
        const id = `${name}-${index}`;
        set.append(el("span", { class: "check" },
          el("input", { type: kind, id, name, value: entry.value, required: kind === "radio" && mandatory }),
          el("label", { for: id, text: entry.displayValue || entry.value })));
      });
      return set;
    }
    if (question.type === "Dropdown Box") {
      const select = el("select", { id: name, name, required: mandatory }, el("option", { value: "", text: "Choose…" }));
      for (const entry of entries) select.append(el("option", { value: entry.value, text: entry.displayValue || entry.value }));
      return el("p", {}, el("label", { for: name, text: label }), select);
    }
    const field = question.type === "Text Area" ? el("textarea", { id: name, name, required: mandatory })
      : el("input", { id: name, name, required: mandatory });
    return el("p", {}, el("label", { for: name, text: label }), field);
  }

  answerOf(form, question) {
    const name = this.id(`q${question.id}`);
    if (question.type === "Checkbox") {
      return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((input) => input.value);
    }
    if (question.type.startsWith("Radio")) {
      const checked = form.querySelector(`input[name="${name}"]:checked`);
      return checked ? checked.value : "";
    }
    return form.elements[name].value.trim();
  }

  stop() {
    this.events.stop();
    this.info.stop();
    clearTimeout(this.idleTimer);
  }

  close() {
    this.stop();
    this.root.remove();
    this.desk.chatClosed(this);
  }
}

