// The doctor page (GET /doctor), for admins. It starts from lists: the
// undelivered (recipient, message) pairs of a recent window (GET
// /admin/doctor/recent), or one message's status for every recipient (a
// thread without a user: GET /admin/doctor/thread); every row links to the
// one-user report (GET /admin/doctor) with verdicts, evidence tags,
// evidence timelines and mitigations, whose evidence links to the matching
// rows of its evidence table (GET /admin/events/{table}). The admin key is
// typed in and kept in sessionStorage only.

import { AdminClient, type DoctorReport, type Evidence, type EvidenceFilter, type Finding, type Receipt, describe, errorReason } from "../herald/index.js";
import { $, field, h, replace, utc } from "./dom.js";
import { RECEIVED, renderRecentTriage, renderThreadTriage } from "./triage.js";

const BASE = location.origin;
const KEY = "herald.adminKey";

let admin: AdminClient | null = null;

const TAGS: Record<string, string> = {
  Observed: "read directly from a record",
  Measured: "read from current state",
  Correlated: "two signals that co-occur",
  Inferred: "deduced when the other causes are ruled out",
};

const STATUS: Record<string, string> = {
  delivered: "Delivered",
  not_delivered: "Not delivered",
  pending: "Pending: stored, arrives when the recipient resumes",
  unknown: "Unknown",
  unknown_user: "Unknown user",
  unknown_thread: "Unknown thread",
};

/** DEFAULT_WINDOW is the recent triage's window when none is asked for. */
const DEFAULT_WINDOW = "1h";

/**
 * fault reports whether f is a confirmed fault, shown as an alarm. The
 * server decides (the report's `fault`): "offline, arrives on resume" is
 * confirmed but not a fault, shown as an answer.
 */
function fault(f: Finding): boolean {
  return f.fault === true;
}

/** generation counts route() calls, so that an answer arriving after the page moved on is dropped. */
let generation = 0;

/** evidenceLink maps a report's evidence source to the evidence table holding it, and the filter that finds its rows. */
function evidenceLink(source: string, r: DoctorReport): { table: string; filter: EvidenceFilter } | null {
  const user = r.user;
  const thread = r.thread;
  switch (source) {
    case "tokens":
    case "identities":
      return { table: "Tokens", filter: { user } };
    case "requests":
      return { table: "Requests", filter: { user, thread, since: r.since } };
    case "participants":
      return { table: "Membership", filter: { thread, user } };
    case "threads":
      return { table: "ThreadLifecycle", filter: { thread } };
    case "messages":
      return { table: "ChatMessageSentEvents", filter: { thread, since: r.since } };
    case "connections":
      return { table: "Connections", filter: { user, since: r.since } };
    case "deliveries":
      return { table: "ChatMessageReceivedEvents", filter: { user, thread } };
    case "acks":
      return { table: "Acks", filter: { user, thread } };
  }
  return null;
}

function pageUrl(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  return `/doctor?${q}`;
}

// --- the admin key ---

function useKey(key: string): void {
  admin = new AdminClient(BASE, key);
  $("key-form").hidden = true;
  $("query").hidden = false;
  $("recent-form").hidden = false;
  $("forget-key").hidden = false;
}

async function keySubmitted(ev: Event): Promise<void> {
  ev.preventDefault();
  const form = ev.target as HTMLFormElement;
  const key = field(form, "key");
  try {
    await new AdminClient(BASE, key).listEvidence("Requests", { limit: 1 });
  } catch (err) {
    console.error(`herald: admin key: ${describe(err)}`);
    return replace(form.querySelector(".error")!, describe(err));
  }
  sessionStorage.setItem(KEY, key);
  form.reset();
  useKey(key);
  void suggest();
  route();
}

function forgetKey(): void {
  sessionStorage.removeItem(KEY);
  admin = null;
  location.href = "/doctor";
}

/** suggest fills the pickers with the users and threads of the last day's requests. */
async function suggest(): Promise<void> {
  try {
    const t = await admin!.listEvidence("Requests", { since: "24h", limit: 5000 });
    const caller = t.columns.indexOf("caller");
    const thread = t.columns.indexOf("thread");
    const users = new Set<string>();
    const threads = new Set<string>();
    for (const row of t.rows ?? []) {
      if (row[caller]) users.add(row[caller]!);
      if (row[thread]) threads.add(row[thread]!);
    }
    replace($("users"), ...[...users].map((u) => h("option", { value: u })));
    replace($("threads"), ...[...threads].map((t) => h("option", { value: t })));
  } catch (err) {
    console.warn(`herald: suggestions: ${describe(err)}`);
  }
}

