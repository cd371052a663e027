// src/herald/clock.ts
var MAX_TIMER_MS = 2 ** 31 - 1;

// src/herald/credential.ts
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
function utc(t) {
  if (t === void 0 || t === "") return "";
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toISOString().replace("T", " ");
}

// src/pages/triage.ts
var CAUSES = {
  identity_deleted: "Identity deleted",
  token_revoked: "Token revoked",
  token_expired: "Token expired",
  not_participant: "Never a participant",
  thread_deleted: "Thread deleted",
  participant_removed: "Participant removed",
  history_not_shared: "Joined after the message, history not shared",
  send_rejected: "Send rejected or rate limited",
  message_deleted: "Message deleted",
  slow_consumer: "Slow consumer dropped",
  network_blocks_websocket: "Network blocks the WebSocket",
  app_not_listening: "App not listening for notifications",
  recipient_offline: "Recipient offline (not a fault)"
};
var RECEIVED = {
  read: "read (a read receipt at or past it)",
  pushed_acknowledged: "pushed and acknowledged",
  fetched: "fetched over REST after the commit",
  pushed: "pushed to a live connection, not acknowledged"
};
var GROUP_STATUS = {
  not_delivered: "Not delivered",
  pending: "Pending: stored, arrives when the recipient resumes (or in flight)",
  unknown: "Unknown: nothing shows it arrived, no check confirmed why",
  delivered: "Delivered"
};
function renderThreadTriage(t, links) {
  const head = h(
    "header",
    { class: `status triage-head status-${t.status}`, "data-status": t.status },
    h("h2", {}, t.message ? `Every recipient of message ${t.message}` : `Thread ${t.thread ?? ""}`),
    h("p", { class: "summary" }, t.summary),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Thread"),
      h("dd", {}, h("code", {}, t.thread ?? "")),
      h("dt", {}, "Message"),
      h("dd", {}, t.message ? h("code", {}, t.message) : "—", t.seq ? ` (sequence ${t.seq})` : ""),
      t.sender ? h("dt", {}, "Sent by") : null,
      t.sender ? h("dd", { class: "sender" }, h("code", {}, t.sender), t.sentAt ? ` at ${utc(t.sentAt)}` : "") : null,
      h("dt", {}, "Evidence since"),
      h("dd", {}, utc(t.since)),
      h("dt", {}, "Generated"),
      h("dd", {}, utc(t.generatedAt))
    ),
    ...incomplete(t.incomplete)
  );
  if (t.status !== "ok") return [head];
  return [head, ...t.groups.map((g) => renderGroup(g, false, links))];
}
function renderRecentTriage(t, links) {
  const head = h(
    "header",
    { class: "status triage-head", "data-status": t.status },
    h("h2", {}, `Undelivered since ${utc(t.since)}`),
    h("p", { class: "summary" }, t.summary),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Messages examined"),
      h("dd", {}, String(t.messages)),
      h("dt", {}, "Pairs diagnosed"),
      h("dd", {}, String(t.pairs)),
      h("dt", {}, "Generated"),
      h("dd", {}, utc(t.generatedAt))
    ),
    ...incomplete(t.incomplete)
  );
  if (!t.groups.length) return [head, h("p", { class: "hint nothing" }, "Nothing undelivered in this window.")];
  return [head, ...t.groups.map((g) => renderGroup(g, true, links))];
}
function incomplete(notes) {
  return (notes ?? []).map((n) => h("p", { class: "incomplete" }, h("strong", {}, "Incomplete: "), n));
}
function groupTitle(g) {
  const status = GROUP_STATUS[g.status] ?? g.status;
  if (g.cause) return `${status}: ${CAUSES[g.cause] ?? g.cause}`;
  if (g.received) return `${status}: ${RECEIVED[g.received] ?? g.received}`;
  return status;
}
function renderGroup(g, recent, links) {
  const more = g.count - g.pairs.length;
  return h(
    "article",
    { class: `group group-${g.status}`, "data-status": g.status, "data-cause": g.cause ?? "", "data-received": g.received ?? "", "data-count": g.count },
    h(
      "header",
      {},
      h("h4", {}, groupTitle(g)),
      h("span", { class: "badge count" }, `${g.count}`),
      g.cause ? h("code", { class: "reason" }, g.cause) : null
    ),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: recent ? "pairs recent" : "pairs" },
        h("thead", {}, h("tr", {}, h("th", {}, "User"), recent ? h("th", {}, "Thread") : null, recent ? h("th", {}, "Message") : null, h("th", {}, "What the doctor says"))),
        h("tbody", {}, ...g.pairs.map((p) => renderPair(p, recent, links)))
      )
    ),
    more > 0 ? h("p", { class: "hint" }, `… and ${more} more (the answer lists ${g.pairs.length} per group)`) : null
  );
}
function renderPair(p, recent, links) {
  const report = links.report(p);
  return h(
    "tr",
    { "data-user": p.user, "data-message": p.message },
    h("td", {}, h("a", { href: report, "data-nav": "", title: "the full report for this user" }, h("code", {}, p.user))),
    recent ? h("td", {}, h("code", {}, p.thread)) : null,
    recent ? h("td", {}, h("a", { href: links.thread(p), "data-nav": "", title: "every recipient of this message" }, h("code", {}, p.message))) : null,
    h("td", { class: "detail" }, p.summary, " ", h("a", { href: report, "data-nav": "", class: "why" }, "why →"))
  );
}

