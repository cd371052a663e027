/**
 * Backoff paces reconnection: exponential from initialMs, doubling per
 * failed attempt up to maxMs, with "equal jitter" (a random wait in the
 * upper half of the step) so that the clients of a restarted server do not
 * come back all at once. The same rule as the Go SDK's client.Backoff.
 */
export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 250, maxMs: 30_000 };

/** backoffDelay returns the wait before retry number attempt (0 for the first), given a random r in [0, 1). */
export function backoffDelay(b: Backoff, attempt: number, r: number = Math.random()): number {
  const initial = b.initialMs > 0 ? b.initialMs : DEFAULT_BACKOFF.initialMs;
  const most = Math.max(b.maxMs > 0 ? b.maxMs : DEFAULT_BACKOFF.maxMs, initial);
  let step = initial;
  for (let i = 0; i < attempt && step < most; i++) step *= 2;
  step = Math.min(step, most);
  const half = step / 2;
  return Math.round(half + r * (step - half));
}
