import { type Backoff, DEFAULT_BACKOFF, backoffDelay } from "./backoff.js";
import { type Clock, sleep, systemClock } from "./clock.js";
import { type Credential, isRefreshing } from "./credential.js";
import { type CursorStore, MemoryCursors } from "./cursors.js";
import { CloseError, HeraldError, describe, errorReason, mitigationFor } from "./errors.js";
import { peekToken } from "./jwt.js";
import type { Ending, Handler, Logger, RealtimeClient, RealtimeEvent, RealtimeHost, StateChange } from "./contracts.js";
import { Session } from "./session.js";
import { type Dialer, MalformedFrameError, TransportBlockedError, defaultDialers } from "./transports.js";
import * as w from "./wire.js";

export type { Ending, Handler, Logger, RealtimeEvent, State, StateChange } from "./contracts.js";
/** Network tells the client whether the device is online, and when that changes (window's online/offline events by default). */
export interface Network {
  online(): boolean;
  subscribe(fn: (online: boolean) => void): () => void;
}

/** browserNetwork reads navigator.onLine and the window's online and offline events; elsewhere it is always online. */
export const browserNetwork: Network = {
  online: () => (typeof navigator === "undefined" ? true : navigator.onLine !== false),
  subscribe(fn) {
    if (typeof window === "undefined") return () => {};
    const on = () => fn(true);
    const off = () => fn(false);
    window.addEventListener("online", on);
    window.addEventListener("offline", off);
    return () => {
      window.removeEventListener("online", on);
      window.removeEventListener("offline", off);
    };
  },
};

export interface RealtimeOptions {
  /**
   * transports are tried in order (default websocket, sse, longpoll): when
   * one cannot be established while the network is up, the next is used,
   * and kept for the rest of the Realtime's life.
   */
  transports?: w.Transport[];
  /** cursors keeps the per-thread cursors (default in memory; LocalStorageCursors survives reloads). */
  cursors?: CursorStore;
  backoff?: Backoff;
  clock?: Clock;
  /** logger receives the client's log lines; null silences it. */
  logger?: Logger | null;
  network?: Network;
  /** dialers replace the transports' implementations (tests). */
  dialers?: Partial<Record<w.Transport, Dialer>>;
  /** openTimeoutMs bounds opening a transport and waiting for welcome (default 15 s). */
  openTimeoutMs?: number;
}

/** A connection must last this long for the next reconnect to start the backoff over. */
const STABLE_AFTER_MS = 10_000;

const silent: Logger = { info() {}, warn() {}, error() {} };

/**
 * Realtime is one user's live connection to a Herald server: every event of
 * every thread the user is in, over WebSocket, SSE or long-polling, with the
 * Go SDK's behaviour — it resumes after any interruption from per-thread
 * cursors, de-duplicates by sequence number, acknowledges what its handlers
 * took, answers and sends heartbeats, keeps the token fresh in-band,
 * reconnects with jittered backoff, and keeps a local set of the user's
 * threads so that send fails fast on threads deleted or left. In the
 * browser it also falls back from WebSocket to SSE to long-polling when one
 * cannot be established, and waits for the network when the browser is
 * offline.
 *
 * Register handlers (on) and callbacks before start. Handlers run one at a
 * time, in the order of the frames.
 */
export class Realtime implements RealtimeHost {
  readonly client: RealtimeClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly cursorStore: CursorStore;
  private readonly backoff: Backoff;
  private readonly network: Network;
  private readonly transports: w.Transport[];
  private readonly dialers: Record<w.Transport, Dialer>;
  readonly openTimeoutMs: number;
  private transportIndex = 0;
  private fallbackReason = "";

  /** @internal */ readonly handlers = new Map<string, Handler[]>();
  private readonly stateFns: ((s: StateChange) => void)[] = [];
  private readonly resumeFailedFns: ((threadId: string, reason: string) => void)[] = [];
  private readonly errorFns: ((err: unknown) => void)[] = [];
  private readonly endedFns: ((threadId: string, reason: string) => void)[] = [];

