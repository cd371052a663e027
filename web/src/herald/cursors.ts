/**
 * Cursors are what a CursorStore keeps: per thread, the highest seq the
 * app's handlers have taken, and per thread that ended for the user
 * (removed, or deleted) the seq it ended at.
 */
export interface Cursors {
  cursors: Record<string, number>;
  ended: Record<string, number>;
}

/**
 * CursorStore keeps the cursors the real-time client sends in hello to
 * resume after a reconnect or a reload. Keep it next to the app's own state
 * so the two cannot disagree.
 */
export interface CursorStore {
  /** load returns every cursor; called once, by start. */
  load(): Cursors | Promise<Cursors>;
  /** save records that the app took every event of threadId up to seq (seq only grows, except after drop). */
  save(threadId: string, seq: number): void | Promise<void>;
  /**
   * drop forgets threadId. With endedAt, the thread ended for the user at
   * that seq: it is remembered apart, so that later hellos still name it
   * and the server does not replay it again.
   */
  drop(threadId: string, endedAt?: number): void | Promise<void>;
}

/** MemoryCursors keeps cursors in memory: a reload starts live at each thread's head. */
export class MemoryCursors implements CursorStore {
  protected state: Cursors = { cursors: {}, ended: {} };
  load(): Cursors {
    return { cursors: { ...this.state.cursors }, ended: { ...this.state.ended } };
  }
  save(threadId: string, seq: number): void {
    this.state.cursors[threadId] = seq;
    delete this.state.ended[threadId];
    this.persist();
  }
  drop(threadId: string, endedAt?: number): void {
    delete this.state.cursors[threadId];
    if (endedAt !== undefined) this.state.ended[threadId] = endedAt;
    else delete this.state.ended[threadId];
    this.persist();
  }
  protected persist(): void {}
}

/** StorageLike is the part of the Web Storage API LocalStorageCursors uses. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * LocalStorageCursors keeps cursors in localStorage under one key, so a
 * reloaded page resumes where it left off. Use one key per server and user
 * (cursorKey). A write that fails (storage full or disabled) throws: the
 * client then treats the event as not taken and replays it after
 * reconnecting, rather than acknowledging what it could not record.
 */
export class LocalStorageCursors extends MemoryCursors {
  constructor(
    readonly key: string,
    private readonly storage: StorageLike = globalThis.localStorage,
  ) {
    super();
    const raw = storage.getItem(key);
    if (raw) {
      try {
        const v = JSON.parse(raw) as Partial<Cursors>;
        this.state = { cursors: numbers(v.cursors), ended: numbers(v.ended) };
      } catch {
        storage.removeItem(key); // unreadable: start over (the server then starts live at each head)
      }
    }
  }
  protected override persist(): void {
    this.storage.setItem(this.key, JSON.stringify(this.state));
  }
  /** clear forgets every cursor (on sign-out). */
  clear(): void {
    this.state = { cursors: {}, ended: {} };
    this.storage.removeItem(this.key);
  }
}

/** cursorKey is the storage key for a user's cursors on a server. */
export function cursorKey(baseUrl: string, userId: string): string {
  return `herald.cursors:${baseUrl}:${userId}`;
}

function numbers(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (v && typeof v === "object") {
    for (const [k, n] of Object.entries(v)) if (typeof n === "number" && Number.isFinite(n) && n >= 0) out[k] = n;
  }
  return out;
}
