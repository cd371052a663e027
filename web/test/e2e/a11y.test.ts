// Accessibility: axe-core (the engine behind Lighthouse's accessibility
// audit) checks the chat and doctor pages in their main states, at desktop
// and at phone width; any serious or critical violation fails. The
// keyboard test drives the chat page with the keyboard alone.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { SKIP, cleanup, createThreadIn, launch, openContext, sendIn, shot, signIn, startServer, waitConnected } from "./harness.js";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** audit runs axe-core on the page and returns the serious and critical violations. */
async function audit(page: Page): Promise<Violation[]> {
  await page.evaluate(axeSource); // evaluated by the driver: the page's CSP allows no injected script tag
  const vs = await page.evaluate(async () => {
    // @ts-expect-error axe is the global the script defines
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations as Violation[];
  });
  return vs.filter((v) => v.impact === "serious" || v.impact === "critical");
}

function report(vs: Violation[]): string {
  return vs.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`).join("\n");
}

/** noOverflow asserts nothing makes the page scroll sideways. */
async function noOverflow(page: Page, state: string): Promise<void> {
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= width, `${state}: the page is ${scroll} px wide in a ${width} px window`);
}

for (const width of [1280, 360]) {
  test(`axe-core finds no serious or critical violation on the chat and doctor pages at ${width} px`, { skip: SKIP, timeout: 180_000 }, async (t) => {
    const server = await startServer();
    const browser = await launch();
    cleanup(t, () => browser.close(), () => server.stop());
    const size = width === 360 ? { width: 360, height: 740 } : { width: 1280, height: 800 };

    const anon = await openContext(browser);
    await anon.page.setViewportSize(size);
    await anon.page.goto(server.url + "/");
    await anon.page.locator("#token-form").waitFor();
    const states: [string, Page][] = [];
    const check = async (state: string, page: Page) => {
      await noOverflow(page, state);
      await shot(page, `a11y-${width}-${state}`);
      const vs = await audit(page);
      assert.equal(vs.length, 0, `${state} at ${width} px:\n${report(vs)}`);
      states.push([state, page]);
    };
    await check("sign-in", anon.page);

    const bob = await signIn(browser, server, "Bob");
    const alice = await signIn(browser, server, "Alice");
    await alice.page.setViewportSize(size);
    await waitConnected(alice.page);
    await check("thread-list-empty", alice.page);
    await createThreadIn(alice.page, "launch", [bob.id]);
    await sendIn(alice.page, "hello bob, see https://example.com/plan");
    await alice.page.locator("#messages li.msg", { hasText: "hello bob" }).waitFor();
    await check("thread-open", alice.page);
    await alice.page.fill("#new-thread input[name=topic]", "x");
    await alice.page.fill("#new-thread input[name=participants]", "u_nobody");
    await alice.page.click("#new-thread button[type=submit]");
    await alice.page.locator("#participants-error", { hasText: "u_nobody" }).waitFor();
    await check("form-error", alice.page);

    const doc = await openContext(browser);
    await doc.page.setViewportSize(size);
    await doc.page.goto(server.url + "/doctor");
    await doc.page.locator("#key-form").waitFor();
    await check("doctor", doc.page);
    assert.equal(states.length, 5);
  });
}

test("the chat page works from the keyboard alone: create a thread, send, open it from the list", { skip: SKIP, timeout: 120_000 }, async (t) => {
  const server = await startServer();
  const browser = await launch();
  cleanup(t, () => browser.close(), () => server.stop());
  const alice = await signIn(browser, server, "Alice");
  const page = alice.page;
  await waitConnected(page);
  const kb = page.keyboard;
  // Tab to the topic field (the first field of the page after the header's links).
  for (let i = 0; i < 10 && !(await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.name === "topic")); i++) await kb.press("Tab");
  assert.equal(await page.evaluate(() => (document.activeElement as HTMLInputElement).name), "topic", "Tab reaches the topic field");
  await kb.type("keyboard");
  await kb.press("Enter"); // submits the form
  await page.locator("#thread-id", { hasText: "t_" }).waitFor();
  await page.locator("#composer-text").focus();
  await kb.type("typed, not clicked");
  await kb.press("Enter");
  await page.locator("#messages .body", { hasText: "typed, not clicked" }).waitFor();
  // The thread list's entries are buttons: Tab reaches them from the new-thread form, and Enter opens one.
  await page.locator("#new-thread input[name=participants]").focus();
  for (let i = 0; i < 5 && !(await page.evaluate(() => !!document.activeElement?.closest("#thread-list"))); i++) await kb.press("Tab");
  const entry = page.locator("#thread-list li button").first();
  assert.ok(await entry.evaluate((el) => el === document.activeElement), "Tab reaches the thread list");
  const ring = await entry.evaluate((el) => getComputedStyle(el).outlineStyle);
  assert.notEqual(ring, "none", "a focused thread entry shows it");
  await kb.press("Enter");
  await page.locator("#thread-id", { hasText: "t_" }).waitFor();
  await shot(page, "keyboard-only");
});
