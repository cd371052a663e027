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
    const h2 = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    return () => clearTimeout(h2);
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
      const failed2 = await this.applyWelcome(f);
      r.resumedOnce = true;
      const heartbeatMs = f.heartbeatMs && f.heartbeatMs > 0 ? f.heartbeatMs : DEFAULT_HEARTBEAT_MS;
      const timeoutMs = f.timeoutMs && f.timeoutMs > 0 ? f.timeoutMs : 2 * heartbeatMs;
      const transport = f.transport || this.link.transport;
      r.emit({ state: "connected", transport, connectionId: this.connectionId, welcome: f, resumeFailed: failed2 });
      r.log.info(`herald: connected via ${transport} (connection ${this.connectionId})`);
      for (const t of Object.keys(failed2).sort()) r.resumeFailed(t, failed2[t]);
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
    const failed2 = {};
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
        failed2[t] = tr.reason ?? "";
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
    if (this.resume && f.resumed === false && Object.keys(failed2).length === 0) failed2[""] = "";
    return failed2;
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
      for (const h2 of handlers) {
        try {
          await h2(ev);
        } catch (err) {
          r.report(new Error(`herald: handler of ${ev.type} ${ev.threadId}: ${describe(err)}`, { cause: err }));
        }
      }
      return null;
    }
    if (ev.seq <= r.cursorOf(ev.threadId)) return null;
    r.joined(ev);
    for (const h2 of handlers) {
      try {
        await h2(ev);
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
  on(type, h2) {
    this.mustNotHaveStarted("on");
    const hs = this.handlers.get(type) ?? [];
    hs.push(h2);
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

// src/pages/chatstore.ts
function isText(m) {
  return m.type === "text" || m.type === "html";
}
var ChatStore = class {
  me = null;
  cred = null;
  client = null;
  rt = null;
  /** conn is the connection's last state; terminal the error that ended the session for good. */
  conn = null;
  terminal = null;
  threads = /* @__PURE__ */ new Map();
  view = null;
  /** lastTyping is when this user last told the open thread it is typing (ms). */
  lastTyping = 0;
  /** sendQueue chains the page's sends so they commit in the order typed. */
  sendQueue = Promise.resolve();
  /** peopleAsked is the last question to the people picker. */
  peopleAsked = "";
  /** names are display names learned from messages and typing, for participants added without one. */
  names = /* @__PURE__ */ new Map();
  /** reset forgets everything: signing out. */
  reset() {
    this.me = this.cred = this.client = this.rt = this.conn = null;
    this.terminal = null;
    this.threads.clear();
    this.view = null;
    this.lastTyping = 0;
    this.peopleAsked = "";
    this.names.clear();
  }
  // --- the thread list ---
  /** listThread adds a thread to the list unless it is there; it returns the item either way. */
  listThread(id, topic, activity) {
    let t = this.threads.get(id);
    if (!t) {
      t = { id, topic, activity, unread: 0 };
      this.threads.set(id, t);
    }
    return t;
  }
  /** threadList is the list as shown: the most recent activity first. */
  threadList() {
    return [...this.threads.values()].sort((a, b) => (b.activity || "").localeCompare(a.activity || ""));
  }
  /** unreadTotal is the sum of the unread counts (the page title shows it). */
  unreadTotal() {
    let n = 0;
    for (const t of this.threads.values()) n += t.unread;
    return n;
  }
  /**
   * dropThread removes a thread the user lost; if it was the open one the
   * view closes. It returns the item (undefined if it was not listed) and
   * whether it was open.
   */
  dropThread(id) {
    const item = this.threads.get(id);
    this.threads.delete(id);
    const wasOpen = this.view?.id === id;
    if (wasOpen) this.view = null;
    return { item, wasOpen };
  }
  /**
   * messageArrived takes a message event of a listed thread: the thread's
   * activity moves to at; in the open thread the message is put in place,
   * elsewhere a new message from someone else counts as unread. It returns
   * true when the open thread changed.
   */
  messageArrived(t, m, received, at) {
    t.activity = at;
    if (this.view?.id === t.id) {
      this.view.messages.set(m.id, m);
      return true;
    }
    if (received && userIdOf(m.senderCommunicationIdentifier) !== this.me?.id) t.unread++;
    return false;
  }
  // --- the open thread ---
  /** open makes id the open thread, with nothing loaded yet, and clears its unread count. */
  open(id) {
    const t = this.threads.get(id);
    if (t) t.unread = 0;
    this.view = { id, messages: /* @__PURE__ */ new Map(), participants: [], receipts: /* @__PURE__ */ new Map(), typing: /* @__PURE__ */ new Map(), older: "", readSent: "", editing: "", rendered: /* @__PURE__ */ new Map() };
    return this.view;
  }
  /** addMessages puts messages into v, keeping any it already has (a live event is newer than a page). */
  addMessages(v, ms) {
    for (const m of ms) if (!v.messages.has(m.id)) v.messages.set(m.id, m);
  }
  /** addReceipts keeps each user's first receipt of a list that comes newest first, unless one is known. */
  addReceipts(v, rs) {
    for (const r of rs) {
      const who = userIdOf(r.senderCommunicationIdentifier);
      if (!v.receipts.has(who)) v.receipts.set(who, r.chatMessageId);
    }
  }
  /** messages are the open thread's messages in sequence order. */
  messages() {
    const v = this.view;
    return v ? [...v.messages.values()].sort((a, b) => Number(a.sequenceId) - Number(b.sequenceId)) : [];
  }
  /** readBy maps each message to the names of the others whose last read receipt names it. */
  readBy() {
    const out = /* @__PURE__ */ new Map();
    const v = this.view;
    if (!v) return out;
    for (const [user, msgId] of v.receipts) if (user !== this.me?.id) out.set(msgId, [...out.get(msgId) ?? [], this.nameOf(user)]);
    return out;
  }
  /** toMarkRead is the newest message of others in the open thread, if no receipt was sent for it yet. */
  toMarkRead() {
    const v = this.view;
    if (!v) return void 0;
    const newest = [...v.messages.values()].filter((m) => isText(m) && !m.deletedOn && userIdOf(m.senderCommunicationIdentifier) !== this.me?.id).sort((a, b) => Number(b.sequenceId) - Number(a.sequenceId))[0];
    return newest && v.readSent !== newest.id ? newest : void 0;
  }
  /** typingNames are the names of those typing in the open thread at now (ms). */
  typingNames(now) {
    const v = this.view;
    return v ? [...v.typing.values()].filter((t) => t.until > now).map((t) => t.name) : [];
  }
  /** typing records that who is typing in the open thread until until (ms); not this user. */
  typing(threadId, who, name, until) {
    const v = this.view;
    if (v?.id !== threadId || who === this.me?.id) return false;
    this.learnName(who, name);
    v.typing.set(who, { name: this.nameOf(who), until });
    return true;
  }
  // --- names ---
  learnName(userId, name) {
    if (userId && name) this.names.set(userId, name);
  }
  /** nameOf is how the page names a person: this user's own name, the participant's, a learned one, fallback, or the id. */
  nameOf(userId, fallback = "") {
    if (userId === this.me?.id) return this.me.name;
    const p = this.view?.participants.find((p2) => userIdOf(p2.communicationIdentifier) === userId);
    return p?.displayName || this.names.get(userId) || fallback || userId;
  }
};

// src/pages/dom.ts
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === void 0 || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, ...children);
  return el;
}
function append(el, ...children) {
  for (const c of children) {
    if (c === null || c === void 0 || c === false) continue;
    el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}
function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page: no #${id}`);
  return el;
}
function replace(el, ...children) {
  while (el.firstChild) el.removeChild(el.firstChild);
  append(el, ...children);
}
function field(form, name) {
  const el = form.elements.namedItem(name);
  return el ? el.value.trim() : "";
}
function hhmm(t) {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
function span(ms) {
  if (ms < 0) ms = 0;
  const s = Math.floor(ms / 1e3);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  const hrs = Math.floor(m / 60);
  return `${hrs} h ${String(m % 60).padStart(2, "0")} min`;
}
var URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"']+/gi;
function linkify(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(URL_IN_TEXT)) {
    let raw = m[0];
    const trail = /[.,;:!?)\]]+$/.exec(raw);
    if (trail) raw = raw.slice(0, -trail[0].length);
    let url;
    try {
      url = new URL(raw);
    } catch {
      continue;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") continue;
    const at = m.index ?? 0;
    if (at > last) out.push(text.slice(last, at));
    out.push(h("a", { href: url.href, target: "_blank", rel: "noopener noreferrer nofollow" }, raw));
    last = at + raw.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}
function dayLabel(t, now) {
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return "";
  const day = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const diff = Math.round((day(now) - day(d)) / 864e5);
  if (diff === 0) return "Today";
  if (diff === 1) return "Yesterday";
  return d.toLocaleDateString("en-US", { weekday: "short", month: "short", day: "numeric", ...d.getFullYear() !== now.getFullYear() ? { year: "numeric" } : {} });
}

// src/pages/chat.ts
var BASE = location.origin;
var SESSION = "herald.session";
var store = new ChatStore();
function saveMe() {
  if (store.me) sessionStorage.setItem(SESSION, JSON.stringify(store.me));
  else sessionStorage.removeItem(SESSION);
}
function signedIn(m) {
  store.me = m;
  saveMe();
  $("signin").hidden = true;
  $("app").hidden = false;
  $("whoami").hidden = false;
  $("signout").hidden = false;
  replace($("me-name"), m.name);
  replace($("me-id"), m.id);
  showNotice(`Pick a thread on the left or create one. To be added to someone else's thread, give them your id: ${m.id}`);
  connect();
}
async function tokenSignIn(ev) {
  ev.preventDefault();
  const form = ev.target;
  const token = field(form, "token");
  const { sub, exp } = peekToken(token);
  if (!sub) return formError(form, "That is not a Herald access token (a JWT from herald identity create or POST /identities).");
  if (exp !== null && exp <= Date.now()) return formError(form, `This token expired at ${new Date(exp).toISOString()}; get a new one (herald token issue ${sub}).`);
  try {
    await new ChatClient(BASE, { token: () => Promise.resolve(token) }).listThreads({ maxPageSize: 1 });
  } catch (err) {
    console.error(`herald: sign-in: ${describe(err)}`);
    return formError(form, describe(err));
  }
  signedIn({ id: sub, name: field(form, "name") || sub, token, dev: false });
}
async function devSignIn(ev) {
  ev.preventDefault();
  const form = ev.target;
  const name = field(form, "name");
  if (!name) return formError(form, "Type a name.");
  try {
    const r = await devLogin(BASE, { name });
    signedIn({ id: r.id, name, token: r.token, dev: true });
  } catch (err) {
    console.error(`herald: dev login: ${describe(err)}`);
    formError(form, errorReason(err) === "route_not_found" ? "Dev login is off on this server: start it with herald serve --dev-login." : describe(err));
  }
}
function formError(form, text) {
  replace(form.querySelector(".error"), text);
}
function signOut() {
  store.rt?.close();
  store.cred?.close();
  store.reset();
  saveMe();
  location.reload();
}
function connect() {
  const m = store.me;
  const refresher = m.dev ? async () => (await devLogin(BASE, { token: m.token })).token : void 0;
  store.cred = new TokenCredential(m.token, refresher);
  store.cred.onRefresh((t) => {
    m.token = t;
    saveMe();
  });
  store.client = new ChatClient(BASE, store.cred);
  store.rt = store.client.realtime({ cursors: new LocalStorageCursors(cursorKey(BASE, m.id)) });
  store.rt.on(Events.messageReceived, onMessage).on(Events.messageEdited, onMessage).on(Events.messageDeleted, onMessage).on(Events.typing, onTyping).on(Events.readReceipt, onReceipt).on(Events.threadCreated, onThreadEvent).on(Events.threadDeleted, onThreadEvent).on(Events.threadPropertiesUpdated, onThreadEvent).on(Events.participantsAdded, onMembership).on(Events.participantsRemoved, onMembership).onState((s) => {
    store.conn = s;
    renderConn();
  }).onThreadEnded(dropThread).onResumeFailed((t) => {
    if (store.view && (t === store.view.id || t === "")) void openThread(store.view.id);
  }).onError((err) => toast(describe(err)));
  store.rt.start().catch(stopSession);
  void loadThreads();
}
function renderConn() {
  const el = $("conn");
  const s = store.conn;
  let state = s?.state ?? "connecting";
  let text = "Connecting…";
  const transport = s?.transport ? label(s.transport) : "";
  if (store.terminal) {
    state = "stopped";
    text = `Disconnected: ${describe(store.terminal)}`;
  } else if (s?.state === "connected") {
    text = `Connected · ${transport}${s.fallback ? " (fallback: " + s.fallbackReason + ")" : ""}`;
  } else if (s?.state === "reconnecting" || s?.state === "connecting") {
    text = `${s.state === "connecting" ? "Connecting" : "Reconnecting"} via ${transport}…${s.attempt ? " (attempt " + (s.attempt + 1) + ")" : ""}`;
  } else if (s?.state === "disconnected" && s.offline) {
    state = "offline";
    text = "Offline: waiting for the network (missed messages arrive when it returns)";
  } else if (s?.state === "disconnected") {
    state = "reconnecting";
    text = `Reconnecting in ${((s.retryInMs ?? 0) / 1e3).toFixed(1)} s (${s.code ? s.code + " " : ""}${s.reason})`;
  }
  el.dataset.state = state;
  el.dataset.transport = s?.transport ?? "";
  el.dataset.fallback = s?.fallback ? "true" : "false";
  el.dataset.connectionId = s?.state === "connected" ? s.connectionId ?? "" : "";
  replace($("conn-text"), text);
  $("conn-text").title = text;
  $("signout").textContent = store.terminal ? "Sign in again" : "Sign out";
  renderExpiry();
}
function renderExpiry() {
  const exp = store.cred?.expiresOn() ?? null;
  const el = $("expiry");
  if (exp === null || store.terminal) return replace(el, "");
  const left = exp - Date.now();
  el.dataset.warn = left < 10 * 6e4 ? "true" : "false";
  if (left <= 0) return replace(el, store.me?.dev ? "token expired: renewing…" : "token expired: sign in with a new token");
  replace(el, `token expires in ${span(left)}${store.me?.dev ? " (renews itself)" : ""}`);
}
function label(t) {
  return t === "websocket" ? "WebSocket" : t === "sse" ? "SSE" : t === "longpoll" ? "long-polling" : t;
}
async function loadThreads() {
  try {
    for await (const t of store.client.allThreads({ maxPageSize: 100 })) {
      if (t.deletedOn || store.rt.ended(t.id)) continue;
      store.listThread(t.id, t.topic, t.lastMessageReceivedOn ?? "");
      if (store.threads.size >= 200) break;
    }
  } catch (err) {
    failed("", err, "list threads");
  }
  renderThreads();
}
async function learnThread(id, topic) {
  let t = store.threads.get(id);
  if (t) return t;
  if (store.rt?.ended(id)) return null;
  if (topic === void 0) {
    try {
      topic = (await store.client.getThread(id)).topic;
    } catch {
      return null;
    }
  }
  t = store.listThread(id, topic, (/* @__PURE__ */ new Date()).toISOString());
  renderThreads();
  return t;
}
function renderThreads() {
  const list = store.threadList();
  replace(
    $("thread-list"),
    ...list.map(
      (t) => h(
        "li",
        { "data-thread-id": t.id },
        h(
          "button",
          { type: "button", class: "thread", "aria-current": store.view?.id === t.id ? "true" : null, onclick: () => void openThread(t.id) },
          h("span", { class: "topic" }, t.topic),
          t.unread ? h("span", { class: "unread", "aria-label": `${t.unread} unread` }, String(t.unread)) : null
        )
      )
    )
  );
  $("no-threads").hidden = list.length > 0;
  const total = store.unreadTotal();
  document.title = total ? `(${total}) Herald chat` : "Herald chat";
}
function dropThread(id, reason) {
  const { item: t, wasOpen } = store.dropThread(id);
  renderThreads();
  if (wasOpen) {
    $("thread").hidden = true;
    $("people").hidden = true;
    const why = reason === "thread_deleted" ? "was deleted" : reason === "not_participant" ? "is closed to you: you were removed from it" : "has ended for you";
    showNotice(`The thread “${t?.topic ?? id}” ${why}.`);
  } else if (t && reason !== "ended") {
    toast(`“${t.topic}” ${reason === "thread_deleted" ? "was deleted" : "was removed from your list: you were removed from it"}.`);
  }
}
async function createThread(ev) {
  ev.preventDefault();
  const form = ev.target;
  const topic = field(form, "topic");
  const raw = field(form, "participants");
  const entries = raw.split(raw.includes(",") ? /\s*,\s*/ : /\s+/).filter(Boolean);
  if (!topic) return formError(form, "Give the thread a topic.");
  participantsError("");
  try {
    const ids = await resolvePeople(entries);
    const r = await store.client.createThread(
      { topic, participants: [{ communicationIdentifier: identifier(store.me.id), displayName: store.me.name }, ...ids.map((id) => ({ communicationIdentifier: identifier(id) }))] },
      crypto.randomUUID(),
      { strictParticipants: true }
    );
    form.reset();
    formError(form, "");
    store.threads.set(r.chatThread.id, { id: r.chatThread.id, topic, activity: r.chatThread.createdOn, unread: 0 });
    await openThread(r.chatThread.id);
  } catch (err) {
    console.error(`herald: create thread: ${describe(err)}`);
    if (err instanceof HeraldError && err.target === "participants") participantsError(err.message);
    else formError(form, describe(err));
  }
}
async function resolvePeople(entries) {
  const ids = [];
  for (const e of entries) {
    if (e.startsWith("u_")) {
      ids.push(e);
      continue;
    }
    const found = (await store.client.searchPeople(e, 10)).value.filter((p) => (p.displayName ?? "").toLowerCase() === e.toLowerCase());
    if (found.length !== 1) {
      throw new HeraldError({
        code: "invalid",
        reason: "invalid_field",
        target: "participants",
        status: 400,
        message: found.length ? `more than one person is called “${e}”: paste their id instead` : `no one called “${e}” shares a thread with you: paste their id (u_…) instead`
      });
    }
    ids.push(userIdOf(found[0].communicationIdentifier));
  }
  return ids;
}
function participantsError(text) {
  const input = $("new-thread").elements.namedItem("participants");
  if (text) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
  replace($("participants-error"), text);
}
async function openThread(id) {
  const t = store.threads.get(id);
  if (!t) return;
  const v = store.open(id);
  $("thread").hidden = false;
  $("people").hidden = false;
  $("notice").hidden = true;
  replace($("topic"), t.topic);
  replace($("thread-id"), id);
  renderThreads();
  renderMessages();
  try {
    const [page, parts, receipts] = await Promise.all([
      store.client.listMessages(id, { maxPageSize: 50 }),
      collect(store.client.allParticipants(id)),
      collect(store.client.allReadReceipts(id))
    ]);
    if (store.view !== v) return;
    store.addMessages(v, page.value);
    v.older = page.nextLink ?? "";
    v.participants = parts;
    store.addReceipts(v, receipts);
    renderMessages(true);
    renderParticipants();
    $("composer-text").focus();
  } catch (err) {
    failed(id, err, "open thread");
  }
}
async function collect(it) {
  const out = [];
  for await (const x of it) out.push(x);
  return out;
}
async function loadOlder() {
  const v = store.view;
  if (!v?.older) return;
  try {
    const page = await store.client.nextMessages(v.older);
    store.addMessages(v, page.value);
    v.older = page.nextLink ?? "";
    renderMessages();
  } catch (err) {
    failed(v.id, err, "load older messages");
  }
}
var SIGNED_OUT = /* @__PURE__ */ new Set(["token_revoked", "identity_deleted", "token_invalid", "token_expired"]);
function failed(threadId, err, what) {
  console.error(`herald: ${what}: ${describe(err)}`);
  const r = errorReason(err);
  if (SIGNED_OUT.has(r)) return stopSession(err);
  if (r === "not_participant" || r === "thread_deleted" || r === "thread_not_found") dropThread(threadId, r === "thread_not_found" ? "ended" : r);
  else toast(describe(err));
}
function stopSession(err) {
  if (store.terminal) return;
  store.terminal = err;
  store.rt?.close();
  renderConn();
  toast(describe(err));
}
function renderMessages(scroll = false) {
  const v = store.view;
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  if (!v) return replace(list);
  const msgs = store.messages();
  for (const m of msgs) store.learnName(userIdOf(m.senderCommunicationIdentifier), m.senderDisplayName);
  const readBy = store.readBy();
  const messageEl = (m) => {
    const rb = readBy.get(m.id);
    const system = isText(m) ? "" : systemText(m);
    const key = [m.version, m.deletedOn, m.editedOn, rb?.join(","), v.editing === m.id, store.nameOf(userIdOf(m.senderCommunicationIdentifier)), m.content?.message, system].join("|");
    const c = v.rendered.get(m.id);
    if (c && c.key === key) return c.el;
    const el = renderMessage(m, rb);
    v.rendered.set(m.id, { key, el });
    return el;
  };
  const now = /* @__PURE__ */ new Date();
  let lastDay = "";
  const els = [];
  for (const m of msgs) {
    const label2 = dayLabel(m.createdOn, now);
    if (label2 && label2 !== lastDay) {
      const key = `day:${label2}`;
      let c = v.rendered.get(key);
      if (!c) {
        c = { key, el: h("li", { class: "day" }, h("span", {}, label2)) };
        v.rendered.set(key, c);
      }
      els.push(c.el);
      lastDay = label2;
    }
    els.push(messageEl(m));
  }
  if (v.older) els.unshift(h("li", { class: "older" }, h("button", { type: "button", onclick: () => void loadOlder() }, "Load older messages")));
  reconcile(list, els);
  $("empty-thread").hidden = msgs.length > 0;
  if (scroll || atBottom) list.scrollTop = list.scrollHeight;
  renderParticipants();
  renderTyping();
  sendReadReceipt();
}
function reconcile(list, els) {
  els.forEach((el, i) => {
    if (list.children[i] !== el) list.insertBefore(el, list.children[i] ?? null);
  });
  while (list.children.length > els.length) list.lastElementChild.remove();
}
function renderMessage(m, readBy) {
  const seq = h("span", { class: "seq", title: "sequence number in the thread" }, `#${m.sequenceId}`);
  if (!isText(m)) {
    return h("li", { class: "sys", "data-seq": m.sequenceId, "data-id": m.id }, systemText(m), " ", seq);
  }
  const sender = userIdOf(m.senderCommunicationIdentifier);
  const mine = sender === store.me.id;
  const deleted = !!m.deletedOn;
  return h(
    "li",
    { class: `msg${mine ? " mine" : ""}${deleted ? " deleted" : ""}`, "data-seq": m.sequenceId, "data-id": m.id },
    h(
      "div",
      { class: "meta" },
      h("span", { class: "who", title: sender }, mine ? "You" : m.senderDisplayName || store.nameOf(sender)),
      " ",
      h("time", { datetime: m.createdOn, title: m.createdOn }, hhmm(m.createdOn)),
      " ",
      seq,
      m.editedOn && !deleted ? h("span", { class: "edited" }, " · edited") : null
    ),
    store.view?.editing === m.id ? editBox(m) : h("div", { class: "body" }, ...deleted ? ["message deleted"] : linkify(m.content?.message ?? "")),
    mine && !deleted && store.view?.editing !== m.id ? h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "link", onclick: () => setEditing(m.id) }, "Edit"),
      h("button", { type: "button", class: "link", onclick: () => void deleteMessage(m) }, "Delete")
    ) : null,
    readBy?.length ? h("div", { class: "read" }, `✓ Read by ${readBy.join(", ")}`) : null
  );
}
function systemText(m) {
  const initiator = userIdOf(m.content?.initiatorCommunicationIdentifier);
  const who = store.nameOf(initiator, "someone");
  const ps = m.content?.participants ?? [];
  const names = ps.map((p) => store.nameOf(userIdOf(p.communicationIdentifier), p.displayName)).join(", ");
  switch (m.type) {
    case "participantAdded": {
      if (m.sequenceId !== "1") return `${who} added ${names}`;
      const others = ps.filter((p) => userIdOf(p.communicationIdentifier) !== initiator).map((p) => store.nameOf(userIdOf(p.communicationIdentifier), p.displayName));
      return others.length ? `${who} created the thread with ${others.join(", ")}` : `${who} created the thread`;
    }
    case "participantRemoved":
      return `${who} removed ${names}`;
    case "topicUpdated":
      return `${who} set the topic to “${m.content?.topic ?? ""}”`;
  }
  return m.type;
}
function setEditing(id) {
  if (!store.view) return;
  store.view.editing = id;
  renderMessages();
  store.view.rendered.get(id)?.el.querySelector("textarea")?.focus();
}
function editBox(m) {
  const input = h("textarea", { class: "edit", rows: 2, "aria-label": "edit message" });
  input.value = m.content?.message ?? "";
  const save = async () => {
    const v = store.view;
    try {
      await store.client.updateMessage(v.id, m.id, { content: input.value });
      setEditing("");
    } catch (err) {
      failed(v.id, err, "edit message");
    }
  };
  return h(
    "div",
    { class: "body editing" },
    input,
    h("button", { type: "button", onclick: () => void save() }, "Save"),
    " ",
    h("button", { type: "button", class: "link", onclick: () => setEditing("") }, "Cancel")
  );
}
function confirmed(question) {
  return window.confirm(question);
}
function topicOf() {
  return $("topic").textContent || "this thread";
}
async function deleteMessage(m) {
  if (!confirmed("Delete this message for everyone in the thread? This cannot be undone.")) return;
  try {
    await store.client.deleteMessage(store.view.id, m.id);
  } catch (err) {
    failed(store.view.id, err, "delete message");
  }
}
async function send(ev) {
  ev.preventDefault();
  const v = store.view;
  const input = $("composer-text");
  const content = input.value;
  if (!v || !content.trim()) return;
  input.value = "";
  const turn = store.sendQueue.then(() => store.rt.send(v.id, { content, senderDisplayName: store.me.name, clientMessageId: crypto.randomUUID() }));
  store.sendQueue = turn.catch(() => void 0);
  try {
    const r = await turn;
    if (store.view === v && !v.messages.has(r.id)) {
      v.messages.set(r.id, { id: r.id, type: "text", sequenceId: r.sequenceId, version: "1", content: { message: content }, createdOn: (/* @__PURE__ */ new Date()).toISOString(), senderCommunicationIdentifier: identifier(store.me.id), senderDisplayName: store.me.name });
      renderMessages(true);
    }
  } catch (err) {
    if (!input.value) input.value = content;
    failed(v.id, err, "send");
  }
}
function typed(ev) {
  if (ev.key === "Enter" && !ev.shiftKey) {
    ev.preventDefault();
    $("composer").requestSubmit();
    return;
  }
  const now = Date.now();
  if (store.view && now - store.lastTyping > 5e3) {
    store.lastTyping = now;
    store.client.sendTyping(store.view.id, { senderDisplayName: store.me.name }).catch((err) => console.warn(`herald: typing: ${describe(err)}`));
  }
}
function renderTyping() {
  const names = store.typingNames(Date.now());
  replace($("typing"), names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "");
}
function sendReadReceipt() {
  const v = store.view;
  if (!v || document.visibilityState !== "visible") return;
  const newest = store.toMarkRead();
  if (!newest) return;
  v.readSent = newest.id;
  store.client.sendReadReceipt(v.id, { chatMessageId: newest.id }).catch((err) => console.warn(`herald: read receipt: ${describe(err)}`));
}
function renderParticipants() {
  const v = store.view;
  if (!v) return;
  replace(
    $("participants"),
    ...v.participants.map((p) => {
      const id = userIdOf(p.communicationIdentifier);
      const mine = id === store.me.id;
      return h(
        "li",
        { "data-user-id": id },
        h("span", { class: "who" }, mine ? `${store.me.name} (you)` : store.nameOf(id)),
        h("span", { class: "uid" }, id),
        mine ? null : h("button", { type: "button", class: "link", onclick: () => void removeParticipant(id) }, "Remove")
      );
    })
  );
}
async function reloadParticipants() {
  const v = store.view;
  if (!v) return;
  try {
    v.participants = await collect(store.client.allParticipants(v.id));
    renderParticipants();
    renderMessages();
  } catch (err) {
    failed(v.id, err, "list participants");
  }
}
async function suggestPeople(input) {
  const q = input.value.trim();
  if (!q || q.startsWith("u_") || q === store.peopleAsked) return;
  store.peopleAsked = q;
  try {
    const r = await store.client.searchPeople(q, 10);
    if (store.peopleAsked !== q) return;
    const here = new Set(store.view?.participants.map((p) => userIdOf(p.communicationIdentifier)) ?? []);
    $("people-list").replaceChildren(
      ...r.value.filter((p) => !here.has(userIdOf(p.communicationIdentifier))).map((p) => h("option", { value: userIdOf(p.communicationIdentifier), label: `${p.displayName} (${userIdOf(p.communicationIdentifier)})` }))
    );
  } catch (err) {
    console.warn(`herald: people search: ${describe(err)}`);
  }
}
async function addParticipant(ev) {
  ev.preventDefault();
  const form = ev.target;
  const id = field(form, "user");
  if (!store.view || !id) return;
  try {
    const r = await store.client.addParticipants(store.view.id, { participants: [{ communicationIdentifier: identifier(id), displayName: field(form, "name") || void 0 }] });
    const bad = r.invalidParticipants?.[0];
    formError(form, bad ? `${bad.reason}: ${bad.message}` : "");
    if (!bad) form.reset();
  } catch (err) {
    console.error(`herald: add participant: ${describe(err)}`);
    formError(form, describe(err));
  }
}
async function removeParticipant(id) {
  if (!store.view) return;
  const question = id === store.me.id ? `Leave “${topicOf()}”? You will stop receiving its messages until someone adds you again.` : `Remove ${store.nameOf(id)} from “${topicOf()}”? They will stop receiving its messages.`;
  if (!confirmed(question)) return;
  try {
    await store.client.removeParticipant(store.view.id, id);
  } catch (err) {
    failed(store.view.id, err, "remove participant");
  }
}
async function deleteThread() {
  if (!store.view) return;
  if (!confirmed(`Delete “${topicOf()}” for everyone? Its messages are gone for all participants; this cannot be undone.`)) return;
  try {
    await store.client.deleteThread(store.view.id);
  } catch (err) {
    failed(store.view.id, err, "delete thread");
  }
}
async function onMessage(ev) {
  const m = ev.data.message;
  const t = await learnThread(ev.threadId);
  if (!t || !m) return;
  if (store.messageArrived(t, m, ev.type === Events.messageReceived, ev.data.at || (/* @__PURE__ */ new Date()).toISOString())) renderMessages();
  renderThreads();
}
function onTyping(ev) {
  if (!store.typing(ev.threadId, userIdOf(ev.data.actor), ev.data.senderDisplayName, Date.now() + 6e3)) return;
  renderTyping();
  setTimeout(renderTyping, 6100);
}
function onReceipt(ev) {
  if (store.view?.id !== ev.threadId || !ev.data.chatMessageId) return;
  store.view.receipts.set(userIdOf(ev.data.actor), ev.data.chatMessageId);
  renderMessages();
}
async function onThreadEvent(ev) {
  if (ev.type === Events.threadDeleted) return;
  const topic = ev.data.thread?.topic;
  const t = await learnThread(ev.threadId, topic);
  if (!t || !topic) return;
  t.topic = topic;
  if (store.view?.id === ev.threadId) replace($("topic"), topic);
  renderThreads();
}
async function onMembership(ev) {
  const ids = (ev.data.participants ?? []).map((p) => userIdOf(p.communicationIdentifier));
  if (ev.type === Events.participantsRemoved && ids.includes(store.me.id)) return;
  const t = await learnThread(ev.threadId);
  if (!t) return;
  if (ev.data.message && store.view?.id === ev.threadId) store.view.messages.set(ev.data.message.id, ev.data.message);
  if (store.view?.id === ev.threadId) await reloadParticipants();
}
function toast(text) {
  const el = $("toast");
  el.appendChild(h("p", {}, text));
  setTimeout(() => el.firstChild?.remove(), 8e3);
}
function showNotice(text) {
  replace($("notice"), text);
  $("notice").hidden = false;
}
function main() {
  $("token-form").addEventListener("submit", (ev) => void tokenSignIn(ev));
  $("dev-form").addEventListener("submit", (ev) => void devSignIn(ev));
  $("new-thread").addEventListener("submit", (ev) => void createThread(ev));
  const who = $("add-participant").elements.namedItem("user");
  who.addEventListener("input", () => void suggestPeople(who));
  $("new-thread").elements.namedItem("participants").addEventListener("input", () => participantsError(""));
  $("composer").addEventListener("submit", (ev) => void send(ev));
  $("composer-text").addEventListener("keydown", (ev) => typed(ev));
  $("add-participant").addEventListener("submit", (ev) => void addParticipant(ev));
  $("leave").addEventListener("click", () => store.view && void removeParticipant(store.me.id));
  $("delete-thread").addEventListener("click", () => void deleteThread());
  $("signout").addEventListener("click", signOut);
  document.addEventListener("visibilitychange", sendReadReceipt);
  setInterval(renderExpiry, 1e3);
  const saved = sessionStorage.getItem(SESSION);
  if (saved) {
    try {
      return signedIn(JSON.parse(saved));
    } catch {
      sessionStorage.removeItem(SESSION);
    }
  }
  $("dev-form").hidden = document.body.dataset.devLogin !== "on";
  if (document.body.dataset.devLogin === "on") void showDevPeople();
}
async function showDevPeople() {
  try {
    const resp = await fetch(`${BASE}/dev/people?maxPageSize=50`, { cache: "no-store" });
    if (!resp.ok) return;
    const people = (await resp.json()).value;
    if (!people.length) return;
    const form = $("dev-form");
    $("dev-people-list").replaceChildren(
      ...people.map(
        (p) => h(
          "li",
          {},
          h("button", { type: "button", class: "link", title: p.id, onclick: () => {
            form.elements.namedItem("name").value = p.displayName ?? "";
            form.requestSubmit();
          } }, p.displayName ?? p.id)
        )
      )
    );
    $("dev-people").hidden = false;
  } catch (err) {
    console.warn(`herald: dev directory: ${describe(err)}`);
  }
}
main();
