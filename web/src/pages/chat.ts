// The chat page (GET /): sign in with a token or the dev login, then the
// user's threads, messages in sequence order, send / edit / delete,
// typing, read receipts and participants, over the client library. The
// connection state is always visible in the top bar.

import {
  ChatClient,
  type ChatMessage,
  type ChatParticipant,
  Events,
  HeraldError,
  LocalStorageCursors,
  type Realtime,
  type RealtimeEvent,
  type StateChange,
  TokenCredential,
  cursorKey,
  describe,
  devLogin,
  errorReason,
  identifier,
  peekToken,
  userIdOf,
} from "../herald/index.js";
import { $, dayLabel, field, h, hhmm, linkify, replace, span } from "./dom.js";

const BASE = location.origin;
const SESSION = "herald.session";

/** Me is the signed-in user, kept in sessionStorage (this tab only). */
interface Me {
  id: string;
  name: string;
  token: string;
  /** dev: signed in with the dev login, whose token can be renewed by POST /dev/login. */
  dev: boolean;
}

interface ThreadItem {
  id: string;
  topic: string;
  activity: string;
  /** unread counts the messages from others that arrived since the thread was last open. */
  unread: number;
}

/** View is the open thread. */
interface View {
  id: string;
  messages: Map<string, ChatMessage>;
  participants: ChatParticipant[];
  receipts: Map<string, string>; // user → chatMessageId
  typing: Map<string, { name: string; until: number }>;
  older: string; // nextLink of older messages
  readSent: string;
  /** editing is the id of the message being edited, "" when none. */
  editing: string;
  /** rendered keeps each message's element and what it shows, so an unchanged message is not rebuilt (an edit box keeps its focus). */
  rendered: Map<string, { key: string; el: HTMLElement }>;
}

let me: Me | null = null;
let cred: TokenCredential | null = null;
let client: ChatClient | null = null;
let rt: Realtime | null = null;
let conn: StateChange | null = null;
let terminal: unknown = null;
const threads = new Map<string, ThreadItem>();
let view: View | null = null;
let lastTyping = 0;

// --- sign-in ---

function saveMe(): void {
  if (me) sessionStorage.setItem(SESSION, JSON.stringify(me));
  else sessionStorage.removeItem(SESSION);
}

function signedIn(m: Me): void {
  me = m;
  saveMe();
  $("signin").hidden = true;
  $("app").hidden = false;
  $("whoami").hidden = false;
  $("signout").hidden = false;
  replace($("me-name"), m.name);
  replace($("me-id"), m.id);
  showNotice(`Pick a thread on the left or create one. To be added to someone else's thread, give them your id: ${m.id}`);
  connect();
}

async function tokenSignIn(ev: Event): Promise<void> {
  ev.preventDefault();
  const form = ev.target as HTMLFormElement;
  const token = field(form, "token");
  const { sub, exp } = peekToken(token);
  if (!sub) return formError(form, "That is not a Herald access token (a JWT from herald identity create or POST /identities).");
  if (exp !== null && exp <= Date.now()) return formError(form, `This token expired at ${new Date(exp).toISOString()}; get a new one (herald token issue ${sub}).`);
  try {
    await new ChatClient(BASE, { token: () => Promise.resolve(token) }).listThreads({ maxPageSize: 1 });
  } catch (err) {
    console.error(`herald: sign-in: ${describe(err)}`);
    return formError(form, describe(err));
  }
  signedIn({ id: sub, name: field(form, "name") || sub, token, dev: false });
}

async function devSignIn(ev: Event): Promise<void> {
  ev.preventDefault();
  const form = ev.target as HTMLFormElement;
  const name = field(form, "name");
  if (!name) return formError(form, "Type a name.");
  try {
    const r = await devLogin(BASE, { name });
    signedIn({ id: r.id, name, token: r.token, dev: true });
  } catch (err) {
    console.error(`herald: dev login: ${describe(err)}`);
    formError(form, errorReason(err) === "route_not_found" ? "Dev login is off on this server: start it with herald serve --dev-login." : describe(err));
  }
}

function formError(form: HTMLFormElement, text: string): void {
  replace(form.querySelector(".error")!, text);
}