async function suggestMessages(thread: string): Promise<void> {
  if (!/^t_\w+$/.test(thread)) return;
  try {
    const t = await admin!.listEvidence("ChatMessageSentEvents", { thread, limit: 200 });
    const msg = t.columns.indexOf("message");
    replace($("messages"), ...[...new Set((t.rows ?? []).map((r) => r[msg]).filter(Boolean))].reverse().map((m) => h("option", { value: m! })));
  } catch {
    // suggestions only
  }
}

// --- routing: /doctor?user=&thread=&message=&since= is a report, with table= an evidence table ---

// /doctor?thread=&message=&since= (no user) is the thread triage,
// /doctor?recent=1h the recent one, and /doctor alone the recent triage of
// the last hour: support starts from a list.
function route(): void {
  const gen = ++generation;
  const q = new URLSearchParams(location.search);
  const form = $<HTMLFormElement>("query");
  for (const name of ["user", "thread", "message", "since"]) {
    const el = form.elements.namedItem(name) as HTMLInputElement;
    el.value = q.get(name) ?? "";
  }
  (($<HTMLFormElement>("recent-form")).elements.namedItem("recent") as HTMLInputElement).value = q.get("recent") ?? "";
  $("report").hidden = true;
  $("events").hidden = true;
  $("triage").hidden = true;
  if (!admin) return;
  if (q.get("table")) void showTable(q);
  else if (q.get("user") && q.get("thread")) void showReport(q, gen);
  else if (q.get("thread")) void showThreadTriage(q, gen);
  else if (!q.get("user")) void showRecent(q.get("recent") || DEFAULT_WINDOW, gen);
}

function navigate(url: string): void {
  history.pushState(null, "", url);
  route();
  window.scrollTo(0, 0);
}

function querySubmitted(ev: Event): void {
  ev.preventDefault();
  const form = ev.target as HTMLFormElement;
  navigate(pageUrl({ user: field(form, "user"), thread: field(form, "thread"), message: field(form, "message"), since: field(form, "since") }));
}

function recentSubmitted(ev: Event): void {
  ev.preventDefault();
  navigate(pageUrl({ recent: field(ev.target as HTMLFormElement, "recent") || DEFAULT_WINDOW }));
}

