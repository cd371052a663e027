// Every operation of the official ACS identity and chat SDKs against a
// Herald server. HERALD_CONNECTION_STRING is the server's connection string
// (endpoint + access key); the server's certificate is trusted through
// NODE_EXTRA_CA_CERTS. Prints one JSON line per operation
// ({"sdk","operation","ok","detail"}) and exits 1 if any failed.
import assert from "node:assert/strict";
import { CommunicationIdentityClient } from "@azure/communication-identity";
import { ChatClient } from "@azure/communication-chat";
import { AzureCommunicationTokenCredential } from "@azure/communication-common";
import { EventGridDeserializer, isSystemEvent } from "@azure/eventgrid";
import http from "node:http";

const cs = process.env.HERALD_CONNECTION_STRING;
const endpoint = cs.match(/endpoint=([^;]+)/)[1];
let failed = 0;
async function op(sdk, operation, fn) {
  try {
    const detail = await fn();
    console.log(JSON.stringify({ sdk, operation, ok: true, detail: detail ?? "" }));
  } catch (e) {
    failed++;
    console.log(JSON.stringify({ sdk, operation, ok: false, detail: String(e?.message ?? e).slice(0, 300) }));
  }
}
const collect = async (it) => { const out = []; for await (const x of it) out.push(x); return out; };

const identity = new CommunicationIdentityClient(cs);
let alice, bob, carol, aliceToken;
await op("identity", "createUserAndToken", async () => {
  const r = await identity.createUserAndToken(["chat"]);
  assert.ok(r.user.communicationUserId && r.token && r.expiresOn instanceof Date);
  alice = r.user; aliceToken = r.token;
  return `expires ${r.expiresOn.toISOString()}`;
});
await op("identity", "createUser", async () => { bob = await identity.createUser(); carol = await identity.createUser(); assert.ok(bob.communicationUserId); });
await op("identity", "getToken", async () => { const t = await identity.getToken(bob, ["chat"]); assert.ok(t.token); });
await op("identity", "getToken (tokenExpiresInMinutes 60)", async () => {
  const t = await identity.getToken(bob, ["chat.join"], { tokenExpiresInMinutes: 60 });
  const minutes = (t.expiresOn - Date.now()) / 60000;
  assert.ok(minutes > 55 && minutes <= 61, `expires in ${minutes} min`);
});
await op("identity", "createUserAndToken (tokenExpiresInMinutes 90)", async () => {
  const r = await identity.createUserAndToken(["chat"], { tokenExpiresInMinutes: 90 });
  assert.ok((r.expiresOn - Date.now()) / 60000 > 85);
});

