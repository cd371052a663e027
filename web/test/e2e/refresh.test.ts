// Proactive token refresh without a visible gap.
//
// The server issues tokens of at least 60 minutes (dev login: 24 hours) and
// its clock cannot be moved from outside, so the test moves the page's
// clock instead: Alice's page runs with Date.now 24 h − 25 s ahead, so its
// TokenCredential reads the dev token's exp claim as ~25 s away and
// refreshes it proactively (at half the remaining lifetime, ~12 s, then
// again for every new token) with the page's refresher, POST /dev/login
// with the current token, which makes the server issue a new token of the
// same user. The real-time client sends each new token in-band (a refresh
// frame) and the server answers `refreshed`.
//
// Verified: at least two refreshes were accepted by the server on the live
// connection (the page logs each `refreshed` frame); the connection id never
// changed and the connection bar never left "connected"; the server's
// connection log holds exactly one connection for Alice, still open; the
// token the page holds changed and Alice's sends after the refresh succeed
// with it; every one of Bob's messages, sent once a second throughout,
// arrived at Alice in sequence order, and Alice's at Bob; the server issued
// Alice at least three tokens.

import assert from "node:assert/strict";
import { test } from "node:test";
import { SKIP, cleanup, createThreadIn, eventually, launch, messageTexts, openThreadIn, sendIn, shot, signIn, startServer } from "./harness.js";

const AHEAD_MS = 24 * 3600_000 - 25_000;

test("a token near expiry is refreshed in-band: same connection, messages keep flowing", { skip: SKIP, timeout: 180_000 }, async (t) => {
  const server = await startServer();
  const browser = await launch();
  cleanup(t, () => browser.close(), () => server.stop());
  const bob = await signIn(browser, server, "Bob");
  const alice = await signIn(browser, server, "Alice", async (page) => {
    await page.addInitScript((ahead: number) => {
      const real = Date.now.bind(Date);
      Date.now = () => real() + ahead;
      // Record every change of the connection bar.
      const w = window as unknown as { connStates: string[] };
      w.connStates = [];
      document.addEventListener("DOMContentLoaded", () => {
        const el = document.getElementById("conn")!;
        new MutationObserver(() => w.connStates.push(`${el.dataset.state} ${el.dataset.connectionId ?? ""}`)).observe(el, { attributes: true });
      });
    }, AHEAD_MS);
  });
  const initialToken = await alice.token();
  assert.match((await alice.page.textContent("#expiry"))!, /token expires in \d+ s/);
  await shot(alice.page, "refresh-near-expiry");

  const thread = await createThreadIn(alice.page, "Refresh", [bob.id]);
  await bob.page.locator(`#thread-list li[data-thread-id="${thread}"]`).waitFor();
  await openThreadIn(bob.page, thread);
  await alice.page.locator("#conn[data-state=connected]").waitFor();
  const connection = await alice.page.getAttribute("#conn", "data-connection-id");
  assert.ok(connection, "Alice is connected");

  // Bob sends once a second until Alice's page has seen two refreshes accepted by the server.
  const bobApi = await bob.api();
  const sent: string[] = [];
  const refreshed = () => alice.console.filter((l) => l.includes("token refreshed in-band")).length;
  const deadline = Date.now() + 90_000;
  let n = 0;
  while (refreshed() < 2) {
    assert.ok(Date.now() < deadline, `only ${refreshed()} refresh(es) in 90 s:\n${alice.console.join("\n")}`);
    const text = `tick ${++n}`;
    await bobApi.sendMessage(thread, { content: text, senderDisplayName: "Bob" });
    sent.push(text);
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.ok(alice.console.some((l) => l.includes(`token refreshed in-band on ${connection}`)), "refreshed on the same connection");
  // Alice sends with the refreshed token.
  const token = await alice.token();
  assert.notEqual(token, initialToken, "the page holds a new token");
  await sendIn(alice.page, "after the refresh");
  await bob.page.locator("#messages .body", { hasText: "after the refresh" }).waitFor();
  const last = `tick ${++n}`;
  await bobApi.sendMessage(thread, { content: last, senderDisplayName: "Bob" });
  sent.push(last);

  // Every message arrived, in order, on the one connection.
  const texts = await eventually(async () => {
    const got = (await messageTexts(alice.page)).map((m) => m.text).filter((x) => x.startsWith("tick"));
    assert.deepEqual(got, sent);
    return got;
  });
  assert.equal(texts.length, sent.length);
  assert.equal(await alice.page.getAttribute("#conn", "data-connection-id"), connection, "the connection id did not change");
  const states = await alice.page.evaluate(() => (window as unknown as { connStates: string[] }).connStates);
  const afterConnect = states.slice(states.findIndex((s) => s.startsWith("connected ")));
  assert.deepEqual([...new Set(afterConnect)], [`connected ${connection}`], `the bar left "connected": ${states.join(", ")}`);

  // The server's evidence.
  const conns = await server.admin.listEvidence("Connections", { user: alice.id });
  assert.equal(conns.rows?.length, 1, `Alice's connections: ${JSON.stringify(conns.rows)}`);
  assert.equal(conns.rows![0]![conns.columns.indexOf("closed")], "", "Alice's connection is still open");
  const tokens = await server.admin.listEvidence("Tokens", { user: alice.id });
  assert.ok((tokens.rows ?? []).length >= 3, `Alice's tokens: ${JSON.stringify(tokens.rows)}`);
  await shot(alice.page, "refresh-after");
});
