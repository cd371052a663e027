// Two browser contexts chat in real time through the chat page, and one
// goes offline and comes back with nothing missing.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ChatClient, StaticToken } from "../../src/herald/index.js";
import {
  SKIP,
  cleanup,
  createThreadIn,
  eventually,
  launch,
  messageTexts,
  openContext,
  openThreadIn,
  sendIn,
  shot,
  signIn,
  startServer,
  waitConnected,
} from "./harness.js";

test("two browsers chat in real time: messages in sequence order, typing, read receipts, edit, delete, participants", { skip: SKIP, timeout: 120_000 }, async (t) => {
  const server = await startServer();
  const browser = await launch();
  cleanup(t, () => browser.close(), () => server.stop());
  // What a new user sees first.
  const newcomer = await openContext(browser);
  await newcomer.page.goto(server.url + "/");
  await newcomer.page.locator("#dev-form").waitFor({ state: "visible" });
  await shot(newcomer.page, "signin");
  await newcomer.context.close();
  const alice = await signIn(browser, server, "Alice");
  await shot(alice.page, "signed-in-empty");
  const bob = await signIn(browser, server, "Bob");

  const thread = await createThreadIn(alice.page, "Launch plans", [bob.id]);
  // Bob's page learns of the thread from the participantsAdded event.
  await bob.page.locator(`#thread-list li[data-thread-id="${thread}"]`).waitFor();
  await openThreadIn(bob.page, thread);

  await sendIn(alice.page, "hello bob");
  await bob.page.locator("#messages li.msg .body", { hasText: "hello bob" }).waitFor();
  await sendIn(bob.page, "hi alice");
  await alice.page.locator("#messages li.msg .body", { hasText: "hi alice" }).waitFor();
  for (let i = 1; i <= 3; i++) await sendIn(alice.page, `burst ${i}`);
  await bob.page.locator("#messages li.msg .body", { hasText: "burst 3" }).waitFor();

  // Sequence order, on both pages, with no gaps in what was sent.
  for (const u of [alice, bob]) {
    const msgs = await eventually(async () => {
      const m = await messageTexts(u.page);
      assert.equal(m.length, 5, `${u.name}: got ${m.length} messages, want 5`);
      return m;
    });
    assert.deepEqual(
      msgs.map((m) => m.text),
      ["hello bob", "hi alice", "burst 1", "burst 2", "burst 3"],
      `${u.name}: messages out of order`,
    );
    for (let i = 1; i < msgs.length; i++) assert.ok(msgs[i]!.seq > msgs[i - 1]!.seq, `${u.name}: seq ${msgs[i]!.seq} after ${msgs[i - 1]!.seq}`);
  }

  // Typing: Bob types, Alice sees it.
  await bob.page.type("#composer-text", "typing something");
  await alice.page.locator("#typing", { hasText: "Bob is typing" }).waitFor();
  await bob.page.fill("#composer-text", "");

  // Read receipts: Bob has the thread open, so Alice's newest message shows as read by Bob.
  await alice.page.locator("#messages li.msg", { hasText: "burst 3" }).locator(".read", { hasText: "Read by Bob" }).waitFor();

  // Edit and delete, seen live by Bob.
  const firstId = await alice.page.locator("#messages li.msg", { hasText: "hello bob" }).getAttribute("data-id");
  const first = alice.page.locator(`#messages li[data-id="${firstId}"]`);
  await first.locator("button", { hasText: "Edit" }).click();
  await first.locator("textarea.edit").fill("hello bob (edited)");
  await first.locator("button", { hasText: "Save" }).click();
  await bob.page.locator("#messages li.msg", { hasText: "hello bob (edited)" }).locator(".edited").waitFor();
  // Destructive actions ask first (issue 17): dismissing keeps the message, accepting deletes it.
  const burst2 = alice.page.locator("#messages li.msg", { hasText: "burst 2" }).locator("button", { hasText: "Delete" });
  const asked: string[] = [];
  alice.page.once("dialog", (d) => { asked.push(d.message()); void d.dismiss(); });
  await burst2.click();
  await eventually(async () => assert.equal(asked.length, 1));
  assert.match(asked[0], /Delete this message for everyone/);
  assert.equal(await bob.page.locator("#messages li.msg.deleted").count(), 0, "a dismissed confirmation deletes nothing");
  alice.page.once("dialog", (d) => void d.accept());
  await burst2.click();
  await bob.page.locator("#messages li.msg.deleted .body", { hasText: "message deleted" }).waitFor();

  // Participants: both, by name.
  await bob.page.locator("#participants li", { hasText: "Alice" }).waitFor();
  await alice.page.locator("#participants li", { hasText: "Bob" }).waitFor();
  assert.equal(await alice.page.locator("#participants li").count(), 2);

  // Links are clickable, safely (issue 17): http(s) URLs become links that
  // open apart from the page; markup and other schemes stay text.
  const hostile = `see https://example.com/a?b=1&c=2. <img src=x onerror="window.pwned=1"> <b>bold</b> javascript:alert(1) data:text/html,x`;
  await sendIn(alice.page, hostile);
  const body = bob.page.locator("#messages li.msg .body", { hasText: "see https://example.com" });
  await body.waitFor();
  const links = await body.locator("a").evaluateAll((as) => as.map((a) => [a.getAttribute("href"), a.getAttribute("rel"), a.getAttribute("target"), a.textContent]));
  assert.deepEqual(links, [["https://example.com/a?b=1&c=2", "noopener noreferrer nofollow", "_blank", "https://example.com/a?b=1&c=2"]]);
  assert.equal(await body.locator("img, b, script").count(), 0, "no markup from a message reaches the page");
  assert.equal(await body.textContent(), hostile, "the message reads exactly as sent");
  assert.equal(await bob.page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined);

  // Unread counts per thread and in the page title (issue 17): Bob reads
  // "Launch plans" while two messages arrive in another thread.
  const side = await createThreadIn(alice.page, "Side chat", [bob.id]);
  await sendIn(alice.page, "side 1");
  await sendIn(alice.page, "side 2");
  const badge = bob.page.locator(`#thread-list li[data-thread-id="${side}"] .unread`);
  await eventually(async () => assert.equal(await badge.textContent(), "2"));
  assert.equal(await bob.page.title(), "(2) Herald chat");
  await shot(bob.page, "unread-bob");
  await openThreadIn(bob.page, side);
  await badge.waitFor({ state: "detached" });
  assert.equal(await bob.page.title(), "Herald chat");
  await openThreadIn(bob.page, thread);
  await openThreadIn(alice.page, thread);

  // A date separator opens each day (issue 17); everything here is today.
  assert.deepEqual(await bob.page.locator("#messages li.day").allTextContents(), ["Today"]);

  // The creation's system lines (participantAdded at 1, topicUpdated at 2,
  // as in ACS) name people once their names are known, not "someone".
  await bob.page.locator("#messages li.sys[data-seq='1']", { hasText: "Alice created the thread with Bob" }).waitFor();
  await bob.page.locator("#messages li.sys[data-seq='2']", { hasText: "Alice set the topic to" }).waitFor();

  // Edit and Delete show on hover (issue 17), not on every own message at rest.
  const own = bob.page.locator("#messages li.msg.mine").first();
  await bob.page.mouse.move(1, 1);
  assert.equal(await own.locator(".actions").evaluate((el) => getComputedStyle(el).opacity), "0");
  await own.hover();
  await eventually(async () => assert.equal(await own.locator(".actions").evaluate((el) => getComputedStyle(el).opacity), "1"));

  await shot(alice.page, "chat-alice");
  await shot(bob.page, "chat-bob");

  // Phone width (360 px): the connection state reads in full, nothing scrolls sideways.
  await bob.page.setViewportSize({ width: 360, height: 740 });
  const conn = bob.page.locator("#conn-text");
  assert.match((await conn.textContent())!, /^Connected/);
  assert.ok(await conn.evaluate((el) => el.scrollWidth <= el.clientWidth + 1), "the connection state is not cut");
  assert.equal(await bob.page.locator("#expiry").isVisible(), false, "the token lifetime gives way");
  assert.ok(await bob.page.evaluate(() => document.documentElement.scrollWidth <= 360), "no sideways scroll at 360 px");
  await shot(bob.page, "chat-bob-360");
  assert.deepEqual(
    alice.console.filter((l) => l.startsWith("error") || l.startsWith("pageerror")),
    [],
    "Alice's console has errors",
  );
});

