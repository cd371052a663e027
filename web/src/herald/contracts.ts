// contracts holds the types the client's modules share, so that none of
// them imports another only for a type: realtime.ts, session.ts, rest.ts
// and transports.ts depend on this leaf and not on each other in a cycle
// (web/test/unit/imports.test.ts fails on a cycle).
import type { Clock } from "./clock.js";
import type { Credential } from "./credential.js";
import type { CursorStore } from "./cursors.js";
import type * as w from "./wire.js";

/** Event is a thread event as handed to a Handler. */
export interface RealtimeEvent {
  threadId: string;
  /** seq is the event's place in the thread's history; 0 for typing indicators and read receipts. */
  seq: number;
  type: string;
  data: w.EventData;
  /** replayed says the event came from history, before the connection caught up. */
  replayed: boolean;
  connectionId: string;
  frame: w.ServerFrame;
}

/**
 * Handler receives one event. Returning (or resolving) means the app has
 * taken it: the client then saves the cursor and acknowledges it. Throwing
 * for a sequenced event means "give it to me again": the connection is
 * closed and reopened after backoff, resuming from the cursor, so the event
 * is replayed. A throw for typing or a read receipt, which cannot be
 * replayed, goes to onError.
 */
export type Handler = (ev: RealtimeEvent) => void | Promise<void>;

/** State is where a Realtime stands. */
export type State = "connecting" | "connected" | "reconnecting" | "disconnected";

/** StateChange tells the app where the connection stands; fields beyond state and at are set as the state calls for. */
export interface StateChange {
  state: State;
  at: number;
  /** attempt counts the attempts since the last stable connection (connecting, reconnecting). */
  attempt?: number;
  /** transport is the transport in use or being tried. */
  transport?: w.Transport;
  /** fallback says the transport is not the first choice because the ones before it could not be established; fallbackReason says why. */
  fallback?: boolean;
  fallbackReason?: string;
  connectionId?: string;
  welcome?: w.ServerFrame;
  /** caughtUp: the replay reached every thread's head; all that follows is live (connected, second report). */
  caughtUp?: boolean;
  /** resumeFailed maps each thread whose gap could not be filled to the reason (connected). */
  resumeFailed?: Record<string, string>;
  /** code and reason are the close code and reason (disconnected): the server's, or the client's own. */
  code?: number;
  reason?: string;
  error?: unknown;
  /** willReconnect says whether the client will try again (disconnected), after retryInMs. */
  willReconnect?: boolean;
  retryInMs?: number;
  /** offline says the browser reports no network: the client waits for it before reconnecting. */
  offline?: boolean;
}

/** Logger is where the client writes what it does: console by default. */
export interface Logger {
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}


/** Ending is how one connection attempt ended. */
export interface Ending {
  code: number;
  reason: string;
  err?: unknown;
  /** openedAt is when the welcome came; 0 if it never did. */
  openedAt: number;
  retryAfterMs?: number;
  /** handler says a handler (or the cursor store) failed. */
  handler?: boolean;
  /** dialed says the transport opened (the server was reached over it), whether or not a welcome followed. */
  dialed?: boolean;
}

/** Request is one call to the server. */
export interface Call {
  method: string;
  /** path is escaped and relative to the base URL; url, from a nextLink, replaces it. */
  path?: string;
  url?: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** token replaces the credential's token (the real-time transports pass theirs). */
  token?: string;
  signal?: AbortSignal;
}

/** HttpConn is how the transports and the real-time client reach the server (rest.ts's Conn). */
export interface HttpConn {
  url(c: Pick<Call, "path" | "url" | "query">): string;
  send(c: Call): Promise<Response>;
  json<T>(c: Call): Promise<T>;
}

/** RealtimeClient is what Realtime needs of the REST client (rest.ts's ChatClient). */
export interface RealtimeClient {
  readonly conn: HttpConn;
  readonly credential: Credential;
  sendMessage(threadId: string, req: w.SendMessageRequest, repeatabilityId?: string): Promise<w.SendMessageResponse>;
  createRealtimeTicket(token?: string): Promise<w.Ticket>;
}

/** RealtimeHost is the part of Realtime a Session (one connection) works with. */
export interface RealtimeHost {
  readonly client: RealtimeClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly cursorStore: CursorStore;
  readonly openTimeoutMs: number;
  readonly handlers: Map<string, Handler[]>;
  readonly tokenExpiresOn: number | null;
  offered: string;
  pending: Map<string, number>;
  resumedOnce: boolean;
  advance(t: string, seq: number): Promise<void>;
  cursorOf(t: string): number;
  emit(sc: Omit<StateChange, "at">): void;
  forget(t: string, why: string): Promise<void>;
  joined(ev: RealtimeEvent): void;
  left(ev: RealtimeEvent): Promise<void>;
  offerToken(token: string): void;
  report(err: unknown): void;
  resumeFailed(threadId: string, reason: string): void;
  setCursor(t: string, seq: number): void;
  setExpiresOn(iso: string | undefined): void;
  track(t: string): void;
}
