// Following a resource: long-poll (`wait=`) when the server holds requests, 2 s polling when it
// does not. A poll that found nothing and came back at once tells us the server does not hold;
// the loop then waits out the rest of the 2 s itself, so either way nobody polls faster than that.

export const HOLD_SECONDS = 25; // under the server's 50 s cap and the ~55 s after which routers drop idle connections
export const POLL_MS = 2000;
const RETRY_MS = [1000, 2000, 5000, 10000];
export const AGAIN_LATER = "again-later";

const sleep = (ms, signal) => new Promise((resolve) => {
  const timer = setTimeout(resolve, ms);
  signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
});

export class Follower {
  // step(signal, holdSeconds) resolves true when it found news (ask again at once), false when it
  // found none, or AGAIN_LATER when the server answers at once by design (ask again in 2 s, and
  // learn nothing about whether it holds); it throws to report a failure.
  // onError(error) returns true to keep following (a network blip), false to stop (a 404).
  constructor(step, { onError = () => true, onMode = () => {} } = {}) {
    this.step = step;
    this.onError = onError;
    this.onMode = onMode;
    this.controller = null;
    this.mode = null;
  }

  start() {
    if (this.controller) return;
    this.controller = new AbortController();
    this.run(this.controller.signal);
  }

  stop() {
    if (this.controller) this.controller.abort();
    this.controller = null;
  }

  setMode(mode) {
    if (mode !== this.mode) {
      this.mode = mode;
      this.onMode(mode);
    }
  }

  async run(signal) {
    let failures = 0;
    while (!signal.aborted) {
      const started = performance.now();
      // Still unanswered well past a plain poll's time: the server holds requests.
      const held = setTimeout(() => this.setMode("push"), POLL_MS);
      let news;
      try {
        news = await this.step(signal, HOLD_SECONDS);
        failures = 0;
      } catch (error) {
        clearTimeout(held);
        if (signal.aborted) return;
        if (!this.onError(error)) {
          this.stop();
          return;
        }
        await sleep(RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)], signal);
        continue;
      }
      clearTimeout(held);
      const took = performance.now() - started;
      if (news === AGAIN_LATER) {
        await sleep(POLL_MS - took, signal);
      } else if (!news) {
        if (took < POLL_MS * 0.75) {
          this.setMode("polling");
          await sleep(POLL_MS - took, signal);
        } else {
          this.setMode("push");
        }
      }
    }
  }
}

// A task repeated every `ms` while started (the parts of the API that nothing pushes: typing, queues).
export class Repeater {
  constructor(task, ms) {
    this.task = task;
    this.ms = ms;
    this.timer = null;
    this.busy = false;
  }

  start() {
    if (this.timer !== null) return;
    this.now();
    this.timer = setInterval(() => this.now(), this.ms);
  }

  async now() {
    if (this.busy) return;
    this.busy = true;
    try { await this.task(); } catch { /* the next tick tries again */ } finally { this.busy = false; }
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }
}