// src/pages/doctor.ts
var BASE = location.origin;
var KEY = "herald.adminKey";
var admin = null;
var TAGS = {
  Observed: "read directly from a record",
  Measured: "read from current state",
  Correlated: "two signals that co-occur",
  Inferred: "deduced when the other causes are ruled out"
};
var STATUS = {
  delivered: "Delivered",
  not_delivered: "Not delivered",
  pending: "Pending: stored, arrives when the recipient resumes",
  unknown: "Unknown",
  unknown_user: "Unknown user",
  unknown_thread: "Unknown thread"
};
var DEFAULT_WINDOW = "1h";
function fault(f) {
  return f.fault === true;
}
var generation = 0;
function evidenceLink(source, r) {
  const user = r.user;
  const thread = r.thread;
  switch (source) {
    case "tokens":
    case "identities":
      return { table: "Tokens", filter: { user } };
    case "requests":
      return { table: "Requests", filter: { user, thread, since: r.since } };
    case "participants":
      return { table: "Membership", filter: { thread, user } };
    case "threads":
      return { table: "ThreadLifecycle", filter: { thread } };
    case "messages":
      return { table: "ChatMessageSentEvents", filter: { thread, since: r.since } };
    case "connections":
      return { table: "Connections", filter: { user, since: r.since } };
    case "deliveries":
      return { table: "ChatMessageReceivedEvents", filter: { user, thread } };
    case "acks":
      return { table: "Acks", filter: { user, thread } };
  }
  return null;
}
function pageUrl(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  return `/doctor?${q}`;
}
function useKey(key) {
  admin = new AdminClient(BASE, key);
  $("key-form").hidden = true;
  $("query").hidden = false;
  $("recent-form").hidden = false;
  $("forget-key").hidden = false;
}
async function keySubmitted(ev) {
  ev.preventDefault();
  const form = ev.target;
  const key = field(form, "key");
  try {
    await new AdminClient(BASE, key).listEvidence("Requests", { limit: 1 });
  } catch (err) {
    console.error(`herald: admin key: ${describe(err)}`);
    return replace(form.querySelector(".error"), describe(err));
  }
  sessionStorage.setItem(KEY, key);
  form.reset();
  useKey(key);
  void suggest();
  route();
}
function forgetKey() {
  sessionStorage.removeItem(KEY);
  admin = null;
  location.href = "/doctor";
}
async function suggest() {
  try {
    const t = await admin.listEvidence("Requests", { since: "24h", limit: 5e3 });
    const caller = t.columns.indexOf("caller");
    const thread = t.columns.indexOf("thread");
    const users = /* @__PURE__ */ new Set();
    const threads = /* @__PURE__ */ new Set();
    for (const row of t.rows ?? []) {
      if (row[caller]) users.add(row[caller]);
      if (row[thread]) threads.add(row[thread]);
    }
    replace($("users"), ...[...users].map((u) => h("option", { value: u })));
    replace($("threads"), ...[...threads].map((t2) => h("option", { value: t2 })));
  } catch (err) {
    console.warn(`herald: suggestions: ${describe(err)}`);
  }
}
async function suggestMessages(thread) {
  if (!/^t_\w+$/.test(thread)) return;
  try {
    const t = await admin.listEvidence("ChatMessageSentEvents", { thread, limit: 200 });
    const msg = t.columns.indexOf("message");
    replace($("messages"), ...[...new Set((t.rows ?? []).map((r) => r[msg]).filter(Boolean))].reverse().map((m) => h("option", { value: m })));
  } catch {
  }
}
function route() {
  const gen = ++generation;
  const q = new URLSearchParams(location.search);
  const form = $("query");
  for (const name of ["user", "thread", "message", "since"]) {
    const el = form.elements.namedItem(name);
    el.value = q.get(name) ?? "";
  }
  $("recent-form").elements.namedItem("recent").value = q.get("recent") ?? "";
  $("report").hidden = true;
  $("events").hidden = true;
  $("triage").hidden = true;
  if (!admin) return;
  if (q.get("table")) void showTable(q);
  else if (q.get("user") && q.get("thread")) void showReport(q, gen);
  else if (q.get("thread")) void showThreadTriage(q, gen);
  else if (!q.get("user")) void showRecent(q.get("recent") || DEFAULT_WINDOW, gen);
}
function navigate(url) {
  history.pushState(null, "", url);
  route();
  window.scrollTo(0, 0);
}
function querySubmitted(ev) {
  ev.preventDefault();
  const form = ev.target;
  navigate(pageUrl({ user: field(form, "user"), thread: field(form, "thread"), message: field(form, "message"), since: field(form, "since") }));
}
function recentSubmitted(ev) {
  ev.preventDefault();
  navigate(pageUrl({ recent: field(ev.target, "recent") || DEFAULT_WINDOW }));
}
function linkClicked(ev) {
  const a = ev.target.closest?.("a[data-nav]");
  if (!a || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  navigate(a.getAttribute("href"));
}
var triageLinks = (since) => ({
  report: (p) => pageUrl({ user: p.user, thread: p.thread, message: p.message, since: since ?? void 0 }),
  thread: (p) => pageUrl({ thread: p.thread, message: p.message, since: since ?? void 0 })
});
async function showThreadTriage(q, gen) {
  const el = $("triage");
  el.hidden = false;
  replace(el, h("p", { class: "hint" }, "Diagnosing every recipient…"));
  try {
    const t = await admin.diagnoseThread({ thread: q.get("thread"), message: q.get("message") || void 0, since: q.get("since") || void 0 });
    if (gen !== generation) return;
    replace(el, ...renderThreadTriage(t, triageLinks(q.get("since"))));
    document.title = `Herald doctor: ${t.message ?? t.thread ?? ""}`;
  } catch (err) {
    if (gen === generation) failed(el, "thread triage", err);
  }
}
async function showRecent(since, gen) {
  const el = $("triage");
  el.hidden = false;
  replace(el, h("p", { class: "hint" }, `Diagnosing the messages sent since ${since}…`));
  try {
    const t = await admin.diagnoseRecent(since);
    if (gen !== generation) return;
    replace(el, ...renderRecentTriage(t, triageLinks(null)));
    document.title = "Herald doctor: undelivered";
  } catch (err) {
    if (gen === generation) failed(el, "recent triage", err);
  }
}
function failed(el, what, err) {
  console.error(`herald: ${what}: ${describe(err)}`);
  replace(el, h("p", { class: "error" }, describe(err)));
  if (errorReason(err) === "admin_key_invalid") forgetKey();
}
async function showReport(q, gen) {
  const el = $("report");
  el.hidden = false;
  replace(el, h("p", { class: "hint" }, "Gathering evidence…"));
  try {
    const r = await admin.diagnose({ user: q.get("user"), thread: q.get("thread"), message: q.get("message") || void 0, since: q.get("since") || void 0 });
    if (gen !== generation) return;
    replace(el, ...renderReport(r));
    document.title = `Herald doctor: ${STATUS[r.status] ?? r.status}`;
  } catch (err) {
    if (gen === generation) failed(el, "diagnose", err);
  }
}
function renderReport(r) {
  const byVerdict = (v) => r.findings.filter((f) => f.verdict === v);
  const confirmed = r.findings.filter(fault);
  const notFault = byVerdict("confirmed").filter((f) => !fault(f));
  const inconclusive = byVerdict("inconclusive");
  const ruledOut = byVerdict("ruled_out");
  const cause = r.findings.find((f) => f.check === r.cause);
  const out = [
    h(
      "header",
      { class: `status status-${r.status}`, "data-status": r.status, "data-cause": r.cause ?? "" },
      h("h2", {}, STATUS[r.status] ?? r.status),
      cause ? h("p", { class: "cause" }, "Cause: ", h("strong", {}, cause.title), " ", tagBadge(cause.tag), " ", h("code", {}, cause.check)) : null,
      h("p", { class: "summary" }, r.summary),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "User"),
        h("dd", {}, h("code", {}, r.user)),
        h("dt", {}, "Thread"),
        h("dd", {}, h("code", {}, r.thread)),
        h("dt", {}, "Message"),
        h("dd", {}, r.message ? h("code", {}, r.message) : "—", r.seq ? ` (sequence ${r.seq})` : "", r.picked ? h("span", { class: "hint picked" }, ` — no message was named: ${r.picked}`) : ""),
        r.sender ? h("dt", {}, "Sent by") : null,
        r.sender ? h("dd", { class: "sender" }, h("code", {}, r.sender), r.sentAt ? ` at ${utc(r.sentAt)}` : "") : null,
        h("dt", {}, "Evidence since"),
        h("dd", {}, utc(r.since)),
        h("dt", {}, "Generated"),
        h("dd", {}, utc(r.generatedAt))
      ),
      ...(r.incomplete ?? []).map((n) => h("p", { class: "incomplete" }, h("strong", {}, "Incomplete: "), n)),
      r.message ? h("p", { class: "hint" }, h("a", { href: pageUrl({ thread: r.thread, message: r.message, since: void 0 }), "data-nav": "" }, "Every recipient of this message →")) : null
    )
  ];
  if (r.receipts?.length) out.push(h("h3", {}, `Received (${r.receipts.length})`), ...r.receipts.map((rc) => renderReceipt(rc, r)));
  if (r.delivered) {
    const d = r.delivered;
    out.push(
      h(
        "p",
        { class: "delivered" },
        `Pushed at ${utc(d.pushedAt)} on connection `,
        h("code", {}, d.connectionId),
        ` (${d.transport}), ${d.latencyMs} ms after the commit; `,
        d.ackedAt ? `acknowledged at ${utc(d.ackedAt)} (${d.ackMs ?? "?"} ms later).` : "not acknowledged yet."
      )
    );
  }
  if (confirmed.length) out.push(h("h3", {}, `Confirmed (${confirmed.length})`), ...confirmed.map((f) => renderFinding(f, r)));
  if (notFault.length) out.push(h("h3", {}, `Confirmed, not a fault (${notFault.length})`), ...notFault.map((f) => renderFinding(f, r)));
  if (inconclusive.length) out.push(h("h3", {}, `Inconclusive (${inconclusive.length})`), ...inconclusive.map((f) => renderFinding(f, r)));
  if (ruledOut.length) {
    out.push(h("details", { class: "ruled-out" }, h("summary", {}, `Ruled out (${ruledOut.length})`), ...ruledOut.map((f) => renderFinding(f, r))));
  }
  out.push(
    h(
      "p",
      { class: "hint" },
      "Evidence tables: ",
      ...["Requests", "Connections", "ChatMessageReceivedEvents", "Acks", "Membership", "Tokens"].flatMap((t, i) => [
        i ? " · " : "",
        h("a", { href: pageUrl({ table: t, user: r.user, thread: t === "Connections" || t === "Tokens" ? void 0 : r.thread, since: t === "Requests" || t === "Connections" ? r.since : void 0, back: backOf() }) }, t)
      ])
    )
  );
  return out;
}
function tagBadge(tag) {
  return h("span", { class: `badge tag tag-${tag}`, title: `[${tag}]: ${TAGS[tag] ?? ""}` }, `[${tag}]`);
}
function renderReceipt(rc, r) {
  return h(
    "article",
    { class: "finding receipt", "data-how": rc.how },
    h("header", {}, h("h4", {}, RECEIVED[rc.how] ?? rc.how), tagBadge(rc.tag)),
    h("ol", { class: "timeline" }, renderEvidence(rc.evidence, r))
  );
}
function renderFinding(f, r) {
  const ev = [...f.evidence ?? []].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const notFault = f.verdict === "confirmed" && !fault(f);
  return h(
    "article",
    { class: `finding verdict-${notFault ? "not-fault" : f.verdict}`, "data-check": f.check, "data-verdict": f.verdict, "data-fault": String(fault(f)) },
    h(
      "header",
      {},
      h("h4", {}, f.title),
      notFault ? h("span", { class: "badge verdict v-not-fault" }, "yes (not a fault)") : h("span", { class: `badge verdict v-${f.verdict}` }, f.verdict.replace("_", " ")),
      tagBadge(f.tag),
      f.reason ? h("code", { class: "reason", title: "Herald's reason code" }, f.reason) : null
    ),
    h("p", {}, f.summary),
    ev.length ? h("ol", { class: "timeline" }, ...ev.map((e) => renderEvidence(e, r))) : null,
    f.mitigation ? h("p", { class: "mitigation" }, h("strong", {}, "Mitigation: "), f.mitigation) : null
  );
}
function renderEvidence(e, r) {
  const link = evidenceLink(e.source, r);
  const source = link ? h("a", { class: "source", href: pageUrl({ table: link.table, ...stringify(link.filter), row: e.id, back: backOf() }), title: `rows of ${link.table}` }, e.source) : h("span", { class: "source" }, e.source);
  return h("li", {}, h("time", { datetime: e.at }, utc(e.at)), source, h("code", { class: "id", title: e.id }, e.id), h("span", { class: "detail" }, e.detail));
}
function stringify(f) {
  return Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v === void 0 ? void 0 : String(v)]));
}
function backOf() {
  return location.pathname + location.search;
}
async function showTable(q) {
  const el = $("events");
  el.hidden = false;
  const table = q.get("table");
  const filter = {};
  for (const k of ["user", "thread", "message", "since", "until", "reason"]) if (q.get(k)) filter[k] = q.get(k);
  const row = q.get("row") ?? "";
  const back = q.get("back");
  const api = admin.evidencePath(table, filter);
  replace(el, h("p", { class: "hint" }, "Loading…"));
  try {
    const t = await admin.listEvidence(table, filter);
    const rows = t.rows ?? [];
    const hit = (r) => !!row && r.some((c) => c.includes(row));
    const matches = rows.filter(hit).length;
    replace(
      el,
      h("p", {}, h("a", { href: back && back.startsWith("/doctor") ? back : "/doctor" }, "← back to the report")),
      h("h2", {}, t.table),
      h("p", { class: "hint" }, h("code", {}, `GET ${api}`), ` · ${rows.length} row(s)`, row ? ` · ${matches} matching ${row}` : ""),
      rows.length ? h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { "data-table": t.table },
          h("thead", {}, h("tr", {}, ...t.columns.map((c) => h("th", {}, c)))),
          h("tbody", {}, ...rows.map((r) => h("tr", { class: hit(r) ? "match" : null }, ...r.map((c) => h("td", {}, c)))))
        )
      ) : h("p", {}, "No rows match this filter.")
    );
    el.querySelector("tr.match")?.scrollIntoView({ block: "center" });
  } catch (err) {
    console.error(`herald: evidence ${table}: ${describe(err)}`);
    replace(el, h("p", { class: "error" }, describe(err)));
  }
}
function main() {
  $("key-form").addEventListener("submit", (ev) => void keySubmitted(ev));
  $("query").addEventListener("submit", querySubmitted);
  $("recent-form").addEventListener("submit", recentSubmitted);
  document.addEventListener("click", linkClicked);
  $("forget-key").addEventListener("click", forgetKey);
  const threadInput = $("query").elements.namedItem("thread");
  threadInput.addEventListener("change", () => void suggestMessages(threadInput.value.trim()));
  window.addEventListener("popstate", route);
  const key = sessionStorage.getItem(KEY);
  if (key) {
    useKey(key);
    void suggest();
  }
  route();
}
main();
