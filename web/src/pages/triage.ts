// The doctor page's triage views, where support starts from a list rather
// than blank id fields: one message for every recipient (GET
// /admin/doctor/thread) and every undelivered (recipient, message) pair of
// a recent window (GET /admin/doctor/recent). Both answers are groups of
// pairs by status and cause; every row links to the one-user report.
// Never the message's content: only its id, sender and time.

import type { Triage, TriageGroup, TriagePair } from "../herald/index.js";
import { h, utc } from "./dom.js";

/** CAUSES are the doctor's checks in words, as its findings title them. */
export const CAUSES: Record<string, string> = {
  identity_deleted: "Identity deleted",
  token_revoked: "Token revoked",
  token_expired: "Token expired",
  not_participant: "Never a participant",
  thread_deleted: "Thread deleted",
  participant_removed: "Participant removed",
  history_not_shared: "Joined after the message, history not shared",
  send_rejected: "Send rejected or rate limited",
  message_deleted: "Message deleted",
  slow_consumer: "Slow consumer dropped",
  network_blocks_websocket: "Network blocks the WebSocket",
  app_not_listening: "App not listening for notifications",
  recipient_offline: "Recipient offline (not a fault)",
};

/** RECEIVED says how a user got the message, strongest first. */
export const RECEIVED: Record<string, string> = {
  read: "read (a read receipt at or past it)",
  pushed_acknowledged: "pushed and acknowledged",
  fetched: "fetched over REST after the commit",
  pushed: "pushed to a live connection, not acknowledged",
};

const GROUP_STATUS: Record<string, string> = {
  not_delivered: "Not delivered",
  pending: "Pending: stored, arrives when the recipient resumes (or in flight)",
  unknown: "Unknown: nothing shows it arrived, no check confirmed why",
  delivered: "Delivered",
};

/** Links builds the page's URLs: the one-user report of a pair, and the thread triage of a message. */
export interface Links {
  report(p: TriagePair): string;
  thread(p: TriagePair): string;
}

/** renderThreadTriage renders the answer of GET /admin/doctor/thread. */
export function renderThreadTriage(t: Triage, links: Links): Node[] {
  const head = h(
    "header",
    { class: `status triage-head status-${t.status}`, "data-status": t.status },
    h("h2", {}, t.message ? `Every recipient of message ${t.message}` : `Thread ${t.thread ?? ""}`),
    h("p", { class: "summary" }, t.summary),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Thread"),
      h("dd", {}, h("code", {}, t.thread ?? "")),
      h("dt", {}, "Message"),
      h("dd", {}, t.message ? h("code", {}, t.message) : "—", t.seq ? ` (sequence ${t.seq})` : ""),
      t.sender ? h("dt", {}, "Sent by") : null,
      t.sender ? h("dd", { class: "sender" }, h("code", {}, t.sender), t.sentAt ? ` at ${utc(t.sentAt)}` : "") : null,
      h("dt", {}, "Evidence since"),
      h("dd", {}, utc(t.since)),
      h("dt", {}, "Generated"),
      h("dd", {}, utc(t.generatedAt)),
    ),
    ...incomplete(t.incomplete),
  );
  if (t.status !== "ok") return [head];
  return [head, ...t.groups.map((g) => renderGroup(g, false, links))];
}

/** renderRecentTriage renders the answer of GET /admin/doctor/recent. */
export function renderRecentTriage(t: Triage, links: Links): Node[] {
  const head = h(
    "header",
    { class: "status triage-head", "data-status": t.status },
    h("h2", {}, `Undelivered since ${utc(t.since)}`),
    h("p", { class: "summary" }, t.summary),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Messages examined"),
      h("dd", {}, String(t.messages)),
      h("dt", {}, "Pairs diagnosed"),
      h("dd", {}, String(t.pairs)),
      h("dt", {}, "Generated"),
      h("dd", {}, utc(t.generatedAt)),
    ),
    ...incomplete(t.incomplete),
  );
  if (!t.groups.length) return [head, h("p", { class: "hint nothing" }, "Nothing undelivered in this window.")];
  return [head, ...t.groups.map((g) => renderGroup(g, true, links))];
}

function incomplete(notes: string[] | undefined): Node[] {
  return (notes ?? []).map((n) => h("p", { class: "incomplete" }, h("strong", {}, "Incomplete: "), n));
}

/** groupTitle names a group: its status, with the cause or how the users got it. */
export function groupTitle(g: TriageGroup): string {
  const status = GROUP_STATUS[g.status] ?? g.status;
  if (g.cause) return `${status}: ${CAUSES[g.cause] ?? g.cause}`;
  if (g.received) return `${status}: ${RECEIVED[g.received] ?? g.received}`;
  return status;
}

function renderGroup(g: TriageGroup, recent: boolean, links: Links): HTMLElement {
  const more = g.count - g.pairs.length;
  return h(
    "article",
    { class: `group group-${g.status}`, "data-status": g.status, "data-cause": g.cause ?? "", "data-received": g.received ?? "", "data-count": g.count },
    h(
      "header",
      {},
      h("h4", {}, groupTitle(g)),
      h("span", { class: "badge count" }, `${g.count}`),
      g.cause ? h("code", { class: "reason" }, g.cause) : null,
    ),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: recent ? "pairs recent" : "pairs" },
        h("thead", {}, h("tr", {}, h("th", {}, "User"), recent ? h("th", {}, "Thread") : null, recent ? h("th", {}, "Message") : null, h("th", {}, "What the doctor says"))),
        h("tbody", {}, ...g.pairs.map((p) => renderPair(p, recent, links))),
      ),
    ),
    more > 0 ? h("p", { class: "hint" }, `… and ${more} more (the answer lists ${g.pairs.length} per group)`) : null,
  );
}

function renderPair(p: TriagePair, recent: boolean, links: Links): HTMLElement {
  const report = links.report(p);
  return h(
    "tr",
    { "data-user": p.user, "data-message": p.message },
    h("td", {}, h("a", { href: report, "data-nav": "", title: "the full report for this user" }, h("code", {}, p.user))),
    recent ? h("td", {}, h("code", {}, p.thread)) : null,
    recent ? h("td", {}, h("a", { href: links.thread(p), "data-nav": "", title: "every recipient of this message" }, h("code", {}, p.message))) : null,
    h("td", { class: "detail" }, p.summary, " ", h("a", { href: report, "data-nav": "", class: "why" }, "why →")),
  );
}
