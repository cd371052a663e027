import { CloseError, HeraldError } from "./errors.js";
import type { HttpConn } from "./contracts.js";
import type { ClientFrame, ServerFrame, Ticket, Transport } from "./wire.js";

/**
 * Link is one open real-time connection, whatever the transport. recv
 * rejects when the connection ends: with a CloseError (the server's close
 * frame, or 1006 for a network failure), a HeraldError (an HTTP refusal) or
 * the network error.
 */
export interface Link {
  readonly transport: Transport;
  recv(): Promise<ServerFrame>;
  send(f: ClientFrame): Promise<void>;
  /** close ends the connection, telling the server code and reason where the transport can. */
  close(code?: number, reason?: string): void;
}

/** DialContext is what a Dialer gets: the token to open with, the hello to send, and a liveness hook. */
export interface DialContext {
  conn: HttpConn;
  token: string;
  hello: ClientFrame;
  /** alive is called when the transport hears from the server without a frame (an empty long-poll answer). */
  alive: () => void;
  /** timeoutMs bounds the opening; past it the dial fails as a network failure. */
  timeoutMs: number;
}

/** Dialer opens a Link as the holder of the token and sends hello on it. */
export type Dialer = (ctx: DialContext) => Promise<Link>;

/**
 * TransportBlockedError says the server was reached over plain HTTP (the
 * WebSocket's ticket was issued) but the transport itself could not be
 * opened: something on the way (a proxy, a firewall) blocks it. The client
 * falls back to the next transport.
 */
export class TransportBlockedError extends CloseError {
  override readonly name = "TransportBlockedError";
}

/** MalformedFrameError marks a frame from the server that cannot be read. */
export class MalformedFrameError extends Error {
  override readonly name = "MalformedFrameError";
}

/** FrameQueue hands frames from a transport's callbacks to one reader. */
export class FrameQueue {
  private readonly frames: ServerFrame[] = [];
  private waiter: { resolve: (f: ServerFrame) => void; reject: (e: unknown) => void } | null = null;
  private failure: unknown = null;
  private failed = false;

  push(f: ServerFrame): void {
    if (this.failed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve(f);
    } else this.frames.push(f);
  }

  /** fail ends the queue: frames already queued are still delivered, then recv rejects with err. */
  fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = err;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(err);
    }
  }

  get ended(): boolean {
    return this.failed;
  }

  recv(): Promise<ServerFrame> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    if (this.failed) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }
}

function parseFrame(text: string): ServerFrame {
  let f: unknown;
  try {
    f = JSON.parse(text);
  } catch {
    throw new MalformedFrameError(`herald: malformed frame from the server: ${text.slice(0, 80)}`);
  }
  if (!f || typeof f !== "object" || typeof (f as ServerFrame).type !== "string") {
    throw new MalformedFrameError(`herald: malformed frame from the server: ${text.slice(0, 80)}`);
  }
  return f as ServerFrame;
}

/** The WebSocket constructor dialWebSocket uses; replaceable for tests. */
export type WebSocketCtor = new (url: string) => WebSocket;

/**
 * dialWebSocket gets a ticket with the token (POST /realtime/tickets, so a
 * refused token shows as a HeraldError with its reason), opens GET
 * /realtime/ws?ticket=... and sends hello. A browser does not show why a
 * WebSocket failed to open: that is a CloseError 1006 websocket_failed,
 * which the client takes as "the network blocks WebSockets" and falls back.
 */
export function webSocketDialer(ctor?: WebSocketCtor): Dialer {
  return async (ctx) => {
    const WS = ctor ?? (globalThis.WebSocket as WebSocketCtor | undefined);
    if (!WS) throw new CloseError(1006, "websocket_unavailable");
    const t = await ctx.conn.json<Ticket>({ method: "POST", path: "/realtime/tickets", token: ctx.token });
    const url = ctx.conn.url({ path: "/realtime/ws", query: { ticket: t.ticket } }).replace(/^http/, "ws");
    const ws = new WS(url);
    const q = new FrameQueue();
    await new Promise<void>((resolve, reject) => {
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
      ws.onerror = () => {}; // onclose follows with the code
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
        if (ws.readyState !== 1 /* OPEN */) return Promise.reject(new CloseError(1006, "abnormal_closure"));
        ws.send(JSON.stringify(f));
        return Promise.resolve();
      },
      close(code, reason) {
        try {
          if (code && (code === 1000 || (code >= 3000 && code <= 4999))) ws.close(code, reason);
          else ws.close();
        } catch {
          ws.close();
        }
        q.fail(new CloseError(code || 1006, reason || "client_closed"));
      },
    };
  };
}

/**
 * HttpLink carries the client's frames of SSE and long-polling: POST
 * /realtime/connections/{id}/frames with the connection key from welcome.
 */
abstract class HttpLink implements Link {
  abstract readonly transport: Transport;
  protected readonly q = new FrameQueue();
  protected readonly abort = new AbortController();
  protected id = "";
  protected key = "";

