// The browser tests' harness: it builds `herald serve` with go build,
// runs it on 127.0.0.1 with a temporary --data, --dev-login and an admin
// key, drives Debian's chromium through playwright-core, and keeps
// screenshots in web/test-results/screenshots/.

import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestContext } from "node:test";
import { type Browser, type BrowserContext, type ConsoleMessage, type Page, chromium } from "playwright-core";
import { AdminClient, ChatClient, StaticToken, devLogin } from "../../src/herald/index.js";

/** WEB is the web/ directory; the compiled test runs from web/build/test/e2e. */
export const WEB = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const REPO = resolve(WEB, "..");
export const SCREENSHOTS = join(WEB, "test-results", "screenshots");

/** CHROMIUM is the browser to drive; without it the browser tests skip. */
export const CHROMIUM = process.env.HERALD_TEST_CHROMIUM ?? "";
export const SKIP = CHROMIUM ? false : "HERALD_TEST_CHROMIUM is unset (the path to chromium, e.g. /usr/bin/chromium): browser tests skipped";

/** The flags the browser runs with; playwright adds --headless and a fresh temporary --user-data-dir. */
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

let built = "";

/** buildHerald builds the server once per test file (go's build cache makes repeats quick). */
export function buildHerald(): string {
  if (built) return built;
  const out = join(WEB, "build", "e2e", "herald");
  mkdirSync(dirname(out), { recursive: true });
  execFileSync("go", ["build", "-o", out, "./cmd/herald"], { cwd: REPO, stdio: "inherit" });
  built = out;
  return out;
}

/** Server is one `herald serve` under test. */
export interface Server {
  url: string;
  adminKey: string;
  admin: AdminClient;
  log: () => string;
  stop: () => Promise<void>;
}

/** startServer runs herald serve on 127.0.0.1 (a free port) with a temporary data directory. */
export async function startServer(opts: { devLogin?: boolean } = {}): Promise<Server> {
  const bin = buildHerald();
  const data = mkdtempSync(join(tmpdir(), "herald-e2e-"));
  const adminKey = "hak_e2e_" + randomBytes(12).toString("hex");
  const args = ["serve", "--addr", "127.0.0.1:0", "--data", data, "--heartbeat", "1s"];
  if (opts.devLogin ?? true) args.push("--dev-login");
  const proc: ChildProcess = spawn(bin, args, { env: { ...process.env, HERALD_ADMIN_KEY: adminKey }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  proc.stdout!.on("data", (b: Buffer) => (output += b.toString()));
  proc.stderr!.on("data", (b: Buffer) => (output += b.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`herald serve did not start in 20 s:\n${output}`)), 20_000);
    const check = () => {
      const m = /herald listening.*addr=([\d.:]+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(`http://${m[1]}`);
      }
    };
    proc.stderr!.on("data", check);
    proc.on("exit", (code) => reject(new Error(`herald serve exited with ${code}:\n${output}`)));
  });
  return {
    url,
    adminKey,
    admin: new AdminClient(url, adminKey),
    log: () => output,
    stop: async () => {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await exited;
      }
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** launch starts chromium with the harness's flags. */
export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

/** User is a browser context signed in to the chat page. */
export interface User {
  name: string;
  id: string;
  context: BrowserContext;
  page: Page;
  /** console holds the page's console lines, "type: text". */
  console: string[];
  /** token returns the token the page holds now (it changes on refresh). */
  token: () => Promise<string>;
  /** api is a REST client acting as the user from the test, with the token the page holds. */
  api: () => Promise<ChatClient>;
}

/** openContext makes a browser context whose page records its console. */
export async function openContext(browser: Browser, init?: (page: Page) => Promise<void>): Promise<{ context: BrowserContext; page: Page; console: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  const page = await context.newPage();
  const lines: string[] = [];
  page.on("console", (m: ConsoleMessage) => lines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => lines.push(`pageerror: ${e.message}`));
  if (init) await init(page);
  return { context, page, console: lines };
}

/** signIn opens the chat page in a new context and signs in with the dev login. */
export async function signIn(browser: Browser, server: Server, name: string, init?: (page: Page) => Promise<void>): Promise<User> {
  const { context, page, console } = await openContext(browser, init);
  await page.goto(server.url + "/");
  await page.locator("#dev-form").waitFor({ state: "visible" });
  await page.fill("#dev-form input[name=name]", name);
  await page.click("#dev-form button[type=submit]");
  await waitConnected(page);
  const id = (await page.textContent("#me-id"))!.trim();
  const token = async () => JSON.parse((await page.evaluate(() => sessionStorage.getItem("herald.session")))!).token as string;
  return { name, id, context, page, console, token, api: async () => new ChatClient(server.url, new StaticToken(await token())) };
}

/** waitConnected waits until the page's connection bar says connected. */
export async function waitConnected(page: Page, transport?: string): Promise<void> {
  const sel = transport ? `#conn[data-state=connected][data-transport=${transport}]` : "#conn[data-state=connected]";
  await page.locator(sel).waitFor({ state: "attached", timeout: 20_000 });
}

/** devUser creates a user through the dev login, outside any browser. */
export async function devUser(server: Server, name: string): Promise<{ id: string; token: string; api: ChatClient }> {
  const r = await devLogin(server.url, { name });
  return { id: r.id, token: r.token, api: new ChatClient(server.url, new StaticToken(r.token)) };
}

/** shot saves a screenshot of page under SCREENSHOTS. */
export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** openThreadIn clicks a thread in the page's list and waits for it to load. */
export async function openThreadIn(page: Page, threadId: string): Promise<void> {
  await page.locator(`#thread-list li[data-thread-id="${threadId}"] button`).click();
  await page.locator("#thread-id", { hasText: threadId }).waitFor();
}

/** createThreadIn creates a thread from the page's form and returns its id. */
export async function createThreadIn(page: Page, topic: string, participants: string[]): Promise<string> {
  // The thread open before, if any: the new one has opened when the id shown changes.
  const before = (await page.locator("#thread-id").isVisible()) ? ((await page.textContent("#thread-id")) ?? "").trim() : "";
  await page.fill("#new-thread input[name=topic]", topic);
  await page.fill("#new-thread input[name=participants]", participants.join(" "));
  await page.click("#new-thread button[type=submit]");
  let id = "";
  await eventually(async () => {
    id = ((await page.textContent("#thread-id")) ?? "").trim();
    assert.ok(id.startsWith("t_") && id !== before, `the new thread opened (shown: ${id || "nothing"}, before: ${before || "nothing"})`);
  });
  return id;
}

/** sendIn types a message in the composer and sends it with Enter. */
export async function sendIn(page: Page, text: string): Promise<void> {
  await page.fill("#composer-text", text);
  await page.press("#composer-text", "Enter");
}

/** messageTexts returns the texts of the open thread's chat messages, in page order, with their seq. */
export async function messageTexts(page: Page): Promise<{ seq: number; text: string }[]> {
  return page.$$eval("#messages li.msg", (lis) =>
    lis.map((li) => ({ seq: Number((li as HTMLElement).dataset.seq), text: li.querySelector(".body")?.textContent ?? "" })),
  );
}

/** eventually retries fn until it stops throwing, or throws its last error after timeoutMs. */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 15_000, stepMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}

/** cleanup registers the browser and server to be closed after the test. */
export function cleanup(t: TestContext, ...fns: (() => Promise<unknown>)[]): void {
  t.after(async () => {
    for (const fn of fns) await fn().catch(() => {});
  });
}