function signOut(): void {
  rt?.close();
  cred?.close();
  rt = null;
  cred = null;
  client = null;
  me = null;
  conn = null;
  terminal = null;
  saveMe();
  threads.clear();
  view = null;
  location.reload();
}

// --- the connection ---

function connect(): void {
  const m = me!;
  const refresher = m.dev ? async () => (await devLogin(BASE, { token: m.token })).token : undefined;
  cred = new TokenCredential(m.token, refresher);
  cred.onRefresh((t) => {
    m.token = t;
    saveMe();
  });
  client = new ChatClient(BASE, cred);
  rt = client.realtime({ cursors: new LocalStorageCursors(cursorKey(BASE, m.id)) });
  rt.on(Events.messageReceived, onMessage)
    .on(Events.messageEdited, onMessage)
    .on(Events.messageDeleted, onMessage)
    .on(Events.typing, onTyping)
    .on(Events.readReceipt, onReceipt)
    .on(Events.threadCreated, onThreadEvent)
    .on(Events.threadDeleted, onThreadEvent)
    .on(Events.threadPropertiesUpdated, onThreadEvent)
    .on(Events.participantsAdded, onMembership)
    .on(Events.participantsRemoved, onMembership)
    .onState((s) => {
      conn = s;
      renderConn();
    })
    .onThreadEnded(dropThread)
    .onResumeFailed((t) => {
      if (view && (t === view.id || t === "")) void openThread(view.id);
    })
    .onError((err) => toast(describe(err)));
  rt.start().catch(stopSession);
  void loadThreads();
}

function renderConn(): void {
  const el = $("conn");
  const s = conn;
  let state: string = s?.state ?? "connecting";
  let text = "Connecting…";
  const transport = s?.transport ? label(s.transport) : "";
  if (terminal) {
    state = "stopped";
    text = `Disconnected: ${describe(terminal)}`;
  } else if (s?.state === "connected") {
    text = `Connected · ${transport}${s.fallback ? " (fallback: " + s.fallbackReason + ")" : ""}`;
  } else if (s?.state === "reconnecting" || s?.state === "connecting") {
    text = `${s.state === "connecting" ? "Connecting" : "Reconnecting"} via ${transport}…${s.attempt ? " (attempt " + (s.attempt + 1) + ")" : ""}`;
  } else if (s?.state === "disconnected" && s.offline) {
    state = "offline";
    text = "Offline: waiting for the network (missed messages arrive when it returns)";
  } else if (s?.state === "disconnected") {
    state = "reconnecting";
    text = `Reconnecting in ${((s.retryInMs ?? 0) / 1000).toFixed(1)} s (${s.code ? s.code + " " : ""}${s.reason})`;
  }
  el.dataset.state = state;
  el.dataset.transport = s?.transport ?? "";
  el.dataset.fallback = s?.fallback ? "true" : "false";
  el.dataset.connectionId = s?.state === "connected" ? (s.connectionId ?? "") : "";
  replace($("conn-text"), text);
  $("conn-text").title = text;
  $("signout").textContent = terminal ? "Sign in again" : "Sign out";
  renderExpiry();
}

function renderExpiry(): void {
  const exp = cred?.expiresOn() ?? null;
  const el = $("expiry");
  if (exp === null || terminal) return replace(el, "");
  const left = exp - Date.now();
  el.dataset.warn = left < 10 * 60_000 ? "true" : "false";
  if (left <= 0) return replace(el, me?.dev ? "token expired: renewing…" : "token expired: sign in with a new token");
  replace(el, `token expires in ${span(left)}${me?.dev ? " (renews itself)" : ""}`);
}

function label(t: string): string {
  return t === "websocket" ? "WebSocket" : t === "sse" ? "SSE" : t === "longpoll" ? "long-polling" : t;
}

// --- threads ---

async function loadThreads(): Promise<void> {
  try {
    for await (const t of client!.allThreads({ maxPageSize: 100 })) {
      if (t.deletedOn || rt!.ended(t.id)) continue;
      if (!threads.has(t.id)) threads.set(t.id, { id: t.id, topic: t.topic, activity: t.lastMessageReceivedOn ?? "", unread: 0 });
      if (threads.size >= 200) break;
    }
  } catch (err) {
    failed("", err, "list threads");
  }
  renderThreads();
}

