/**
 * Clock reads the time and sets timers. The real-time client and the token
 * credential take one, so tests can drive time; systemClock is the default.
 */
export interface Clock {
  /** now returns the time in milliseconds since the epoch. */
  now(): number;
  /** after calls fn once, ms from now, unless the returned cancel is called first. */
  after(ms: number, fn: () => void): () => void;
}

/** The largest delay setTimeout honours (about 24.8 days); longer waits are cut to it and re-planned. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** systemClock is Date.now and setTimeout. */
export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const h = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    return () => clearTimeout(h);
  },
};

/** sleep resolves after ms on clock, or early when signal aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const cancel = clock.after(ms, done);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      cancel();
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
