import assert from "node:assert/strict";
import { test } from "node:test";
import type { ChatMessage } from "../../src/herald/index.js";
import { identifier } from "../../src/herald/wire.js";
import { ChatStore } from "../../src/pages/chatstore.js";

function msg(id: string, seq: number, from: string, extra: Partial<ChatMessage> = {}): ChatMessage {
  return {
    id,
    type: "text",
    sequenceId: String(seq),
    version: "1",
    content: { message: `m${seq}` },
    createdOn: `2026-12-05T10:00:0${seq % 10}Z`,
    senderCommunicationIdentifier: identifier(from),
    ...extra,
  };
}

function signedIn(): ChatStore {
  const s = new ChatStore();
  s.me = { id: "u_me", name: "Me", token: "t", dev: false };
  return s;
}

test("thread list: most recent activity first; listing a thread twice keeps the first item", () => {
  const s = signedIn();
  s.listThread("t_a", "A", "2026-12-05T09:00:00Z");
  s.listThread("t_b", "B", "2026-12-05T10:00:00Z");
  s.listThread("t_c", "C", "");
  const again = s.listThread("t_a", "renamed", "2026-12-06T00:00:00Z");
  assert.equal(again.topic, "A");
  assert.deepEqual(s.threadList().map((t) => t.id), ["t_b", "t_a", "t_c"]);
});

test("unread: a new message from someone else in a thread that is not open counts; own messages, edits and the open thread do not", () => {
  const s = signedIn();
  const a = s.listThread("t_a", "A", "");
  const b = s.listThread("t_b", "B", "");
  s.open("t_b");
  assert.equal(s.messageArrived(a, msg("m1", 1, "u_bob"), true, "2026-12-05T10:00:01Z"), false);
  assert.equal(s.messageArrived(a, msg("m2", 2, "u_me"), true, "2026-12-05T10:00:02Z"), false);
  assert.equal(s.messageArrived(a, msg("m1", 1, "u_bob"), false, "2026-12-05T10:00:03Z"), false); // an edit
  assert.equal(a.unread, 1);
  assert.equal(a.activity, "2026-12-05T10:00:03Z");
  assert.deepEqual(s.threadList().map((t) => t.id), ["t_a", "t_b"]);
  // In the open thread the message is put in place, not counted.
  assert.equal(s.messageArrived(b, msg("m3", 1, "u_bob"), true, "2026-12-05T10:00:04Z"), true);
  assert.equal(b.unread, 0);
  assert.equal(s.view?.messages.get("m3")?.sequenceId, "1");
  assert.equal(s.unreadTotal(), 1);
  // Opening the thread clears its count.
  s.open("t_a");
  assert.equal(a.unread, 0);
  assert.equal(s.unreadTotal(), 0);
});

test("dropThread removes the thread and closes it when it was open", () => {
  const s = signedIn();
  s.listThread("t_a", "A", "");
  s.listThread("t_b", "B", "");
  s.open("t_a");
  assert.deepEqual(s.dropThread("t_b"), { item: { id: "t_b", topic: "B", activity: "", unread: 0 }, wasOpen: false });
  assert.equal(s.view?.id, "t_a");
  const { item, wasOpen } = s.dropThread("t_a");
  assert.equal(item?.topic, "A");
  assert.equal(wasOpen, true);
  assert.equal(s.view, null);
  assert.deepEqual(s.dropThread("t_gone"), { item: undefined, wasOpen: false });
});

test("messages come in sequence order; a page does not overwrite what a live event already put in place", () => {
  const s = signedIn();
  s.listThread("t_a", "A", "");
  const v = s.open("t_a");
  v.messages.set("m2", msg("m2", 2, "u_bob", { version: "2", content: { message: "edited" } }));
  s.addMessages(v, [msg("m3", 3, "u_bob"), msg("m2", 2, "u_bob"), msg("m1", 1, "u_me")]);
  assert.deepEqual(s.messages().map((m) => m.id), ["m1", "m2", "m3"]);
  assert.equal(v.messages.get("m2")?.content?.message, "edited");
  assert.deepEqual(new ChatStore().messages(), []);
});