async function learnThread(id: string, topic?: string): Promise<ThreadItem | null> {
  let t = threads.get(id);
  if (t) return t;
  if (rt?.ended(id)) return null;
  if (topic === undefined) {
    try {
      topic = (await client!.getThread(id)).topic;
    } catch {
      return null; // not visible to this user (removed, deleted): nothing to list
    }
  }
  t = threads.get(id) ?? { id, topic, activity: new Date().toISOString(), unread: 0 };
  threads.set(id, t);
  renderThreads();
  return t;
}

function renderThreads(): void {
  const list = [...threads.values()].sort((a, b) => (b.activity || "").localeCompare(a.activity || ""));
  replace(
    $("thread-list"),
    ...list.map((t) =>
      h(
        "li",
        { "data-thread-id": t.id },
        h(
          "button",
          { type: "button", class: "thread", "aria-current": view?.id === t.id ? "true" : null, onclick: () => void openThread(t.id) },
          h("span", { class: "topic" }, t.topic),
          t.unread ? h("span", { class: "unread", "aria-label": `${t.unread} unread` }, String(t.unread)) : null,
        ),
      ),
    ),
  );
  $("no-threads").hidden = list.length > 0;
  const total = list.reduce((n, t) => n + t.unread, 0);
  document.title = total ? `(${total}) Herald chat` : "Herald chat";
}

function dropThread(id: string, reason: string): void {
  const t = threads.get(id);
  threads.delete(id);
  renderThreads();
  if (view?.id === id) {
    view = null;
    $("thread").hidden = true;
    $("people").hidden = true;
    const why = reason === "thread_deleted" ? "was deleted" : reason === "not_participant" ? "is closed to you: you were removed from it" : "has ended for you";
    showNotice(`The thread “${t?.topic ?? id}” ${why}.`);
  } else if (t && reason !== "ended") {
    toast(`“${t.topic}” ${reason === "thread_deleted" ? "was deleted" : "was removed from your list: you were removed from it"}.`);
  }
}

async function createThread(ev: Event): Promise<void> {
  ev.preventDefault();
  const form = ev.target as HTMLFormElement;
  const topic = field(form, "topic");
  const raw = field(form, "participants");
  const entries = raw.split(raw.includes(",") ? /\s*,\s*/ : /\s+/).filter(Boolean);
  if (!topic) return formError(form, "Give the thread a topic.");
  participantsError("");
  try {
    const ids = await resolvePeople(entries);
    // Strict: one participant that cannot be added creates nothing, and the error sits by the field.
    const r = await client!.createThread(
      { topic, participants: [{ communicationIdentifier: identifier(me!.id), displayName: me!.name }, ...ids.map((id) => ({ communicationIdentifier: identifier(id) }))] },
      crypto.randomUUID(),
      { strictParticipants: true },
    );
    form.reset();
    formError(form, "");
    threads.set(r.chatThread.id, { id: r.chatThread.id, topic, activity: r.chatThread.createdOn, unread: 0 });
    await openThread(r.chatThread.id);
  } catch (err) {
    console.error(`herald: create thread: ${describe(err)}`);
    if (err instanceof HeraldError && err.target === "participants") participantsError(err.message);
    else formError(form, describe(err));
  }
}

/**
 * resolvePeople turns the new-thread form's entries into ids: an id stays as typed; a name must be exactly one
 * person who shares a thread with you (the people search), else the error names it.
 */
async function resolvePeople(entries: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const e of entries) {
    if (e.startsWith("u_")) {
      ids.push(e);
      continue;
    }
    const found = (await client!.searchPeople(e, 10)).value.filter((p) => (p.displayName ?? "").toLowerCase() === e.toLowerCase());
    if (found.length !== 1) {
      throw new HeraldError({ code: "invalid", reason: "invalid_field", target: "participants", status: 400,
        message: found.length ? `more than one person is called “${e}”: paste their id instead` : `no one called “${e}” shares a thread with you: paste their id (u_…) instead` });
    }
    ids.push(userIdOf(found[0]!.communicationIdentifier));
  }
  return ids;
}

