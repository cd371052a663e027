import assert from "node:assert/strict";
import { test } from "node:test";
import { type Credential, StaticToken, TokenCredential } from "../../src/herald/credential.js";
import { MemoryCursors } from "../../src/herald/cursors.js";
import { CloseError, HeraldError } from "../../src/herald/errors.js";
import { type Realtime, type RealtimeEvent, type RealtimeOptions, type StateChange } from "../../src/herald/realtime.js";
import { ChatClient } from "../../src/herald/rest.js";
import { TransportBlockedError } from "../../src/herald/transports.js";
import { type Call, FakeNetwork, FakeServer, fakeFetch, json, tokenFor, until } from "./fakes.js";

const USER = "u_me";
const HOUR = 3600_000;

interface Rig {
  rt: Realtime;
  server: FakeServer;
  network: FakeNetwork;
  cursors: MemoryCursors;
  states: StateChange[];
  errors: unknown[];
  events: RealtimeEvent[];
  ended: [string, string][];
  calls: Call[];
  done: Promise<unknown>;
}

/** rig starts a Realtime against a FakeServer; events of type chatMessageReceived go to a recording handler. */
function rig(opts: { cred?: Credential; cursors?: MemoryCursors; handler?: (ev: RealtimeEvent) => void | Promise<void>; rt?: RealtimeOptions } = {}): Rig {
  const server = new FakeServer();
  const network = new FakeNetwork();
  const cursors = opts.cursors ?? new MemoryCursors();
  const f = fakeFetch(() => json(201, { id: "m_x", sequenceId: "9" }));
  const client = new ChatClient("http://h", opts.cred ?? new StaticToken(tokenFor(USER, Date.now() + HOUR)), { fetch: f.fetch });
  const rt = client.realtime({
    dialers: server.dialers(),
    network,
    cursors,
    logger: null,
    backoff: { initialMs: 2, maxMs: 10 },
    ...opts.rt,
  });
  const r: Rig = { rt, server, network, cursors, states: [], errors: [], events: [], ended: [], calls: f.calls, done: Promise.resolve() };
  rt.on("chatMessageReceived", opts.handler ?? ((ev) => void r.events.push(ev)));
  rt.on("participantsRemoved", () => {});
  rt.on("chatThreadDeleted", () => {});
  rt.onState((s) => r.states.push(s));
  rt.onError((e) => r.errors.push(e));
  rt.onThreadEnded((t, why) => r.ended.push([t, why]));
  r.done = rt.start().then(
    () => "stopped",
    (err) => err,
  );
  return r;
}

const resumed = (from: number, to: number) => ({ resumed: true, from, to });

test("resumes from the saved cursor, hands each event to the handlers once, saves and acknowledges", async () => {
  const cursors = new MemoryCursors();
  cursors.save("t_1", 5);
  const r = rig({ cursors });
  await until(() => r.server.links.length === 1, "a dial");
  const link = r.server.last;
  assert.deepEqual(link.hello.cursor, { t_1: 5 });
  assert.equal(link.hello.resume, true);
  assert.deepEqual(link.hello.handles, ["chatMessageReceived", "chatThreadDeleted", "participantsRemoved"]);
  link.welcome({ t_1: resumed(5, 7) });
  for (const seq of [5, 6, 6, 7, 3]) link.event("t_1", seq);
  link.push({ type: "caughtUp" });
  await until(() => link.acks()["t_1"] === 7, "the ack of seq 7");
  assert.deepEqual(
    r.events.map((e) => e.seq),
    [6, 7],
  );
  assert.ok(r.events.every((e) => e.replayed && e.connectionId === "c_websocket"));
  assert.deepEqual(r.cursors.load().cursors, { t_1: 7 });
  assert.deepEqual(r.rt.threads(), ["t_1"]);
  assert.ok(r.states.some((s) => s.state === "connected" && s.caughtUp));
  r.rt.close();
  assert.equal(await r.done, "stopped");
});

