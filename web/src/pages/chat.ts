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
import { ChatStore, type Me, type ThreadItem, isText } from "./chatstore.js";
import { $, dayLabel, field, h, hhmm, linkify, replace, span } from "./dom.js";

const BASE = location.origin;
const SESSION = "herald.session";

/** store is the page's state (chatstore.ts); this module renders it and talks to the server. */
const store = new ChatStore();

// --- sign-in ---

function saveMe(): void {
  if (store.me) sessionStorage.setItem(SESSION, JSON.stringify(store.me));
  else sessionStorage.removeItem(SESSION);
}

function signedIn(m: Me): void {
  store.me = m;
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
  store.rt?.close();
  store.cred?.close();
  store.reset();
  saveMe();
  location.reload();
}

// --- the connection ---

function connect(): void {
  const m = store.me!;
  const refresher = m.dev ? async () => (await devLogin(BASE, { token: m.token })).token : undefined;
  store.cred = new TokenCredential(m.token, refresher);
  store.cred.onRefresh((t) => {
    m.token = t;
    saveMe();
  });
  store.client = new ChatClient(BASE, store.cred);
  store.rt = store.client.realtime({ cursors: new LocalStorageCursors(cursorKey(BASE, m.id)) });
  store.rt.on(Events.messageReceived, onMessage)
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
      store.conn = s;
      renderConn();
    })
    .onThreadEnded(dropThread)
    .onResumeFailed((t) => {
      if (store.view && (t === store.view.id || t === "")) void openThread(store.view.id);
    })
    .onError((err) => toast(describe(err)));
  store.rt.start().catch(stopSession);
  void loadThreads();
}

