// What comes from the chat: its events, each exactly once and in order, from a cursor (``from=N``),
// and its info (state, agent, typing, queue place).
//
// Events come over the push extension when the server offers it (an event stream on the events
// resource); info, which changes without events (typing, queue place), is read every 2 s. A server
// without event streams gets the plain API: the chat resource (events + info) polled every 2 s.
// After a network loss either way resumes from the cursor; an event already seen is skipped, so a
// stream and a poll that overlap never show a line twice.

import { ApiError } from "./api.js";
import { many } from "./survey.js";

export const POLL_MS = 2000; // the interval LivePerson's own SDK polls at
const RETRY_MAX_MS = 10000;

export class Feed {
  constructor(api, chatUri, cursor, { onEvents, onInfo, onTrouble, onGone }) {
    this.api = api;
    this.chatUri = chatUri;
    this.cursor = cursor;
    this.onEvents = onEvents;
    this.onInfo = onInfo;
    this.onTrouble = onTrouble;
    this.onGone = onGone;
    this.stream = null;
    this.streamed = false; // the server answered an event stream at least once
    this.polling = !("EventSource" in window);
    this.timer = null;
    this.stopped = false;
    this.ended = false;
    this.failures = 0;
    this.online = () => this.reconnect();
    // A stream over a lost network can look open yet be dead: drop it, and start a new one from
    // the cursor when the network is back.
    this.offline = () => this.closeStream();
  }

  start() {
    window.addEventListener("online", this.online);
    window.addEventListener("offline", this.offline);
    if (!this.polling) this.openStream();
    this.schedule(0);
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.online);
    window.removeEventListener("offline", this.offline);
    clearTimeout(this.timer);
    this.closeStream();
  }

  // Events in order from the cursor; anything before it was delivered already.
  deliver(events) {
    const fresh = events.filter((event) => Number(event["@id"]) >= this.cursor);
    if (!fresh.length) return;
    this.cursor = Number(fresh[fresh.length - 1]["@id"]) + 1;
    this.onEvents(fresh);
    if (fresh.some((e) => e["@type"] === "state" && e.state === "ended")) this.closeStream();
    // A new state changes the info too (agent, queue place): read it now, not at the next tick.
    if (!this.polling && fresh.some((e) => e["@type"] === "state")) this.schedule(0);
  }

  openStream() {
    this.closeStream();
    const source = new EventSource(this.api.url(`${this.chatUri}/events`, { from: this.cursor }));
    this.stream = source;
    source.onopen = () => {
      this.streamed = true;
      document.documentElement.dataset.transport = "stream"; // which way events come, for a look in dev tools
    };
    source.onmessage = (message) => {
      let event;
      try {
        event = JSON.parse(message.data).event;
      } catch {
        return;
      }
      if (event) this.deliver([event]);
    };
    source.onerror = () => {
      if (source.readyState !== EventSource.CLOSED || this.stream !== source) return; // it retries itself
      this.stream = null;
      if (!this.streamed) {
        this.polling = true; // no event stream here (not offered, or refused): the plain API
        document.documentElement.dataset.transport = "poll";
        this.schedule(0);
      } else if (!this.stopped && !this.ended) {
        this.timer = setTimeout(() => this.openStream(), POLL_MS);
      }
    };
  }

  closeStream() {
    if (this.stream) {
      this.stream.close();
      this.stream = null;
    }
  }

  // The network is back (or a read succeeded after failures): a stream that was cut may look open
  // but be dead, so start a new one from the cursor, and read now.
  reconnect() {
    if (this.stopped) return;
    if (!this.polling && !this.ended) this.openStream();
    this.schedule(0);
  }

  schedule(delay) {
    clearTimeout(this.timer);
    if (!this.stopped) this.timer = setTimeout(() => this.tick(), delay);
  }

  async tick() {
    try {
      if (this.polling) {
        const { body } = await this.api.get(this.chatUri, { from: this.cursor });
        const chat = body.chat;
        this.deliver(many(chat.events && chat.events.event));
        this.inform(chat.info);
      } else {
        const { body } = await this.api.get(`${this.chatUri}/info`);
        if (body.info && body.info.state === "ended" && !this.ended) {
          // The end may beat the stream here: read the last events plainly before stopping.
          const { body: last } = await this.api.get(`${this.chatUri}/events`, { from: this.cursor });
          this.deliver(many(last.events && last.events.event));
          this.closeStream();
        }
        this.inform(body.info);
      }
      if (this.failures) {
        this.failures = 0;
        this.onTrouble(false);
        if (!this.polling) this.reconnect(); // catches up at once through a fresh stream
        return;
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this.stop();
        this.onGone();
        return;
      }
      this.failures += 1;
      this.onTrouble(true);
      this.schedule(Math.min(POLL_MS * this.failures, RETRY_MAX_MS));
      return;
    }
    if (!this.ended) this.schedule(POLL_MS);
  }

  inform(info) {
    if (!info) return;
    if (info.state === "ended") this.ended = true;
    this.onInfo(info);
  }
}
