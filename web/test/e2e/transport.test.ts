// When the WebSocket cannot be established the page falls back to SSE,
// and past a blocked SSE to long-polling, and still receives.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { SKIP, cleanup, createThreadIn, eventually, launch, openThreadIn, sendIn, shot, signIn, startServer, waitConnected } from "./harness.js";

/** blockWebSocket makes every WebSocket to /realtime/ws fail, as a proxy that refuses upgrades would. */
async function blockWebSocket(page: Page): Promise<void> {
  await page.routeWebSocket(/\/realtime\/ws/, (ws) => ws.close({ code: 1011, reason: "blocked by the test" }));
}

for (const blocked of [["websocket"], ["websocket", "sse"]] as const) {
  const want = blocked.length === 1 ? "sse" : "longpoll";
  test(`with ${blocked.join(" and ")} blocked the page falls back to ${want} and still receives`, { skip: SKIP, timeout: 120_000 }, async (t) => {
    const server = await startServer();
    const browser = await launch();
    cleanup(t, () => browser.close(), () => server.stop());
    const alice = await signIn(browser, server, "Alice");
    const bob = await signIn(browser, server, "Bob", async (page) => {
      await blockWebSocket(page);
      if (blocked.length > 1) await page.route(/\/realtime\/sse/, (route) => route.abort("connectionrefused"));
    });
    await waitConnected(bob.page, want);
    assert.equal(await bob.page.getAttribute("#conn", "data-fallback"), "true");
    assert.match((await bob.page.textContent("#conn-text"))!, /fallback: websocket could not be established/);
    assert.ok(
      bob.console.some((l) => l.startsWith("warning") && l.includes("falling back to sse") && l.includes("Mitigation")),
      `Bob's console says why it fell back and what to do:\n${bob.console.join("\n")}`,
    );

    const thread = await createThreadIn(alice.page, `Over ${want}`, [bob.id]);
    await bob.page.locator(`#thread-list li[data-thread-id="${thread}"]`).waitFor();
    await openThreadIn(bob.page, thread);
    for (let i = 1; i <= 3; i++) await sendIn(alice.page, `via ${want} ${i}`);
    await bob.page.locator("#messages .body", { hasText: `via ${want} 3` }).waitFor();
    await sendIn(bob.page, "and back");
    await alice.page.locator("#messages .body", { hasText: "and back" }).waitFor();
    // Typing and read receipts travel the fallback too.
    await alice.page.type("#composer-text", "x");
    await bob.page.locator("#typing", { hasText: "Alice is typing" }).waitFor();
    await alice.page.locator("#messages li.msg", { hasText: `via ${want} 3` }).locator(".read", { hasText: "Read by Bob" }).waitFor();

    // The server saw Bob on the fallback transport, and acknowledgements came over it.
    const conns = await server.admin.listEvidence("Connections", { user: bob.id });
    const transport = conns.columns.indexOf("transport");
    assert.ok((conns.rows ?? []).some((r) => r[transport] === want), `Bob's connections: ${JSON.stringify(conns.rows)}`);
    await eventually(async () => {
      const acks = await server.admin.listEvidence("Acks", { user: bob.id, thread });
      assert.ok((acks.rows ?? []).length > 0, "Bob acknowledged over the fallback");
    });
    await shot(bob.page, `fallback-${want}`);
  });
}