test("a page that goes offline catches up with nothing missing when it comes back", { skip: SKIP, timeout: 120_000 }, async (t) => {
  const server = await startServer();
  const browser = await launch();
  cleanup(t, () => browser.close(), () => server.stop());
  const alice = await signIn(browser, server, "Alice");
  const bob = await signIn(browser, server, "Bob");
  const thread = await createThreadIn(alice.page, "Offline test", [bob.id]);
  await bob.page.locator(`#thread-list li[data-thread-id="${thread}"]`).waitFor();
  await openThreadIn(bob.page, thread);
  await sendIn(alice.page, "before 1");
  await bob.page.locator("#messages .body", { hasText: "before 1" }).waitFor();
  const firstConnection = await bob.page.getAttribute("#conn", "data-connection-id");

  await bob.context.setOffline(true);
  await bob.page.locator("#conn[data-state=offline]").waitFor();
  await shot(bob.page, "offline-bob");
  const sent = [];
  for (let i = 1; i <= 6; i++) {
    sent.push(`while away ${i}`);
    await sendIn(alice.page, `while away ${i}`);
  }
  await alice.page.locator("#messages .body", { hasText: "while away 6" }).waitFor();
  // Nothing reaches Bob while offline.
  assert.equal(await bob.page.locator("#messages .body", { hasText: "while away" }).count(), 0);

  await bob.context.setOffline(false);
  await waitConnected(bob.page);
  await bob.page.locator("#messages .body", { hasText: "while away 6" }).waitFor();
  await sendIn(alice.page, "after");
  await bob.page.locator("#messages .body", { hasText: "after" }).waitFor();

  const texts = (await messageTexts(bob.page)).map((m) => m.text);
  assert.deepEqual(texts, ["before 1", ...sent, "after"], "Bob's messages after coming back");
  const seqs = (await messageTexts(bob.page)).map((m) => m.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), "in sequence order");
  const secondConnection = await bob.page.getAttribute("#conn", "data-connection-id");
  assert.notEqual(secondConnection, firstConnection, "Bob reconnected on a new connection (and resumed on it)");

  // The server's evidence: Bob's first connection closed, a second one resumed and got the missed run.
  const conns = await server.admin.listEvidence("Connections", { user: bob.id });
  assert.ok((conns.rows ?? []).length >= 2, `Bob's connections: ${JSON.stringify(conns.rows)}`);
  await shot(bob.page, "offline-bob-back");
});