test("reconnects with backoff after the network drops the connection, and resumes where it was", async () => {
  const r = rig();
  await until(() => r.server.links.length === 1, "a dial");
  r.server.last.welcome({ t_1: resumed(0, 0) });
  r.server.last.event("t_1", 1);
  r.server.last.event("t_1", 2);
  await until(() => r.events.length === 2, "two events");
  r.server.last.drop(1006, "abnormal_closure");
  await until(() => r.server.links.length === 2, "a second dial");
  assert.deepEqual(r.server.last.hello.cursor, { t_1: 2 });
  assert.equal(r.server.last.hello.resume, true);
  r.server.last.welcome({ t_1: resumed(2, 3) });
  r.server.last.event("t_1", 2); // a duplicate from the replay
  r.server.last.event("t_1", 3);
  await until(() => r.events.length === 3, "the missed event");
  const kinds = r.states.map((s) => s.state);
  assert.deepEqual(kinds.slice(0, 5), ["connecting", "connected", "disconnected", "reconnecting", "connected"]);
  const lost = r.states[2]!;
  assert.equal(lost.willReconnect, true);
  assert.equal(lost.code, 1006);
  r.rt.close();
  await r.done;
});

test("a handler that throws gets the event again after a reconnect (at-least-once)", async () => {
  let failOnce = true;
  const seen: number[] = [];
  const r = rig({
    handler: (ev) => {
      seen.push(ev.seq);
      if (ev.seq === 2 && failOnce) {
        failOnce = false;
        throw new Error("database busy");
      }
    },
  });
  await until(() => r.server.links.length === 1, "a dial");
  r.server.last.welcome({ t_1: resumed(0, 0) });
  r.server.last.event("t_1", 1);
  r.server.last.event("t_1", 2);
  await until(() => r.server.links.length === 2, "a reconnect after the handler failed");
  assert.equal(r.server.links[0]!.closed?.reason, "handler_failed");
  assert.deepEqual(r.server.links[0]!.acks(), { t_1: 1 }, "what was taken before is acknowledged");
  assert.deepEqual(r.server.last.hello.cursor, { t_1: 1 });
  r.server.last.welcome({ t_1: resumed(1, 2) });
  r.server.last.event("t_1", 2);
  await until(() => r.server.last.acks()["t_1"] === 2, "the replayed event acknowledged");
  assert.deepEqual(seen, [1, 2, 2]);
  r.rt.close();
  await r.done;
});

test("falls back from WebSocket to SSE when the WebSocket cannot be established, and says so", async () => {
  const r = rig();
  r.server.refuse = (t) => (t === "websocket" ? new TransportBlockedError(1006, "websocket_failed") : null);
  await until(() => r.server.links.length === 1, "an SSE dial");
  assert.equal(r.server.last.transport, "sse");
  r.server.last.welcome();
  await until(() => r.rt.state?.state === "connected", "connected");
  const s = r.rt.state!;
  assert.equal(s.transport, "sse");
  assert.equal(s.fallback, true);
  assert.match(s.fallbackReason!, /websocket could not be established \(1006 websocket_failed\)/);
  // It stays on SSE across reconnects.
  r.server.last.drop();
  await until(() => r.server.links.length === 2, "a reconnect");
  assert.equal(r.server.last.transport, "sse");
  r.rt.close();
  await r.done;
});