/** participantsError shows (or, with "", clears) the error of the new-thread form's participants field. */
function participantsError(text: string): void {
  const input = ($("new-thread") as HTMLFormElement).elements.namedItem("participants") as HTMLInputElement;
  if (text) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
  replace($("participants-error"), text);
}

// --- the open thread ---

async function openThread(id: string): Promise<void> {
  const t = threads.get(id);
  if (!t) return;
  t.unread = 0;
  view = { id, messages: new Map(), participants: [], receipts: new Map(), typing: new Map(), older: "", readSent: "", editing: "", rendered: new Map() };
  const v = view;
  $("thread").hidden = false;
  $("people").hidden = false;
  $("notice").hidden = true;
  replace($("topic"), t.topic);
  replace($("thread-id"), id);
  renderThreads();
  renderMessages();
  try {
    const [page, parts, receipts] = await Promise.all([
      client!.listMessages(id, { maxPageSize: 50 }),
      collect(client!.allParticipants(id)),
      collect(client!.allReadReceipts(id)),
    ]);
    if (view !== v) return;
    for (const m of page.value) if (!v.messages.has(m.id)) v.messages.set(m.id, m);
    v.older = page.nextLink ?? "";
    v.participants = parts;
    for (const r of receipts) if (!v.receipts.has(userIdOf(r.senderCommunicationIdentifier))) v.receipts.set(userIdOf(r.senderCommunicationIdentifier), r.chatMessageId);
    renderMessages(true);
    renderParticipants();
    $<HTMLTextAreaElement>("composer-text").focus();
  } catch (err) {
    failed(id, err, "open thread");
  }
}

