import { type Credential, StaticToken } from "./credential.js";
import { responseError } from "./errors.js";
import { Realtime, type RealtimeOptions } from "./realtime.js";
import type { Call, HttpConn } from "./contracts.js";
import type * as w from "./wire.js";

/** FetchLike is the fetch function the clients call (the global fetch by default). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface ClientOptions {
  /** fetch replaces the global fetch (tests, instrumentation). */
  fetch?: FetchLike;
}


/**
 * Conn is what ChatClient and AdminClient share: where the server is, how
 * to reach it, and whose credential to send.
 */
export class Conn implements HttpConn {
  readonly base: string;
  readonly fetch: FetchLike;

  constructor(
    baseUrl: string,
    readonly credential: Credential | null,
    opts: ClientOptions = {},
  ) {
    const u = new URL(baseUrl);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`herald: base URL ${baseUrl} is not an http or https URL`);
    this.base = (u.origin + u.pathname).replace(/\/+$/, "");
    const f = opts.fetch ?? globalThis.fetch;
    this.fetch = (input, init) => f(input, init);
  }

  /** url returns the absolute URL of a call. */
  url(c: Pick<Call, "path" | "url" | "query">): string {
    if (c.url) return new URL(c.url, this.base + "/").toString();
    let u = this.base + c.path;
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(c.query ?? {})) if (v !== undefined && v !== "") q.set(k, String(v));
    const qs = q.toString();
    if (qs) u += "?" + qs;
    return u;
  }

  /** send makes a call and returns the 2xx response; a non-2xx answer throws a HeraldError. */
  async send(c: Call): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json", ...c.headers };
    let body: string | undefined;
    if (c.body !== undefined) {
      body = JSON.stringify(c.body);
      headers["Content-Type"] = "application/json";
    }
    const token = c.token ?? (this.credential ? await this.credential.token() : "");
    if (token) headers["Authorization"] = `Bearer ${token}`;
    const target = this.url(c);
    let resp: Response;
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
  async json<T>(c: Call): Promise<T> {
    const resp = await this.send(c);
    const text = await resp.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

function seg(s: string): string {
  return encodeURIComponent(s);
}

export interface ListOptions {
  maxPageSize?: number;
  skip?: number;
}
export interface ListThreadsOptions extends ListOptions {
  /** startTime keeps threads with activity after it (RFC 3339). */
  startTime?: string;
}
export interface ListMessagesOptions {
  maxPageSize?: number;
  /** before lists newest first, messages with sequenceId < before. */
  before?: number;
  /** since lists oldest first, messages with sequenceId > since (0: from the start). */
  since?: number;
  startTime?: string;
}

/**
 * ChatClient performs the chat operations of docs/api.md as the user whose
 * token its Credential supplies. Every non-2xx answer throws a HeraldError
 * with the server's code and reason. List methods return one page; next*
 * follows a page's nextLink and all* iterates every item of every page.
 */
export class ChatClient {
  readonly conn: Conn;

  constructor(baseUrl: string, credential: Credential, opts: ClientOptions = {}) {
    this.conn = new Conn(baseUrl, credential, opts);
  }

  /** credential is the credential the client sends. */
  get credential(): Credential {
    return this.conn.credential!;
  }

  /**
   * createThread creates a thread. With strictParticipants (a Herald addition) a participant that cannot be added
   * refuses the whole creation (400 invalid_field, target participants, naming each) instead of ACS's
   * created-with-invalidParticipants.
   */
  createThread(req: w.CreateThreadRequest, repeatabilityId = "", opts: { strictParticipants?: boolean } = {}): Promise<w.CreateThreadResponse> {
    const query = opts.strictParticipants ? { strictParticipants: "true" } : undefined;
    return this.conn.json({ method: "POST", path: "/chat/threads", body: req, query, headers: repeat(repeatabilityId) });
  }
  /** searchPeople finds, by the start of a name, the people the caller shares or shared a thread with (a Herald addition). */
  searchPeople(q: string, maxPageSize?: number): Promise<w.PeopleList> {
    return this.conn.json({ method: "GET", path: "/chat/people", query: { q, maxPageSize } });
  }
  listThreads(opts: ListThreadsOptions = {}): Promise<w.Page<w.ChatThreadItem>> {
    return this.conn.json({ method: "GET", path: "/chat/threads", query: { ...opts } });
  }
  nextThreads(nextLink: string): Promise<w.Page<w.ChatThreadItem>> {
    return this.conn.json({ method: "GET", url: nextLink });
  }
  allThreads(opts: ListThreadsOptions = {}): AsyncGenerator<w.ChatThreadItem> {
    return all(this.listThreads(opts), (l) => this.nextThreads(l));
  }
  getThread(threadId: string): Promise<w.ChatThreadProperties> {
    return this.conn.json({ method: "GET", path: `/chat/threads/${seg(threadId)}` });
  }
  async updateThread(threadId: string, req: w.UpdateThreadRequest): Promise<void> {
    await this.conn.send({ method: "PATCH", path: `/chat/threads/${seg(threadId)}`, body: req });
  }
  async deleteThread(threadId: string): Promise<void> {
    await this.conn.send({ method: "DELETE", path: `/chat/threads/${seg(threadId)}` });
  }

  listParticipants(threadId: string, opts: ListOptions = {}): Promise<w.Page<w.ChatParticipant>> {
    return this.conn.json({ method: "GET", path: `/chat/threads/${seg(threadId)}/participants`, query: { ...opts } });
  }
  nextParticipants(nextLink: string): Promise<w.Page<w.ChatParticipant>> {
    return this.conn.json({ method: "GET", url: nextLink });
  }
  allParticipants(threadId: string, opts: ListOptions = {}): AsyncGenerator<w.ChatParticipant> {
    return all(this.listParticipants(threadId, opts), (l) => this.nextParticipants(l));
  }
  addParticipants(threadId: string, req: w.AddParticipantsRequest): Promise<w.AddParticipantsResponse> {
    return this.conn.json({ method: "POST", path: `/chat/threads/${seg(threadId)}/participants/:add`, body: req });
  }
  async removeParticipant(threadId: string, userId: string): Promise<void> {
    await this.conn.send({ method: "POST", path: `/chat/threads/${seg(threadId)}/participants/:remove`, body: { rawId: userId } });
  }

  sendMessage(threadId: string, req: w.SendMessageRequest, repeatabilityId = ""): Promise<w.SendMessageResponse> {
    return this.conn.json({ method: "POST", path: `/chat/threads/${seg(threadId)}/messages`, body: req, headers: repeat(repeatabilityId) });
  }
  listMessages(threadId: string, opts: ListMessagesOptions = {}): Promise<w.Page<w.ChatMessage>> {
    const query: Call["query"] = { ...opts, since: opts.since === undefined ? undefined : String(opts.since) };
    return this.conn.json({ method: "GET", path: `/chat/threads/${seg(threadId)}/messages`, query });
  }
  nextMessages(nextLink: string): Promise<w.Page<w.ChatMessage>> {
    return this.conn.json({ method: "GET", url: nextLink });
  }
  allMessages(threadId: string, opts: ListMessagesOptions = {}): AsyncGenerator<w.ChatMessage> {
    return all(this.listMessages(threadId, opts), (l) => this.nextMessages(l));
  }
  getMessage(threadId: string, messageId: string): Promise<w.ChatMessage> {
    return this.conn.json({ method: "GET", path: `/chat/threads/${seg(threadId)}/messages/${seg(messageId)}` });
  }
  async updateMessage(threadId: string, messageId: string, req: w.UpdateMessageRequest): Promise<void> {
    await this.conn.send({ method: "PATCH", path: `/chat/threads/${seg(threadId)}/messages/${seg(messageId)}`, body: req });
  }
  async deleteMessage(threadId: string, messageId: string): Promise<void> {
    await this.conn.send({ method: "DELETE", path: `/chat/threads/${seg(threadId)}/messages/${seg(messageId)}` });
  }

  async sendReadReceipt(threadId: string, req: w.SendReadReceiptRequest): Promise<void> {
    await this.conn.send({ method: "POST", path: `/chat/threads/${seg(threadId)}/readReceipts`, body: req });
  }
  listReadReceipts(threadId: string, opts: ListOptions = {}): Promise<w.Page<w.ReadReceipt>> {
    return this.conn.json({ method: "GET", path: `/chat/threads/${seg(threadId)}/readReceipts`, query: { ...opts } });
  }
  nextReadReceipts(nextLink: string): Promise<w.Page<w.ReadReceipt>> {
    return this.conn.json({ method: "GET", url: nextLink });
  }
  allReadReceipts(threadId: string, opts: ListOptions = {}): AsyncGenerator<w.ReadReceipt> {
    return all(this.listReadReceipts(threadId, opts), (l) => this.nextReadReceipts(l));
  }
  async sendTyping(threadId: string, req: w.TypingRequest = {}): Promise<void> {
    await this.conn.send({ method: "POST", path: `/chat/threads/${seg(threadId)}/typing`, body: req });
  }

  /** realtime returns the user's live connection; it does nothing until start. */
  realtime(opts: RealtimeOptions = {}): Realtime {
    return new Realtime(this, opts);
  }

  /** createRealtimeTicket gets a single-use, 60-second ticket for a WebSocket (browsers cannot send Authorization on one). */
  createRealtimeTicket(token?: string): Promise<w.Ticket> {
    return this.conn.json({ method: "POST", path: "/realtime/tickets", token });
  }
}

/**
 * AdminClient manages identities and tokens, and reads the doctor's
 * reports and the evidence tables, with the server's admin key.
 */
export class AdminClient {
  readonly conn: Conn;

  constructor(baseUrl: string, adminKey: string, opts: ClientOptions = {}) {
    this.conn = new Conn(baseUrl, new StaticToken(adminKey), opts);
  }

  createIdentity(req: w.CreateIdentityRequest = {}): Promise<w.CreateIdentityResponse> {
    return this.conn.json({ method: "POST", path: "/identities", body: req });
  }
  getIdentity(userId: string): Promise<w.Identity> {
    return this.conn.json({ method: "GET", path: `/identities/${seg(userId)}` });
  }
  async deleteIdentity(userId: string): Promise<void> {
    await this.conn.send({ method: "DELETE", path: `/identities/${seg(userId)}` });
  }
  issueAccessToken(userId: string, req: w.IssueTokenRequest): Promise<w.AccessToken> {
    return this.conn.json({ method: "POST", path: `/identities/${seg(userId)}/:issueAccessToken`, body: req });
  }
  async revokeAccessTokens(userId: string): Promise<void> {
    await this.conn.send({ method: "POST", path: `/identities/${seg(userId)}/:revokeAccessTokens` });
  }
  listAccessTokens(userId: string): Promise<w.TokenList> {
    return this.conn.json({ method: "GET", path: `/identities/${seg(userId)}/tokens` });
  }
  /** diagnose returns the doctor's report on a user in a thread, optionally about one message. */
  diagnose(q: w.DoctorQuery): Promise<w.DoctorReport> {
    return this.conn.json({ method: "GET", path: "/admin/doctor", query: { ...q } });
  }
  /** diagnoseText returns the report as the server's plain text (format=text). */
  async diagnoseText(q: w.DoctorQuery): Promise<string> {
    return (await this.conn.send({ method: "GET", path: "/admin/doctor", query: { ...q, format: "text" } })).text();
  }
  /** diagnoseThread returns the status of one message for every recipient, grouped by cause (GET /admin/doctor/thread). */
  diagnoseThread(q: w.ThreadTriageQuery): Promise<w.Triage> {
    return this.conn.json({ method: "GET", path: "/admin/doctor/thread", query: { ...q } });
  }
  /** diagnoseRecent returns the (recipient, message) pairs not delivered since since ("1h" or RFC 3339), grouped by cause (GET /admin/doctor/recent). */
  diagnoseRecent(since: string): Promise<w.Triage> {
    return this.conn.json({ method: "GET", path: "/admin/doctor/recent", query: { since } });
  }
  /** evidenceUrl is the URL of an evidence table query (to show or link). */
  evidencePath(table: string, f: w.EvidenceFilter = {}): string {
    return this.conn.url({ path: `/admin/events/${seg(table)}`, query: { ...f } }).slice(this.conn.base.length);
  }
  listEvidence(table: string, f: w.EvidenceFilter = {}): Promise<w.EvidenceTable> {
    return this.conn.json({ method: "GET", path: `/admin/events/${seg(table)}`, query: { ...f } });
  }
}

/**
 * devLogin calls POST /dev/login (enabled by `herald serve --dev-login`):
 * with a name it creates an identity and a chat token; with the token of a
 * signed-in user it issues that user a new one. A server without dev login
 * answers 404 route_not_found.
 */
export function devLogin(baseUrl: string, req: { name?: string; token?: string }, opts: ClientOptions = {}): Promise<w.DevLogin> {
  const conn = new Conn(baseUrl, null, opts);
  return conn.json({ method: "POST", path: "/dev/login", body: req.name === undefined ? {} : { name: req.name }, token: req.token });
}

function repeat(id: string): Record<string, string> {
  return id ? { "repeatability-request-id": id } : {};
}

async function* all<T>(first: Promise<w.Page<T>>, next: (link: string) => Promise<w.Page<T>>): AsyncGenerator<T> {
  let page = await first;
  for (;;) {
    yield* page.value ?? [];
    if (!page.nextLink) return;
    page = await next(page.nextLink);
  }
}