/** linkClicked follows the page's own links (a[data-nav]) without reloading it. */
function linkClicked(ev: MouseEvent): void {
  const a = (ev.target as Element).closest?.("a[data-nav]") as HTMLAnchorElement | null;
  if (!a || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  navigate(a.getAttribute("href")!);
}

// --- the triage views ---

const triageLinks = (since: string | null) => ({
  report: (p: { user: string; thread: string; message: string }) => pageUrl({ user: p.user, thread: p.thread, message: p.message, since: since ?? undefined }),
  thread: (p: { thread: string; message: string }) => pageUrl({ thread: p.thread, message: p.message, since: since ?? undefined }),
});

async function showThreadTriage(q: URLSearchParams, gen: number): Promise<void> {
  const el = $("triage");
  el.hidden = false;
  replace(el, h("p", { class: "hint" }, "Diagnosing every recipient…"));
  try {
    const t = await admin!.diagnoseThread({ thread: q.get("thread")!, message: q.get("message") || undefined, since: q.get("since") || undefined });
    if (gen !== generation) return;
    replace(el, ...renderThreadTriage(t, triageLinks(q.get("since"))));
    document.title = `Herald doctor: ${t.message ?? t.thread ?? ""}`;
  } catch (err) {
    if (gen === generation) failed(el, "thread triage", err);
  }
}

async function showRecent(since: string, gen: number): Promise<void> {
  const el = $("triage");
  el.hidden = false;
  replace(el, h("p", { class: "hint" }, `Diagnosing the messages sent since ${since}…`));
  try {
    const t = await admin!.diagnoseRecent(since);
    if (gen !== generation) return;
    // A pair's report reads evidence from the same window's start.
    replace(el, ...renderRecentTriage(t, triageLinks(null)));
    document.title = "Herald doctor: undelivered";
  } catch (err) {
    if (gen === generation) failed(el, "recent triage", err);
  }
}

function failed(el: HTMLElement, what: string, err: unknown): void {
  console.error(`herald: ${what}: ${describe(err)}`);
  replace(el, h("p", { class: "error" }, describe(err)));
  if (errorReason(err) === "admin_key_invalid") forgetKey();
}

// --- the report ---

async function showReport(q: URLSearchParams, gen: number): Promise<void> {
  const el = $("report");
  el.hidden = false;
  replace(el, h("p", { class: "hint" }, "Gathering evidence…"));
  try {
    const r = await admin!.diagnose({ user: q.get("user")!, thread: q.get("thread")!, message: q.get("message") || undefined, since: q.get("since") || undefined });
    if (gen !== generation) return;
    replace(el, ...renderReport(r));
    document.title = `Herald doctor: ${STATUS[r.status] ?? r.status}`;
  } catch (err) {
    if (gen === generation) failed(el, "diagnose", err);
  }
}

function renderReport(r: DoctorReport): Node[] {
  const byVerdict = (v: string) => r.findings.filter((f) => f.verdict === v);
  const confirmed = r.findings.filter(fault);
  const notFault = byVerdict("confirmed").filter((f) => !fault(f));
  const inconclusive = byVerdict("inconclusive");
  const ruledOut = byVerdict("ruled_out");
  const cause = r.findings.find((f) => f.check === r.cause);
  const out: Node[] = [
    h(
      "header",
      { class: `status status-${r.status}`, "data-status": r.status, "data-cause": r.cause ?? "" },
      h("h2", {}, STATUS[r.status] ?? r.status),
      cause ? h("p", { class: "cause" }, "Cause: ", h("strong", {}, cause.title), " ", tagBadge(cause.tag), " ", h("code", {}, cause.check)) : null,
      h("p", { class: "summary" }, r.summary),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "User"),
        h("dd", {}, h("code", {}, r.user)),
        h("dt", {}, "Thread"),
        h("dd", {}, h("code", {}, r.thread)),
        h("dt", {}, "Message"),
        h("dd", {}, r.message ? h("code", {}, r.message) : "—", r.seq ? ` (sequence ${r.seq})` : "", r.picked ? h("span", { class: "hint picked" }, ` — no message was named: ${r.picked}`) : ""),
        r.sender ? h("dt", {}, "Sent by") : null,
        r.sender ? h("dd", { class: "sender" }, h("code", {}, r.sender), r.sentAt ? ` at ${utc(r.sentAt)}` : "") : null,
        h("dt", {}, "Evidence since"),
        h("dd", {}, utc(r.since)),
        h("dt", {}, "Generated"),
        h("dd", {}, utc(r.generatedAt)),
      ),
      ...(r.incomplete ?? []).map((n) => h("p", { class: "incomplete" }, h("strong", {}, "Incomplete: "), n)),
      r.message ? h("p", { class: "hint" }, h("a", { href: pageUrl({ thread: r.thread, message: r.message, since: undefined }), "data-nav": "" }, "Every recipient of this message →")) : null,
    ),
  ];
  if (r.receipts?.length) out.push(h("h3", {}, `Received (${r.receipts.length})`), ...r.receipts.map((rc) => renderReceipt(rc, r)));
  if (r.delivered) {
    const d = r.delivered;
    out.push(
      h(
        "p",
        { class: "delivered" },
        `Pushed at ${utc(d.pushedAt)} on connection `,
        h("code", {}, d.connectionId),
        ` (${d.transport}), ${d.latencyMs} ms after the commit; `,
        d.ackedAt ? `acknowledged at ${utc(d.ackedAt)} (${d.ackMs ?? "?"} ms later).` : "not acknowledged yet.",
      ),
    );
  }
  if (confirmed.length) out.push(h("h3", {}, `Confirmed (${confirmed.length})`), ...confirmed.map((f) => renderFinding(f, r)));
  if (notFault.length) out.push(h("h3", {}, `Confirmed, not a fault (${notFault.length})`), ...notFault.map((f) => renderFinding(f, r)));
  if (inconclusive.length) out.push(h("h3", {}, `Inconclusive (${inconclusive.length})`), ...inconclusive.map((f) => renderFinding(f, r)));
  if (ruledOut.length) {
    out.push(h("details", { class: "ruled-out" }, h("summary", {}, `Ruled out (${ruledOut.length})`), ...ruledOut.map((f) => renderFinding(f, r))));
  }
  out.push(
    h(
      "p",
      { class: "hint" },
      "Evidence tables: ",
      ...["Requests", "Connections", "ChatMessageReceivedEvents", "Acks", "Membership", "Tokens"].flatMap((t, i) => [
        i ? " · " : "",
        h("a", { href: pageUrl({ table: t, user: r.user, thread: t === "Connections" || t === "Tokens" ? undefined : r.thread, since: t === "Requests" || t === "Connections" ? r.since : undefined, back: backOf() }) }, t),
      ]),
    ),
  );
  return out;
}

function tagBadge(tag: string): HTMLElement {
  return h("span", { class: `badge tag tag-${tag}`, title: `[${tag}]: ${TAGS[tag] ?? ""}` }, `[${tag}]`);
}

