// The tab's sessionStorage, which a browser may refuse to a framed page (private modes, strict
// third-party settings): then memory, so the widget still works and only a reload forgets the chat.

const memory = new Map();

function session() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

export const storage = {
  get(key) {
    try {
      const value = session()?.getItem(key);
      if (value !== null && value !== undefined) return value;
    } catch {
      // refused: fall through to memory
    }
    return memory.has(key) ? memory.get(key) : null;
  },
  set(key, value) {
    memory.set(key, value);
    try {
      session()?.setItem(key, value);
    } catch {
      // refused or full: memory has it
    }
  },
  remove(key) {
    memory.delete(key);
    try {
      session()?.removeItem(key);
    } catch {
      // refused: nothing stored there
    }
  },
};