test("readBy: the others' last receipts by name; this user's own receipt is not shown", () => {
  const s = signedIn();
  s.listThread("t_a", "A", "");
  const v = s.open("t_a");
  v.participants = [{ communicationIdentifier: identifier("u_bob"), displayName: "Bob" }, { communicationIdentifier: identifier("u_cy") }];
  s.learnName("u_cy", "Cy");
  // Receipts are listed newest first: the first per user wins.
  s.addReceipts(v, [
    { senderCommunicationIdentifier: identifier("u_bob"), chatMessageId: "m2", readOn: "2026-12-05T10:00:02Z" },
    { senderCommunicationIdentifier: identifier("u_bob"), chatMessageId: "m1", readOn: "2026-12-05T10:00:01Z" },
    { senderCommunicationIdentifier: identifier("u_cy"), chatMessageId: "m2", readOn: "2026-12-05T10:00:02Z" },
    { senderCommunicationIdentifier: identifier("u_me"), chatMessageId: "m2", readOn: "2026-12-05T10:00:03Z" },
  ]);
  assert.deepEqual([...s.readBy()], [["m2", ["Bob", "Cy"]]]);
});

test("toMarkRead: the newest message of others that is text and not deleted, once", () => {
  const s = signedIn();
  s.listThread("t_a", "A", "");
  const v = s.open("t_a");
  assert.equal(s.toMarkRead(), undefined);
  s.addMessages(v, [
    msg("m1", 1, "u_bob"),
    msg("m2", 2, "u_bob"),
    msg("m3", 3, "u_bob", { deletedOn: "2026-12-05T10:01:00Z" }),
    msg("m4", 4, "u_me"),
    msg("m5", 5, "u_bob", { type: "participantAdded" }),
  ]);
  assert.equal(s.toMarkRead()?.id, "m2");
  v.readSent = "m2";
  assert.equal(s.toMarkRead(), undefined);
  s.addMessages(v, [msg("m10", 10, "u_bob")]); // sequence order, not string order
  assert.equal(s.toMarkRead()?.id, "m10");
});

test("typing: others in the open thread only, by name, until the time given", () => {
  const s = signedIn();
  s.listThread("t_a", "A", "");
  s.listThread("t_b", "B", "");
  s.open("t_a");
  assert.equal(s.typing("t_a", "u_me", "Me", 6000), false);
  assert.equal(s.typing("t_b", "u_bob", "Bob", 6000), false);
  assert.equal(s.typing("t_a", "u_bob", "Bob", 6000), true);
  assert.equal(s.typing("t_a", "u_cy", undefined, 3000), true);
  assert.deepEqual(s.typingNames(2000), ["Bob", "u_cy"]);
  assert.deepEqual(s.typingNames(3000), ["Bob"]);
  assert.deepEqual(s.typingNames(6000), []);
  assert.equal(s.nameOf("u_bob"), "Bob"); // learned from the typing event
});

test("nameOf: own name, then the participant's, a learned one, the fallback, the id", () => {
  const s = signedIn();
  s.listThread("t_a", "A", "");
  const v = s.open("t_a");
  v.participants = [{ communicationIdentifier: identifier("u_bob"), displayName: "Bob (participant)" }];
  s.learnName("u_bob", "Bob (message)");
  s.learnName("u_dee", "Dee");
  s.learnName("u_eve", "");
  assert.equal(s.nameOf("u_me"), "Me");
  assert.equal(s.nameOf("u_bob"), "Bob (participant)");
  assert.equal(s.nameOf("u_dee"), "Dee");
  assert.equal(s.nameOf("u_eve", "someone"), "someone");
  assert.equal(s.nameOf("u_eve"), "u_eve");
});

test("reset forgets the session, the threads, the open thread and the names", () => {
  const s = signedIn();
  s.listThread("t_a", "A", "");
  s.open("t_a");
  s.learnName("u_bob", "Bob");
  s.lastTyping = 5;
  s.reset();
  assert.equal(s.me, null);
  assert.equal(s.view, null);
  assert.equal(s.threads.size, 0);
  assert.equal(s.lastTyping, 0);
  assert.equal(s.nameOf("u_bob"), "u_bob");
});