async function collect<T>(it: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function loadOlder(): Promise<void> {
  const v = view;
  if (!v?.older) return;
  try {
    const page = await client!.nextMessages(v.older);
    for (const m of page.value) if (!v.messages.has(m.id)) v.messages.set(m.id, m);
    v.older = page.nextLink ?? "";
    renderMessages();
  } catch (err) {
    failed(v.id, err, "load older messages");
  }
}

/** Reasons after which this sign-in cannot go on: the user must sign in again. */
const SIGNED_OUT = new Set(["token_revoked", "identity_deleted", "token_invalid", "token_expired"]);

/** failed reports a REST failure; a thread the user lost is dropped, a dead credential stops the session. */
function failed(threadId: string, err: unknown, what: string): void {
  console.error(`herald: ${what}: ${describe(err)}`);
  const r = errorReason(err);
  if (SIGNED_OUT.has(r)) return stopSession(err);
  if (r === "not_participant" || r === "thread_deleted" || r === "thread_not_found") dropThread(threadId, r === "thread_not_found" ? "ended" : r);
  else toast(describe(err));
}

/** stopSession ends the real-time connection for good and says why in the bar. */
function stopSession(err: unknown): void {
  if (terminal) return;
  terminal = err;
  rt?.close();
  renderConn();
  toast(describe(err));
}

/** names are display names learned from messages and typing, for participants added without one. */
const names = new Map<string, string>();

function learnName(userId: string, name: string | undefined): void {
  if (userId && name) names.set(userId, name);
}

function nameOf(userId: string, fallback = ""): string {
  if (userId === me?.id) return me.name;
  const p = view?.participants.find((p) => userIdOf(p.communicationIdentifier) === userId);
  return p?.displayName || names.get(userId) || fallback || userId;
}

function renderMessages(scroll = false): void {
  const v = view;
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  if (!v) return replace(list);
  const msgs = [...v.messages.values()].sort((a, b) => Number(a.sequenceId) - Number(b.sequenceId));
  for (const m of msgs) learnName(userIdOf(m.senderCommunicationIdentifier), m.senderDisplayName);
  const readBy = new Map<string, string[]>();
  for (const [user, msgId] of v.receipts) if (user !== me!.id) readBy.set(msgId, [...(readBy.get(msgId) ?? []), nameOf(user)]);
  const messageEl = (m: ChatMessage): HTMLElement => {
    const rb = readBy.get(m.id);
    // A system line names people: render it again once their names are known.
    const system = m.type !== "text" && m.type !== "html" ? systemText(m) : "";
    const key = [m.version, m.deletedOn, m.editedOn, rb?.join(","), v.editing === m.id, nameOf(userIdOf(m.senderCommunicationIdentifier)), m.content?.message, system].join("|");
    const c = v.rendered.get(m.id);
    if (c && c.key === key) return c.el;
    const el = renderMessage(m, rb);
    v.rendered.set(m.id, { key, el });
    return el;
  };
  // A date separator before the first message of each local day.
  const now = new Date();
  let lastDay = "";
  const els: HTMLElement[] = [];
  for (const m of msgs) {
    const label = dayLabel(m.createdOn, now);
    if (label && label !== lastDay) {
      const key = `day:${label}`;
      let c = v.rendered.get(key);
      if (!c) {
        c = { key, el: h("li", { class: "day" }, h("span", {}, label)) };
        v.rendered.set(key, c);
      }
      els.push(c.el);
      lastDay = label;
    }
    els.push(messageEl(m));
  }

  if (v.older) els.unshift(h("li", { class: "older" }, h("button", { type: "button", onclick: () => void loadOlder() }, "Load older messages")));
  reconcile(list, els);
  $("empty-thread").hidden = msgs.length > 0;
  if (scroll || atBottom) list.scrollTop = list.scrollHeight;
  renderParticipants();
  renderTyping();
  sendReadReceipt();
}

/** reconcile makes list's children els, moving only what is out of place. */
function reconcile(list: HTMLElement, els: HTMLElement[]): void {
  els.forEach((el, i) => {
    if (list.children[i] !== el) list.insertBefore(el, list.children[i] ?? null);
  });
  while (list.children.length > els.length) list.lastElementChild!.remove();
}

function renderMessage(m: ChatMessage, readBy: string[] | undefined): HTMLElement {
  const seq = h("span", { class: "seq", title: "sequence number in the thread" }, `#${m.sequenceId}`);
  if (m.type !== "text" && m.type !== "html") {
    return h("li", { class: "sys", "data-seq": m.sequenceId, "data-id": m.id }, systemText(m), " ", seq);
  }
  const sender = userIdOf(m.senderCommunicationIdentifier);
  const mine = sender === me!.id;
  const deleted = !!m.deletedOn;
  return h(
    "li",
    { class: `msg${mine ? " mine" : ""}${deleted ? " deleted" : ""}`, "data-seq": m.sequenceId, "data-id": m.id },
    h(
      "div",
      { class: "meta" },
      h("span", { class: "who", title: sender }, mine ? "You" : m.senderDisplayName || nameOf(sender)),
      " ",
      h("time", { datetime: m.createdOn, title: m.createdOn }, hhmm(m.createdOn)),
      " ",
      seq,
      m.editedOn && !deleted ? h("span", { class: "edited" }, " · edited") : null,
    ),
    view?.editing === m.id ? editBox(m) : h("div", { class: "body" }, ...(deleted ? ["message deleted"] : linkify(m.content?.message ?? ""))),
    mine && !deleted && view?.editing !== m.id
      ? h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "link", onclick: () => setEditing(m.id) }, "Edit"),
          h("button", { type: "button", class: "link", onclick: () => void deleteMessage(m) }, "Delete"),
        )
      : null,
    readBy?.length ? h("div", { class: "read" }, `✓ Read by ${readBy.join(", ")}`) : null,
  );
}

function systemText(m: ChatMessage): string {
  const initiator = userIdOf(m.content?.initiatorCommunicationIdentifier);
  const who = nameOf(initiator, "someone");
  const ps = m.content?.participants ?? [];
  const names = ps.map((p) => nameOf(userIdOf(p.communicationIdentifier), p.displayName)).join(", ");
  switch (m.type) {
    case "participantAdded": {
      if (m.sequenceId !== "1") return `${who} added ${names}`;
      // The creation lists everyone, the creator included: say it as people would.
      const others = ps.filter((p) => userIdOf(p.communicationIdentifier) !== initiator).map((p) => nameOf(userIdOf(p.communicationIdentifier), p.displayName));
      return others.length ? `${who} created the thread with ${others.join(", ")}` : `${who} created the thread`;
    }
    case "participantRemoved":
      return `${who} removed ${names}`;
    case "topicUpdated":
      return `${who} set the topic to “${m.content?.topic ?? ""}”`;
  }
  return m.type;
}