test("falls back when a transport fails outright but a plain request reaches the server; not when the server is down", async () => {
  const r = rig();
  r.server.refuse = (t) => (t === "websocket" ? new TypeError("Failed to fetch") : null);
  await until(() => r.server.links.length === 1, "a dial past the WebSocket");
  assert.equal(r.server.last.transport, "sse");
  assert.equal(r.calls.at(-1)?.url, "http://h/realtime/tickets", "the probe");
  r.rt.close();
  await r.done;

  // The server is down: every request fails; the client keeps retrying the WebSocket.
  const server = new FakeServer();
  let dials = 0;
  server.refuse = () => (dials++, new TypeError("Failed to fetch"));
  const rt = new ChatClient("http://h", new StaticToken(tokenFor(USER, Date.now() + HOUR)), {
    fetch: () => Promise.reject(new TypeError("Failed to fetch")),
  }).realtime({ dialers: server.dialers(), network: new FakeNetwork(), logger: null, backoff: { initialMs: 2, maxMs: 4 } });
  const states: StateChange[] = [];
  rt.onState((s) => states.push(s));
  const done = rt.start();
  await until(() => dials >= 4, "several attempts");
  rt.close();
  await done;
  assert.ok(states.every((s) => !s.transport || s.transport === "websocket"), `transports tried: ${states.map((s) => s.transport)}`);
});

test("does not fall back when the server refused: the refusal is terminal and names its reason", async () => {
  const r = rig();
  r.server.refuse = () => new HeraldError({ code: "unauthorized", reason: "token_revoked", status: 401, message: "the access token was revoked" });
  const err = await r.done;
  assert.ok(err instanceof HeraldError);
  assert.equal(err.reason, "token_revoked");
  assert.equal(r.server.links.length, 0);
  assert.ok(r.states.every((s) => s.transport === undefined || s.transport === "websocket"), "no fallback");
});

test("does not fall back while offline; reconnects as soon as the network returns", async () => {
  const r = rig({ rt: { backoff: { initialMs: 60_000, maxMs: 60_000 } } });
  await until(() => r.server.links.length === 1, "a dial");
  r.server.last.welcome();
  await until(() => r.rt.state?.state === "connected", "connected");
  r.network.set(false);
  await until(() => r.rt.state?.offline === true, "the offline state");
  assert.equal(r.server.links[0]!.closed?.reason, "network_offline");
  r.network.set(true);
  await until(() => r.server.links.length === 2, "a dial once online (no 60 s backoff)");
  assert.equal(r.server.last.transport, "websocket");
  r.rt.close();
  await r.done;
});

test("answers tokenExpiring with an in-band refresh on the same connection", async () => {
  let n = 0;
  const cred = new TokenCredential(tokenFor(USER, Date.now() + HOUR), async () => tokenFor(USER, Date.now() + 2 * HOUR, ++n), { refreshBeforeMs: 0 });
  const r = rig({ cred });
  await until(() => r.server.links.length === 1, "a dial");
  const link = r.server.last;
  link.welcome();
  link.push({ type: "tokenExpiring", expiresOn: new Date(Date.now() + 60_000).toISOString() });
  await until(() => link.sent.some((f) => f.type === "refresh"), "a refresh frame");
  const refresh = link.sent.find((f) => f.type === "refresh")!;
  assert.equal(refresh.token, await cred.token());
  link.push({ type: "refreshed", expiresOn: new Date(Date.now() + 2 * HOUR).toISOString() });
  await until(() => (r.rt.tokenExpiresOn ?? 0) > Date.now() + HOUR, "the server's new expiry");
  assert.equal(r.server.links.length, 1, "no reconnect");
  r.rt.close();
  await r.done;
  cred.close();
});

test("after 4101 token_expired a refreshing credential refreshes and reconnects; a static one stops", async () => {
  let n = 0;
  const cred = new TokenCredential(tokenFor(USER, Date.now() + HOUR), async () => tokenFor(USER, Date.now() + 2 * HOUR, ++n), { refreshBeforeMs: 0 });
  const r = rig({ cred });
  await until(() => r.server.links.length === 1, "a dial");
  r.server.last.welcome();
  r.server.last.drop(4101, "token_expired");
  await until(() => r.server.links.length === 2, "a reconnect");
  assert.equal(r.server.last.token, await cred.token());
  assert.notEqual(r.server.links[0]!.token, r.server.last.token);
  r.rt.close();
  await r.done;
  cred.close();

  const s = rig();
  await until(() => s.server.links.length === 1, "a dial");
  s.server.last.welcome();
  s.server.last.drop(4101, "token_expired");
  const err = await s.done;
  assert.ok(err instanceof HeraldError && err.reason === "token_expired");
});

