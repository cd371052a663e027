import type { ErrorBody } from "./wire.js";

/**
 * Mitigations says, per reason, what to do about an error: the advice the
 * client logs next to the reason. Reasons are the server's (errors.go);
 * the client adds token_unavailable, abnormal_closure, heartbeat_timeout
 * and network_offline for what it concludes itself.
 */
export const Mitigations: Readonly<Record<string, string>> = {
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
  protocol_error: "a client bug: the server refused a frame",
};

/** mitigationFor returns the advice for a reason, or "" when there is none. */
export function mitigationFor(reason: string | undefined): string {
  return (reason && Mitigations[reason]) || "";
}

/** HeraldErrorInit builds a HeraldError. */
export interface HeraldErrorInit {
  code: string;
  reason?: string;
  message: string;
  target?: string;
  /** status is the HTTP status; 0 for errors not answered over HTTP (frames, close codes). */
  status?: number;
  requestId?: string;
  /** retryAfterMs is the Retry-After delay, 0 when absent. */
  retryAfterMs?: number;
  cause?: unknown;
}

/**
 * HeraldError is the server's error, rebuilt on the client with the same
 * code and reason (see docs/api.md), so callers branch on them as the
 * server does:
 *
 *     if (errorReason(err) === "not_participant") { ... }
 *
 * Its message reads "403 not_participant: <the server's message>".
 * Transport failures (fetch rejecting) are plain Errors, never HeraldErrors.
 */
export class HeraldError extends Error {
  override readonly name = "HeraldError";
  readonly code: string;
  readonly reason: string;
  readonly target: string;
  readonly status: number;
  readonly requestId: string;
  readonly retryAfterMs: number;
  /** detail is the server's message, for people. */
  readonly detail: string;

  constructor(init: HeraldErrorInit) {
    const status = init.status ?? 0;
    const head = [status ? String(status) : "", init.reason || init.code].filter(Boolean).join(" ");
    super(`${head}: ${init.message}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.reason = init.reason ?? "";
    this.target = init.target ?? "";
    this.status = status;
    this.requestId = init.requestId ?? "";
    this.retryAfterMs = init.retryAfterMs ?? 0;
    this.detail = init.message;
  }

  /** mitigation is what to do about it, or "". */
  get mitigation(): string {
    return mitigationFor(this.reason);
  }

  /** fromBody rebuilds the error of a frame's error body. */
  static fromBody(b: ErrorBody, status = 0): HeraldError {
    return new HeraldError({ code: b.code, reason: b.reason, message: b.message, target: b.target, status });
  }
}

/** CloseError is how a real-time connection ended: the close code and reason. */
export class CloseError extends Error {
  override readonly name: string = "CloseError";
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`closed with ${code} ${reason}`);
  }
}

/** errorReason returns err's reason, or "" when err is not a HeraldError. */
export function errorReason(err: unknown): string {
  return err instanceof HeraldError ? err.reason : "";
}

/** errorCode returns err's code, or "" when err is not a HeraldError. */
export function errorCode(err: unknown): string {
  return err instanceof HeraldError ? err.code : "";
}

/**
 * describe renders an error for a log line or a person: the status,
 * reason and message, then the mitigation, e.g.
 * "401 token_expired: the access token expired at ...; refresh it before expiry (...)".
 */
export function describe(err: unknown): string {
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

/** statusCode classifies an answer without an error body by its status. */
export function statusCode(status: number): string {
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

/** retryAfterMs parses Retry-After (seconds or an HTTP date); 0 when absent or past. */
export function retryAfterMs(v: string | null, now: number = Date.now()): number {
  if (!v) return 0;
  v = v.trim();
  if (/^\d+$/.test(v)) {
    const s = Number(v);
    return s > 0 && Number.isFinite(s) ? s * 1000 : 0;
  }
  const t = Date.parse(v);
  return Number.isNaN(t) || t <= now ? 0 : t - now;
}

/** responseError rebuilds the server's error from a non-2xx answer and its body text. */
export function responseError(status: number, headers: Headers, body: string): HeraldError {
  const base = {
    status,
    requestId: headers.get("x-request-id") ?? "",
    retryAfterMs: retryAfterMs(headers.get("retry-after")),
  };
  try {
    const parsed = JSON.parse(body) as { error?: ErrorBody };
    const e = parsed?.error;
    if (e && (e.code || e.message)) {
      return new HeraldError({
        ...base,
        code: e.code || statusCode(status),
        reason: e.reason,
        message: e.message || `the server answered ${status}`,
        target: e.target,
      });
    }
  } catch {
    // not JSON: classified by the status below
  }
  return new HeraldError({ ...base, code: statusCode(status), message: `the server answered ${status} without an error body` });
}
