// A removed participant's page drops the thread, and the doctor page shows
// the right cause for a removed participant and for a dead token.
//
// Expired tokens: the server issues tokens of at least 60 minutes and its
// clock cannot be moved from outside, so a real expired-token scenario
// would take an hour. The real scenario here is a revoked token (the same
// [Observed] check of the credential at the message's time, with real
// evidence: the token log, the refused request, the closed connection); the
// token_expired report is shown by rendering the doctor's own golden report
// (doctor/testdata/token_expired.json.golden) through the page, which
// checks the rendering, not the evidence.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Browser, Page } from "playwright-core";
import {
  REPO,
  type Server,
  SKIP,
  cleanup,
  createThreadIn,
  eventually,
  launch,
  openContext,
  openThreadIn,
  sendIn,
  shot,
  signIn,
  startServer,
  waitConnected,
} from "./harness.js";

/** openDoctor opens the doctor page in a new context and types the admin key. */
async function openDoctor(browser: Browser, server: Server): Promise<Page> {
  const { page } = await openContext(browser);
  await page.goto(server.url + "/doctor");
  await page.fill("#key-form input[name=key]", server.adminKey);
  await page.click("#key-form button[type=submit]");
  await page.locator("#query").waitFor({ state: "visible" });
  return page;
}

async function diagnose(page: Page, user: string, thread: string, message: string): Promise<void> {
  await page.fill("#query input[name=user]", user);
  await page.fill("#query input[name=thread]", thread);
  await page.fill("#query input[name=message]", message);
  await page.click("#query button[type=submit]");
  await page.locator("#report header.status").waitFor();
}

test("a removed participant's page drops the thread; the doctor shows participant_removed with its evidence", { skip: SKIP, timeout: 120_000 }, async (t) => {
  const server = await startServer();
  const browser = await launch();
  cleanup(t, () => browser.close(), () => server.stop());
  const alice = await signIn(browser, server, "Alice");
  const bob = await signIn(browser, server, "Bob");
  const thread = await createThreadIn(alice.page, "Team", [bob.id]);
  await bob.page.locator(`#thread-list li[data-thread-id="${thread}"]`).waitFor();
  await openThreadIn(bob.page, thread);
  await sendIn(alice.page, "before the removal");
  await bob.page.locator("#messages .body", { hasText: "before the removal" }).waitFor();

  await alice.page.locator(`#participants li[data-user-id="${bob.id}"] button`, { hasText: "Remove" }).click();
  await bob.page.locator(`#thread-list li[data-thread-id="${thread}"]`).waitFor({ state: "detached" });
  await bob.page.locator("#notice", { hasText: "you were removed" }).waitFor();
  await shot(bob.page, "removed-bob");

  await sendIn(alice.page, "after the removal");
  const after = alice.page.locator("#messages li.msg", { hasText: "after the removal" });
  await after.waitFor();
  const message = (await after.getAttribute("data-id"))!;
  assert.equal(await bob.page.locator("#messages .body", { hasText: "after the removal" }).count(), 0);

  // After a reload the thread stays dropped: REST still lists it, the welcome says it ended.
  await bob.page.reload();
  await waitConnected(bob.page);
  await bob.page.waitForTimeout(500);
  assert.equal(await bob.page.locator(`#thread-list li[data-thread-id="${thread}"]`).count(), 0, "the thread came back after a reload");

  const doctor = await openDoctor(browser, server);
  await diagnose(doctor, bob.id, thread, message);
  const header = doctor.locator("#report header.status");
  assert.equal(await header.getAttribute("data-status"), "not_delivered");
  assert.equal(await header.getAttribute("data-cause"), "participant_removed");
  const finding = doctor.locator('article[data-check="participant_removed"]');
  assert.equal(await finding.getAttribute("data-verdict"), "confirmed");
  assert.match((await finding.locator(".badge.tag").textContent())!, /\[Measured\]/);
  assert.match((await finding.locator(".mitigation").textContent())!, /participantsRemoved/);
  assert.ok((await finding.locator(".timeline li").count()) > 0, "the finding has an evidence timeline");
  await shot(doctor, "doctor-removed");

  // The evidence links to the matching rows of its table.
  await finding.locator(".timeline a.source", { hasText: "participants" }).first().click();
  await doctor.locator('#events table[data-table="Membership"]').waitFor();
  const match = doctor.locator("#events tr.match");
  assert.ok((await match.count()) >= 1, "a row is highlighted");
  assert.match((await match.first().textContent())!, new RegExp(bob.id));
  assert.match((await doctor.textContent("#events"))!, /GET \/admin\/events\/Membership\?/);
  await shot(doctor, "doctor-evidence-membership");
  await doctor.goBack();
  await doctor.locator("#report header.status").waitFor();

  // The admin key is in this tab's sessionStorage only.
  const storage = await doctor.evaluate(() => ({ session: sessionStorage.getItem("herald.adminKey"), local: JSON.stringify(localStorage) }));
  assert.equal(storage.session, server.adminKey);
  assert.ok(!storage.local.includes(server.adminKey), "the admin key is not in localStorage");
});