function setEditing(id: string): void {
  if (!view) return;
  view.editing = id;
  renderMessages();
  view.rendered.get(id)?.el.querySelector("textarea")?.focus();
}

function editBox(m: ChatMessage): HTMLElement {
  const input = h("textarea", { class: "edit", rows: 2, "aria-label": "edit message" });
  input.value = m.content?.message ?? "";
  const save = async () => {
    const v = view!;
    try {
      await client!.updateMessage(v.id, m.id, { content: input.value });
      setEditing("");
    } catch (err) {
      failed(v.id, err, "edit message");
    }
  };
  return h(
    "div",
    { class: "body editing" },
    input,
    h("button", { type: "button", onclick: () => void save() }, "Save"),
    " ",
    h("button", { type: "button", class: "link", onclick: () => setEditing("") }, "Cancel"),
  );
}

/**
 * confirmed asks before a destructive action (the browser's own dialog:
 * keyboard-reachable and read by screen readers); false cancels it.
 */
function confirmed(question: string): boolean {
  return window.confirm(question);
}

/** topicOf is the open thread's topic, for the confirmations. */
function topicOf(): string {
  return $("topic").textContent || "this thread";
}

async function deleteMessage(m: ChatMessage): Promise<void> {
  if (!confirmed("Delete this message for everyone in the thread? This cannot be undone.")) return;
  try {
    await client!.deleteMessage(view!.id, m.id);
  } catch (err) {
    failed(view!.id, err, "delete message");
  }
}

/** sendQueue chains the page's sends so they commit in the order typed. */
let sendQueue: Promise<unknown> = Promise.resolve();

async function send(ev: Event): Promise<void> {
  ev.preventDefault();
  const v = view;
  const input = $<HTMLTextAreaElement>("composer-text");
  const content = input.value;
  if (!v || !content.trim()) return;
  input.value = "";
  // One send at a time, in the order typed: two quick Enters are two requests
  // that could otherwise commit in either order.
  const turn = sendQueue.then(() => rt!.send(v.id, { content, senderDisplayName: me!.name, clientMessageId: crypto.randomUUID() }));
  sendQueue = turn.catch(() => undefined);
  try {
    const r = await turn;
    if (view === v && !v.messages.has(r.id)) {
      // Shown at once; the chatMessageReceived event replaces it.
      v.messages.set(r.id, { id: r.id, type: "text", sequenceId: r.sequenceId, version: "1", content: { message: content }, createdOn: new Date().toISOString(), senderCommunicationIdentifier: identifier(me!.id), senderDisplayName: me!.name });
      renderMessages(true);
    }
  } catch (err) {
    if (!input.value) input.value = content;
    failed(v.id, err, "send");
  }
}

function typed(ev: KeyboardEvent): void {
  if (ev.key === "Enter" && !ev.shiftKey) {
    ev.preventDefault();
    $<HTMLFormElement>("composer").requestSubmit();
    return;
  }
  const now = Date.now();
  if (view && now - lastTyping > 5000) {
    lastTyping = now;
    client!.sendTyping(view.id, { senderDisplayName: me!.name }).catch((err) => console.warn(`herald: typing: ${describe(err)}`));
  }
}

function renderTyping(): void {
  const v = view;
  const now = Date.now();
  const names = v ? [...v.typing.values()].filter((t) => t.until > now).map((t) => t.name) : [];
  replace($("typing"), names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "");
}

/** sendReadReceipt marks the newest message of others as read while the page is visible. */
function sendReadReceipt(): void {
  const v = view;
  if (!v || document.visibilityState !== "visible") return;
  const newest = [...v.messages.values()]
    .filter((m) => (m.type === "text" || m.type === "html") && !m.deletedOn && userIdOf(m.senderCommunicationIdentifier) !== me!.id)
    .sort((a, b) => Number(b.sequenceId) - Number(a.sequenceId))[0];
  if (!newest || v.readSent === newest.id) return;
  v.readSent = newest.id;
  client!.sendReadReceipt(v.id, { chatMessageId: newest.id }).catch((err) => console.warn(`herald: read receipt: ${describe(err)}`));
}

