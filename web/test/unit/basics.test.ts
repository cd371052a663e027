import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay } from "../../src/herald/backoff.js";
import { LocalStorageCursors, type StorageLike, cursorKey } from "../../src/herald/cursors.js";
import { CloseError, HeraldError, describe, responseError, retryAfterMs } from "../../src/herald/errors.js";
import { peekToken } from "../../src/herald/jwt.js";
import { closeError } from "../../src/herald/realtime.js";
import { reconnects } from "../../src/herald/wire.js";
import { jwt } from "./fakes.js";

test("peekToken reads sub and exp without verifying; anything else is unknown", () => {
  assert.deepEqual(peekToken(jwt({ sub: "u_a", exp: 1_800_000_000 })), { sub: "u_a", exp: 1_800_000_000_000 });
  assert.deepEqual(peekToken("not-a-jwt"), { sub: "", exp: null });
  assert.deepEqual(peekToken("a.!!!.c"), { sub: "", exp: null });
  assert.deepEqual(peekToken(jwt({ sub: "u_a" })), { sub: "u_a", exp: null });
});

test("backoffDelay doubles from 250 ms to 30 s with equal jitter", () => {
  const b = { initialMs: 250, maxMs: 30_000 };
  for (const [attempt, lo, hi] of [
    [0, 125, 250],
    [1, 250, 500],
    [3, 1000, 2000],
    [20, 15_000, 30_000],
  ] as const) {
    assert.equal(backoffDelay(b, attempt, 0), lo, `attempt ${attempt} low`);
    assert.equal(backoffDelay(b, attempt, 0.999999), hi, `attempt ${attempt} high`);
  }
});

test("responseError rebuilds code, reason, target, status, request id and Retry-After", () => {
  const e = responseError(
    429,
    new Headers({ "x-request-id": "r_1", "retry-after": "3" }),
    JSON.stringify({ error: { code: "rate_limited", reason: "rate_limited", message: "too many writes", target: "t_1" } }),
  );
  assert.ok(e instanceof HeraldError);
  assert.equal(e.code, "rate_limited");
  assert.equal(e.reason, "rate_limited");
  assert.equal(e.target, "t_1");
  assert.equal(e.status, 429);
  assert.equal(e.requestId, "r_1");
  assert.equal(e.retryAfterMs, 3000);
  assert.equal(e.message, "429 rate_limited: too many writes");
  assert.match(describe(e), /^429 rate_limited: too many writes; send less often/);

  const bare = responseError(502, new Headers(), "<html>bad gateway</html>");
  assert.equal(bare.code, "internal");
  assert.equal(bare.reason, "");
  assert.equal(responseError(404, new Headers(), "").code, "not_found");
  assert.equal(retryAfterMs(new Date(Date.now() + 5000).toUTCString()) > 3000, true);
});

test("describe names the reason and the mitigation of a token error", () => {
  const e = new HeraldError({ code: "unauthorized", reason: "token_expired", status: 401, message: "the access token expired at 2026-11-26T12:00:00Z" });
  assert.equal(describe(e), "401 token_expired: the access token expired at 2026-11-26T12:00:00Z; refresh it before expiry (a TokenCredential with a refresher does, 10 minutes ahead)");
});

test("terminal close codes become the matching errors; the reconnect range does not", () => {
  assert.equal(closeError(new CloseError(4101, "token_expired")).reason, "token_expired");
  assert.equal(closeError(new CloseError(4102, "token_revoked")).code, "unauthorized");
  assert.equal(closeError(new CloseError(4103, "identity_deleted")).reason, "identity_deleted");
  assert.equal(closeError(new CloseError(4105, "unsupported_version")).reason, "unsupported_version");
  for (const c of [4000, 4001, 4002, 4003, 1006, 1001]) assert.ok(reconnects(c), `${c}`);
  for (const c of [4100, 4101, 4102, 4103, 4104, 1003, 1007, 1009, 1000]) assert.ok(!reconnects(c), `${c}`);
});

class MapStorage implements StorageLike {
  m = new Map<string, string>();
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
}

test("LocalStorageCursors survive a reload, remember ended threads, and start over when unreadable", () => {
  const storage = new MapStorage();
  const key = cursorKey("http://h", "u_a");
  const a = new LocalStorageCursors(key, storage);
  a.save("t_1", 4);
  a.save("t_2", 9);
  a.drop("t_2", 9);
  const b = new LocalStorageCursors(key, storage);
  assert.deepEqual(b.load(), { cursors: { t_1: 4 }, ended: { t_2: 9 } });
  b.save("t_2", 10); // added again
  assert.deepEqual(new LocalStorageCursors(key, storage).load(), { cursors: { t_1: 4, t_2: 10 }, ended: {} });
  storage.setItem(key, "{not json");
  assert.deepEqual(new LocalStorageCursors(key, storage).load(), { cursors: {}, ended: {} });
});