test("signing in again with the same name is the same user, and finds the earlier threads", { skip: SKIP, timeout: 120_000 }, async (t) => {
  const server = await startServer();
  const browser = await launch();
  cleanup(t, () => browser.close(), () => server.stop());
  const first = await signIn(browser, server, "Dana");
  const thread = await createThreadIn(first.page, "Dana's plans", []);
  await sendIn(first.page, "a note to self");
  await first.context.close();

  // A new browser, the name typed differently: the same identity, the thread still there.
  const again = await signIn(browser, server, " dana ");
  assert.equal(again.id, first.id, "the same name signs in as the same user");
  await again.page.locator(`#thread-list li[data-thread-id="${thread}"]`).waitFor();
  await openThreadIn(again.page, thread);
  await again.page.locator("#messages .body", { hasText: "a note to self" }).waitFor();
  await shot(again.page, "signin-again-same-user");

  // Deleting the thread asks first, naming it; dismissing keeps it.
  let question = "";
  again.page.once("dialog", (d) => { question = d.message(); void d.dismiss(); });
  await again.page.click("#delete-thread");
  await eventually(async () => assert.match(question, /^Delete “Dana's plans” for everyone\?/));
  assert.equal(await again.page.locator(`#thread-list li[data-thread-id="${thread}"]`).count(), 1, "a dismissed confirmation deletes nothing");
  again.page.once("dialog", (d) => void d.accept());
  await again.page.click("#delete-thread");
  await again.page.locator(`#thread-list li[data-thread-id="${thread}"]`).waitFor({ state: "detached" });
  const other = await signIn(browser, server, "Eve");
  assert.notEqual(other.id, first.id, "another name is another user");
});

test("people created with a display name show by name, not id: participants, senders, the id on hover", { skip: SKIP, timeout: 120_000 }, async (t) => {
  const server = await startServer();
  const browser = await launch();
  cleanup(t, () => browser.close(), () => server.stop());
  // Carol is made by the admin API (as `herald identity create --name` does), not by the page's sign-in.
  const made = await server.admin.createIdentity({ displayName: "Carol Admin-made", createTokenWithScopes: ["chat"] });
  const carol = made.identity.id;
  assert.equal(made.displayName, "Carol Admin-made");
  const alice = await signIn(browser, server, "Alice");
  const thread = await createThreadIn(alice.page, "names", [carol]); // added by id, with no name given
  await alice.page.locator("#participants li", { hasText: "Carol Admin-made" }).waitFor();
  const carolApi = new ChatClient(server.url, new StaticToken(made.accessToken!.token));
  await carolApi.sendMessage(thread, { content: "hello from carol" }); // no senderDisplayName
  const who = alice.page.locator("#messages li.msg", { hasText: "hello from carol" }).locator(".who");
  await who.waitFor();
  assert.equal(await who.textContent(), "Carol Admin-made", "the sender shows by the identity's name");
  assert.equal(await who.getAttribute("title"), carol, "the id is on hover");
  const listed = await alice.page.locator("#participants li").allTextContents();
  assert.ok(!listed.some((text) => text.startsWith(carol)), `no participant shows as a bare id: ${listed.join(" | ")}`);
  await shot(alice.page, "names-from-identities");
});

test("creating a thread with an unknown participant creates nothing; the error sits by the field and goes when it changes", { skip: SKIP, timeout: 120_000 }, async (t) => {
  const server = await startServer();
  const browser = await launch();
  cleanup(t, () => browser.close(), () => server.stop());
  const bob = await signIn(browser, server, "Bob");
  const alice = await signIn(browser, server, "Alice");
  const page = alice.page;
  await page.fill("#new-thread input[name=topic]", "plans");
  await page.fill("#new-thread input[name=participants]", `${bob.id} u_nobody`);
  await page.click("#new-thread button[type=submit]");
  const error = page.locator("#participants-error");
  await eventually(async () => assert.match((await error.textContent()) ?? "", /u_nobody \(identity_not_found/));
  assert.equal(await page.locator("#new-thread input[name=participants]").getAttribute("aria-invalid"), "true");
  assert.equal(await page.locator("#thread-list li").count(), 0, "nothing was created");
  assert.equal(await page.locator("#toast p").count(), 0, "no toast covers the page");
  await shot(page, "create-thread-participant-error");
  const bobsThreads = await (await bob.api()).listThreads();
  assert.equal(bobsThreads.value.length, 0, "Bob was not added to anything");

  await page.fill("#new-thread input[name=participants]", bob.id); // changing the field clears its error
  assert.equal((await error.textContent()) ?? "", "");
  assert.equal(await page.locator("#new-thread input[name=participants]").getAttribute("aria-invalid"), null);
  await page.click("#new-thread button[type=submit]");
  await page.locator("#thread-list li", { hasText: "plans" }).waitFor();
});

test("the people picker suggests, by name, only people who share a thread with you", { skip: SKIP, timeout: 120_000 }, async (t) => {
  const server = await startServer();
  const browser = await launch();
  cleanup(t, () => browser.close(), () => server.stop());
  const bob = await signIn(browser, server, "Bob");
  const carol = await signIn(browser, server, "Carol");
  await signIn(browser, server, "Carmen"); // shares no thread with Alice
  const alice = await signIn(browser, server, "Alice");
  const page = alice.page;
  await createThreadIn(page, "all of us", [bob.id, carol.id]);
  await createThreadIn(page, "just bob", [bob.id]);
  await page.fill("#add-participant input[name=user]", "car");
  const options = page.locator("#people-list option");
  await eventually(async () => assert.equal(await options.count(), 1));
  assert.equal(await options.first().getAttribute("value"), carol.id);
  assert.match((await options.first().getAttribute("label")) ?? "", /^Carol \(u_/);
  await shot(page, "people-picker");
  await page.fill("#add-participant input[name=user]", carol.id); // what choosing the suggestion does
  await page.click("#add-participant button[type=submit]");
  await page.locator("#participants li", { hasText: "Carol" }).waitFor();

  // The new-thread form takes names too: a name is one person who shares a thread with you.
  await page.fill("#new-thread input[name=topic]", "by name");
  await page.fill("#new-thread input[name=participants]", "carmen");
  await page.click("#new-thread button[type=submit]");
  await page.locator("#participants-error", { hasText: "no one called “carmen” shares a thread with you" }).waitFor();
  await page.fill("#new-thread input[name=participants]", "carol, BOB");
  await page.click("#new-thread button[type=submit]");
  await page.locator("#thread-title", { hasText: "by name" }).or(page.locator("#thread-list li", { hasText: "by name" })).first().waitFor();
  await page.locator("#participants li", { hasText: "Bob" }).waitFor();
  await page.locator("#participants li", { hasText: "Carol" }).waitFor();
  assert.equal(await page.locator("#participants li").count(), 3);
});

test("the dev sign-in lists who is already here; one click signs in as them", { skip: SKIP, timeout: 120_000 }, async (t) => {
  const server = await startServer();
  const browser = await launch();
  cleanup(t, () => browser.close(), () => server.stop());
  const frank = await signIn(browser, server, "Frank");
  await server.admin.createIdentity({ displayName: "Grace" });
  const { page } = await openContext(browser);
  await page.goto(server.url + "/");
  const list = page.locator("#dev-people-list button");
  await eventually(async () => assert.deepEqual(await list.allTextContents(), ["Frank", "Grace"]));
  await shot(page, "dev-directory");
  await list.filter({ hasText: "Frank" }).click();
  await page.locator("#me-id", { hasText: frank.id }).waitFor();
});