function renderConn(): void {
  const el = $("conn");
  const s = store.conn;
  let state: string = s?.state ?? "connecting";
  let text = "Connecting…";
  const transport = s?.transport ? label(s.transport) : "";
  if (store.terminal) {
    state = "stopped";
    text = `Disconnected: ${describe(store.terminal)}`;
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
  $("signout").textContent = store.terminal ? "Sign in again" : "Sign out";
  renderExpiry();
}

function renderExpiry(): void {
  const exp = store.cred?.expiresOn() ?? null;
  const el = $("expiry");
  if (exp === null || store.terminal) return replace(el, "");
  const left = exp - Date.now();
  el.dataset.warn = left < 10 * 60_000 ? "true" : "false";
  if (left <= 0) return replace(el, store.me?.dev ? "token expired: renewing…" : "token expired: sign in with a new token");
  replace(el, `token expires in ${span(left)}${store.me?.dev ? " (renews itself)" : ""}`);
}

function label(t: string): string {
  return t === "websocket" ? "WebSocket" : t === "sse" ? "SSE" : t === "longpoll" ? "long-polling" : t;
}

// --- threads ---

async function loadThreads(): Promise<void> {
  try {
    for await (const t of store.client!.allThreads({ maxPageSize: 100 })) {
      if (t.deletedOn || store.rt!.ended(t.id)) continue;
      store.listThread(t.id, t.topic, t.lastMessageReceivedOn ?? "");
      if (store.threads.size >= 200) break;
    }
  } catch (err) {
    failed("", err, "list threads");
  }
  renderThreads();
}

async function learnThread(id: string, topic?: string): Promise<ThreadItem | null> {
  let t = store.threads.get(id);
  if (t) return t;
  if (store.rt?.ended(id)) return null;
  if (topic === undefined) {
    try {
      topic = (await store.client!.getThread(id)).topic;
    } catch {
      return null; // not visible to this user (removed, deleted): nothing to list
    }
  }
  t = store.listThread(id, topic, new Date().toISOString());
  renderThreads();
  return t;
}

function renderThreads(): void {
  const list = store.threadList();
  replace(
    $("thread-list"),
    ...list.map((t) =>
      h(
        "li",
        { "data-thread-id": t.id },
        h(
          "button",
          { type: "button", class: "thread", "aria-current": store.view?.id === t.id ? "true" : null, onclick: () => void openThread(t.id) },
          h("span", { class: "topic" }, t.topic),
          t.unread ? h("span", { class: "unread", "aria-label": `${t.unread} unread` }, String(t.unread)) : null,
        ),
      ),
    ),
  );
  $("no-threads").hidden = list.length > 0;
  const total = store.unreadTotal();
  document.title = total ? `(${total}) Herald chat` : "Herald chat";
}

function dropThread(id: string, reason: string): void {
  const { item: t, wasOpen } = store.dropThread(id);
  renderThreads();
  if (wasOpen) {
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
    const r = await store.client!.createThread(
      { topic, participants: [{ communicationIdentifier: identifier(store.me!.id), displayName: store.me!.name }, ...ids.map((id) => ({ communicationIdentifier: identifier(id) }))] },
      crypto.randomUUID(),
      { strictParticipants: true },
    );
    form.reset();
    formError(form, "");
    store.threads.set(r.chatThread.id, { id: r.chatThread.id, topic, activity: r.chatThread.createdOn, unread: 0 });
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
    const found = (await store.client!.searchPeople(e, 10)).value.filter((p) => (p.displayName ?? "").toLowerCase() === e.toLowerCase());
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
  const t = store.threads.get(id);
  if (!t) return;
  const v = store.open(id);
  $("thread").hidden = false;
  $("people").hidden = false;
  $("notice").hidden = true;
  replace($("topic"), t.topic);
  replace($("thread-id"), id);
  renderThreads();
  renderMessages();
  try {
    const [page, parts, receipts] = await Promise.all([
      store.client!.listMessages(id, { maxPageSize: 50 }),
      collect(store.client!.allParticipants(id)),
      collect(store.client!.allReadReceipts(id)),
    ]);
    if (store.view !== v) return;
    store.addMessages(v, page.value);
    v.older = page.nextLink ?? "";
    v.participants = parts;
    store.addReceipts(v, receipts);
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
  const v = store.view;
  if (!v?.older) return;
  try {
    const page = await store.client!.nextMessages(v.older);
    store.addMessages(v, page.value);
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
  if (store.terminal) return;
  store.terminal = err;
  store.rt?.close();
  renderConn();
  toast(describe(err));
}

function renderMessages(scroll = false): void {
  const v = store.view;
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  if (!v) return replace(list);
  const msgs = store.messages();
  for (const m of msgs) store.learnName(userIdOf(m.senderCommunicationIdentifier), m.senderDisplayName);
  const readBy = store.readBy();
  const messageEl = (m: ChatMessage): HTMLElement => {
    const rb = readBy.get(m.id);
    // A system line names people: render it again once their names are known.
    const system = isText(m) ? "" : systemText(m);
    const key = [m.version, m.deletedOn, m.editedOn, rb?.join(","), v.editing === m.id, store.nameOf(userIdOf(m.senderCommunicationIdentifier)), m.content?.message, system].join("|");
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
  if (!isText(m)) {
    return h("li", { class: "sys", "data-seq": m.sequenceId, "data-id": m.id }, systemText(m), " ", seq);
  }
  const sender = userIdOf(m.senderCommunicationIdentifier);
  const mine = sender === store.me!.id;
  const deleted = !!m.deletedOn;
  return h(
    "li",
    { class: `msg${mine ? " mine" : ""}${deleted ? " deleted" : ""}`, "data-seq": m.sequenceId, "data-id": m.id },
    h(
      "div",
      { class: "meta" },
      h("span", { class: "who", title: sender }, mine ? "You" : m.senderDisplayName || store.nameOf(sender)),
      " ",
      h("time", { datetime: m.createdOn, title: m.createdOn }, hhmm(m.createdOn)),
      " ",
      seq,
      m.editedOn && !deleted ? h("span", { class: "edited" }, " · edited") : null,
    ),
    store.view?.editing === m.id ? editBox(m) : h("div", { class: "body" }, ...(deleted ? ["message deleted"] : linkify(m.content?.message ?? ""))),
    mine && !deleted && store.view?.editing !== m.id
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
  const who = store.nameOf(initiator, "someone");
  const ps = m.content?.participants ?? [];
  const names = ps.map((p) => store.nameOf(userIdOf(p.communicationIdentifier), p.displayName)).join(", ");
  switch (m.type) {
    case "participantAdded": {
      if (m.sequenceId !== "1") return `${who} added ${names}`;
      // The creation lists everyone, the creator included: say it as people would.
      const others = ps.filter((p) => userIdOf(p.communicationIdentifier) !== initiator).map((p) => store.nameOf(userIdOf(p.communicationIdentifier), p.displayName));
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
  if (!store.view) return;
  store.view.editing = id;
  renderMessages();
  store.view.rendered.get(id)?.el.querySelector("textarea")?.focus();
}

function editBox(m: ChatMessage): HTMLElement {
  const input = h("textarea", { class: "edit", rows: 2, "aria-label": "edit message" });
  input.value = m.content?.message ?? "";
  const save = async () => {
    const v = store.view!;
    try {
      await store.client!.updateMessage(v.id, m.id, { content: input.value });
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
    await store.client!.deleteMessage(store.view!.id, m.id);
  } catch (err) {
    failed(store.view!.id, err, "delete message");
  }
}


async function send(ev: Event): Promise<void> {
  ev.preventDefault();
  const v = store.view;
  const input = $<HTMLTextAreaElement>("composer-text");
  const content = input.value;
  if (!v || !content.trim()) return;
  input.value = "";
  // One send at a time, in the order typed: two quick Enters are two requests
  // that could otherwise commit in either order.
  const turn = store.sendQueue.then(() => store.rt!.send(v.id, { content, senderDisplayName: store.me!.name, clientMessageId: crypto.randomUUID() }));
  store.sendQueue = turn.catch(() => undefined);
  try {
    const r = await turn;
    if (store.view === v && !v.messages.has(r.id)) {
      // Shown at once; the chatMessageReceived event replaces it.
      v.messages.set(r.id, { id: r.id, type: "text", sequenceId: r.sequenceId, version: "1", content: { message: content }, createdOn: new Date().toISOString(), senderCommunicationIdentifier: identifier(store.me!.id), senderDisplayName: store.me!.name });
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
  if (store.view && now - store.lastTyping > 5000) {
    store.lastTyping = now;
    store.client!.sendTyping(store.view.id, { senderDisplayName: store.me!.name }).catch((err) => console.warn(`herald: typing: ${describe(err)}`));
  }
}

function renderTyping(): void {
  const names = store.typingNames(Date.now());
  replace($("typing"), names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "");
}

/** sendReadReceipt marks the newest message of others as read while the page is visible. */
function sendReadReceipt(): void {
  const v = store.view;
  if (!v || document.visibilityState !== "visible") return;
  const newest = store.toMarkRead();
  if (!newest) return;
  v.readSent = newest.id;
  store.client!.sendReadReceipt(v.id, { chatMessageId: newest.id }).catch((err) => console.warn(`herald: read receipt: ${describe(err)}`));
}

// --- participants ---

function renderParticipants(): void {
  const v = store.view;
  if (!v) return;
  replace(
    $("participants"),
    ...v.participants.map((p) => {
      const id = userIdOf(p.communicationIdentifier);
      const mine = id === store.me!.id;
      return h(
        "li",
        { "data-user-id": id },
        h("span", { class: "who" }, mine ? `${store.me!.name} (you)` : store.nameOf(id)),
        h("span", { class: "uid" }, id),
        mine ? null : h("button", { type: "button", class: "link", onclick: () => void removeParticipant(id) }, "Remove"),
      );
    }),
  );
}

async function reloadParticipants(): Promise<void> {
  const v = store.view;
  if (!v) return;
  try {
    v.participants = await collect(store.client!.allParticipants(v.id));
    renderParticipants();
    renderMessages();
  } catch (err) {
    failed(v.id, err, "list participants");
  }
}

/** suggestPeople fills the add form's suggestions with the people whose name starts with what was typed. */
async function suggestPeople(input: HTMLInputElement): Promise<void> {
  const q = input.value.trim();
  if (!q || q.startsWith("u_") || q === store.peopleAsked) return;
  store.peopleAsked = q;
  try {
    const r = await store.client!.searchPeople(q, 10);
    if (store.peopleAsked !== q) return; // a newer question is on its way
    const here = new Set(store.view?.participants.map((p) => userIdOf(p.communicationIdentifier)) ?? []);
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
  if (!store.view || !id) return;
  try {
    const r = await store.client!.addParticipants(store.view.id, { participants: [{ communicationIdentifier: identifier(id), displayName: field(form, "name") || undefined }] });
    const bad = r.invalidParticipants?.[0];
    formError(form, bad ? `${bad.reason}: ${bad.message}` : "");
    if (!bad) form.reset();
  } catch (err) {
    console.error(`herald: add participant: ${describe(err)}`);
    formError(form, describe(err));
  }
}

async function removeParticipant(id: string): Promise<void> {
  if (!store.view) return;
  const question =
    id === store.me!.id
      ? `Leave “${topicOf()}”? You will stop receiving its messages until someone adds you again.`
      : `Remove ${store.nameOf(id)} from “${topicOf()}”? They will stop receiving its messages.`;
  if (!confirmed(question)) return;
  try {
    await store.client!.removeParticipant(store.view.id, id);
  } catch (err) {
    failed(store.view.id, err, "remove participant");
  }
}

async function deleteThread(): Promise<void> {
  if (!store.view) return;
  if (!confirmed(`Delete “${topicOf()}” for everyone? Its messages are gone for all participants; this cannot be undone.`)) return;
  try {
    await store.client!.deleteThread(store.view.id);
  } catch (err) {
    failed(store.view.id, err, "delete thread");
  }
}

// --- events ---

async function onMessage(ev: RealtimeEvent): Promise<void> {
  const m = ev.data.message;
  const t = await learnThread(ev.threadId);
  if (!t || !m) return;
  if (store.messageArrived(t, m, ev.type === Events.messageReceived, ev.data.at || new Date().toISOString())) renderMessages();
  renderThreads();
}

function onTyping(ev: RealtimeEvent): void {
  if (!store.typing(ev.threadId, userIdOf(ev.data.actor), ev.data.senderDisplayName, Date.now() + 6000)) return;
  renderTyping();
  setTimeout(renderTyping, 6100);
}

function onReceipt(ev: RealtimeEvent): void {
  if (store.view?.id !== ev.threadId || !ev.data.chatMessageId) return;
  store.view.receipts.set(userIdOf(ev.data.actor), ev.data.chatMessageId);
  renderMessages();
}

async function onThreadEvent(ev: RealtimeEvent): Promise<void> {
  if (ev.type === Events.threadDeleted) return; // the client drops the thread: dropThread
  const topic = ev.data.thread?.topic;
  const t = await learnThread(ev.threadId, topic);
  if (!t || !topic) return;
  t.topic = topic;
  if (store.view?.id === ev.threadId) replace($("topic"), topic);
  renderThreads();
}

async function onMembership(ev: RealtimeEvent): Promise<void> {
  const ids = (ev.data.participants ?? []).map((p) => userIdOf(p.communicationIdentifier));
  if (ev.type === Events.participantsRemoved && ids.includes(store.me!.id)) return; // dropThread
  const t = await learnThread(ev.threadId);
  if (!t) return;
  if (ev.data.message && store.view?.id === ev.threadId) store.view.messages.set(ev.data.message.id, ev.data.message);
  if (store.view?.id === ev.threadId) await reloadParticipants();
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
  $("leave").addEventListener("click", () => store.view && void removeParticipant(store.me!.id));
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

