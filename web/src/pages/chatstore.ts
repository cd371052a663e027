// The chat page's state, in one place: who is signed in, the connection,
// the thread list, the open thread and the names learned on the way. It
// holds no DOM and makes no requests: chat.ts renders from it and talks to
// the server. The rules that decide what the page shows (which thread is
// on top, what counts as unread, who has read what, who is typing, which
// message to mark read, what name a person goes by) are methods here, so
// that they are tested without a browser (test/unit/chatstore.test.ts).

import type { ChatClient, ChatMessage, ChatParticipant, ReadReceipt, Realtime, StateChange, TokenCredential } from "../herald/index.js";
import { userIdOf } from "../herald/index.js";

/** Me is the signed-in user, kept in sessionStorage (this tab only). */
export interface Me {
  id: string;
  name: string;
  token: string;
  /** dev: signed in with the dev login, whose token can be renewed by POST /dev/login. */
  dev: boolean;
}

export interface ThreadItem {
  id: string;
  topic: string;
  activity: string;
  /** unread counts the messages from others that arrived since the thread was last open. */
  unread: number;
}

/** View is the open thread. */
export interface View {
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

/** isText reports whether m is a message people wrote (not a system line). */
export function isText(m: ChatMessage): boolean {
  return m.type === "text" || m.type === "html";
}

export class ChatStore {
  me: Me | null = null;
  cred: TokenCredential | null = null;
  client: ChatClient | null = null;
  rt: Realtime | null = null;
  /** conn is the connection's last state; terminal the error that ended the session for good. */
  conn: StateChange | null = null;
  terminal: unknown = null;
  readonly threads = new Map<string, ThreadItem>();
  view: View | null = null;
  /** lastTyping is when this user last told the open thread it is typing (ms). */
  lastTyping = 0;
  /** sendQueue chains the page's sends so they commit in the order typed. */
  sendQueue: Promise<unknown> = Promise.resolve();
  /** peopleAsked is the last question to the people picker. */
  peopleAsked = "";
  /** names are display names learned from messages and typing, for participants added without one. */
  private readonly names = new Map<string, string>();

  /** reset forgets everything: signing out. */
  reset(): void {
    this.me = this.cred = this.client = this.rt = this.conn = null;
    this.terminal = null;
    this.threads.clear();
    this.view = null;
    this.lastTyping = 0;
    this.peopleAsked = "";
    this.names.clear();
  }

  // --- the thread list ---

  /** listThread adds a thread to the list unless it is there; it returns the item either way. */
  listThread(id: string, topic: string, activity: string): ThreadItem {
    let t = this.threads.get(id);
    if (!t) {
      t = { id, topic, activity, unread: 0 };
      this.threads.set(id, t);
    }
    return t;
  }

  /** threadList is the list as shown: the most recent activity first. */
  threadList(): ThreadItem[] {
    return [...this.threads.values()].sort((a, b) => (b.activity || "").localeCompare(a.activity || ""));
  }

  /** unreadTotal is the sum of the unread counts (the page title shows it). */
  unreadTotal(): number {
    let n = 0;
    for (const t of this.threads.values()) n += t.unread;
    return n;
  }

  /**
   * dropThread removes a thread the user lost; if it was the open one the
   * view closes. It returns the item (undefined if it was not listed) and
   * whether it was open.
   */
  dropThread(id: string): { item: ThreadItem | undefined; wasOpen: boolean } {
    const item = this.threads.get(id);
    this.threads.delete(id);
    const wasOpen = this.view?.id === id;
    if (wasOpen) this.view = null;
    return { item, wasOpen };
  }

  /**
   * messageArrived takes a message event of a listed thread: the thread's
   * activity moves to at; in the open thread the message is put in place,
   * elsewhere a new message from someone else counts as unread. It returns
   * true when the open thread changed.
   */
  messageArrived(t: ThreadItem, m: ChatMessage, received: boolean, at: string): boolean {
    t.activity = at;
    if (this.view?.id === t.id) {
      this.view.messages.set(m.id, m);
      return true;
    }
    if (received && userIdOf(m.senderCommunicationIdentifier) !== this.me?.id) t.unread++;
    return false;
  }

  // --- the open thread ---

  /** open makes id the open thread, with nothing loaded yet, and clears its unread count. */
  open(id: string): View {
    const t = this.threads.get(id);
    if (t) t.unread = 0;
    this.view = { id, messages: new Map(), participants: [], receipts: new Map(), typing: new Map(), older: "", readSent: "", editing: "", rendered: new Map() };
    return this.view;
  }

  /** addMessages puts messages into v, keeping any it already has (a live event is newer than a page). */
  addMessages(v: View, ms: ChatMessage[]): void {
    for (const m of ms) if (!v.messages.has(m.id)) v.messages.set(m.id, m);
  }

  /** addReceipts keeps each user's first receipt of a list that comes newest first, unless one is known. */
  addReceipts(v: View, rs: ReadReceipt[]): void {
    for (const r of rs) {
      const who = userIdOf(r.senderCommunicationIdentifier);
      if (!v.receipts.has(who)) v.receipts.set(who, r.chatMessageId);
    }
  }

  /** messages are the open thread's messages in sequence order. */
  messages(): ChatMessage[] {
    const v = this.view;
    return v ? [...v.messages.values()].sort((a, b) => Number(a.sequenceId) - Number(b.sequenceId)) : [];
  }

  /** readBy maps each message to the names of the others whose last read receipt names it. */
  readBy(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    const v = this.view;
    if (!v) return out;
    for (const [user, msgId] of v.receipts) if (user !== this.me?.id) out.set(msgId, [...(out.get(msgId) ?? []), this.nameOf(user)]);
    return out;
  }

  /** toMarkRead is the newest message of others in the open thread, if no receipt was sent for it yet. */
  toMarkRead(): ChatMessage | undefined {
    const v = this.view;
    if (!v) return undefined;
    const newest = [...v.messages.values()]
      .filter((m) => isText(m) && !m.deletedOn && userIdOf(m.senderCommunicationIdentifier) !== this.me?.id)
      .sort((a, b) => Number(b.sequenceId) - Number(a.sequenceId))[0];
    return newest && v.readSent !== newest.id ? newest : undefined;
  }

  /** typingNames are the names of those typing in the open thread at now (ms). */
  typingNames(now: number): string[] {
    const v = this.view;
    return v ? [...v.typing.values()].filter((t) => t.until > now).map((t) => t.name) : [];
  }

  /** typing records that who is typing in the open thread until until (ms); not this user. */
  typing(threadId: string, who: string, name: string | undefined, until: number): boolean {
    const v = this.view;
    if (v?.id !== threadId || who === this.me?.id) return false;
    this.learnName(who, name);
    v.typing.set(who, { name: this.nameOf(who), until });
    return true;
  }

  // --- names ---

  learnName(userId: string, name: string | undefined): void {
    if (userId && name) this.names.set(userId, name);
  }

  /** nameOf is how the page names a person: this user's own name, the participant's, a learned one, fallback, or the id. */
  nameOf(userId: string, fallback = ""): string {
    if (userId === this.me?.id) return this.me.name;
    const p = this.view?.participants.find((p) => userIdOf(p.communicationIdentifier) === userId);
    return p?.displayName || this.names.get(userId) || fallback || userId;
  }
}