test("a removed user's thread is dropped: send fails fast, the ended cursor is kept for later hellos", async () => {
  const r = rig();
  await until(() => r.server.links.length === 1, "a dial");
  r.server.last.welcome({ t_1: resumed(3, 3), t_2: resumed(1, 1) });
  r.server.last.event("t_1", 4, "participantsRemoved", { participants: [{ communicationIdentifier: { rawId: USER } }] });
  r.server.last.event("t_2", 2, "chatThreadDeleted");
  await until(() => r.ended.length === 2, "two threads dropped");
  assert.deepEqual(r.ended, [
    ["t_1", "not_participant"],
    ["t_2", "thread_deleted"],
  ]);
  assert.deepEqual(r.rt.threads(), []);
  await assert.rejects(r.rt.send("t_1", { content: "x" }), (e: unknown) => e instanceof HeraldError && e.reason === "not_participant" && e.code === "forbidden");
  await assert.rejects(r.rt.send("t_2", { content: "x" }), (e: unknown) => e instanceof HeraldError && e.reason === "thread_deleted");
  assert.equal(r.calls.length, 0, "nothing was sent to the server");
  assert.deepEqual(r.cursors.load(), { cursors: {}, ended: { t_1: 4, t_2: 2 } });
  r.server.last.drop();
  await until(() => r.server.links.length === 2, "a reconnect");
  assert.deepEqual(r.server.last.hello.cursor, { t_1: 4, t_2: 2 });
  r.rt.close();
  await r.done;
});

test("a thread the welcome calls ended, with nothing left to replay, is dropped", async () => {
  const r = rig();
  await until(() => r.server.links.length === 1, "a dial");
  r.server.last.welcome({ t_1: { resumed: true, from: 5, to: 5, ended: true }, t_2: resumed(1, 1) });
  await until(() => r.ended.length === 1, "t_1 dropped");
  assert.deepEqual(r.ended, [["t_1", "ended"]]);
  assert.deepEqual(r.rt.threads(), ["t_2"]);
  assert.equal(r.rt.ended("t_1"), "ended");
  r.rt.close();
  await r.done;
});

test("heartbeats: answers pings, pings a quiet server, and reconnects when it stays silent", async () => {
  const r = rig();
  await until(() => r.server.links.length === 1, "a dial");
  const link = r.server.last;
  link.push({ type: "ping" });
  link.welcome({}, { heartbeatMs: 10, timeoutMs: 40 });
  await until(() => link.sent.some((f) => f.type === "pong"), "a pong");
  await until(() => link.sent.some((f) => f.type === "ping"), "a ping");
  await until(() => r.server.links.length === 2, "a reconnect after the silence");
  assert.equal(link.closed?.reason, "heartbeat_timeout");
  r.rt.close();
  await r.done;
});

test("a failing typing handler is reported and the connection stays", async () => {
  const server = new FakeServer();
  const errors: unknown[] = [];
  const rt = new ChatClient("http://h", new StaticToken(tokenFor(USER, Date.now() + HOUR))).realtime({
    dialers: server.dialers(),
    network: new FakeNetwork(),
    logger: null,
  });
  rt.on("typingIndicatorReceived", () => {
    throw new Error("render failed");
  });
  rt.onError((e) => errors.push(e));
  const done = rt.start();
  await until(() => server.links.length === 1, "a dial");
  server.last.welcome();
  server.last.push({ type: "event", threadId: "t_1", seq: 0, event: "typingIndicatorReceived", data: { at: "" } });
  await until(() => errors.length === 1, "the error reported");
  assert.match(String(errors[0]), /render failed/);
  assert.equal(server.last.closed, null);
  rt.close();
  await done;
  assert.equal((server.last.closed as { code?: number } | null)?.code, 1000);
});