  /** @internal */ pending = new Map<string, number>(); // handled seq not yet acknowledged, per thread
  /** @internal */ resumedOnce = false; // a connection has been welcomed: later hellos resume
  private started = false;
  private stopped = false;
  private readonly stop = new AbortController();
  private wake: AbortController | null = null; // aborted to end a backoff wait early (back online)
  /** @internal */ session: Session | null = null;
  /** @internal */ offered = ""; // the newest token from the credential, not yet taken by a session
  private user = "";
  private last: StateChange | null = null;
  private expiresOn: number | null = null;

  private readonly cursor = new Map<string, number>();
  private readonly known = new Set<string>();
  private readonly gone = new Map<string, string>(); // threads send refuses: thread_deleted or not_participant
  private readonly endedAt = new Map<string, number>(); // last cursor of threads that ended for the user

  constructor(client: RealtimeClient, opts: RealtimeOptions = {}) {
    this.client = client;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger === null ? silent : (opts.logger ?? console);
    this.cursorStore = opts.cursors ?? new MemoryCursors();
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.network = opts.network ?? browserNetwork;
    this.transports = opts.transports?.length ? [...opts.transports] : ["websocket", "sse", "longpoll"];
    this.dialers = { ...defaultDialers(), ...opts.dialers };
    this.openTimeoutMs = opts.openTimeoutMs ?? 15_000;
  }

  /** on registers h for events of type type; several handlers of a type run in the order registered. */
  on(type: string, h: Handler): this {
    this.mustNotHaveStarted("on");
    const hs = this.handlers.get(type) ?? [];
    hs.push(h);
    this.handlers.set(type, hs);
    return this;
  }

  /** onState registers fn for every state change. */
  onState(fn: (s: StateChange) => void): this {
    this.mustNotHaveStarted("onState");
    this.stateFns.push(fn);
    return this;
  }

  /** onResumeFailed registers fn for each thread whose missed events could not be replayed: reload it over REST. */
  onResumeFailed(fn: (threadId: string, reason: string) => void): this {
    this.mustNotHaveStarted("onResumeFailed");
    this.resumeFailedFns.push(fn);
    return this;
  }

  /** onError registers fn for problems that do not end the connection: error frames, failed refreshes, failed typing handlers. */
  onError(fn: (err: unknown) => void): this {
    this.mustNotHaveStarted("onError");
    this.errorFns.push(fn);
    return this;
  }

  /**
   * onThreadEnded registers fn for threads dropped from the local state:
   * reason not_participant (the user was removed), thread_deleted, or
   * ended (the welcome says nothing more will come from it).
   */
  onThreadEnded(fn: (threadId: string, reason: string) => void): this {
    this.mustNotHaveStarted("onThreadEnded");
    this.endedFns.push(fn);
    return this;
  }

  private mustNotHaveStarted(what: string): void {
    if (this.started) throw new Error(`herald: Realtime.${what} called after start`);
  }

  /** userId is the user, read from the token's sub when connecting. */
  get userId(): string {
    return this.user;
  }

  /** state is the last state change, or null before start. */
  get state(): StateChange | null {
    return this.last;
  }

  /** tokenExpiresOn is the expiry of the token the server holds for this connection (welcome, refreshed), in ms. */
  get tokenExpiresOn(): number | null {
    return this.expiresOn;
  }

  /** threads returns the ids of the user's threads as the client knows them, sorted. */
  threads(): string[] {
    return [...this.known].sort();
  }

  /** cursors returns a copy of the per-thread cursors. */
  cursors(): Record<string, number> {
    return Object.fromEntries(this.cursor);
  }

  /** ended reports whether a thread was dropped (removed, deleted), with the reason, or "". */
  ended(threadId: string): string {
    return this.gone.get(threadId) ?? (this.endedAt.has(threadId) && !this.known.has(threadId) ? "ended" : "");
  }

