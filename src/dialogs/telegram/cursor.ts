// Where polling resumes, kept in SQLite so a crash or restart neither loses nor
// replays a message.
//
// Telegram forgets an update once getUpdates is called with a higher offset, so
// the offset we send is a watermark: the lowest update still in flight (fetched
// but not yet safe), or one past the newest when nothing is. An update is safe
// ("settled") once its user message is persisted (Inbound.onPersisted, called by
// the agent inside its own write) or, for updates that never become agent
// messages (commands, refusals, files refused...), once they are handled.
// Updates settled out of order above the watermark are remembered in `done`, so
// a re-delivery after a restart is recognised; the rare crash between the
// agent's commit and ours is caught by looking for the update_id in the
// session's stored messages (`alreadyStored`).
import type { Logger } from '../../log.ts';
import type { Store } from '../../store/store.ts';

const OFFSET_KEY = 'telegram.offset';
const STATE_KEY = 'telegram.cursor';
/** Bound on remembered out-of-order ids (only grows while one update stays in flight). */
const MAX_DONE = 1000;
/** How far back a session's messages are searched for a re-delivered update. */
const STORED_LOOKBACK = 50;

export class UpdateCursor {
  readonly #store: Store;
  readonly #log: Logger;
  #offset = 0;
  #seen = 0;
  /** `seen` as it was when this process started: only updates up to it can be re-deliveries. */
  #seenAtStart = 0;
  readonly #pending = new Set<number>();
  readonly #done = new Set<number>();
  #waiters: (() => void)[] = [];

  constructor(store: Store, log: Logger) {
    this.#store = store;
    this.#log = log;
  }

  /** Reads the saved state. A damaged value is logged and treated as absent. */
  load(): void {
    try {
      this.#offset = Number(this.#store.kvGet(OFFSET_KEY) ?? 0) || 0;
      const raw = this.#store.kvGet(STATE_KEY);
      const state = raw ? (JSON.parse(raw) as { seen?: unknown; done?: unknown }) : {};
      this.#seen = typeof state.seen === 'number' ? state.seen : Math.max(0, this.#offset - 1);
      this.#done.clear();
      if (Array.isArray(state.done)) for (const id of state.done) if (Number.isInteger(id) && id >= this.#offset) this.#done.add(id);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'saved Telegram offset unreadable; starting from what Telegram still holds');
      this.#offset = 0;
      this.#seen = 0;
    }
    this.#seenAtStart = this.#seen;
    this.#pending.clear();
  }

  /** The offset for the next getUpdates (undefined: let Telegram start at its oldest unconfirmed update). */
  get offset(): number | undefined {
    return this.#offset > 0 ? this.#offset : undefined;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Takes a batch of update ids just fetched; returns those that are new (not
   * settled, not already in flight). Saves the newest id seen.
   */
  accept(ids: number[]): Set<number> {
    const fresh = new Set<number>();
    let seen = this.#seen;
    for (const id of ids) {
      if (!Number.isSafeInteger(id) || id < this.#offset || this.#done.has(id) || this.#pending.has(id)) continue;
      this.#pending.add(id);
      fresh.add(id);
      if (id > seen) seen = id;
    }
    if (seen !== this.#seen) {
      this.#seen = seen;
      this.#save();
    }
    return fresh;
  }

  /** Could `id` have been handled by an earlier run (so the store must be checked)? */
  maybeReplay(id: number): boolean {
    return id <= this.#seenAtStart;
  }

  /** True when the session already holds the user message made from update `id`. */
  alreadyStored(id: number, session: string): boolean {
    try {
      return this.#store.history(session, STORED_LOOKBACK).messages.some((m) => m.role === 'user' && m.meta?.telegram_update_id === id);
    } catch {
      return false;
    }
  }

  /** Marks an update safe. Idempotent; synchronous so it can run inside the agent's write. */
  settle(id: number): void {
    if (!this.#pending.delete(id)) return;
    this.#done.add(id);
    const low = this.#pending.size ? Math.min(...this.#pending) : this.#seen + 1;
    if (low > this.#offset) this.#offset = low;
    for (const d of this.#done) if (d < this.#offset) this.#done.delete(d);
    if (this.#done.size > MAX_DONE) {
      const oldest = Math.min(...this.#done);
      this.#done.delete(oldest);
    }
    this.#save();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves at the next settle, after `ms`, or on abort. */
  waitSettle(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        const i = this.#waiters.indexOf(done);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve();
      };
      const t = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.#waiters.push(done);
    });
  }

  #save(): void {
    try {
      this.#store.transaction(() => {
        this.#store.kvSet(OFFSET_KEY, String(this.#offset));
        this.#store.kvSet(STATE_KEY, JSON.stringify({ seen: this.#seen, done: [...this.#done] }));
      });
    } catch (err) {
      // The store is gone (shutdown) or full: polling goes on from memory; a restart may re-deliver.
      this.#log.error({ err: (err as Error).message }, 'could not save the Telegram offset');
    }
  }
}
