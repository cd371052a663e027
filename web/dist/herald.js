// src/herald/backoff.ts
var DEFAULT_BACKOFF = { initialMs: 250, maxMs: 3e4 };
function backoffDelay(b, attempt, r = Math.random()) {
  const initial = b.initialMs > 0 ? b.initialMs : DEFAULT_BACKOFF.initialMs;
  const most = Math.max(b.maxMs > 0 ? b.maxMs : DEFAULT_BACKOFF.maxMs, initial);
  let step = initial;
  for (let i = 0; i < attempt && step < most; i++) step *= 2;
  step = Math.min(step, most);
  const half = step / 2;
  return Math.round(half + r * (step - half));
}

// src/herald/clock.ts
var MAX_TIMER_MS = 2 ** 31 - 1;
var systemClock = {
  now: () => Date.now(),
  after(ms, fn) {
    const h = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    return () => clearTimeout(h);
  }
};
function sleep(clock, ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const cancel = clock.after(ms, done);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      cancel();
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

// src/herald/jwt.ts
function peekToken(token) {
  const parts = token.split(".");
  if (parts.length !== 3) return { sub: "", exp: null };
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
    const bin = atob(b64 + "=".repeat((4 - b64.length % 4) % 4));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    const sub = typeof claims.sub === "string" ? claims.sub : "";
    const exp = typeof claims.exp === "number" && claims.exp > 0 && claims.exp < 1e11 ? claims.exp * 1e3 : null;
    return { sub, exp };
  } catch {
    return { sub: "", exp: null };
  }
}

