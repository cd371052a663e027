import { isRefreshing } from "./credential.js";
import { CloseError, HeraldError, describe } from "./errors.js";
import type { Ending, RealtimeEvent, RealtimeHost } from "./contracts.js";
import { type Link, MalformedFrameError } from "./transports.js";
import type * as w from "./wire.js";

/** Until the welcome says otherwise. */
const DEFAULT_HEARTBEAT_MS = 25_000;
/** Acknowledgements go out when this many events are pending, or this long after the first one, and before closing. */
const ACK_BATCH = 100;
const ACK_DELAY_MS = 50;

/** Message is what the session's loop takes, one at a time. */
type Message =
  | { kind: "frame"; f: w.ServerFrame }
  | { kind: "end"; err: unknown }
  | { kind: "tick" }
  | { kind: "ack" }
  | { kind: "token" }
  | { kind: "stop" }
  | { kind: "offline" }
  | { kind: "welcomeTimeout" };

/** Mailbox queues messages for one async reader. */
class Mailbox {
  private readonly items: Message[] = [];
  private waiter: ((m: Message) => void) | null = null;
  put(m: Message): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(m);
    } else this.items.push(m);
  }
  take(): Promise<Message> {
    const m = this.items.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve) => (this.waiter = resolve));
  }
}

/**
 * Session is one open connection: a reader moves frames from the link into
 * the mailbox (answering pings at once), and run takes them, with the
 * timers, the offered tokens and the stop request, one at a time.
 */
export class Session {
  private readonly box = new Mailbox();
  private link: Link | null = null;
  private lastHeard: number;
  private connectionId = "";
  private caughtUp = false;
  private cancelAck: (() => void) | null = null;
  private cancelTick: (() => void) | null = null;

  constructor(
    private readonly r: RealtimeHost,
    private token: string,
    private readonly resume: boolean,
  ) {
    this.lastHeard = r.clock.now();
  }

  heard(): void {
    this.lastHeard = this.r.clock.now();
  }
  stop(): void {
    this.box.put({ kind: "stop" });
  }
  offline(): void {
    this.box.put({ kind: "offline" });
  }
  tokenOffered(): void {
    this.box.put({ kind: "token" });
  }

  private async read(link: Link): Promise<void> {
    for (;;) {
      let f: w.ServerFrame;
      try {
        f = await link.recv();
      } catch (err) {
        this.box.put({ kind: "end", err });
        return;
      }
      this.heard();
      if (f.type === "ping") {
        link.send({ type: "pong" }).catch(() => {}); // a failure shows in recv
        continue;
      }
      this.box.put({ kind: "frame", f });
    }
  }