// --- participants ---

function renderParticipants(): void {
  const v = view;
  if (!v) return;
  replace(
    $("participants"),
    ...v.participants.map((p) => {
      const id = userIdOf(p.communicationIdentifier);
      const mine = id === me!.id;
      return h(
        "li",
        { "data-user-id": id },
        h("span", { class: "who" }, mine ? `${me!.name} (you)` : nameOf(id)),
        h("span", { class: "uid" }, id),
        mine ? null : h("button", { type: "button", class: "link", onclick: () => void removeParticipant(id) }, "Remove"),
      );
    }),
  );
}

async function reloadParticipants(): Promise<void> {
  const v = view;
  if (!v) return;
  try {
    v.participants = await collect(client!.allParticipants(v.id));
    renderParticipants();
    renderMessages();
  } catch (err) {
    failed(v.id, err, "list participants");
  }
}

/** suggestPeople fills the add form's suggestions with the people whose name starts with what was typed. */
let peopleAsked = "";
async function suggestPeople(input: HTMLInputElement): Promise<void> {
  const q = input.value.trim();
  if (!q || q.startsWith("u_") || q === peopleAsked) return;
  peopleAsked = q;
  try {
    const r = await client!.searchPeople(q, 10);
    if (peopleAsked !== q) return; // a newer question is on its way
    const here = new Set(view?.participants.map((p) => userIdOf(p.communicationIdentifier)) ?? []);
    $("people-list").replaceChildren(
      ...r.value
        .filter((p) => !here.has(userIdOf(p.communicationIdentifier)))
        .map((p) => h("option", { value: userIdOf(p.communicationIdentifier), label: `${p.displayName} (${userIdOf(p.communicationIdentifier)})` })),
    );
  } catch (err) {
    console.warn(`herald: people search: ${describe(err)}`);
  }
}

async function addParticipant(ev: Event): Promise<void> {
  ev.preventDefault();
  const form = ev.target as HTMLFormElement;
  const id = field(form, "user");
  if (!view || !id) return;
  try {
    const r = await client!.addParticipants(view.id, { participants: [{ communicationIdentifier: identifier(id), displayName: field(form, "name") || undefined }] });
    const bad = r.invalidParticipants?.[0];
    formError(form, bad ? `${bad.reason}: ${bad.message}` : "");
    if (!bad) form.reset();
  } catch (err) {
    console.error(`herald: add participant: ${describe(err)}`);
    formError(form, describe(err));
  }
}

async function removeParticipant(id: string): Promise<void> {
  if (!view) return;
  const question =
    id === me!.id
      ? `Leave “${topicOf()}”? You will stop receiving its messages until someone adds you again.`
      : `Remove ${nameOf(id)} from “${topicOf()}”? They will stop receiving its messages.`;
  if (!confirmed(question)) return;
  try {
    await client!.removeParticipant(view.id, id);
  } catch (err) {
    failed(view.id, err, "remove participant");
  }
}

async function deleteThread(): Promise<void> {
  if (!view) return;
  if (!confirmed(`Delete “${topicOf()}” for everyone? Its messages are gone for all participants; this cannot be undone.`)) return;
  try {
    await client!.deleteThread(view.id);
  } catch (err) {
    failed(view.id, err, "delete thread");
  }
}

// --- events ---

async function onMessage(ev: RealtimeEvent): Promise<void> {
  const m = ev.data.message;
  const t = await learnThread(ev.threadId);
  if (!t || !m) return;
  t.activity = ev.data.at || new Date().toISOString();
  if (view?.id === ev.threadId) {
    view.messages.set(m.id, m);
    renderMessages();
  } else if (ev.type === Events.messageReceived && userIdOf(m.senderCommunicationIdentifier) !== me!.id) {
    t.unread++;
  }
  renderThreads();
}

function onTyping(ev: RealtimeEvent): void {
  const who = userIdOf(ev.data.actor);
  if (view?.id !== ev.threadId || who === me!.id) return;
  learnName(who, ev.data.senderDisplayName);
  view.typing.set(who, { name: nameOf(who), until: Date.now() + 6000 });
  renderTyping();
  setTimeout(renderTyping, 6100);
}

