// Fakes for the unit tests: a clock to drive, JWTs to read, a fetch to
// answer, and a server side for real-time links.

import type { Clock } from "../../src/herald/clock.js";
import { CloseError } from "../../src/herald/errors.js";
import type { Network } from "../../src/herald/realtime.js";
import { type DialContext, type Dialer, FrameQueue, type Link } from "../../src/herald/transports.js";
import type { ClientFrame, ServerFrame, ThreadResume, Transport } from "../../src/herald/wire.js";

/** settle lets pending promise callbacks and I/O callbacks run. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

/** FakeClock is a Clock whose time moves only with advance. */
export class FakeClock implements Clock {
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private seq = 0;
  constructor(public t = 1_800_000_000_000) {}
  now(): number {
    return this.t;
  }
  after(ms: number, fn: () => void): () => void {
    const id = ++this.seq;
    this.timers.push({ at: this.t + Math.max(0, ms), fn, id });
    return () => (this.timers = this.timers.filter((x) => x.id !== id));
  }
  get pending(): number {
    return this.timers.length;
  }
  /** advance moves time by ms, firing the timers that fall due in order, letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
    await settle();
  }
}

/** jwt makes an unsigned token with the given claims (the client never verifies). */
export function jwt(claims: { sub?: string; exp?: number; jti?: string }): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b64({ alg: "EdDSA", typ: "at+jwt" })}.${b64(claims)}.c2ln`;
}

/** tokenFor makes a token of user expiring expMs (ms since the epoch). */
export function tokenFor(user: string, expMs: number, n = 0): string {
  return jwt({ sub: user, exp: Math.floor(expMs / 1000), jti: `k_${n}` });
}

/** Call is a request the fake fetch saw. */
export interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** fakeFetch answers every request with answer(call) and records the calls. */
export function fakeFetch(answer: (c: Call) => Response | Promise<Response>): { fetch: (u: string, i: RequestInit) => Promise<Response>; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    fetch: async (url, init) => {
      const c: Call = {
        method: init.method ?? "GET",
        url,
        headers: Object.fromEntries(Object.entries((init.headers as Record<string, string>) ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
        body: init.body ? JSON.parse(init.body as string) : undefined,
      };
      calls.push(c);
      return answer(c);
    },
  };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

/** FakeLink is the server's end of one real-time connection. */
export class FakeLink implements Link {
  readonly q = new FrameQueue();
  readonly sent: ClientFrame[] = [];
  closed: { code?: number; reason?: string } | null = null;
  readonly hello: ClientFrame;
  readonly token: string;
  constructor(
    readonly transport: Transport,
    ctx: DialContext,
  ) {
    this.hello = ctx.hello;
    this.token = ctx.token;
  }
  recv(): Promise<ServerFrame> {
    return this.q.recv();
  }
  async send(f: ClientFrame): Promise<void> {
    if (this.closed) throw new CloseError(1006, "abnormal_closure");
    this.sent.push(f);
  }
  close(code?: number, reason?: string): void {
    this.closed ??= { code, reason };
    this.q.fail(new CloseError(code || 1006, reason || "client_closed"));
  }
  // --- the server's side ---
  push(f: ServerFrame): void {
    this.q.push(f);
  }
  welcome(threads: Record<string, ThreadResume> = {}, extra: Partial<ServerFrame> = {}): void {
    this.push({ type: "welcome", v: 1, connectionId: `c_${this.transport}`, transport: this.transport, heartbeatMs: 60_000, timeoutMs: 120_000, threads, ...extra });
  }
  event(threadId: string, seq: number, event = "chatMessageReceived", data: Record<string, unknown> = {}): void {
    this.push({ type: "event", threadId, seq, event, data: { at: "2026-11-26T12:00:00Z", ...data } });
  }
  /** drop ends the connection from the server's side with a close code. */
  drop(code = 1006, reason = "abnormal_closure"): void {
    this.q.fail(new CloseError(code, reason));
  }
  acks(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const f of this.sent) if (f.type === "ack") for (const a of f.acks ?? []) out[a.threadId] = a.seq;
    return out;
  }
}

/** FakeServer dials FakeLinks, or fails a dial with what refuse returns. */
export class FakeServer {
  readonly links: FakeLink[] = [];
  refuse: ((t: Transport) => unknown) | null = null;
  dialer(transport: Transport): Dialer {
    return async (ctx) => {
      const err = this.refuse?.(transport);
      if (err) throw err;
      const l = new FakeLink(transport, ctx);
      this.links.push(l);
      return l;
    };
  }
  dialers(): Record<Transport, Dialer> {
    return { websocket: this.dialer("websocket"), sse: this.dialer("sse"), longpoll: this.dialer("longpoll") };
  }
  get last(): FakeLink {
    return this.links[this.links.length - 1]!;
  }
}

/** FakeNetwork is a Network the test switches. */
export class FakeNetwork implements Network {
  up = true;
  private fns = new Set<(online: boolean) => void>();
  online(): boolean {
    return this.up;
  }
  subscribe(fn: (online: boolean) => void): () => void {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }
  set(up: boolean): void {
    this.up = up;
    for (const fn of [...this.fns]) fn(up);
  }
}

/** until polls cond until it holds, or throws after timeoutMs. */
export async function until(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