// src/herald/credential.ts
function isRefreshing(c) {
  return !!c && typeof c.refresh === "function" && typeof c.onRefresh === "function";
}
var StaticToken = class {
  constructor(value) {
    this.value = value;
  }
  value;
  token() {
    return Promise.resolve(this.value);
  }
};
var DEFAULT_REFRESH_BEFORE_MS = 10 * 6e4;
var MIN_REFRESH_RETRY_MS = 1e3;
var EXPIRY_MARGIN_MS = 5e3;
var TokenCredential = class {
  /**
   * initial may be "" (the first token() then calls refresher). Without a
   * refresher the credential never refreshes: token() returns initial even
   * after it expired and lets the server refuse it.
   */
  constructor(initial, refresher, opts = {}) {
    this.refresher = refresher;
    this.clock = opts.clock ?? systemClock;
    this.before = opts.refreshBeforeMs ?? DEFAULT_REFRESH_BEFORE_MS;
    this.current = initial;
    this.exp = initial ? peekToken(initial).exp : null;
    this.got = this.clock.now();
    this.plan();
  }
  refresher;
  current;
  exp;
  got;
  flight = null;
  subs = /* @__PURE__ */ new Set();
  abort = new AbortController();
  cancelTimer = null;
  retryAt = 0;
  // after a failed proactive refresh: when to try again
  closed = false;
  before;
  clock;
  /** token returns the current token, refreshing it first if it is empty, expired or about to expire. */
  async token() {
    if (this.closed) throw new Error("herald: the credential is closed");
    const now = this.clock.now();
    if (!this.refresher || this.current && (this.exp === null || now < this.exp - EXPIRY_MARGIN_MS)) {
      return this.current;
    }
    return this.refresh();
  }
  /** refresh calls the refresher now; concurrent callers and the proactive refresh share one call. */
  refresh() {
    if (this.closed) return Promise.reject(new Error("herald: the credential is closed"));
    if (!this.refresher) return Promise.reject(new Error("herald: the credential has no refresher"));
    this.flight ??= this.run(this.refresher).finally(() => {
      this.flight = null;
    });
    return this.flight;
  }
  async run(refresher) {
    let tok;
    try {
      tok = await refresher(this.abort.signal);
    } catch (err) {
      throw new Error(`herald: refresh access token: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (!tok) throw new Error("herald: refresh access token: the refresher returned an empty token");
    const now = this.clock.now();
    const { exp } = peekToken(tok);
    if (exp !== null && now >= exp) {
      throw new Error(`herald: refresh access token: the refresher returned a token that expired at ${new Date(exp).toISOString()}`);
    }
    if (this.closed) throw new Error("herald: the credential is closed");
    this.current = tok;
    this.exp = exp;
    this.got = now;
    this.retryAt = 0;
    for (const fn of [...this.subs]) fn(tok);
    this.plan();
    return tok;
  }
  /** plan sets the timer of the next proactive refresh, if there is one to make. */
  plan() {
    this.cancelTimer?.();
    this.cancelTimer = null;
    if (this.closed || !this.refresher || this.before <= 0) return;
    const at = this.nextRefresh();
    if (at === null) return;
    this.cancelTimer = this.clock.after(at - this.clock.now(), () => {
      this.cancelTimer = null;
      this.refresh().then(
        () => {
        },
        () => {
          if (this.closed) return;
          const now = this.clock.now();
          const left = (this.exp ?? now) - now;
          this.retryAt = now + Math.max(left / 2, MIN_REFRESH_RETRY_MS);
          this.plan();
        }
      );
    });
  }
  /**
   * nextRefresh says when to refresh next: at retryAt after a failure, else
   * refreshBeforeMs ahead of expiry but not before half the lifetime since
   * the token was obtained; null when the expiry is unknown or past.
   */
  nextRefresh() {
    const now = this.clock.now();
    if (this.exp === null || now >= this.exp) return null;
    if (this.retryAt) return this.retryAt;
    return Math.max(this.exp - this.before, this.got + (this.exp - this.got) / 2);
  }
  onRefresh(fn) {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }
  expiresOn() {
    return this.exp;
  }
  /** close stops the proactive refresh and cancels a refresh in progress; token() and refresh() fail after it. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.subs.clear();
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.abort.abort();
  }
};

// src/herald/cursors.ts
var MemoryCursors = class {
  state = { cursors: {}, ended: {} };
  load() {
    return { cursors: { ...this.state.cursors }, ended: { ...this.state.ended } };
  }
  save(threadId, seq) {
    this.state.cursors[threadId] = seq;
    delete this.state.ended[threadId];
    this.persist();
  }
  drop(threadId, endedAt) {
    delete this.state.cursors[threadId];
    if (endedAt !== void 0) this.state.ended[threadId] = endedAt;
    else delete this.state.ended[threadId];
    this.persist();
  }
  persist() {
  }
};
var LocalStorageCursors = class extends MemoryCursors {
  constructor(key, storage = globalThis.localStorage) {
    super();
    this.key = key;
    this.storage = storage;
    const raw = storage.getItem(key);
    if (raw) {
      try {
        const v = JSON.parse(raw);
        this.state = { cursors: numbers(v.cursors), ended: numbers(v.ended) };
      } catch {
        storage.removeItem(key);
      }
    }
  }
  key;
  storage;
  persist() {
    this.storage.setItem(this.key, JSON.stringify(this.state));
  }
  /** clear forgets every cursor (on sign-out). */
  clear() {
    this.state = { cursors: {}, ended: {} };
    this.storage.removeItem(this.key);
  }
};
function cursorKey(baseUrl, userId) {
  return `herald.cursors:${baseUrl}:${userId}`;
}
function numbers(v) {
  const out = {};
  if (v && typeof v === "object") {
    for (const [k, n] of Object.entries(v)) if (typeof n === "number" && Number.isFinite(n) && n >= 0) out[k] = n;
  }
  return out;
}

// src/herald/errors.ts
var Mitigations = {
  token_missing: "send Authorization: Bearer <access token>",
  token_invalid: "use a token this server issued (POST /identities/{userId}/:issueAccessToken), unmodified",
  token_expired: "refresh it before expiry (a TokenCredential with a refresher does, 10 minutes ahead)",
  token_revoked: "the user's tokens were revoked: sign the user in again with a new token",
  identity_deleted: "the identity was deleted and cannot act again: create a new one",
  admin_key_invalid: "use the server's admin key (HERALD_ADMIN_KEY, or <data>/admin.key)",
  scope_insufficient: "use a token with scope chat (or chat.join) for this operation",
  not_participant: "the user was removed from the thread: drop it locally, or ask a participant to add them again",
  thread_deleted: "the thread was deleted: drop it locally",
  thread_not_found: "check the thread id: the user is not (and never was) a participant",
  message_not_found: "check the message id; it may predate the user's shareHistoryTime",
  participant_not_found: "the user is not a current participant",
  not_sender: "only the sender can edit or delete a message",
  message_deleted: "the message was deleted; it cannot be edited",
  system_message_immutable: "system messages cannot be edited or deleted",
  origin_not_allowed: "serve the page from the Herald server's origin, or start it with --allowed-origins <this origin>",
  ticket_invalid: "get a new ticket (POST /realtime/tickets) right before opening the connection",
  connection_not_found: "the connection is gone on the server: open a new one (the client does, and resumes)",
  rate_limited: "send less often; retry after the Retry-After delay",
  store_unavailable: "the server's database is busy: retry shortly",
  internal_error: "a server bug: see the server log for the request id",
  route_not_found: "check the server URL and version (this operation does not exist there)",
  idempotency_key_reused: "use a new clientMessageId / repeatability-request-id for a different request",
  empty_message: "send some text",
  message_too_large: "send at most 28672 bytes of content",
  heartbeat_timeout: "nothing was heard for too long; the client reconnects and resumes",
  abnormal_closure: "the network dropped the connection; the client reconnects and resumes",
  slow_consumer: "the client did not read fast enough; it reconnects and resumes — keep handlers quick",
  going_away: "the server restarted; the client reconnects and resumes",
  network_offline: "the browser is offline; the client reconnects and resumes when the network returns",
  token_unavailable: "the credential could not supply a token: check its refresher",
  unsupported_version: "upgrade the client to the server's protocol version",
  protocol_error: "a client bug: the server refused a frame"
};
function mitigationFor(reason) {
  return reason && Mitigations[reason] || "";
}
var HeraldError = class _HeraldError extends Error {
  name = "HeraldError";
  code;
  reason;
  target;
  status;
  requestId;
  retryAfterMs;
  /** detail is the server's message, for people. */
  detail;
  constructor(init) {
    const status = init.status ?? 0;
    const head = [status ? String(status) : "", init.reason || init.code].filter(Boolean).join(" ");
    super(`${head}: ${init.message}`, init.cause === void 0 ? void 0 : { cause: init.cause });
    this.code = init.code;
    this.reason = init.reason ?? "";
    this.target = init.target ?? "";
    this.status = status;
    this.requestId = init.requestId ?? "";
    this.retryAfterMs = init.retryAfterMs ?? 0;
    this.detail = init.message;
  }
  /** mitigation is what to do about it, or "". */
  get mitigation() {
    return mitigationFor(this.reason);
  }
  /** fromBody rebuilds the error of a frame's error body. */
  static fromBody(b, status = 0) {
    return new _HeraldError({ code: b.code, reason: b.reason, message: b.message, target: b.target, status });
  }
};
var CloseError = class extends Error {
  constructor(code, reason) {
    super(`closed with ${code} ${reason}`);
    this.code = code;
    this.reason = reason;
  }
  code;
  reason;
  name = "CloseError";
};
function errorReason(err) {
  return err instanceof HeraldError ? err.reason : "";
}
function errorCode(err) {
  return err instanceof HeraldError ? err.code : "";
}
function describe(err) {
  if (err instanceof HeraldError) {
    const m = err.mitigation;
    return m ? `${err.message}; ${m}` : err.message;
  }
  if (err instanceof CloseError) {
    const m = mitigationFor(err.reason);
    return m ? `${err.message}; ${m}` : err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
function statusCode(status) {
  switch (status) {
    case 400:
      return "invalid";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 409:
      return "conflict";
    case 413:
      return "too_large";
    case 415:
      return "unsupported_media";
    case 429:
      return "rate_limited";
    case 503:
      return "unavailable";
  }
  return "internal";
}
function retryAfterMs(v, now = Date.now()) {
  if (!v) return 0;
  v = v.trim();
  if (/^\d+$/.test(v)) {
    const s = Number(v);
    return s > 0 && Number.isFinite(s) ? s * 1e3 : 0;
  }
  const t = Date.parse(v);
  return Number.isNaN(t) || t <= now ? 0 : t - now;
}
function responseError(status, headers, body) {
  const base = {
    status,
    requestId: headers.get("x-request-id") ?? "",
    retryAfterMs: retryAfterMs(headers.get("retry-after"))
  };
  try {
    const parsed = JSON.parse(body);
    const e = parsed?.error;
    if (e && (e.code || e.message)) {
      return new HeraldError({
        ...base,
        code: e.code || statusCode(status),
        reason: e.reason,
        message: e.message || `the server answered ${status}`,
        target: e.target
      });
    }
  } catch {
  }
  return new HeraldError({ ...base, code: statusCode(status), message: `the server answered ${status} without an error body` });
}

// src/herald/transports.ts
var TransportBlockedError = class extends CloseError {
  name = "TransportBlockedError";
};
var MalformedFrameError = class extends Error {
  name = "MalformedFrameError";
};
var FrameQueue = class {
  frames = [];
  waiter = null;
  failure = null;
  failed = false;
  push(f) {
    if (this.failed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve(f);
    } else this.frames.push(f);
  }
  /** fail ends the queue: frames already queued are still delivered, then recv rejects with err. */
  fail(err) {
    if (this.failed) return;
    this.failed = true;
    this.failure = err;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(err);
    }
  }
  get ended() {
    return this.failed;
  }
  recv() {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    if (this.failed) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }
};
function parseFrame(text) {
  let f;
  try {
    f = JSON.parse(text);
  } catch {
    throw new MalformedFrameError(`herald: malformed frame from the server: ${text.slice(0, 80)}`);
  }
  if (!f || typeof f !== "object" || typeof f.type !== "string") {
    throw new MalformedFrameError(`herald: malformed frame from the server: ${text.slice(0, 80)}`);
  }
  return f;
}
function webSocketDialer(ctor) {
  return async (ctx) => {
    const WS = ctor ?? globalThis.WebSocket;
    if (!WS) throw new CloseError(1006, "websocket_unavailable");
    const t = await ctx.conn.json({ method: "POST", path: "/realtime/tickets", token: ctx.token });
    const url = ctx.conn.url({ path: "/realtime/ws", query: { ticket: t.ticket } }).replace(/^http/, "ws");
    const ws = new WS(url);
    const q = new FrameQueue();
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.close();
        reject(new TransportBlockedError(1006, "websocket_timeout"));
      }, ctx.timeoutMs);
      ws.onopen = () => {
        clearTimeout(timer);
        resolve();
      };
      ws.onclose = (ev) => {
        clearTimeout(timer);
        reject(new TransportBlockedError(ev.code === 1005 || !ev.code ? 1006 : ev.code, ev.reason || "websocket_failed"));
      };
      ws.onerror = () => {
      };
    });
    ws.onmessage = (ev) => {
      if (typeof ev.data !== "string") {
        q.fail(new MalformedFrameError("herald: a binary frame from the server"));
        ws.close(1003);
        return;
      }
      try {
        q.push(parseFrame(ev.data));
      } catch (err) {
        q.fail(err);
        ws.close(1007);
      }
    };
    ws.onclose = (ev) => {
      const code = ev.code === 1005 || !ev.code ? 1006 : ev.code;
      q.fail(new CloseError(code, ev.reason || (code === 1006 ? "abnormal_closure" : "")));
    };
    ws.send(JSON.stringify(ctx.hello));
    return {
      transport: "websocket",
      recv: () => q.recv(),
      send(f) {
        if (ws.readyState !== 1) return Promise.reject(new CloseError(1006, "abnormal_closure"));
        ws.send(JSON.stringify(f));
        return Promise.resolve();
      },
      close(code, reason) {
        try {
          if (code && (code === 1e3 || code >= 3e3 && code <= 4999)) ws.close(code, reason);
          else ws.close();
        } catch {
          ws.close();
        }
        q.fail(new CloseError(code || 1006, reason || "client_closed"));
      }
    };
  };
}
var HttpLink = class {
  constructor(ctx) {
    this.ctx = ctx;
  }
  ctx;
  q = new FrameQueue();
  abort = new AbortController();
  id = "";
  key = "";
  recv() {
    return this.q.recv();
  }
  /** take queues a frame from the server and learns the connection from welcome. */
  take(f) {
    if (f.type === "welcome") {
      this.id = f.connectionId ?? "";
      this.key = f.connectionKey ?? "";
    }
    this.q.push(f);
    if (f.type === "close") this.end(new CloseError(f.code ?? 1006, f.reason ?? ""));
  }
  end(err) {
    this.q.fail(err);
    this.abort.abort();
  }
  async send(f) {
    if (this.q.ended || !this.id) throw new CloseError(1006, "abnormal_closure");
    await this.ctx.conn.send({
      method: "POST",
      path: `/realtime/connections/${encodeURIComponent(this.id)}/frames`,
      body: f,
      headers: { "X-Herald-Connection-Key": this.key },
      token: "",
      signal: this.abort.signal
    });
  }
  close(code, reason) {
    this.end(new CloseError(code || 1006, reason || "client_closed"));
  }
};
function networkError(err) {
  if (err instanceof HeraldError || err instanceof CloseError || err instanceof MalformedFrameError) return err;
  return new CloseError(1006, "abnormal_closure");
}
var SseLink = class extends HttpLink {
  transport = "sse";
  async open() {
    const timer = setTimeout(() => this.abort.abort(), this.ctx.timeoutMs);
    let resp;
    try {
      resp = await this.ctx.conn.send({
        method: "POST",
        path: "/realtime/sse",
        body: this.ctx.hello,
        headers: { Accept: "text/event-stream" },
        token: this.ctx.token,
        signal: this.abort.signal
      });
    } catch (err) {
      throw networkError(err);
    } finally {
      clearTimeout(timer);
    }
    if (!resp.body) throw new CloseError(1006, "sse_unavailable");
    void this.read(resp.body.getReader());
  }
  async read(reader) {
    const dec = new TextDecoder();
    let buf = "";
    try {
      for (; ; ) {
        const { done, value } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let at;
        while ((at = buf.indexOf("\n\n")) >= 0) {
          const event = buf.slice(0, at);
          buf = buf.slice(at + 2);
          const data = event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).replace(/^ /, "")).join("\n");
          if (data) this.take(parseFrame(data));
          else this.ctx.alive();
        }
      }
      this.end(new CloseError(1006, "abnormal_closure"));
    } catch (err) {
      this.end(networkError(err));
    }
  }
};
var sseDialer = async (ctx) => {
  const l = new SseLink(ctx);
  await l.open();
  return l;
};
var LongPollLink = class extends HttpLink {
  transport = "longpoll";
  async open() {
    const timer = setTimeout(() => this.abort.abort(), this.ctx.timeoutMs);
    let frames;
    try {
      frames = await this.ctx.conn.json({
        method: "POST",
        path: "/realtime/longpoll",
        body: this.ctx.hello,
        token: this.ctx.token,
        signal: this.abort.signal
      });
    } catch (err) {
      throw networkError(err);
    } finally {
      clearTimeout(timer);
    }
    for (const f of frames ?? []) this.take(f);
    void this.poll();
  }
  async poll() {
    while (!this.q.ended) {
      try {
        const frames = await this.ctx.conn.json({
          method: "GET",
          path: `/realtime/longpoll/${encodeURIComponent(this.id)}`,
          headers: { "X-Herald-Connection-Key": this.key },
          token: "",
          signal: this.abort.signal
        });
        if (!frames?.length) this.ctx.alive();
        for (const f of frames ?? []) this.take(f);
      } catch (err) {
        if (err instanceof HeraldError && err.reason === "connection_not_found") this.end(new CloseError(1006, "connection_lost"));
        else this.end(networkError(err));
      }
    }
  }
};
var longPollDialer = async (ctx) => {
  const l = new LongPollLink(ctx);
  await l.open();
  return l;
};
function defaultDialers() {
  return { websocket: webSocketDialer(), sse: sseDialer, longpoll: longPollDialer };
}

// src/herald/session.ts
var DEFAULT_HEARTBEAT_MS = 25e3;
var ACK_BATCH = 100;
var ACK_DELAY_MS = 50;
var Mailbox = class {
  items = [];
  waiter = null;
  put(m) {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(m);
    } else this.items.push(m);
  }
  take() {
    const m = this.items.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve) => this.waiter = resolve);
  }
};
var Session = class {
  constructor(r, token, resume) {
    this.r = r;
    this.token = token;
    this.resume = resume;
    this.lastHeard = r.clock.now();
  }
  r;
  token;
  resume;
  box = new Mailbox();
  link = null;
  lastHeard;
  connectionId = "";
  caughtUp = false;
  cancelAck = null;
  cancelTick = null;
  heard() {
    this.lastHeard = this.r.clock.now();
  }
  stop() {
    this.box.put({ kind: "stop" });
  }
  offline() {
    this.box.put({ kind: "offline" });
  }
  tokenOffered() {
    this.box.put({ kind: "token" });
  }
  async read(link) {
    for (; ; ) {
      let f;
      try {
        f = await link.recv();
      } catch (err) {
        this.box.put({ kind: "end", err });
        return;
      }
      this.heard();
      if (f.type === "ping") {
        link.send({ type: "pong" }).catch(() => {
        });
        continue;
      }
      this.box.put({ kind: "frame", f });
    }
  }
  /** run processes the connection's frames until it ends. */
  async run(link) {
    this.link = link;
    void this.read(link);
    let openedAt = 0;
    try {
      const cancelWelcome = this.r.clock.after(this.r.openTimeoutMs, () => this.box.put({ kind: "welcomeTimeout" }));
      const first = await this.welcome();
      cancelWelcome();
      if ("ending" in first) return first.ending;
      openedAt = this.r.clock.now();
      const { heartbeatMs, timeoutMs } = first;
      const flushed = await this.flush();
      if (flushed) return { ...flushed, openedAt };
      if (this.r.offered) this.tokenOffered();
      this.arm(heartbeatMs);
      for (; ; ) {
        const m = await this.box.take();
        let end = null;
        switch (m.kind) {
          case "frame":
            end = await this.handle(m.f);
            break;
          case "end":
            end = lost(m.err);
            break;
          case "tick":
            if (this.r.clock.now() - this.lastHeard >= timeoutMs) {
              link.close(4001, "heartbeat_timeout");
              end = { code: 4001, reason: "heartbeat_timeout", err: new CloseError(4001, "heartbeat_timeout"), openedAt: 0 };
              break;
            }
            try {
              await link.send({ type: "ping" });
            } catch (err) {
              end = lost(err);
              break;
            }
            this.arm(heartbeatMs);
            break;
          case "ack":
            this.cancelAck = null;
            end = await this.flush();
            break;
          case "token":
            end = await this.refresh();
            break;
          case "stop":
            await this.flush();
            link.close(1e3, "client_closed");
            end = { code: 1e3, reason: "client_closed", openedAt: 0 };
            break;
          case "offline":
            link.close(4e3, "network_offline");
            end = { code: 1006, reason: "network_offline", err: new CloseError(1006, "network_offline"), openedAt: 0 };
            break;
        }
        if (end) return { ...end, openedAt };
      }
    } finally {
      this.cancelAck?.();
      this.cancelTick?.();
      link.close(1e3, "client_closed");
    }
  }
  arm(heartbeatMs) {
    this.cancelTick = this.r.clock.after(heartbeatMs, () => this.box.put({ kind: "tick" }));
  }
  /** welcome waits for the server's answer to hello and applies it. */
  async welcome() {
    const r = this.r;
    for (; ; ) {
      const m = await this.box.take();
      switch (m.kind) {
        case "frame":
          break;
        case "end":
          return { ending: lost(m.err) };
        case "welcomeTimeout":
          this.link.close(4001, "heartbeat_timeout");
          return { ending: { code: 4001, reason: "heartbeat_timeout", err: new CloseError(4001, "no welcome"), openedAt: 0 } };
        case "stop":
          this.link.close(1e3, "client_closed");
          return { ending: { code: 1e3, reason: "client_closed", openedAt: 0 } };
        case "offline":
          return { ending: { code: 1006, reason: "network_offline", err: new CloseError(1006, "network_offline"), openedAt: 0 } };
        default:
          continue;
      }
      const f = m.f;
      if (f.type !== "welcome") {
        this.link.close(4100, "expected welcome");
        return {
          ending: { code: 1002, reason: "malformed_frame", err: new MalformedFrameError(`herald: the first frame is ${f.type}, not welcome`), openedAt: 0 }
        };
      }
      this.connectionId = f.connectionId ?? "";
      r.setExpiresOn(f.tokenExpiresOn);
      const failed = await this.applyWelcome(f);
      r.resumedOnce = true;
      const heartbeatMs = f.heartbeatMs && f.heartbeatMs > 0 ? f.heartbeatMs : DEFAULT_HEARTBEAT_MS;
      const timeoutMs = f.timeoutMs && f.timeoutMs > 0 ? f.timeoutMs : 2 * heartbeatMs;
      const transport = f.transport || this.link.transport;
      r.emit({ state: "connected", transport, connectionId: this.connectionId, welcome: f, resumeFailed: failed });
      r.log.info(`herald: connected via ${transport} (connection ${this.connectionId})`);
      for (const t of Object.keys(failed).sort()) r.resumeFailed(t, failed[t]);
      return { heartbeatMs, timeoutMs };
    }
  }
  /**
   * applyWelcome updates the thread set and cursors from a welcome and
   * returns the threads whose resume failed, with the reason, as the Go
   * SDK does. A thread the welcome calls ended, with nothing left to
   * replay, is dropped.
   */
  async applyWelcome(f) {
    const r = this.r;
    const failed = {};
    for (const t of Object.keys(f.threads ?? {}).sort()) {
      const tr = f.threads[t];
      if (!this.resume) {
        r.track(t);
        if (tr.to > r.cursorOf(t)) {
          try {
            await r.advance(t, tr.to);
          } catch (err) {
            r.report(err);
          }
        }
      } else if (tr.resumed) {
        r.track(t);
      } else {
        failed[t] = tr.reason ?? "";
        if (tr.reason === "thread_not_found") {
          await r.forget(t, "");
          continue;
        }
        r.track(t);
        if (tr.reason === "cursor_ahead") {
          r.setCursor(t, tr.to);
          try {
            await r.cursorStore.save(t, tr.to);
          } catch (err) {
            r.report(err);
          }
        }
      }
      if (tr.ended && r.cursorOf(t) >= tr.to) await r.forget(t, "ended");
    }
    if (this.resume && f.resumed === false && Object.keys(failed).length === 0) failed[""] = "";
    return failed;
  }
  /** handle processes one frame; it returns an ending when the connection must end. */
  async handle(f) {
    const r = this.r;
    switch (f.type) {
      case "event":
        return this.event(f);
      case "caughtUp":
        this.caughtUp = true;
        r.emit({ state: "connected", transport: this.link.transport, connectionId: this.connectionId, caughtUp: true });
        return null;
      case "tokenExpiring":
        this.expiring();
        return null;
      case "refreshed":
        r.setExpiresOn(f.expiresOn);
        r.log.info(`herald: token refreshed in-band on ${this.connectionId}; the server holds it until ${f.expiresOn}`);
        return null;
      case "error":
        if (f.error) r.report(HeraldError.fromBody(f.error));
        return null;
      case "close": {
        this.link.close();
        return { code: f.code ?? 1006, reason: f.reason ?? "", err: new CloseError(f.code ?? 1006, f.reason ?? ""), openedAt: 0 };
      }
    }
    return null;
  }
  /** event hands an event to its handlers and, for a sequenced one, dedups it, saves the cursor and schedules the ack. */
  async event(f) {
    const r = this.r;
    const ev = {
      threadId: f.threadId ?? "",
      seq: f.seq ?? 0,
      type: f.event ?? "",
      data: f.data ?? { at: "" },
      replayed: !this.caughtUp,
      connectionId: this.connectionId,
      frame: f
    };
    const handlers = r.handlers.get(ev.type) ?? [];
    if (ev.seq <= 0) {
      for (const h of handlers) {
        try {
          await h(ev);
        } catch (err) {
          r.report(new Error(`herald: handler of ${ev.type} ${ev.threadId}: ${describe(err)}`, { cause: err }));
        }
      }
      return null;
    }
    if (ev.seq <= r.cursorOf(ev.threadId)) return null;
    r.joined(ev);
    for (const h of handlers) {
      try {
        await h(ev);
      } catch (err) {
        return this.fail(ev, err);
      }
    }
    try {
      await r.advance(ev.threadId, ev.seq);
    } catch (err) {
      return this.fail(ev, err);
    }
    await r.left(ev);
    if (handlers.length === 0) return null;
    r.pending.set(ev.threadId, ev.seq);
    if (r.pending.size >= ACK_BATCH) return this.flush();
    this.cancelAck ??= r.clock.after(ACK_DELAY_MS, () => this.box.put({ kind: "ack" }));
    return null;
  }
  /** fail ends the connection after a handler or the cursor store failed, so that the event is replayed after reconnecting. */
  async fail(ev, err) {
    const e = new Error(`herald: handler of ${ev.type} ${ev.threadId} seq ${ev.seq}: ${describe(err)}`, { cause: err });
    await this.flush();
    this.link.close(1e3, "handler_failed");
    return { code: 1e3, reason: "handler_failed", err: e, openedAt: 0, handler: true };
  }
  /** flush sends the pending acknowledgements: per thread, the highest seq its handlers took. */
  async flush() {
    this.cancelAck?.();
    this.cancelAck = null;
    const r = this.r;
    if (r.pending.size === 0) return null;
    const acks = [...r.pending.keys()].sort().map((threadId) => ({ threadId, seq: r.pending.get(threadId) }));
    try {
      await this.link.send({ type: "ack", acks });
    } catch (err) {
      return lost(err);
    }
    r.pending.clear();
    return null;
  }
  /** refresh sends the newest offered token in-band, unless the connection has it already. */
  async refresh() {
    const token = this.r.offered;
    this.r.offered = "";
    if (!token || token === this.token) return null;
    try {
      await this.link.send({ type: "refresh", token });
    } catch (err) {
      return lost(err);
    }
    this.token = token;
    return null;
  }
  /** expiring answers tokenExpiring: it asks the credential for a new token; it arrives through offerToken. */
  expiring() {
    const r = this.r;
    const cred = r.client.credential;
    const current = this.token;
    void (async () => {
      try {
        const t = await cred.token();
        if (t && t !== current) return r.offerToken(t);
        if (!isRefreshing(cred)) {
          r.report(
            new HeraldError({
              code: "unauthorized",
              reason: "token_expired",
              message: `the token expires at ${r.tokenExpiresOn ? new Date(r.tokenExpiresOn).toISOString() : "soon"} and the credential cannot refresh it; the server will close the connection with 4101`
            })
          );
          return;
        }
        await cred.refresh();
      } catch (err) {
        r.report(err);
      }
    })();
  }
};
function lost(err) {
  if (err instanceof CloseError) return { code: err.code, reason: err.reason, err, openedAt: 0 };
  if (err instanceof HeraldError) return { code: 0, reason: err.reason, err, openedAt: 0 };
  if (err instanceof MalformedFrameError) return { code: 1002, reason: "malformed_frame", err, openedAt: 0 };
  return { code: 1006, reason: "abnormal_closure", err, openedAt: 0 };
}

// src/herald/wire.ts
function userIdOf(c) {
  if (!c) return "";
  return c.communicationUser?.id || c.rawId || "";
}
function identifier(id) {
  return { rawId: id, communicationUser: { id } };
}
var PROTOCOL_VERSION = 1;
var Events = {
  messageReceived: "chatMessageReceived",
  messageEdited: "chatMessageEdited",
  messageDeleted: "chatMessageDeleted",
  typing: "typingIndicatorReceived",
  readReceipt: "readReceiptReceived",
  threadCreated: "chatThreadCreated",
  threadDeleted: "chatThreadDeleted",
  threadPropertiesUpdated: "chatThreadPropertiesUpdated",
  participantsAdded: "participantsAdded",
  participantsRemoved: "participantsRemoved"
};
var Close = {
  goingAway: 4e3,
  heartbeatTimeout: 4001,
  slowConsumer: 4002,
  resync: 4003,
  protocolError: 4100,
  tokenExpired: 4101,
  tokenRevoked: 4102,
  identityDeleted: 4103,
  authTimeout: 4104,
  unsupportedVersion: 4105
};
function reconnects(c) {
  return c >= 4e3 && c < 4100 || c === 1001 || c === 1006 || c === 1011 || c === 1012 || c === 1013;
}
var EvidenceTables = [
  "ChatMessageSentEvents",
  "ChatMessageReceivedEvents",
  "Acks",
  "Requests",
  "Connections",
  "Membership",
  "ThreadLifecycle",
  "Tokens"
];

// src/herald/realtime.ts
var browserNetwork = {
  online: () => typeof navigator === "undefined" ? true : navigator.onLine !== false,
  subscribe(fn) {
    if (typeof window === "undefined") return () => {
    };
    const on = () => fn(true);
    const off = () => fn(false);
    window.addEventListener("online", on);
    window.addEventListener("offline", off);
    return () => {
      window.removeEventListener("online", on);
      window.removeEventListener("offline", off);
    };
  }
};
var STABLE_AFTER_MS = 1e4;
var silent = { info() {
}, warn() {
}, error() {
} };
var Realtime = class {
  client;
  clock;
  log;
  cursorStore;
  backoff;
  network;
  transports;
  dialers;
  openTimeoutMs;
  transportIndex = 0;
  fallbackReason = "";
  /** @internal */
  handlers = /* @__PURE__ */ new Map();
  stateFns = [];
  resumeFailedFns = [];
  errorFns = [];
  endedFns = [];
  /** @internal */
  pending = /* @__PURE__ */ new Map();
  // handled seq not yet acknowledged, per thread
  /** @internal */
  resumedOnce = false;
  // a connection has been welcomed: later hellos resume
  started = false;
  stopped = false;
  stop = new AbortController();
  wake = null;
  // aborted to end a backoff wait early (back online)
  /** @internal */
  session = null;
  /** @internal */
  offered = "";
  // the newest token from the credential, not yet taken by a session
  user = "";
  last = null;
  expiresOn = null;
  cursor = /* @__PURE__ */ new Map();
  known = /* @__PURE__ */ new Set();
  gone = /* @__PURE__ */ new Map();
  // threads send refuses: thread_deleted or not_participant
  endedAt = /* @__PURE__ */ new Map();
  // last cursor of threads that ended for the user
  constructor(client, opts = {}) {
    this.client = client;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger === null ? silent : opts.logger ?? console;
    this.cursorStore = opts.cursors ?? new MemoryCursors();
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.network = opts.network ?? browserNetwork;
    this.transports = opts.transports?.length ? [...opts.transports] : ["websocket", "sse", "longpoll"];
    this.dialers = { ...defaultDialers(), ...opts.dialers };
    this.openTimeoutMs = opts.openTimeoutMs ?? 15e3;
  }
  /** on registers h for events of type type; several handlers of a type run in the order registered. */
  on(type, h) {
    this.mustNotHaveStarted("on");
    const hs = this.handlers.get(type) ?? [];
    hs.push(h);
    this.handlers.set(type, hs);
    return this;
  }
  /** onState registers fn for every state change. */
  onState(fn) {
    this.mustNotHaveStarted("onState");
    this.stateFns.push(fn);
    return this;
  }
  /** onResumeFailed registers fn for each thread whose missed events could not be replayed: reload it over REST. */
  onResumeFailed(fn) {
    this.mustNotHaveStarted("onResumeFailed");
    this.resumeFailedFns.push(fn);
    return this;
  }
  /** onError registers fn for problems that do not end the connection: error frames, failed refreshes, failed typing handlers. */
  onError(fn) {
    this.mustNotHaveStarted("onError");
    this.errorFns.push(fn);
    return this;
  }
  /**
   * onThreadEnded registers fn for threads dropped from the local state:
   * reason not_participant (the user was removed), thread_deleted, or
   * ended (the welcome says nothing more will come from it).
   */
  onThreadEnded(fn) {
    this.mustNotHaveStarted("onThreadEnded");
    this.endedFns.push(fn);
    return this;
  }
  mustNotHaveStarted(what) {
    if (this.started) throw new Error(`herald: Realtime.${what} called after start`);
  }
  /** userId is the user, read from the token's sub when connecting. */
  get userId() {
    return this.user;
  }
  /** state is the last state change, or null before start. */
  get state() {
    return this.last;
  }
  /** tokenExpiresOn is the expiry of the token the server holds for this connection (welcome, refreshed), in ms. */
  get tokenExpiresOn() {
    return this.expiresOn;
  }
  /** threads returns the ids of the user's threads as the client knows them, sorted. */
  threads() {
    return [...this.known].sort();
  }
  /** cursors returns a copy of the per-thread cursors. */
  cursors() {
    return Object.fromEntries(this.cursor);
  }
  /** ended reports whether a thread was dropped (removed, deleted), with the reason, or "". */
  ended(threadId) {
    return this.gone.get(threadId) ?? (this.endedAt.has(threadId) && !this.known.has(threadId) ? "ended" : "");
  }
  /**
   * start connects and runs until close (it then resolves) or the
   * connection ends for a terminal reason, which it throws as a HeraldError
   * (token_revoked, identity_deleted, token_expired with a credential that
   * cannot refresh, a refusal to open). Everything else reconnects.
   */
  async start() {
    if (this.started) throw new Error("herald: Realtime.start called twice");
    this.started = true;
    if (this.stopped) return;
    const saved = await this.cursorStore.load();
    for (const [t, seq] of Object.entries(saved.cursors)) {
      this.cursor.set(t, seq);
      this.known.add(t);
    }
    for (const [t, seq] of Object.entries(saved.ended ?? {})) if (!this.cursor.has(t)) this.endedAt.set(t, seq);
    const cred = this.client.credential;
    const unsubscribe = isRefreshing(cred) ? cred.onRefresh((t) => this.offerToken(t)) : () => {
    };
    const unwatch = this.network.subscribe((online) => this.networkChanged(online));
    try {
      await this.run();
    } finally {
      unsubscribe();
      unwatch();
    }
  }
  /** close stops: it acknowledges what the handlers took, closes the connection and makes start resolve. */
  close() {
    this.stopped = true;
    this.stop.abort();
    this.session?.stop();
  }
  /**
   * send sends a message over REST unless the client knows it cannot: it
   * fails fast with a HeraldError thread_deleted or not_participant for a
   * thread that was deleted or that the user left. A REST answer with
   * either reason updates that knowledge.
   */
  async send(threadId, req) {
    const reason = this.gone.get(threadId);
    if (reason === "thread_deleted") {
      throw new HeraldError({ code: "not_found", reason, target: threadId, message: `thread ${threadId} was deleted` });
    }
    if (reason === "not_participant") {
      throw new HeraldError({ code: "forbidden", reason, target: threadId, message: `you were removed from thread ${threadId}` });
    }
    try {
      return await this.client.sendMessage(threadId, req);
    } catch (err) {
      const r = errorReason(err);
      if (r === "thread_deleted" || r === "not_participant") {
        this.gone.set(threadId, r);
        if (this.known.delete(threadId)) this.endedFns.forEach((fn) => fn(threadId, r));
      }
      throw err;
    }
  }
  // --- the connection loop ---
  async run() {
    let attempt = 0;
    for (; ; ) {
      if (this.stopped) return this.stoppedState();
      if (!this.network.online()) {
        this.emit({ state: "disconnected", code: 1006, reason: "network_offline", willReconnect: true, offline: true });
        await this.waitOnline();
        attempt = 0;
        continue;
      }
      const transport = this.transports[this.transportIndex];
      this.emit({ state: attempt > 0 || this.resumedOnce ? "reconnecting" : "connecting", attempt, transport, ...this.fallbackInfo() });
      const end = await this.connect(transport);
      if (this.stopped) return this.stoppedState();
      if (end.openedAt && !end.handler && this.clock.now() - end.openedAt >= STABLE_AFTER_MS) attempt = 0;
      if (!end.openedAt && await this.shouldFallBack(end)) {
        const next = this.transports[this.transportIndex + 1];
        const why = `${transport} could not be established (${end.code ? end.code + " " : ""}${end.reason})`;
        this.fallbackReason = this.fallbackReason ? `${this.fallbackReason}; ${why}` : why;
        this.log.warn(
          `herald: ${why}; falling back to ${next}. Mitigation: let ${transportPath(transport)} through the proxy or firewall; meanwhile ${next} carries the same events with the same guarantees.`
        );
        this.transportIndex++;
        continue;
      }
      const { retry, terminal } = await this.decide(end);
      if (!retry) {
        this.emit({ state: "disconnected", code: end.code, reason: end.reason, error: terminal });
        this.log.error(`herald: real-time connection stopped: ${describe(terminal)}`);
        throw terminal;
      }
      if (end.reason === "network_offline") continue;
      const delay = Math.max(backoffDelay(this.backoff, attempt), end.retryAfterMs ?? 0);
      attempt++;
      this.emit({ state: "disconnected", code: end.code, reason: end.reason, error: end.err, willReconnect: true, retryInMs: delay });
      const m = mitigationFor(end.reason);
      this.log.warn(`herald: disconnected (${end.code ? end.code + " " : ""}${end.reason}${end.err && !(end.err instanceof CloseError) ? ": " + describe(end.err) : ""}); reconnecting in ${(delay / 1e3).toFixed(1)} s${m ? ". " + m : ""}`);
      this.wake = new AbortController();
      await sleep(this.clock, delay, AbortSignal.any([this.stop.signal, this.wake.signal]));
      this.wake = null;
    }
  }
  stoppedState() {
    this.emit({ state: "disconnected", code: 1e3, reason: "client_closed" });
  }
  fallbackInfo() {
    return this.transportIndex > 0 ? { fallback: true, fallbackReason: this.fallbackReason } : {};
  }
  /**
   * shouldFallBack says whether the transport, which failed before
   * welcome, is blocked on the way while the server is up: it opened and
   * died, or the WebSocket could not open though its ticket was issued, or
   * it failed outright while a plain request gets through. A server that is
   * down (or answered with a refusal) is no reason to change transports.
   */
  async shouldFallBack(end) {
    if (this.transportIndex >= this.transports.length - 1 || !this.network.online() || this.stopped) return false;
    if (end.err instanceof HeraldError) return false;
    if (end.reason === "token_unavailable" || end.reason === "client_closed" || end.reason === "network_offline" || end.handler) return false;
    if (end.dialed || end.err instanceof TransportBlockedError) return true;
    return this.reachable();
  }
  /** reachable reports whether a plain request reaches the server (any answer counts). */
  async reachable() {
    try {
      await this.client.createRealtimeTicket();
      return true;
    } catch (err) {
      return err instanceof HeraldError;
    }
  }
  waitOnline() {
    if (this.network.online() || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const un = this.network.subscribe((online) => {
        if (online) done();
      });
      this.stop.signal.addEventListener("abort", done, { once: true });
      function done() {
        un();
        resolve();
      }
    });
  }
  networkChanged(online) {
    if (!online) {
      this.log.warn("herald: the browser went offline; closing the connection until the network returns");
      this.session?.offline();
    } else {
      this.log.info("herald: the network is back; reconnecting now");
      this.wake?.abort();
    }
  }
  /** decide says whether to reconnect after end; if not, the terminal error. An expired token is refreshed first when it can be. */
  async decide(end) {
    let terminal;
    const err = end.err;
    if (err instanceof CloseError) {
      if (reconnects(err.code) || err.code === 1e3) return { retry: true };
      terminal = closeError(err);
    } else if (err instanceof HeraldError) {
      switch (err.code) {
        case "unauthorized":
        case "forbidden":
        case "invalid":
        case "method_not_allowed":
        case "unsupported_media":
        case "too_large":
          terminal = err;
          break;
        case "not_found":
          if (err.reason === "route_not_found") terminal = err;
      }
      if (!terminal) return { retry: true };
    } else if (err instanceof Error && err.message === "herald: the credential is closed") {
      return { retry: false, terminal: err };
    } else {
      return { retry: true };
    }
    if (terminal.reason === "token_expired") {
      const cred = this.client.credential;
      if (isRefreshing(cred)) {
        try {
          await cred.refresh();
        } catch (e) {
          this.report(e);
        }
        return { retry: true };
      }
    }
    return { retry: false, terminal };
  }
  /** connect opens one connection on transport and runs it until it ends. */
  async connect(transport) {
    let token = "";
    const cred = this.client.credential;
    try {
      token = await cred.token();
    } catch (err) {
      return { code: 0, reason: "token_unavailable", err, openedAt: 0 };
    }
    const sub = peekToken(token).sub;
    if (sub) this.user = sub;
    this.offered = "";
    const hello = this.hello();
    const session = new Session(this, token, hello.resume ?? false);
    let link;
    try {
      link = await this.dialers[transport]({
        conn: this.client.conn,
        token,
        hello,
        alive: () => session.heard(),
        timeoutMs: this.openTimeoutMs
      });
    } catch (err) {
      return refusal(err);
    }
    if (this.stopped) {
      link.close(1e3, "client_closed");
      return { code: 1e3, reason: "client_closed", openedAt: 0 };
    }
    this.session = session;
    try {
      return { ...await session.run(link), dialed: true };
    } finally {
      this.session = null;
    }
  }
  /** hello is the first frame of a connection. */
  hello() {
    const cursor = Object.fromEntries(this.cursor);
    for (const [t, seq] of this.endedAt) cursor[t] = seq;
    const handles = [...this.handlers.keys()].sort();
    const hasCursor = Object.keys(cursor).length > 0;
    return { type: "hello", v: PROTOCOL_VERSION, cursor: hasCursor ? cursor : void 0, resume: hasCursor || this.resumedOnce, handles };
  }
  // --- used by Session ---
  /** @internal */
  emit(sc) {
    const full = { ...sc, at: this.clock.now() };
    if (full.state === "connected" && !full.fallback && this.transportIndex > 0) Object.assign(full, this.fallbackInfo());
    this.last = full;
    for (const fn of this.stateFns) {
      try {
        fn(full);
      } catch (err) {
        this.log.error("herald: a state callback threw", err);
      }
    }
  }
  /** @internal */
  report(err) {
    this.log.error(`herald: ${describe(err)}`);
    for (const fn of this.errorFns) {
      try {
        fn(err);
      } catch (e) {
        this.log.error("herald: an error callback threw", e);
      }
    }
  }
  /** @internal */
  resumeFailed(threadId, reason) {
    this.log.warn(`herald: could not resume thread ${threadId || "(all)"} (${reason}); reload it over REST`);
    for (const fn of this.resumeFailedFns) fn(threadId, reason);
  }
  /** @internal */
  setExpiresOn(iso) {
    if (iso) this.expiresOn = Date.parse(iso);
  }
  /** @internal */
  offerToken(token) {
    this.offered = token;
    this.session?.tokenOffered();
  }
  /** @internal */
  cursorOf(t) {
    return this.cursor.get(t) ?? this.endedAt.get(t) ?? 0;
  }
  /** @internal */
  hasCursor(t) {
    return this.cursor.has(t);
  }
  /** @internal */
  async advance(t, seq) {
    await this.cursorStore.save(t, seq);
    this.cursor.set(t, seq);
    this.endedAt.delete(t);
  }
  /** @internal */
  setCursor(t, seq) {
    this.cursor.set(t, seq);
  }
  /** @internal */
  track(t) {
    if (!this.gone.has(t)) this.known.add(t);
  }
  /** joined updates the thread set before the handlers of a sequenced event run. */
  /** @internal */
  joined(ev) {
    switch (ev.type) {
      case Events.threadDeleted:
        return;
      case Events.participantsRemoved:
        if (this.names(ev.data.participants)) return;
        break;
      case Events.threadCreated:
        this.gone.delete(ev.threadId);
        break;
      case Events.participantsAdded:
        if (this.names(ev.data.participants)) this.gone.delete(ev.threadId);
    }
    if (!this.gone.has(ev.threadId)) this.known.add(ev.threadId);
  }
  /** left drops a thread after the handlers of its chatThreadDeleted, or of a participantsRemoved naming the user, ran. */
  /** @internal */
  async left(ev) {
    if (ev.type === Events.threadDeleted) await this.forget(ev.threadId, "thread_deleted");
    else if (ev.type === Events.participantsRemoved && this.names(ev.data.participants)) await this.forget(ev.threadId, "not_participant");
  }
  names(ps) {
    return !!this.user && !!ps?.some((p) => userIdOf(p.communicationIdentifier) === this.user);
  }
  /**
   * forget drops thread t from the thread set and the cursors. With a
   * reason (the thread ended for the user) send refuses it from now on
   * (except "ended", whose cause the welcome does not say) and later hellos
   * still carry its last cursor.
   */
  /** @internal */
  async forget(t, why) {
    const had = this.known.delete(t);
    const last = this.cursor.get(t) ?? this.endedAt.get(t);
    this.cursor.delete(t);
    if (why) {
      if (why !== "ended") this.gone.set(t, why);
      if (last !== void 0) this.endedAt.set(t, last);
    } else this.endedAt.delete(t);
    try {
      await this.cursorStore.drop(t, why && last !== void 0 ? last : void 0);
    } catch (err) {
      this.report(new Error(`herald: drop cursor of ${t}: ${describe(err)}`));
    }
    if (why && had) {
      this.log.info(`herald: dropped thread ${t} (${why})`);
      for (const fn of this.endedFns) fn(t, why);
    }
  }
};
function transportPath(t) {
  return t === "websocket" ? "the WebSocket upgrade of GET /realtime/ws" : t === "sse" ? "streamed responses of POST /realtime/sse" : "/realtime/longpoll";
}
function refusal(err) {
  if (err instanceof HeraldError) return { code: 0, reason: "refused", err, openedAt: 0, retryAfterMs: err.retryAfterMs };
  if (err instanceof CloseError) return { code: err.code, reason: err.reason, err, openedAt: 0 };
  if (err instanceof MalformedFrameError) return { code: 1002, reason: "malformed_frame", err, openedAt: 0 };
  return { code: 1006, reason: "abnormal_closure", err, openedAt: 0 };
}
function closeError(ce) {
  const e = (code, reason, message) => new HeraldError({ code, reason, message, cause: ce });
  switch (ce.code) {
    case Close.tokenExpired:
      return e("unauthorized", "token_expired", "the access token expired before a refresh reached the server (close 4101)");
    case Close.tokenRevoked:
      return e("unauthorized", "token_revoked", "the access token was revoked (close 4102)");
    case Close.identityDeleted:
      return e("unauthorized", "identity_deleted", "the identity was deleted (close 4103)");
    case Close.authTimeout:
      return e("invalid", "auth_timeout", "the server did not receive hello in time (close 4104)");
    case Close.unsupportedVersion:
      return e("invalid", "unsupported_version", `the server does not speak protocol version ${PROTOCOL_VERSION} (close 4105)`);
  }
  return e("invalid", ce.reason || "protocol_error", `the server refused a frame of this client (${ce.code} ${ce.reason})`);
}

// src/herald/rest.ts
var Conn = class {
  constructor(baseUrl, credential, opts = {}) {
    this.credential = credential;
    const u = new URL(baseUrl);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`herald: base URL ${baseUrl} is not an http or https URL`);
    this.base = (u.origin + u.pathname).replace(/\/+$/, "");
    const f = opts.fetch ?? globalThis.fetch;
    this.fetch = (input, init) => f(input, init);
  }
  credential;
  base;
  fetch;
  /** url returns the absolute URL of a call. */
  url(c) {
    if (c.url) return new URL(c.url, this.base + "/").toString();
    let u = this.base + c.path;
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(c.query ?? {})) if (v !== void 0 && v !== "") q.set(k, String(v));
    const qs = q.toString();
    if (qs) u += "?" + qs;
    return u;
  }
  /** send makes a call and returns the 2xx response; a non-2xx answer throws a HeraldError. */
  async send(c) {
    const headers = { Accept: "application/json", ...c.headers };
    let body;
    if (c.body !== void 0) {
      body = JSON.stringify(c.body);
      headers["Content-Type"] = "application/json";
    }
    const token = c.token ?? (this.credential ? await this.credential.token() : "");
    if (token) headers["Authorization"] = `Bearer ${token}`;
    const target = this.url(c);
    let resp;
    try {
      resp = await this.fetch(target, { method: c.method, headers, body, signal: c.signal, cache: "no-store", credentials: "omit" });
    } catch (err) {
      if (c.signal?.aborted) throw err;
      throw new Error(`herald: ${c.method} ${new URL(target).pathname}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (resp.status < 200 || resp.status > 299) {
      throw responseError(resp.status, resp.headers, await resp.text().catch(() => ""));
    }
    return resp;
  }
  /** json makes a call and decodes the answer (undefined for an empty body). */
  async json(c) {
    const resp = await this.send(c);
    const text = await resp.text();
    return text ? JSON.parse(text) : void 0;
  }
};
function seg(s) {
  return encodeURIComponent(s);
}
var ChatClient = class {
  conn;
  constructor(baseUrl, credential, opts = {}) {
    this.conn = new Conn(baseUrl, credential, opts);
  }
  /** credential is the credential the client sends. */
  get credential() {
    return this.conn.credential;
  }
  /**
   * createThread creates a thread. With strictParticipants (a Herald addition) a participant that cannot be added
   * refuses the whole creation (400 invalid_field, target participants, naming each) instead of ACS's
   * created-with-invalidParticipants.
   */
  createThread(req, repeatabilityId = "", opts = {}) {
    const query = opts.strictParticipants ? { strictParticipants: "true" } : void 0;
    return this.conn.json({ method: "POST", path: "/chat/threads", body: req, query, headers: repeat(repeatabilityId) });
  }
  /** searchPeople finds, by the start of a name, the people the caller shares or shared a thread with (a Herald addition). */
  searchPeople(q, maxPageSize) {
    return this.conn.json({ method: "GET", path: "/chat/people", query: { q, maxPageSize } });
  }
  listThreads(opts = {}) {
    return this.conn.json({ method: "GET", path: "/chat/threads", query: { ...opts } });
  }
  nextThreads(nextLink) {
    return this.conn.json({ method: "GET", url: nextLink });
  }
  allThreads(opts = {}) {
    return all(this.listThreads(opts), (l) => this.nextThreads(l));
  }
  getThread(threadId) {
    return this.conn.json({ method: "GET", path: `/chat/threads/${seg(threadId)}` });
  }
  async updateThread(threadId, req) {
    await this.conn.send({ method: "PATCH", path: `/chat/threads/${seg(threadId)}`, body: req });
  }
  async deleteThread(threadId) {
    await this.conn.send({ method: "DELETE", path: `/chat/threads/${seg(threadId)}` });
  }
  listParticipants(threadId, opts = {}) {
    return this.conn.json({ method: "GET", path: `/chat/threads/${seg(threadId)}/participants`, query: { ...opts } });
  }
  nextParticipants(nextLink) {
    return this.conn.json({ method: "GET", url: nextLink });
  }
  allParticipants(threadId, opts = {}) {
    return all(this.listParticipants(threadId, opts), (l) => this.nextParticipants(l));
  }
  addParticipants(threadId, req) {
    return this.conn.json({ method: "POST", path: `/chat/threads/${seg(threadId)}/participants/:add`, body: req });
  }
  async removeParticipant(threadId, userId) {
    await this.conn.send({ method: "POST", path: `/chat/threads/${seg(threadId)}/participants/:remove`, body: { rawId: userId } });
  }
  sendMessage(threadId, req, repeatabilityId = "") {
    return this.conn.json({ method: "POST", path: `/chat/threads/${seg(threadId)}/messages`, body: req, headers: repeat(repeatabilityId) });
  }
  listMessages(threadId, opts = {}) {
    const query = { ...opts, since: opts.since === void 0 ? void 0 : String(opts.since) };
    return this.conn.json({ method: "GET", path: `/chat/threads/${seg(threadId)}/messages`, query });
  }
  nextMessages(nextLink) {
    return this.conn.json({ method: "GET", url: nextLink });
  }
  allMessages(threadId, opts = {}) {
    return all(this.listMessages(threadId, opts), (l) => this.nextMessages(l));
  }
  getMessage(threadId, messageId) {
    return this.conn.json({ method: "GET", path: `/chat/threads/${seg(threadId)}/messages/${seg(messageId)}` });
  }
  async updateMessage(threadId, messageId, req) {
    await this.conn.send({ method: "PATCH", path: `/chat/threads/${seg(threadId)}/messages/${seg(messageId)}`, body: req });
  }
  async deleteMessage(threadId, messageId) {
    await this.conn.send({ method: "DELETE", path: `/chat/threads/${seg(threadId)}/messages/${seg(messageId)}` });
  }
  async sendReadReceipt(threadId, req) {
    await this.conn.send({ method: "POST", path: `/chat/threads/${seg(threadId)}/readReceipts`, body: req });
  }
  listReadReceipts(threadId, opts = {}) {
    return this.conn.json({ method: "GET", path: `/chat/threads/${seg(threadId)}/readReceipts`, query: { ...opts } });
  }
  nextReadReceipts(nextLink) {
    return this.conn.json({ method: "GET", url: nextLink });
  }
  allReadReceipts(threadId, opts = {}) {
    return all(this.listReadReceipts(threadId, opts), (l) => this.nextReadReceipts(l));
  }
  async sendTyping(threadId, req = {}) {
    await this.conn.send({ method: "POST", path: `/chat/threads/${seg(threadId)}/typing`, body: req });
  }
  /** realtime returns the user's live connection; it does nothing until start. */
  realtime(opts = {}) {
    return new Realtime(this, opts);
  }
  /** createRealtimeTicket gets a single-use, 60-second ticket for a WebSocket (browsers cannot send Authorization on one). */
  createRealtimeTicket(token) {
    return this.conn.json({ method: "POST", path: "/realtime/tickets", token });
  }
};
var AdminClient = class {
  conn;
  constructor(baseUrl, adminKey, opts = {}) {
    this.conn = new Conn(baseUrl, new StaticToken(adminKey), opts);
  }
  createIdentity(req = {}) {
    return this.conn.json({ method: "POST", path: "/identities", body: req });
  }
  getIdentity(userId) {
    return this.conn.json({ method: "GET", path: `/identities/${seg(userId)}` });
  }
  async deleteIdentity(userId) {
    await this.conn.send({ method: "DELETE", path: `/identities/${seg(userId)}` });
  }
  issueAccessToken(userId, req) {
    return this.conn.json({ method: "POST", path: `/identities/${seg(userId)}/:issueAccessToken`, body: req });
  }
  async revokeAccessTokens(userId) {
    await this.conn.send({ method: "POST", path: `/identities/${seg(userId)}/:revokeAccessTokens` });
  }
  listAccessTokens(userId) {
    return this.conn.json({ method: "GET", path: `/identities/${seg(userId)}/tokens` });
  }
  /** diagnose returns the doctor's report on a user in a thread, optionally about one message. */
  diagnose(q) {
    return this.conn.json({ method: "GET", path: "/admin/doctor", query: { ...q } });
  }
  /** diagnoseText returns the report as the server's plain text (format=text). */
  async diagnoseText(q) {
    return (await this.conn.send({ method: "GET", path: "/admin/doctor", query: { ...q, format: "text" } })).text();
  }
  /** diagnoseThread returns the status of one message for every recipient, grouped by cause (GET /admin/doctor/thread). */
  diagnoseThread(q) {
    return this.conn.json({ method: "GET", path: "/admin/doctor/thread", query: { ...q } });
  }
  /** diagnoseRecent returns the (recipient, message) pairs not delivered since since ("1h" or RFC 3339), grouped by cause (GET /admin/doctor/recent). */
  diagnoseRecent(since) {
    return this.conn.json({ method: "GET", path: "/admin/doctor/recent", query: { since } });
  }
  /** evidenceUrl is the URL of an evidence table query (to show or link). */
  evidencePath(table, f = {}) {
    return this.conn.url({ path: `/admin/events/${seg(table)}`, query: { ...f } }).slice(this.conn.base.length);
  }
  listEvidence(table, f = {}) {
    return this.conn.json({ method: "GET", path: `/admin/events/${seg(table)}`, query: { ...f } });
  }
};
function devLogin(baseUrl, req, opts = {}) {
  const conn = new Conn(baseUrl, null, opts);
  return conn.json({ method: "POST", path: "/dev/login", body: req.name === void 0 ? {} : { name: req.name }, token: req.token });
}
function repeat(id) {
  return id ? { "repeatability-request-id": id } : {};
}
async function* all(first, next) {
  let page = await first;
  for (; ; ) {
    yield* page.value ?? [];
    if (!page.nextLink) return;
    page = await next(page.nextLink);
  }
}
export {
  AdminClient,
  ChatClient,
  Close,
  CloseError,
  Conn,
  DEFAULT_BACKOFF,
  DEFAULT_REFRESH_BEFORE_MS,
  Events,
  EvidenceTables,
  FrameQueue,
  HeraldError,
  LocalStorageCursors,
  MIN_REFRESH_RETRY_MS,
  MemoryCursors,
  Mitigations,
  PROTOCOL_VERSION,
  Realtime,
  StaticToken,
  TokenCredential,
  TransportBlockedError,
  backoffDelay,
  browserNetwork,
  closeError,
  cursorKey,
  describe,
  devLogin,
  errorCode,
  errorReason,
  identifier,
  isRefreshing,
  longPollDialer,
  mitigationFor,
  peekToken,
  reconnects,
  sseDialer,
  systemClock,
  userIdOf,
  webSocketDialer
};