const chat = new ChatClient(endpoint, new AzureCommunicationTokenCredential(aliceToken));
let thread, th, sent;
await op("chat", "createChatThread", async () => {
  const r = await chat.createChatThread({ topic: "compat" }, { participants: [{ id: bob, displayName: "Bob" }] });
  assert.equal(r.invalidParticipants, undefined);
  thread = r.chatThread; th = chat.getChatThreadClient(thread.id);
  assert.equal(thread.topic, "compat");
});
await op("chat", "createChatThread (idempotencyToken replayed)", async () => {
  const a = await chat.createChatThread({ topic: "once" }, { idempotencyToken: "compat-1" });
  const b = await chat.createChatThread({ topic: "once" }, { idempotencyToken: "compat-1" });
  assert.equal(a.chatThread.id, b.chatThread.id);
});
await op("chat", "createChatThread (an invalid participant)", async () => {
  const r = await chat.createChatThread({ topic: "bad" }, { participants: [{ id: { communicationUserId: "u_nobody" } }] });
  assert.ok(r.invalidParticipants?.length === 1, JSON.stringify(r.invalidParticipants));
});
await op("chat", "getProperties", async () => { const p = await th.getProperties(); assert.equal(p.topic, "compat"); assert.equal(p.createdBy.communicationUserId, alice.communicationUserId); });
await op("chat", "updateTopic", async () => { await th.updateTopic("compat 2"); assert.equal((await th.getProperties()).topic, "compat 2"); });
await op("chat", "updateProperties (metadata)", async () => {
  if (typeof th.updateProperties !== "function") return "not in this SDK version";
  await th.updateProperties({ topic: "compat 3", metadata: { k: "v" } });
  const p = await th.getProperties();
  assert.equal(p.topic, "compat 3");
});
await op("chat", "sendMessage", async () => {
  sent = await th.sendMessage({ content: "hello bob" }, { senderDisplayName: "Alice", type: "text", metadata: { tag: "1" } });
  assert.ok(sent.id);
});
await op("chat", "getMessage", async () => {
  const m = await th.getMessage(sent.id);
  assert.equal(m.content.message, "hello bob"); assert.equal(m.senderDisplayName, "Alice"); assert.equal(m.metadata?.tag, "1");
});
await op("chat", "listMessages", async () => {
  const ms = await collect(th.listMessages());
  assert.ok(ms.some((m) => m.id === sent.id));
  return `${ms.length} messages (${[...new Set(ms.map((m) => m.type))].join(", ")})`;
});
await op("chat", "listMessages (a new thread's system messages, as ACS lists them)", async () => {
  const r = await chat.createChatThread({ topic: "fresh" }, { participants: [{ id: alice }, { id: bob, displayName: "Bob" }] });
  const ms = (await collect(chat.getChatThreadClient(r.chatThread.id).listMessages())).sort((a, b) => Number(a.sequenceId) - Number(b.sequenceId));
  assert.equal(ms.length, 2, JSON.stringify(ms.map((m) => m.type)));
  assert.equal(ms[0].type, "participantAdded"); assert.equal(ms[0].sequenceId, "1");
  assert.deepEqual(ms[0].content.participants.map((p) => p.id.communicationUserId).sort(), [alice.communicationUserId, bob.communicationUserId].sort());
  assert.equal(ms[0].content.initiator.communicationUserId, alice.communicationUserId);
  assert.equal(ms[1].type, "topicUpdated"); assert.equal(ms[1].sequenceId, "2"); assert.equal(ms[1].content.topic, "fresh");
  return "participantAdded (1), topicUpdated (2)";
});
await op("chat", "listMessages (maxPageSize 1, paging)", async () => {
  await th.sendMessage({ content: "second" });
  const ms = await collect(th.listMessages({ maxPageSize: 1 }));
  assert.ok(ms.length >= 2);
});
await op("chat", "updateMessage", async () => { await th.updateMessage(sent.id, { content: "edited" }); const m = await th.getMessage(sent.id); assert.equal(m.content.message, "edited"); assert.ok(m.editedOn); });
await op("chat", "sendTypingNotification", async () => { assert.equal(await th.sendTypingNotification(), true); });
await op("chat", "sendReadReceipt", async () => { await th.sendReadReceipt({ chatMessageId: sent.id }); });
await op("chat", "listReadReceipts", async () => { const rs = await collect(th.listReadReceipts()); assert.ok(rs.some((r) => r.chatMessageId === sent.id)); });
await op("chat", "addParticipants", async () => { const r = await th.addParticipants({ participants: [{ id: carol, displayName: "Carol" }] }); assert.equal(r.invalidParticipants, undefined); });
await op("chat", "listParticipants", async () => {
  const ps = await collect(th.listParticipants());
  assert.equal(ps.length, 3);
  assert.equal(ps.find((p) => p.id.communicationUserId === bob.communicationUserId)?.displayName, "Bob");
});
await op("chat", "removeParticipant", async () => { await th.removeParticipant(carol); assert.equal((await collect(th.listParticipants())).length, 2); });
await op("chat", "deleteMessage", async () => { await th.deleteMessage(sent.id); const m = await th.getMessage(sent.id); assert.ok(m.deletedOn); });
await op("chat", "listChatThreads", async () => { const ts = await collect(chat.listChatThreads()); assert.ok(ts.some((t) => t.id === thread.id)); });
await op("chat", "errors carry ACS's shape (RestError with code and statusCode)", async () => {
  try { await chat.getChatThreadClient("t_missing").getProperties(); assert.fail("no error"); }
  catch (e) { assert.equal(e.statusCode, 404); assert.ok(e.code, "code"); return `${e.statusCode} ${e.code}`; }
});
await op("chat", "deleteChatThread", async () => { await chat.deleteChatThread(thread.id); });
// Event Grid: Herald's webhooks parsed by the official Event Grid SDK's
// deserializers, in both schemas (HERALD_ADMIN_KEY subscribes them).
if (process.env.HERALD_ADMIN_KEY) {
  const received = { EventGridSchema: [], CloudEventSchemaV1_0: [] };
  const deserializer = new EventGridDeserializer();
  const receiver = http.createServer(async (req, res) => {
    if (req.method === "OPTIONS") { // CloudEvents abuse protection
      res.setHeader("WebHook-Allowed-Origin", req.headers["webhook-request-origin"] ?? "*");
      res.end();
      return;
    }
    let body = "";
    for await (const chunk of req) body += chunk;
    try {
      if (req.url === "/cloudevents") {
        received.CloudEventSchemaV1_0.push(...(await deserializer.deserializeCloudEvents(body)));
      } else {
        const events = await deserializer.deserializeEventGridEvents(body);
        const v = events[0];
        if (isSystemEvent("Microsoft.EventGrid.SubscriptionValidationEvent", v)) {
          res.setHeader("Content-Type", "application/json");
          res.end(JSON.stringify({ validationResponse: v.data.validationCode }));
          return;
        }
        received.EventGridSchema.push(...events);
      }
      res.end();
    } catch (e) {
      res.statusCode = 400; // the official deserializer refused the body
      res.end(String(e));
    }
  });
  await new Promise((ok) => receiver.listen(0, "127.0.0.1", ok));
  const base = `http://127.0.0.1:${receiver.address().port}`;
  const subscribe = async (schema, path) => {
    const r = await fetch(new URL("/admin/webhooks", endpoint), {
      method: "POST",
      headers: { Authorization: `Bearer ${process.env.HERALD_ADMIN_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ url: base + path, schema, eventTypes: ["Microsoft.Communication.ChatMessageReceived"] }),
    });
    assert.equal(r.status, 201, await r.text());
  };
  await op("eventgrid", "subscribe, Event Grid schema (SubscriptionValidationEvent handshake)", () => subscribe("EventGridSchema", "/eventgrid"));
  await op("eventgrid", "subscribe, CloudEvents 1.0 (OPTIONS handshake)", () => subscribe("CloudEventSchemaV1_0", "/cloudevents"));
  let hooked;
  await op("eventgrid", "a message makes ChatMessageReceived for the recipient", async () => {
    const r = await chat.createChatThread({ topic: "hooks" }, { participants: [{ id: bob, displayName: "Bob" }] });
    hooked = await chat.getChatThreadClient(r.chatThread.id).sendMessage({ content: "to the webhook" }, { senderDisplayName: "Alice" });
  });
  for (const schema of ["EventGridSchema", "CloudEventSchemaV1_0"]) {
    await op("eventgrid", `deserialize${schema === "EventGridSchema" ? "EventGridEvents" : "CloudEvents"} + isSystemEvent("Microsoft.Communication.ChatMessageReceived")`, async () => {
      for (let i = 0; i < 100 && received[schema].length === 0; i++) await new Promise((ok) => setTimeout(ok, 100));
      const e = received[schema].find((x) => isSystemEvent("Microsoft.Communication.ChatMessageReceived", x));
      assert.ok(e, `no ChatMessageReceived arrived (${received[schema].length} events)`);
      assert.equal(e.data.messageBody, "to the webhook");
      assert.equal(e.data.messageId, hooked.id);
      assert.equal(e.data.senderDisplayName, "Alice");
      assert.equal(e.data.recipientCommunicationIdentifier.communicationUser.id, bob.communicationUserId);
      assert.ok(e.data.composeTime, "composeTime");
      return `${received[schema].length} event(s), id ${e.id}`;
    });
  }
  receiver.close();
}
await op("identity", "revokeTokens", async () => {
  await identity.revokeTokens(alice);
  try { await chat.listChatThreads().next(); assert.fail("a revoked token still works"); }
  catch (e) { assert.equal(e.statusCode, 401); }
});
await op("identity", "deleteUser", async () => { await identity.deleteUser(bob); });
await op("identity", "a wrong access key is refused", async () => {
  const wrong = cs.replace(/accesskey=[^;]+/, "accesskey=" + Buffer.alloc(32, 1).toString("base64"));
  try { await new CommunicationIdentityClient(wrong).createUser(); assert.fail("accepted"); }
  catch (e) { assert.equal(e.statusCode, 401); }
});
process.exit(failed ? 1 : 0);