  /** run processes the connection's frames until it ends. */
  async run(link: Link): Promise<Ending> {
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
      for (;;) {
        const m = await this.box.take();
        let end: Ending | null = null;
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
            link.close(1000, "client_closed");
            end = { code: 1000, reason: "client_closed", openedAt: 0 };
            break;
          case "offline":
            link.close(4000, "network_offline");
            end = { code: 1006, reason: "network_offline", err: new CloseError(1006, "network_offline"), openedAt: 0 };
            break;
        }
        if (end) return { ...end, openedAt };
      }
    } finally {
      this.cancelAck?.();
      this.cancelTick?.();
      link.close(1000, "client_closed");
    }
  }

  private arm(heartbeatMs: number): void {
    this.cancelTick = this.r.clock.after(heartbeatMs, () => this.box.put({ kind: "tick" }));
  }

  /** welcome waits for the server's answer to hello and applies it. */
  private async welcome(): Promise<{ heartbeatMs: number; timeoutMs: number } | { ending: Ending }> {
    const r = this.r;
    for (;;) {
      const m = await this.box.take();
      switch (m.kind) {
        case "frame":
          break;
        case "end":
          return { ending: lost(m.err) };
        case "welcomeTimeout":
          this.link!.close(4001, "heartbeat_timeout");
          return { ending: { code: 4001, reason: "heartbeat_timeout", err: new CloseError(4001, "no welcome"), openedAt: 0 } };
        case "stop":
          this.link!.close(1000, "client_closed");
          return { ending: { code: 1000, reason: "client_closed", openedAt: 0 } };
        case "offline":
          return { ending: { code: 1006, reason: "network_offline", err: new CloseError(1006, "network_offline"), openedAt: 0 } };
        default:
          continue; // a token offered before welcome is sent after it
      }
      const f = m.f;
      if (f.type !== "welcome") {
        this.link!.close(4100, "expected welcome");
        return {
          ending: { code: 1002, reason: "malformed_frame", err: new MalformedFrameError(`herald: the first frame is ${f.type}, not welcome`), openedAt: 0 },
        };
      }
      this.connectionId = f.connectionId ?? "";
      r.setExpiresOn(f.tokenExpiresOn);
      const failed = await this.applyWelcome(f);
      r.resumedOnce = true;
      const heartbeatMs = f.heartbeatMs && f.heartbeatMs > 0 ? f.heartbeatMs : DEFAULT_HEARTBEAT_MS;
      const timeoutMs = f.timeoutMs && f.timeoutMs > 0 ? f.timeoutMs : 2 * heartbeatMs;
      const transport = (f.transport as w.Transport) || this.link!.transport;
      r.emit({ state: "connected", transport, connectionId: this.connectionId, welcome: f, resumeFailed: failed });
      r.log.info(`herald: connected via ${transport} (connection ${this.connectionId})`);
      for (const t of Object.keys(failed).sort()) r.resumeFailed(t, failed[t]!);
      return { heartbeatMs, timeoutMs };
    }
  }

  /**
   * applyWelcome updates the thread set and cursors from a welcome and
   * returns the threads whose resume failed, with the reason, as the Go
   * SDK does. A thread the welcome calls ended, with nothing left to
   * replay, is dropped.
   */
  private async applyWelcome(f: w.ServerFrame): Promise<Record<string, string>> {
    const r = this.r;
    const failed: Record<string, string> = {};
    for (const t of Object.keys(f.threads ?? {}).sort()) {
      const tr = f.threads![t]!;
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
  private async handle(f: w.ServerFrame): Promise<Ending | null> {
    const r = this.r;
    switch (f.type) {
      case "event":
        return this.event(f);
      case "caughtUp":
        this.caughtUp = true;
        r.emit({ state: "connected", transport: this.link!.transport, connectionId: this.connectionId, caughtUp: true });
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
        this.link!.close();
        return { code: f.code ?? 1006, reason: f.reason ?? "", err: new CloseError(f.code ?? 1006, f.reason ?? ""), openedAt: 0 };
      }
    }
    return null; // pong, a second welcome and frame types newer than this client need nothing
  }

  /** event hands an event to its handlers and, for a sequenced one, dedups it, saves the cursor and schedules the ack. */
  private async event(f: w.ServerFrame): Promise<Ending | null> {
    const r = this.r;
    const ev: RealtimeEvent = {
      threadId: f.threadId ?? "",
      seq: f.seq ?? 0,
      type: f.event ?? "",
      data: f.data ?? { at: "" },
      replayed: !this.caughtUp,
      connectionId: this.connectionId,
      frame: f,
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
    if (ev.seq <= r.cursorOf(ev.threadId)) return null; // a duplicate: the handlers already took it
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
    if (handlers.length === 0) return null; // not acknowledged: the app does not listen for this type
    r.pending.set(ev.threadId, ev.seq);
    if (r.pending.size >= ACK_BATCH) return this.flush();
    this.cancelAck ??= r.clock.after(ACK_DELAY_MS, () => this.box.put({ kind: "ack" }));
    return null;
  }

  /** fail ends the connection after a handler or the cursor store failed, so that the event is replayed after reconnecting. */
  private async fail(ev: RealtimeEvent, err: unknown): Promise<Ending> {
    const e = new Error(`herald: handler of ${ev.type} ${ev.threadId} seq ${ev.seq}: ${describe(err)}`, { cause: err });
    await this.flush();
    this.link!.close(1000, "handler_failed");
    return { code: 1000, reason: "handler_failed", err: e, openedAt: 0, handler: true };
  }

  /** flush sends the pending acknowledgements: per thread, the highest seq its handlers took. */
  private async flush(): Promise<Ending | null> {
    this.cancelAck?.();
    this.cancelAck = null;
    const r = this.r;
    if (r.pending.size === 0) return null;
    const acks = [...r.pending.keys()].sort().map((threadId) => ({ threadId, seq: r.pending.get(threadId)! }));
    try {
      await this.link!.send({ type: "ack", acks });
    } catch (err) {
      return lost(err); // kept pending for the next connection
    }
    r.pending.clear();
    return null;
  }

  /** refresh sends the newest offered token in-band, unless the connection has it already. */
  private async refresh(): Promise<Ending | null> {
    const token = this.r.offered;
    this.r.offered = "";
    if (!token || token === this.token) return null;
    try {
      await this.link!.send({ type: "refresh", token });
    } catch (err) {
      return lost(err);
    }
    this.token = token;
    return null;
  }

  /** expiring answers tokenExpiring: it asks the credential for a new token; it arrives through offerToken. */
  private expiring(): void {
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
              message: `the token expires at ${r.tokenExpiresOn ? new Date(r.tokenExpiresOn).toISOString() : "soon"} and the credential cannot refresh it; the server will close the connection with 4101`,
            }),
          );
          return;
        }
        await cred.refresh(); // the onRefresh hook offers the token
      } catch (err) {
        r.report(err);
      }
    })();
  }
}

/** lost describes a link that failed under the session. */
function lost(err: unknown): Ending {
  if (err instanceof CloseError) return { code: err.code, reason: err.reason, err, openedAt: 0 };
  if (err instanceof HeraldError) return { code: 0, reason: err.reason, err, openedAt: 0 };
  if (err instanceof MalformedFrameError) return { code: 1002, reason: "malformed_frame", err, openedAt: 0 };
  return { code: 1006, reason: "abnormal_closure", err, openedAt: 0 };
}