test("a revoked token stops the page with the reason and the mitigation; the doctor shows token_revoked", { skip: SKIP, timeout: 120_000 }, async (t) => {
  const server = await startServer();
  const browser = await launch();
  cleanup(t, () => browser.close(), () => server.stop());
  const alice = await signIn(browser, server, "Alice");
  const bob = await signIn(browser, server, "Bob");
  const thread = await createThreadIn(alice.page, "Tokens", [bob.id]);
  await bob.page.locator(`#thread-list li[data-thread-id="${thread}"]`).waitFor();
  await openThreadIn(bob.page, thread);

  await server.admin.revokeAccessTokens(bob.id);
  await sendIn(bob.page, "is anyone there?");
  await bob.page.locator("#conn[data-state=stopped]").waitFor();
  assert.match((await bob.page.textContent("#conn-text"))!, /token_revoked.*sign the user in again/);
  // The refused send is logged with its status, reason and mitigation.
  await eventually(async () =>
    assert.ok(
      bob.console.some((l) => l.startsWith("error") && l.includes("401 token_revoked") && l.includes("sign the user in again")),
      `Bob's console names the reason and the mitigation:\n${bob.console.join("\n")}`,
    ),
  );
  await shot(bob.page, "revoked-bob");

  await sendIn(alice.page, "after the revocation");
  const after = alice.page.locator("#messages li.msg", { hasText: "after the revocation" });
  await after.waitFor();
  const message = (await after.getAttribute("data-id"))!;

  const doctor = await openDoctor(browser, server);
  await diagnose(doctor, bob.id, thread, message);
  const header = doctor.locator("#report header.status");
  assert.equal(await header.getAttribute("data-cause"), "token_revoked");
  const finding = doctor.locator('article[data-check="token_revoked"]');
  assert.equal(await finding.getAttribute("data-verdict"), "confirmed");
  assert.match((await finding.locator(".badge.tag").textContent())!, /\[Observed\]/);
  assert.match((await finding.locator(".mitigation").textContent())!, /issue a new token/);
  await finding.locator(".timeline a.source", { hasText: "tokens" }).first().click();
  await doctor.locator('#events table[data-table="Tokens"] tr.match').first().waitFor();
  await doctor.goBack();
  await doctor.locator("#report header.status").waitFor();
  await shot(doctor, "doctor-revoked");
});

test("the doctor page renders a token_expired report (the doctor's golden file; rendering only)", { skip: SKIP, timeout: 60_000 }, async (t) => {
  const server = await startServer();
  const browser = await launch();
  cleanup(t, () => browser.close(), () => server.stop());
  const golden = readFileSync(join(REPO, "doctor/testdata/token_expired.json.golden"), "utf8");
  const { page, console } = await openContext(browser);
  await page.goto(server.url + "/doctor");
  await shot(page, "doctor-key");
  // A wrong key is refused with the reason and what to do.
  await page.fill("#key-form input[name=key]", "hak_wrong");
  await page.click("#key-form button[type=submit]");
  await page.locator("#key-form .error", { hasText: "401 admin_key_invalid" }).waitFor();
  assert.ok(console.some((l) => l.includes("admin_key_invalid") && l.includes("use the server's admin key")), console.join("\n"));

  await page.route(/\/admin\/doctor\?/, (route) => route.fulfill({ status: 200, contentType: "application/json", body: golden }));
  await page.fill("#key-form input[name=key]", server.adminKey);
  await page.click("#key-form button[type=submit]");
  await diagnose(page, "u_bob", "t_support", "m_five");
  const header = page.locator("#report header.status");
  assert.equal(await header.getAttribute("data-status"), "not_delivered");
  assert.equal(await header.getAttribute("data-cause"), "token_expired");
  assert.match((await header.textContent())!, /Not delivered.*Token expired.*\[Observed\]/s);
  const finding = page.locator('article[data-check="token_expired"]');
  assert.match((await finding.locator(".mitigation").textContent())!, /Refresh the access token before it expires/);
  const timeline = (await finding.locator(".timeline").textContent())!;
  assert.match(timeline, /k_bob1/);
  assert.match(timeline, /4101 token_expired/);
  // Every finding the report rules out is shown as ruled out.
  const ruledOut = (JSON.parse(golden).findings as { verdict: string }[]).filter((f) => f.verdict === "ruled_out").length;
  assert.ok(ruledOut > 0, "the golden report rules nothing out");
  assert.equal(await page.locator('.ruled-out article[data-verdict="ruled_out"]').count(), ruledOut);
  await shot(page, "doctor-token-expired-golden");
});
