import assert from "node:assert/strict";
import { test } from "node:test";
import { StaticToken } from "../../src/herald/credential.js";
import { HeraldError } from "../../src/herald/errors.js";
import { AdminClient, ChatClient, devLogin } from "../../src/herald/rest.js";
import { fakeFetch, json } from "./fakes.js";

test("ChatClient sends the bearer token, the JSON body and the idempotency key", async () => {
  const f = fakeFetch(() => json(201, { id: "m_1", sequenceId: "4" }));
  const c = new ChatClient("http://h:1/base/", new StaticToken("tok"), { fetch: f.fetch });
  const r = await c.sendMessage("t 1", { content: "hi" }, "rid");
  assert.deepEqual(r, { id: "m_1", sequenceId: "4" });
  const call = f.calls[0]!;
  assert.equal(call.method, "POST");
  assert.equal(call.url, "http://h:1/base/chat/threads/t%201/messages");
  assert.equal(call.headers["authorization"], "Bearer tok");
  assert.equal(call.headers["content-type"], "application/json");
  assert.equal(call.headers["repeatability-request-id"], "rid");
  assert.deepEqual(call.body, { content: "hi" });
});

test("every non-2xx answer is a HeraldError with the server's code and reason", async () => {
  const f = fakeFetch(() =>
    json(403, { error: { code: "forbidden", reason: "not_participant", message: "you were removed", target: "t_1" } }, { "x-request-id": "r_9" }),
  );
  const c = new ChatClient("http://h", new StaticToken("tok"), { fetch: f.fetch });
  for (const op of [
    () => c.getThread("t_1"),
    () => c.deleteThread("t_1"),
    () => c.listParticipants("t_1"),
    () => c.removeParticipant("t_1", "u_b"),
    () => c.updateMessage("t_1", "m_1", { content: "x" }),
    () => c.sendReadReceipt("t_1", { chatMessageId: "m_1" }),
    () => c.sendTyping("t_1"),
  ]) {
    await assert.rejects(op(), (err: unknown) => {
      assert.ok(err instanceof HeraldError);
      assert.equal(err.code, "forbidden");
      assert.equal(err.reason, "not_participant");
      assert.equal(err.status, 403);
      assert.equal(err.requestId, "r_9");
      return true;
    });
  }
});

test("a transport failure is a plain Error, not a HeraldError", async () => {
  const c = new ChatClient("http://h", new StaticToken("tok"), {
    fetch: () => Promise.reject(new TypeError("Failed to fetch")),
  });
  await assert.rejects(c.listThreads(), (err: unknown) => !(err instanceof HeraldError) && /GET \/chat\/threads: Failed to fetch/.test(String(err)));
});

test("all* follows nextLink to the last page", async () => {
  const f = fakeFetch((c) => {
    const u = new URL(c.url);
    if (!u.searchParams.get("before")) return json(200, { value: [{ id: "m_3" }, { id: "m_2" }], nextLink: "/chat/threads/t_1/messages?before=2&maxPageSize=2" });
    return json(200, { value: [{ id: "m_1" }] });
  });
  const c = new ChatClient("http://h", new StaticToken("tok"), { fetch: f.fetch });
  const ids: string[] = [];
  for await (const m of c.allMessages("t_1", { maxPageSize: 2 })) ids.push(m.id);
  assert.deepEqual(ids, ["m_3", "m_2", "m_1"]);
  assert.equal(f.calls[1]!.url, "http://h/chat/threads/t_1/messages?before=2&maxPageSize=2");
  assert.equal(f.calls[0]!.url, "http://h/chat/threads/t_1/messages?maxPageSize=2");
});

test("AdminClient reaches identities, the doctor and the evidence tables with the admin key", async () => {
  const f = fakeFetch(() => json(200, { table: "Connections", columns: [], rows: [] }));
  const a = new AdminClient("http://h", "hak_1", { fetch: f.fetch });
  await a.listEvidence("Connections", { user: "u_a", since: "2h" });
  await a.diagnose({ user: "u_a", thread: "t_1" });
  await a.diagnoseThread({ thread: "t_1", message: "m_1" });
  await a.diagnoseRecent("1h");
  await a.revokeAccessTokens("u_a");
  assert.deepEqual(
    f.calls.map((c) => `${c.method} ${c.url} ${c.headers["authorization"]}`),
    [
      "GET http://h/admin/events/Connections?user=u_a&since=2h Bearer hak_1",
      "GET http://h/admin/doctor?user=u_a&thread=t_1 Bearer hak_1",
      "GET http://h/admin/doctor/thread?thread=t_1&message=m_1 Bearer hak_1",
      "GET http://h/admin/doctor/recent?since=1h Bearer hak_1",
      "POST http://h/identities/u_a/:revokeAccessTokens Bearer hak_1",
    ],
  );
  assert.equal(a.evidencePath("Acks", { user: "u_a", thread: "t_1" }), "/admin/events/Acks?user=u_a&thread=t_1");
});

test("devLogin creates a user by name, or renews the token it is given", async () => {
  const f = fakeFetch(() => json(201, { id: "u_a", token: "t", expiresOn: "2026-11-27T00:00:00Z" }));
  await devLogin("http://h", { name: "Alice" }, { fetch: f.fetch });
  await devLogin("http://h", { token: "old" }, { fetch: f.fetch });
  assert.deepEqual(f.calls[0]!.body, { name: "Alice" });
  assert.equal(f.calls[0]!.headers["authorization"], undefined);
  assert.equal(f.calls[1]!.headers["authorization"], "Bearer old");
});