  /**
   * start connects and runs until close (it then resolves) or the
   * connection ends for a terminal reason, which it throws as a HeraldError
   * (token_revoked, identity_deleted, token_expired with a credential that
   * cannot refresh, a refusal to open). Everything else reconnects.
   */
  async start(): Promise<void> {
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
    const unsubscribe = isRefreshing(cred) ? cred.onRefresh((t) => this.offerToken(t)) : () => {};
    const unwatch = this.network.subscribe((online) => this.networkChanged(online));
    try {
      await this.run();
    } finally {
      unsubscribe();
      unwatch();
    }
  }

  /** close stops: it acknowledges what the handlers took, closes the connection and makes start resolve. */
  close(): void {
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
  async send(threadId: string, req: w.SendMessageRequest): Promise<w.SendMessageResponse> {
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

  private async run(): Promise<void> {
    let attempt = 0;
    for (;;) {
      if (this.stopped) return this.stoppedState();
      if (!this.network.online()) {
        this.emit({ state: "disconnected", code: 1006, reason: "network_offline", willReconnect: true, offline: true });
        await this.waitOnline();
        attempt = 0;
        continue;
      }
      const transport = this.transports[this.transportIndex]!;
      this.emit({ state: attempt > 0 || this.resumedOnce ? "reconnecting" : "connecting", attempt, transport, ...this.fallbackInfo() });
      const end = await this.connect(transport);
      if (this.stopped) return this.stoppedState();
      if (end.openedAt && !end.handler && this.clock.now() - end.openedAt >= STABLE_AFTER_MS) attempt = 0;
      if (!end.openedAt && (await this.shouldFallBack(end))) {
        const next = this.transports[this.transportIndex + 1]!;
        const why = `${transport} could not be established (${end.code ? end.code + " " : ""}${end.reason})`;
        this.fallbackReason = this.fallbackReason ? `${this.fallbackReason}; ${why}` : why;
        this.log.warn(
          `herald: ${why}; falling back to ${next}. Mitigation: let ${transportPath(transport)} through the proxy or firewall; meanwhile ${next} carries the same events with the same guarantees.`,
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
      if (end.reason === "network_offline") continue; // waits for the network at the top, without backoff
      const delay = Math.max(backoffDelay(this.backoff, attempt), end.retryAfterMs ?? 0);
      attempt++;
      this.emit({ state: "disconnected", code: end.code, reason: end.reason, error: end.err, willReconnect: true, retryInMs: delay });
      const m = mitigationFor(end.reason);
      this.log.warn(`herald: disconnected (${end.code ? end.code + " " : ""}${end.reason}${end.err && !(end.err instanceof CloseError) ? ": " + describe(end.err) : ""}); reconnecting in ${(delay / 1000).toFixed(1)} s${m ? ". " + m : ""}`);
      this.wake = new AbortController();
      await sleep(this.clock, delay, AbortSignal.any([this.stop.signal, this.wake.signal]));
      this.wake = null;
    }
  }

  private stoppedState(): void {
    this.emit({ state: "disconnected", code: 1000, reason: "client_closed" });
  }

  private fallbackInfo(): Pick<StateChange, "fallback" | "fallbackReason"> {
    return this.transportIndex > 0 ? { fallback: true, fallbackReason: this.fallbackReason } : {};
  }

  /**
   * shouldFallBack says whether the transport, which failed before
   * welcome, is blocked on the way while the server is up: it opened and
   * died, or the WebSocket could not open though its ticket was issued, or
   * it failed outright while a plain request gets through. A server that is
   * down (or answered with a refusal) is no reason to change transports.
   */
  private async shouldFallBack(end: Ending): Promise<boolean> {
    if (this.transportIndex >= this.transports.length - 1 || !this.network.online() || this.stopped) return false;
    if (end.err instanceof HeraldError) return false; // the server answered: another transport gets the same answer
    if (end.reason === "token_unavailable" || end.reason === "client_closed" || end.reason === "network_offline" || end.handler) return false;
    if (end.dialed || end.err instanceof TransportBlockedError) return true;
    return this.reachable();
  }

  /** reachable reports whether a plain request reaches the server (any answer counts). */
  private async reachable(): Promise<boolean> {
    try {
      await this.client.createRealtimeTicket();
      return true;
    } catch (err) {
      return err instanceof HeraldError;
    }
  }

  private waitOnline(): Promise<void> {
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

  private networkChanged(online: boolean): void {
    if (!online) {
      this.log.warn("herald: the browser went offline; closing the connection until the network returns");
      this.session?.offline();
    } else {
      this.log.info("herald: the network is back; reconnecting now");
      this.wake?.abort();
    }
  }

  /** decide says whether to reconnect after end; if not, the terminal error. An expired token is refreshed first when it can be. */
  private async decide(end: Ending): Promise<{ retry: boolean; terminal?: unknown }> {
    let terminal: HeraldError | undefined;
    const err = end.err;
    if (err instanceof CloseError) {
      if (w.reconnects(err.code) || err.code === 1000) return { retry: true };
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
  private async connect(transport: w.Transport): Promise<Ending> {
    let token = "";
    const cred: Credential = this.client.credential;
    try {
      token = await cred.token();
    } catch (err) {
      return { code: 0, reason: "token_unavailable", err, openedAt: 0 };
    }
    const sub = peekToken(token).sub;
    if (sub) this.user = sub;
    this.offered = ""; // a token offered before this connection opened is already in use
    const hello = this.hello();
    const session = new Session(this, token, hello.resume ?? false);
    let link;
    try {
      link = await this.dialers[transport]({
        conn: this.client.conn,
        token,
        hello,
        alive: () => session.heard(),
        timeoutMs: this.openTimeoutMs,
      });
    } catch (err) {
      return refusal(err);
    }
    if (this.stopped) {
      link.close(1000, "client_closed");
      return { code: 1000, reason: "client_closed", openedAt: 0 };
    }
    this.session = session;
    try {
      return { ...(await session.run(link)), dialed: true };
    } finally {
      this.session = null;
    }
  }

  /** hello is the first frame of a connection. */
  private hello(): w.ClientFrame {
    const cursor: Record<string, number> = Object.fromEntries(this.cursor);
    for (const [t, seq] of this.endedAt) cursor[t] = seq;
    const handles = [...this.handlers.keys()].sort();
    const hasCursor = Object.keys(cursor).length > 0;
    return { type: "hello", v: w.PROTOCOL_VERSION, cursor: hasCursor ? cursor : undefined, resume: hasCursor || this.resumedOnce, handles };
  }

  // --- used by Session ---

  /** @internal */ emit(sc: Omit<StateChange, "at">): void {
    const full: StateChange = { ...sc, at: this.clock.now() };
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

  /** @internal */ report(err: unknown): void {
    this.log.error(`herald: ${describe(err)}`);
    for (const fn of this.errorFns) {
      try {
        fn(err);
      } catch (e) {
        this.log.error("herald: an error callback threw", e);
      }
    }
  }

  /** @internal */ resumeFailed(threadId: string, reason: string): void {
    this.log.warn(`herald: could not resume thread ${threadId || "(all)"} (${reason}); reload it over REST`);
    for (const fn of this.resumeFailedFns) fn(threadId, reason);
  }

  /** @internal */ setExpiresOn(iso: string | undefined): void {
    if (iso) this.expiresOn = Date.parse(iso);
  }

  /** @internal */ offerToken(token: string): void {
    this.offered = token;
    this.session?.tokenOffered();
  }

  /** @internal */ cursorOf(t: string): number {
    return this.cursor.get(t) ?? this.endedAt.get(t) ?? 0;
  }

  /** @internal */ hasCursor(t: string): boolean {
    return this.cursor.has(t);
  }

  /** @internal */ async advance(t: string, seq: number): Promise<void> {
    await this.cursorStore.save(t, seq);
    this.cursor.set(t, seq);
    this.endedAt.delete(t);
  }

  /** @internal */ setCursor(t: string, seq: number): void {
    this.cursor.set(t, seq);
  }

  /** @internal */ track(t: string): void {
    if (!this.gone.has(t)) this.known.add(t);
  }

  /** joined updates the thread set before the handlers of a sequenced event run. */
  /** @internal */ joined(ev: RealtimeEvent): void {
    switch (ev.type) {
      case w.Events.threadDeleted:
        return;
      case w.Events.participantsRemoved:
        if (this.names(ev.data.participants)) return;
        break;
      case w.Events.threadCreated:
        this.gone.delete(ev.threadId);
        break;
      case w.Events.participantsAdded:
        if (this.names(ev.data.participants)) this.gone.delete(ev.threadId);
    }
    if (!this.gone.has(ev.threadId)) this.known.add(ev.threadId);
  }

  /** left drops a thread after the handlers of its chatThreadDeleted, or of a participantsRemoved naming the user, ran. */
  /** @internal */ async left(ev: RealtimeEvent): Promise<void> {
    if (ev.type === w.Events.threadDeleted) await this.forget(ev.threadId, "thread_deleted");
    else if (ev.type === w.Events.participantsRemoved && this.names(ev.data.participants)) await this.forget(ev.threadId, "not_participant");
  }

  private names(ps: w.ChatParticipant[] | undefined): boolean {
    return !!this.user && !!ps?.some((p) => w.userIdOf(p.communicationIdentifier) === this.user);
  }

  /**
   * forget drops thread t from the thread set and the cursors. With a
   * reason (the thread ended for the user) send refuses it from now on
   * (except "ended", whose cause the welcome does not say) and later hellos
   * still carry its last cursor.
   */
  /** @internal */ async forget(t: string, why: string): Promise<void> {
    const had = this.known.delete(t);
    const last = this.cursor.get(t) ?? this.endedAt.get(t);
    this.cursor.delete(t);
    if (why) {
      if (why !== "ended") this.gone.set(t, why);
      if (last !== undefined) this.endedAt.set(t, last);
    } else this.endedAt.delete(t);
    try {
      await this.cursorStore.drop(t, why && last !== undefined ? last : undefined);
    } catch (err) {
      this.report(new Error(`herald: drop cursor of ${t}: ${describe(err)}`));
    }
    if (why && had) {
      this.log.info(`herald: dropped thread ${t} (${why})`);
      for (const fn of this.endedFns) fn(t, why);
    }
  }
}

function transportPath(t: w.Transport): string {
  return t === "websocket" ? "the WebSocket upgrade of GET /realtime/ws" : t === "sse" ? "streamed responses of POST /realtime/sse" : "/realtime/longpoll";
}

/** refusal describes a failure to open a connection. */
function refusal(err: unknown): Ending {
  if (err instanceof HeraldError) return { code: 0, reason: "refused", err, openedAt: 0, retryAfterMs: err.retryAfterMs };
  if (err instanceof CloseError) return { code: err.code, reason: err.reason, err, openedAt: 0 };
  if (err instanceof MalformedFrameError) return { code: 1002, reason: "malformed_frame", err, openedAt: 0 };
  return { code: 1006, reason: "abnormal_closure", err, openedAt: 0 };
}

/** closeError rebuilds the HeraldError of a terminal close code. */
export function closeError(ce: CloseError): HeraldError {
  const e = (code: string, reason: string, message: string) => new HeraldError({ code, reason, message, cause: ce });
  switch (ce.code) {
    case w.Close.tokenExpired:
      return e("unauthorized", "token_expired", "the access token expired before a refresh reached the server (close 4101)");
    case w.Close.tokenRevoked:
      return e("unauthorized", "token_revoked", "the access token was revoked (close 4102)");
    case w.Close.identityDeleted:
      return e("unauthorized", "identity_deleted", "the identity was deleted (close 4103)");
    case w.Close.authTimeout:
      return e("invalid", "auth_timeout", "the server did not receive hello in time (close 4104)");
    case w.Close.unsupportedVersion:
      return e("invalid", "unsupported_version", `the server does not speak protocol version ${w.PROTOCOL_VERSION} (close 4105)`);
  }
  return e("invalid", ce.reason || "protocol_error", `the server refused a frame of this client (${ce.code} ${ce.reason})`);
}