  constructor(protected readonly ctx: DialContext) {}

  recv(): Promise<ServerFrame> {
    return this.q.recv();
  }

  /** take queues a frame from the server and learns the connection from welcome. */
  protected take(f: ServerFrame): void {
    if (f.type === "welcome") {
      this.id = f.connectionId ?? "";
      this.key = f.connectionKey ?? "";
    }
    this.q.push(f);
    if (f.type === "close") this.end(new CloseError(f.code ?? 1006, f.reason ?? ""));
  }

  protected end(err: unknown): void {
    this.q.fail(err);
    this.abort.abort();
  }

  async send(f: ClientFrame): Promise<void> {
    if (this.q.ended || !this.id) throw new CloseError(1006, "abnormal_closure");
    await this.ctx.conn.send({
      method: "POST",
      path: `/realtime/connections/${encodeURIComponent(this.id)}/frames`,
      body: f,
      headers: { "X-Herald-Connection-Key": this.key },
      token: "",
      signal: this.abort.signal,
    });
  }

  close(code?: number, reason?: string): void {
    this.end(new CloseError(code || 1006, reason || "client_closed"));
  }
}

/** networkError turns a failed fetch into what the client reconnects after. */
function networkError(err: unknown): unknown {
  if (err instanceof HeraldError || err instanceof CloseError || err instanceof MalformedFrameError) return err;
  return new CloseError(1006, "abnormal_closure");
}

/**
 * SseLink reads POST /realtime/sse as a stream with fetch, so that it can
 * send the token in Authorization (no ticket needed) and see a refusal's
 * status and reason, which EventSource hides.
 */
class SseLink extends HttpLink {
  readonly transport = "sse" as const;

  async open(): Promise<void> {
    const timer = setTimeout(() => this.abort.abort(), this.ctx.timeoutMs);
    let resp: Response;
    try {
      resp = await this.ctx.conn.send({
        method: "POST",
        path: "/realtime/sse",
        body: this.ctx.hello,
        headers: { Accept: "text/event-stream" },
        token: this.ctx.token,
        signal: this.abort.signal,
      });
    } catch (err) {
      throw networkError(err);
    } finally {
      clearTimeout(timer);
    }
    if (!resp.body) throw new CloseError(1006, "sse_unavailable");
    void this.read(resp.body.getReader());
  }

  private async read(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    let buf = "";
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let at: number;
        while ((at = buf.indexOf("\n\n")) >= 0) {
          const event = buf.slice(0, at);
          buf = buf.slice(at + 2);
          const data = event
            .split("\n")
            .filter((l) => l.startsWith("data:"))
            .map((l) => l.slice(5).replace(/^ /, ""))
            .join("\n");
          if (data) this.take(parseFrame(data));
          else this.ctx.alive();
        }
      }
      this.end(new CloseError(1006, "abnormal_closure"));
    } catch (err) {
      this.end(networkError(err));
    }
  }
}

/** sseDialer opens Server-Sent Events. */
export const sseDialer: Dialer = async (ctx) => {
  const l = new SseLink(ctx);
  await l.open();
  return l;
};

/** LongPollLink opens with POST /realtime/longpoll and polls GET /realtime/longpoll/{id}. */
class LongPollLink extends HttpLink {
  readonly transport = "longpoll" as const;

  async open(): Promise<void> {
    const timer = setTimeout(() => this.abort.abort(), this.ctx.timeoutMs);
    let frames: ServerFrame[];
    try {
      frames = await this.ctx.conn.json<ServerFrame[]>({
        method: "POST",
        path: "/realtime/longpoll",
        body: this.ctx.hello,
        token: this.ctx.token,
        signal: this.abort.signal,
      });
    } catch (err) {
      throw networkError(err);
    } finally {
      clearTimeout(timer);
    }
    for (const f of frames ?? []) this.take(f);
    void this.poll();
  }

  private async poll(): Promise<void> {
    while (!this.q.ended) {
      try {
        const frames = await this.ctx.conn.json<ServerFrame[]>({
          method: "GET",
          path: `/realtime/longpoll/${encodeURIComponent(this.id)}`,
          headers: { "X-Herald-Connection-Key": this.key },
          token: "",
          signal: this.abort.signal,
        });
        if (!frames?.length) this.ctx.alive();
        for (const f of frames ?? []) this.take(f);
      } catch (err) {
        if (err instanceof HeraldError && err.reason === "connection_not_found") this.end(new CloseError(1006, "connection_lost"));
        else this.end(networkError(err));
      }
    }
  }
}

/** longPollDialer opens a long-polling connection. */
export const longPollDialer: Dialer = async (ctx) => {
  const l = new LongPollLink(ctx);
  await l.open();
  return l;
};

/** defaultDialers are the three transports, as the browser speaks them. */
export function defaultDialers(): Record<Transport, Dialer> {
  return { websocket: webSocketDialer(), sse: sseDialer, longpoll: longPollDialer };
}

