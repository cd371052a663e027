import assert from "node:assert/strict";
import { test } from "node:test";
import { MIN_REFRESH_RETRY_MS, TokenCredential } from "../../src/herald/credential.js";
import { FakeClock, settle, tokenFor } from "./fakes.js";

const MIN = 60_000;

function refresher(clock: FakeClock, lifetimeMs: number) {
  let n = 0;
  const calls: number[] = [];
  return {
    calls,
    fn: async () => {
      calls.push(clock.now());
      return tokenFor("u_a", clock.now() + lifetimeMs, ++n);
    },
  };
}

test("TokenCredential refreshes 10 minutes before expiry and tells its subscribers", async () => {
  const clock = new FakeClock();
  const r = refresher(clock, 60 * MIN);
  const c = new TokenCredential(tokenFor("u_a", clock.now() + 60 * MIN), r.fn, { clock });
  const seen: string[] = [];
  c.onRefresh((t) => seen.push(t));
  await clock.advance(50 * MIN - 1);
  assert.equal(r.calls.length, 0, "refreshed before exp − 10 min");
  await clock.advance(1);
  assert.equal(r.calls.length, 1, "not refreshed at exp − 10 min");
  assert.equal(seen.length, 1);
  assert.equal(await c.token(), seen[0]);
  assert.equal(c.expiresOn(), clock.now() + 60 * MIN - ((clock.now() + 60 * MIN) % 1000));
  await clock.advance(50 * MIN);
  assert.equal(r.calls.length, 2, "the next token is refreshed ahead too");
  c.close();
});

test("TokenCredential never refreshes sooner than half a short token's lifetime", async () => {
  const clock = new FakeClock();
  const r = refresher(clock, 8 * MIN);
  const c = new TokenCredential(tokenFor("u_a", clock.now() + 8 * MIN), r.fn, { clock });
  await clock.advance(4 * MIN - 1000);
  assert.equal(r.calls.length, 0);
  await clock.advance(1000);
  assert.equal(r.calls.length, 1, "at half the lifetime");
  c.close();
});

test("TokenCredential retries a failed proactive refresh at half the time left, at least a second apart", async () => {
  const clock = new FakeClock();
  let fail = 2;
  const calls: number[] = [];
  const c = new TokenCredential(
    tokenFor("u_a", clock.now() + 60 * MIN),
    async () => {
      calls.push(clock.now());
      if (fail-- > 0) throw new Error("identity service down");
      return tokenFor("u_a", clock.now() + 60 * MIN, 1);
    },
    { clock },
  );
  const start = clock.now();
  await clock.advance(50 * MIN);
  assert.equal(calls.length, 1);
  await clock.advance(5 * MIN); // 10 min left → retry 5 min later
  assert.equal(calls.length, 2, `calls at ${calls.map((t) => (t - start) / MIN)} min`);
  await clock.advance(2.5 * MIN);
  assert.equal(calls.length, 3);
  assert.ok(calls[2]! - calls[1]! >= MIN_REFRESH_RETRY_MS);
  assert.notEqual(c.expiresOn(), null);
  c.close();
});

test("TokenCredential refreshes an expired token on demand, one call for concurrent callers", async () => {
  const clock = new FakeClock();
  let calls = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const c = new TokenCredential(
    tokenFor("u_a", clock.now() - 1000),
    async () => {
      calls++;
      await gate;
      return tokenFor("u_a", clock.now() + 60 * MIN, 1);
    },
    { clock, refreshBeforeMs: 0 },
  );
  const a = c.token();
  const b = c.token();
  release();
  assert.equal(await a, await b);
  assert.equal(calls, 1);
  c.close();
});

test("TokenCredential refuses a refresher's expired or empty token", async () => {
  const clock = new FakeClock();
  const c = new TokenCredential("", async () => tokenFor("u_a", clock.now() - 1), { clock });
  await assert.rejects(c.token(), /expired at/);
  const d = new TokenCredential("", async () => "", { clock });
  await assert.rejects(d.refresh(), /empty token/);
});

test("TokenCredential without a refresher returns its token even after expiry", async () => {
  const clock = new FakeClock();
  const tok = tokenFor("u_a", clock.now() - 1000);
  const c = new TokenCredential(tok, undefined, { clock });
  assert.equal(await c.token(), tok);
  await assert.rejects(c.refresh(), /no refresher/);
});

test("TokenCredential.close stops the proactive refresh and fails later calls", async () => {
  const clock = new FakeClock();
  const r = refresher(clock, 60 * MIN);
  const c = new TokenCredential(tokenFor("u_a", clock.now() + 60 * MIN), r.fn, { clock });
  c.close();
  await clock.advance(60 * MIN);
  await settle();
  assert.equal(r.calls.length, 0);
  await assert.rejects(c.token(), /closed/);
});
