import { type Clock, systemClock } from "./clock.js";
import { peekToken } from "./jwt.js";

/**
 * Credential supplies the access token sent as the bearer token. token is
 * called before every request, so an implementation may refresh an
 * expiring token.
 */
export interface Credential {
  token(): Promise<string>;
}

/**
 * RefreshingCredential can renew its token while it is in use. The
 * real-time client sends every new token in-band (a refresh frame) and,
 * after a 4101 token_expired close, refreshes and reconnects instead of
 * stopping. TokenCredential implements it.
 */
export interface RefreshingCredential extends Credential {
  /** refresh obtains a new token now, whatever the current one's expiry. Concurrent calls share one refresh. */
  refresh(): Promise<string>;
  /** onRefresh calls fn with every new token after it replaced the old one, until the returned cancel is called. */
  onRefresh(fn: (token: string) => void): () => void;
  /** expiresOn returns the current token's expiry in ms since the epoch, or null when unknown. */
  expiresOn(): number | null;
}

/** isRefreshing reports whether c can refresh. */
export function isRefreshing(c: Credential | null | undefined): c is RefreshingCredential {
  return !!c && typeof (c as RefreshingCredential).refresh === "function" && typeof (c as RefreshingCredential).onRefresh === "function";
}

/** StaticToken always supplies the same token. */
export class StaticToken implements Credential {
  constructor(private readonly value: string) {}
  token(): Promise<string> {
    return Promise.resolve(this.value);
  }
}

/** DEFAULT_REFRESH_BEFORE_MS is how long before expiry a TokenCredential refreshes: ACS's refreshProactively lead time. */
export const DEFAULT_REFRESH_BEFORE_MS = 10 * 60_000;
/** MIN_REFRESH_RETRY_MS is the shortest wait between two failed proactive refreshes. */
export const MIN_REFRESH_RETRY_MS = 1000;
/** A token this close to its exp counts as expired: it would be refused on arrival. */
const EXPIRY_MARGIN_MS = 5000;

/** Refresher returns a new, unexpired token of the same user. */
export type Refresher = (signal: AbortSignal) => Promise<string>;

export interface TokenCredentialOptions {
  /** refreshBeforeMs is the lead time of the proactive refresh (default 10 minutes); 0 or less turns it off. */
  refreshBeforeMs?: number;
  clock?: Clock;
}

/**
 * TokenCredential renews its access token with a refresher, like ACS's
 * CommunicationTokenCredential with refreshProactively and the Go SDK's
 * client.TokenCredential: starting refreshBeforeMs ahead of the token's
 * expiry it calls the refresher, retrying at half the time left (at least
 * MIN_REFRESH_RETRY_MS apart) until one succeeds or the token expires;
 * after that, token() refreshes on demand. Expiry is the exp claim read
 * from the JWT without verifying it. It never refreshes sooner than half
 * the token's lifetime after it was obtained, so a refresher that returns
 * short tokens is not called in a loop. close() stops it.
 */
export class TokenCredential implements RefreshingCredential {
  private current: string;
  private exp: number | null;
  private got: number;
  private flight: Promise<string> | null = null;
  private readonly subs = new Set<(token: string) => void>();
  private readonly abort = new AbortController();
  private cancelTimer: (() => void) | null = null;
  private retryAt = 0; // after a failed proactive refresh: when to try again
  private closed = false;
  private readonly before: number;
  private readonly clock: Clock;

  /**
   * initial may be "" (the first token() then calls refresher). Without a
   * refresher the credential never refreshes: token() returns initial even
   * after it expired and lets the server refuse it.
   */
  constructor(
    initial: string,
    private readonly refresher?: Refresher,
    opts: TokenCredentialOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.before = opts.refreshBeforeMs ?? DEFAULT_REFRESH_BEFORE_MS;
    this.current = initial;
    this.exp = initial ? peekToken(initial).exp : null;
    this.got = this.clock.now();
    this.plan();
  }

  /** token returns the current token, refreshing it first if it is empty, expired or about to expire. */
  async token(): Promise<string> {
    if (this.closed) throw new Error("herald: the credential is closed");
    const now = this.clock.now();
    if (!this.refresher || (this.current && (this.exp === null || now < this.exp - EXPIRY_MARGIN_MS))) {
      return this.current;
    }
    return this.refresh();
  }

  /** refresh calls the refresher now; concurrent callers and the proactive refresh share one call. */
  refresh(): Promise<string> {
    if (this.closed) return Promise.reject(new Error("herald: the credential is closed"));
    if (!this.refresher) return Promise.reject(new Error("herald: the credential has no refresher"));
    this.flight ??= this.run(this.refresher).finally(() => {
      this.flight = null;
    });
    return this.flight;
  }

  private async run(refresher: Refresher): Promise<string> {
    let tok: string;
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
  private plan(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
    if (this.closed || !this.refresher || this.before <= 0) return;
    const at = this.nextRefresh();
    if (at === null) return;
    this.cancelTimer = this.clock.after(at - this.clock.now(), () => {
      this.cancelTimer = null;
      this.refresh().then(
        () => {},
        () => {
          if (this.closed) return;
          const now = this.clock.now();
          const left = (this.exp ?? now) - now;
          this.retryAt = now + Math.max(left / 2, MIN_REFRESH_RETRY_MS);
          this.plan();
        },
      );
    });
  }

  /**
   * nextRefresh says when to refresh next: at retryAt after a failure, else
   * refreshBeforeMs ahead of expiry but not before half the lifetime since
   * the token was obtained; null when the expiry is unknown or past.
   */
  private nextRefresh(): number | null {
    const now = this.clock.now();
    if (this.exp === null || now >= this.exp) return null;
    if (this.retryAt) return this.retryAt;
    return Math.max(this.exp - this.before, this.got + (this.exp - this.got) / 2);
  }

  onRefresh(fn: (token: string) => void): () => void {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }

  expiresOn(): number | null {
    return this.exp;
  }

  /** close stops the proactive refresh and cancels a refresh in progress; token() and refresh() fail after it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.subs.clear();
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.abort.abort();
  }
}
