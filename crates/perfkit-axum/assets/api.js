// Talking to perfkit's JSON API and its live stream.
//
// The admin token lives in this tab's sessionStorage only: never localStorage, never a URL.
// The WebSocket cannot carry an Authorization header, so it is opened with a single-use
// ticket obtained with the token (POST /api/performance/stream/ticket).

// The router may be mounted under a prefix of the host's (`/ops`): the page names it.
const MOUNT = document.querySelector('meta[name="perfkit-mount"]')?.content ?? "";
// Where the API is under the mount (the router's apiPrefix): the page names it too.
const API = document.querySelector('meta[name="perfkit-api"]')?.content ?? "/api/performance";
const BASE = `${MOUNT}${API}`;
const TOKEN_KEY = "perfkit.adminToken";

/** An answer of the API: status, ok, and the JSON body (or null). */
export class Answer {
  constructor(status, body) {
    this.status = status;
    this.ok = status >= 200 && status < 300;
    this.body = body;
  }

  /** The server's words for a failure: "401 unauthorized: missing or invalid ...". */
  describe() {
    if (this.ok) return `${this.status} OK`;
    const error = this.body && this.body.error;
    if (error) return `${this.status} ${error.code}: ${error.message}`;
    return this.status === 0 ? "the server could not be reached" : `${this.status} error`;
  }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  forget: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** Asks the person for the token; resolved with it, or null when they cancel. */
let askForToken = async () => null;
export function onTokenNeeded(ask) {
  askForToken = ask;
}

async function send(method, path, body) {
  const headers = { Accept: "application/json" };
  const stored = token.get();
  if (stored) headers.Authorization = `Bearer ${stored}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  try {
    const response = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "same-origin",
    });
    const type = response.headers.get("Content-Type") || "";
    const parsed = type.startsWith("application/json") ? await response.json().catch(() => null) : null;
    return new Answer(response.status, parsed);
  } catch {
    return new Answer(0, null);
  }
}

/** A read. Where reads are protected, a 401 asks for the token once and tries again. */
export async function read(path) {
  const sentWith = token.get();
  const answer = await send("GET", path);
  if (answer.status !== 401) return answer;
  // Another request may have been given a token meanwhile; otherwise ask for one.
  if (token.get() === sentWith) {
    token.forget();
    const given = await askForToken("Reads on this server are protected: enter the token.");
    if (!given) return answer;
    token.set(given);
  }
  return send("GET", path);
}

/** An admin action: asks for the token if the tab has none; a 401 forgets it. */
export async function admin(method, path, body) {
  if (!token.get()) {
    const given = await askForToken("This action needs the admin token.");
    if (!given) return new Answer(401, { error: { code: "unauthorized", message: "no token given; nothing was sent" } });
    token.set(given);
  }
  const answer = await send(method, path, body);
  if (answer.status === 401) token.forget();
  return answer;
}

/** Backoff before reconnect attempt `n` (0-based): 1 s doubling to 30 s, with jitter. */
export function backoff(attempt) {
  const base = Math.min(30000, 1000 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

/**
 * The live stream: start, stop, reconnect with backoff. `onEvent` gets each parsed message;
 * `onState` gets "connecting" | "live" | "offline" | "paused" and, when offline, the delay.
 */
export class LiveStream {
  constructor(onEvent, onState) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.socket = null;
    this.retry = null;
    this.attempt = 0;
    this.running = false;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.attempt = 0;
    this.connect();
  }

  stop() {
    this.running = false;
    clearTimeout(this.retry);
    this.retry = null;
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.close(1000, "monitoring stopped");
    }
    this.onState("paused");
  }

  async connect() {
    if (!this.running) return;
    this.onState("connecting");
    const ticket = await send("POST", "/stream/ticket");
    if (!this.running) return;
    if (!ticket.ok) {
      if (ticket.status === 401) await read("/summary"); // asks for the token, once
      this.scheduleRetry();
      return;
    }
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${scheme}//${location.host}${BASE}/stream?ticket=${encodeURIComponent(ticket.body.ticket)}`;
    let socket;
    try {
      socket = new WebSocket(url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (this.socket !== socket) return;
      this.attempt = 0;
      this.onState("live");
    });
    socket.addEventListener("message", (message) => {
      if (this.socket !== socket) return;
      try {
        this.onEvent(JSON.parse(message.data));
      } catch {
        // A message we cannot read is skipped; the next snapshot brings everything again.
      }
    });
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.scheduleRetry();
    });
  }

  scheduleRetry() {
    if (!this.running) return;
    const delay = backoff(this.attempt);
    this.attempt += 1;
    this.onState("offline", delay);
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.connect(), delay);
  }
}