function renderReceipt(rc: Receipt, r: DoctorReport): HTMLElement {
  return h(
    "article",
    { class: "finding receipt", "data-how": rc.how },
    h("header", {}, h("h4", {}, RECEIVED[rc.how] ?? rc.how), tagBadge(rc.tag)),
    h("ol", { class: "timeline" }, renderEvidence(rc.evidence, r)),
  );
}

function renderFinding(f: Finding, r: DoctorReport): HTMLElement {
  const ev = [...(f.evidence ?? [])].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const notFault = f.verdict === "confirmed" && !fault(f);
  return h(
    "article",
    { class: `finding verdict-${notFault ? "not-fault" : f.verdict}`, "data-check": f.check, "data-verdict": f.verdict, "data-fault": String(fault(f)) },
    h(
      "header",
      {},
      h("h4", {}, f.title),
      notFault
        ? h("span", { class: "badge verdict v-not-fault" }, "yes (not a fault)")
        : h("span", { class: `badge verdict v-${f.verdict}` }, f.verdict.replace("_", " ")),
      tagBadge(f.tag),
      f.reason ? h("code", { class: "reason", title: "Herald's reason code" }, f.reason) : null,
    ),
    h("p", {}, f.summary),
    ev.length ? h("ol", { class: "timeline" }, ...ev.map((e) => renderEvidence(e, r))) : null,
    f.mitigation ? h("p", { class: "mitigation" }, h("strong", {}, "Mitigation: "), f.mitigation) : null,
  );
}

function renderEvidence(e: Evidence, r: DoctorReport): HTMLElement {
  const link = evidenceLink(e.source, r);
  const source = link
    ? h("a", { class: "source", href: pageUrl({ table: link.table, ...stringify(link.filter), row: e.id, back: backOf() }), title: `rows of ${link.table}` }, e.source)
    : h("span", { class: "source" }, e.source);
  return h("li", {}, h("time", { datetime: e.at }, utc(e.at)), source, h("code", { class: "id", title: e.id }, e.id), h("span", { class: "detail" }, e.detail));
}

function stringify(f: EvidenceFilter): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v === undefined ? undefined : String(v)]));
}

/** backOf is the current report's URL, for the tables' way back. */
function backOf(): string {
  return location.pathname + location.search;
}

// --- an evidence table ---

async function showTable(q: URLSearchParams): Promise<void> {
  const el = $("events");
  el.hidden = false;
  const table = q.get("table")!;
  const filter: EvidenceFilter = {};
  for (const k of ["user", "thread", "message", "since", "until", "reason"] as const) if (q.get(k)) filter[k] = q.get(k)!;
  const row = q.get("row") ?? "";
  const back = q.get("back");
  const api = admin!.evidencePath(table, filter);
  replace(el, h("p", { class: "hint" }, "Loading…"));
  try {
    const t = await admin!.listEvidence(table, filter);
    const rows = t.rows ?? [];
    const hit = (r: string[]) => !!row && r.some((c) => c.includes(row));
    const matches = rows.filter(hit).length;
    replace(
      el,
      h("p", {}, h("a", { href: back && back.startsWith("/doctor") ? back : "/doctor" }, "← back to the report")),
      h("h2", {}, t.table),
      h("p", { class: "hint" }, h("code", {}, `GET ${api}`), ` · ${rows.length} row(s)`, row ? ` · ${matches} matching ${row}` : ""),
      rows.length
        ? h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { "data-table": t.table },
              h("thead", {}, h("tr", {}, ...t.columns.map((c) => h("th", {}, c)))),
              h("tbody", {}, ...rows.map((r) => h("tr", { class: hit(r) ? "match" : null }, ...r.map((c) => h("td", {}, c))))),
            ),
          )
        : h("p", {}, "No rows match this filter."),
    );
    el.querySelector("tr.match")?.scrollIntoView({ block: "center" });
  } catch (err) {
    console.error(`herald: evidence ${table}: ${describe(err)}`);
    replace(el, h("p", { class: "error" }, describe(err)));
  }
}

function main(): void {
  $("key-form").addEventListener("submit", (ev) => void keySubmitted(ev));
  $("query").addEventListener("submit", querySubmitted);
  $("recent-form").addEventListener("submit", recentSubmitted);
  document.addEventListener("click", linkClicked);
  $("forget-key").addEventListener("click", forgetKey);
  const threadInput = ($<HTMLFormElement>("query").elements.namedItem("thread") as HTMLInputElement);
  threadInput.addEventListener("change", () => void suggestMessages(threadInput.value.trim()));
  window.addEventListener("popstate", route);
  const key = sessionStorage.getItem(KEY);
  if (key) {
    useKey(key);
    void suggest();
  }
  route();
}

main();
