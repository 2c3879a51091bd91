// The visitor's lines on their way: sent one at a time, in order, each with its own
// Idempotency-Key, and retried with that same key until the server answers. A retry after a lost
// answer therefore appends nothing twice. Waiting lines are kept in the tab's sessionStorage with
// the chat, so a reload while the network is down sends them afterwards.

import { isNetworkFailure, newKey } from "./api.js";
import { storage } from "./storage.js";

const RETRY_MAX_MS = 8000;

function waitingLines(saved) {
  try {
    const lines = JSON.parse(saved || "[]");
    return Array.isArray(lines) ? lines.filter((l) => l && typeof l.key === "string" && typeof l.text === "string") : [];
  } catch {
    return []; // not ours, or damaged: nothing to send
  }
}

export class Outbox {
  constructor(api, chatUri, storageKey, { onSent, onFailed, onTrouble }) {
    this.api = api;
    this.chatUri = chatUri;
    this.storageKey = storageKey;
    this.onSent = onSent;
    this.onFailed = onFailed;
    this.onTrouble = onTrouble;
    this.queue = waitingLines(storage.get(storageKey));
    this.busy = false;
    this.timer = null;
    this.failures = 0;
    this.online = () => this.flush(true);
    window.addEventListener("online", this.online);
  }

  get waiting() {
    return this.queue.slice();
  }

  add(text) {
    const line = { key: newKey(), text };
    this.queue.push(line);
    this.save();
    this.flush(false);
    return line;
  }

  save() {
    if (this.queue.length) storage.set(this.storageKey, JSON.stringify(this.queue));
    else storage.remove(this.storageKey);
  }

  stop() {
    clearTimeout(this.timer);
    window.removeEventListener("online", this.online);
  }

  async flush(now) {
    if (now) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.busy || this.timer) return;
    this.busy = true;
    try {
      while (this.queue.length) {
        const line = this.queue[0];
        let sent;
        try {
          sent = await this.api.call("POST", `${this.chatUri}/events`,
            { body: { event: { "@type": "line", text: line.text } }, key: line.key });
        } catch (error) {
          if (!isNetworkFailure(error)) {
            this.queue.shift(); // refused for good (the chat ended, say): not retried
            this.save();
            this.onFailed(line, error);
            continue;
          }
          this.failures += 1;
          this.onTrouble(true);
          this.timer = setTimeout(() => {
            this.timer = null;
            this.flush(false);
          }, Math.min(1000 * 2 ** (this.failures - 1), RETRY_MAX_MS));
          return;
        }
        this.queue.shift();
        this.save();
        if (this.failures) {
          this.failures = 0;
          this.onTrouble(false);
        }
        const id = sent.location ? Number(sent.location.split("/").pop()) : NaN;
        this.onSent(line, id);
      }
    } finally {
      this.busy = false;
    }
  }
}