function onReceipt(ev: RealtimeEvent): void {
  if (view?.id !== ev.threadId || !ev.data.chatMessageId) return;
  view.receipts.set(userIdOf(ev.data.actor), ev.data.chatMessageId);
  renderMessages();
}

async function onThreadEvent(ev: RealtimeEvent): Promise<void> {
  if (ev.type === Events.threadDeleted) return; // the client drops the thread: dropThread
  const topic = ev.data.thread?.topic;
  const t = await learnThread(ev.threadId, topic);
  if (!t || !topic) return;
  t.topic = topic;
  if (view?.id === ev.threadId) replace($("topic"), topic);
  renderThreads();
}

async function onMembership(ev: RealtimeEvent): Promise<void> {
  const ids = (ev.data.participants ?? []).map((p) => userIdOf(p.communicationIdentifier));
  if (ev.type === Events.participantsRemoved && ids.includes(me!.id)) return; // dropThread
  const t = await learnThread(ev.threadId);
  if (!t) return;
  if (ev.data.message && view?.id === ev.threadId) view.messages.set(ev.data.message.id, ev.data.message);
  if (view?.id === ev.threadId) await reloadParticipants();
}

// --- notices ---

function toast(text: string): void {
  const el = $("toast");
  el.appendChild(h("p", {}, text));
  setTimeout(() => el.firstChild?.remove(), 8000);
}

function showNotice(text: string): void {
  replace($("notice"), text);
  $("notice").hidden = false;
}

// --- start ---

function main(): void {
  $("token-form").addEventListener("submit", (ev) => void tokenSignIn(ev));
  $("dev-form").addEventListener("submit", (ev) => void devSignIn(ev));
  $("new-thread").addEventListener("submit", (ev) => void createThread(ev));
  const who = ($("add-participant") as HTMLFormElement).elements.namedItem("user") as HTMLInputElement;
  who.addEventListener("input", () => void suggestPeople(who));
  (($("new-thread") as HTMLFormElement).elements.namedItem("participants") as HTMLInputElement).addEventListener("input", () => participantsError(""));
  $("composer").addEventListener("submit", (ev) => void send(ev));
  $("composer-text").addEventListener("keydown", (ev) => typed(ev as KeyboardEvent));
  $("add-participant").addEventListener("submit", (ev) => void addParticipant(ev));
  $("leave").addEventListener("click", () => view && void removeParticipant(me!.id));
  $("delete-thread").addEventListener("click", () => void deleteThread());
  $("signout").addEventListener("click", signOut);
  document.addEventListener("visibilitychange", sendReadReceipt);
  setInterval(renderExpiry, 1000);
  const saved = sessionStorage.getItem(SESSION);
  if (saved) {
    try {
      return signedIn(JSON.parse(saved) as Me);
    } catch {
      sessionStorage.removeItem(SESSION);
    }
  }
  // The server marks the page when it runs with --dev-login.
  $("dev-form").hidden = document.body.dataset.devLogin !== "on";
  if (document.body.dataset.devLogin === "on") void showDevPeople();
}

/** showDevPeople lists who exists on a --dev-login server: one click signs in as them. */
async function showDevPeople(): Promise<void> {
  try {
    const resp = await fetch(`${BASE}/dev/people?maxPageSize=50`, { cache: "no-store" });
    if (!resp.ok) return;
    const people = ((await resp.json()) as { value: { id: string; displayName?: string }[] }).value;
    if (!people.length) return;
    const form = $("dev-form") as HTMLFormElement;
    $("dev-people-list").replaceChildren(
      ...people.map((p) =>
        h(
          "li",
          {},
          h("button", { type: "button", class: "link", title: p.id, onclick: () => {
            (form.elements.namedItem("name") as HTMLInputElement).value = p.displayName ?? "";
            form.requestSubmit();
          } }, p.displayName ?? p.id),
        ),
      ),
    );
    $("dev-people").hidden = false;
  } catch (err) {
    console.warn(`herald: dev directory: ${describe(err)}`);
  }
}

main();

