// The one SQLite database: sessions, messages, usage, small key-value state.
// Synchronous better-sqlite3 calls on statements prepared once; WAL with
// synchronous=NORMAL (a crash loses at most the last commits' durability, never
// consistency) so the SD card sees few fsyncs; one writer (this process).
import fs from 'node:fs';
import path from 'node:path';
import type { Database as Db, Statement } from 'better-sqlite3';
import type { ToolCall } from '../llm/types.ts';
import { MIGRATIONS } from './migrations.ts';
import { openSqlite } from './sqlite.ts';

export type Role = 'user' | 'assistant' | 'tool';

export interface NewMessage {
  role: Role;
  content: string;
  /** assistant: the tool calls it made. */
  tool_calls?: ToolCall[];
  /** tool: which call this answers. */
  tool_call_id?: string;
  name?: string;
  is_error?: boolean;
  tokens?: number;
  meta?: Record<string, unknown>;
}

export interface StoredMessage extends NewMessage {
  id: number;
  session_key: string;
  created_at: number;
  tokens: number;
  compacted: boolean;
}

export interface SessionRow {
  session_key: string;
  agent_id: string;
  dialog: string;
  chat: string;
  created_at: number;
  updated_at: number;
  summary: string | null;
  summary_through: number;
  messages: number;
}

export interface SessionParts {
  agent_id: string;
  dialog: string;
  chat: string;
}

export interface HistoryWindow {
  summary: string | null;
  /** Oldest first. */
  messages: StoredMessage[];
}

export interface UsageRow {
  model: string;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  requests: number;
}

export class StoreError extends Error {
  override name = 'StoreError';
}

export interface StoreOptions {
  /** File path, or `:memory:`. */
  path: string;
  cache_kb?: number;
  readonly?: boolean;
  now?: () => number;
}

interface MessageRow {
  id: number;
  session_key: string;
  role: Role;
  content: string;
  tool_data: string | null;
  created_at: number;
  tokens: number;
  compacted: number;
  meta: string | null;
}

export const SCHEMA_VERSION = MIGRATIONS.length;

export class Store {
  readonly path: string;
  readonly db: Db;
  readonly #now: () => number;
  readonly #s: Record<string, Statement>;

  private constructor(db: Db, file: string, now: () => number) {
    this.db = db;
    this.path = file;
    this.#now = now;
    this.#s = prepare(db);
  }

  /** Opens (creating if needed) and migrates. Throws StoreError with a plain reason. */
  static open(opts: StoreOptions): Store {
    const file = opts.path;
    if (file !== ':memory:' && !opts.readonly) fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    let db: Db;
    try {
      db = openSqlite(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
    } catch (err) {
      throw new StoreError(`cannot open database ${file}: ${(err as Error).message}`);
    }
    try {
      const version = readVersion(db, file);
      if (version > SCHEMA_VERSION) {
        throw new StoreError(
          `database ${file} has schema version ${version}, but this aeon knows only up to ${SCHEMA_VERSION}: it was written by a newer aeon. Upgrade aeon, or restore a backup; the file was not changed.`,
        );
      }
      if (!opts.readonly) {
        if (version === 0) {
          // Both only take effect before the first table. 1 KiB pages: every
          // commit writes each page it touched into the WAL, and a turn's few
          // small rows touch the same handful of pages: 4 KiB pages made that
          // ~50 KB written per turn, 1 KiB pages ~18 KB (SD cards wear;
          // scripts/bench/disk.ts, docs/benchmarks.md).
          db.pragma('page_size = 1024');
          db.pragma('auto_vacuum = INCREMENTAL');
        }
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        db.pragma('journal_size_limit = 4194304');
      }
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = ON');
      db.pragma(`cache_size = -${Math.max(64, opts.cache_kb ?? 2048)}`);
      if (!opts.readonly) migrate(db, version);
      return new Store(db, file, opts.now ?? Date.now);
    } catch (err) {
      db.close();
      if (err instanceof StoreError) throw err;
      throw new StoreError(`cannot use database ${file}: ${(err as Error).message}`);
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  /** Runs `fn` in one transaction (all or nothing). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  ensureSession(key: string, parts: SessionParts): void {
    const now = this.#now();
    this.#s.ensureSession!.run(key, parts.agent_id, parts.dialog, parts.chat, now, now);
  }

  /** Appends a message (the session must exist) and returns its id. */
  append(key: string, m: NewMessage): number {
    const now = this.#now();
    const toolData = m.role === 'assistant'
      ? (m.tool_calls?.length ? JSON.stringify(m.tool_calls) : null)
      : m.role === 'tool'
        ? JSON.stringify({ tool_call_id: m.tool_call_id, name: m.name, is_error: m.is_error ?? false })
        : null;
    const info = this.#s.append!.run(key, m.role, m.content, toolData, now, m.tokens ?? 0, m.meta ? JSON.stringify(m.meta) : null);
    this.#s.touch!.run(now, key);
    return Number(info.lastInsertRowid);
  }

  /** Summary plus the newest `limit` messages not yet folded into it, oldest first. */
  history(key: string, limit: number): HistoryWindow {
    const s = this.#s.summary!.get(key) as { summary: string | null } | undefined;
    const rows = this.#s.window!.all(key, limit) as MessageRow[];
    rows.reverse();
    return { summary: s?.summary ?? null, messages: rows.map(toMessage) };
  }

  /** Every message of a session (compacted too), oldest first, for show/export. */
  *messages(key: string): IterableIterator<StoredMessage> {
    for (const r of this.#s.allMessages!.iterate(key) as IterableIterator<MessageRow>) yield toMessage(r);
  }

  getSession(key: string): SessionRow | undefined {
    return this.#s.getSession!.get(key) as SessionRow | undefined;
  }

  listSessions(limit = 100): SessionRow[] {
    return this.#s.listSessions!.all(limit) as SessionRow[];
  }

  /** Forgets a session's messages and summary (`/reset`). Usage rows stay. Returns messages deleted. */
  clearSession(key: string): number {
    return this.transaction(() => {
      const n = this.#s.deleteMessages!.run(key).changes;
      this.#s.deleteSession!.run(key);
      return n;
    });
  }

  /**
   * Folds messages up to and including `throughId` into the summary: they are
   * marked (hidden from the window, kept for export) or deleted.
   */
  setSummary(key: string, summary: string, throughId: number, mode: 'mark' | 'delete'): void {
    this.transaction(() => {
      this.#s.setSummary!.run(summary, throughId, this.#now(), key);
      if (mode === 'delete') this.#s.deleteThrough!.run(key, throughId);
      else this.#s.markThrough!.run(key, throughId);
    });
  }

  /** Drops the oldest window rows without a summary (when summarising failed). */
  trimThrough(key: string, throughId: number): void {
    this.#s.markThrough!.run(key, throughId);
  }

  addUsage(u: { session_key: string; model: string; user_id?: string; input: number; output: number; cost_usd: number; day?: string }): void {
    this.#s.addUsage!.run(u.day ?? this.day(), u.session_key, u.model, u.user_id ?? '', u.input, u.output, u.cost_usd);
  }

  /** Usage by model from `fromDay` (inclusive, YYYY-MM-DD, UTC) on. */
  usageSince(fromDay: string): UsageRow[] {
    return this.#s.usageSince!.all(fromDay) as UsageRow[];
  }

  /** USD spent today (UTC), overall or by one user. */
  spentToday(userId?: string): number {
    const r = (userId === undefined ? this.#s.spentDay!.get(this.day()) : this.#s.spentDayUser!.get(this.day(), userId)) as { usd: number | null };
    return r.usd ?? 0;
  }

  kvGet(key: string): string | undefined {
    return (this.#s.kvGet!.get(key) as { value: string } | undefined)?.value;
  }

  kvSet(key: string, value: string): void {
    this.#s.kvSet!.run(key, value, this.#now());
  }

  /** Deletes messages older than `days` and gives freed pages back to the file system. */
  prune(days: number): number {
    if (days <= 0) return 0;
    const n = this.#s.prune!.run(this.#now() - days * 86_400_000).changes;
    if (n > 0) this.db.pragma('incremental_vacuum');
    return n;
  }

  /** Database plus WAL size in bytes. */
  sizeBytes(): number {
    if (this.path === ':memory:') return 0;
    let total = 0;
    for (const f of [this.path, `${this.path}-wal`]) {
      try {
        total += fs.statSync(f).size;
      } catch {
        // absent WAL is fine
      }
    }
    return total;
  }

  integrityCheck(): string {
    return String(this.db.pragma('integrity_check', { simple: true }));
  }

  day(t = this.#now()): string {
    return new Date(t).toISOString().slice(0, 10);
  }
}

function readVersion(db: Db, file: string): number {
  try {
    return Number(db.pragma('user_version', { simple: true }));
  } catch (err) {
    throw new StoreError(`${file} is not a readable SQLite database (${(err as Error).message}); move it away and aeon will start a new one`);
  }
}

function migrate(db: Db, from: number): void {
  for (let v = from; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      MIGRATIONS[v]!(db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

function prepare(db: Db): Record<string, Statement> {
  const sql: Record<string, string> = {
    ensureSession: `INSERT INTO sessions (session_key, agent_id, dialog, chat, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(session_key) DO NOTHING`,
    touch: `UPDATE sessions SET updated_at = ? WHERE session_key = ?`,
    append: `INSERT INTO messages (session_key, role, content, tool_data, created_at, tokens, meta) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    summary: `SELECT summary FROM sessions WHERE session_key = ?`,
    window: `SELECT * FROM messages WHERE session_key = ? AND compacted = 0 ORDER BY id DESC LIMIT ?`,
    allMessages: `SELECT * FROM messages WHERE session_key = ? ORDER BY id`,
    getSession: `SELECT s.*, (SELECT count(*) FROM messages m WHERE m.session_key = s.session_key) AS messages FROM sessions s WHERE session_key = ?`,
    listSessions: `SELECT s.*, (SELECT count(*) FROM messages m WHERE m.session_key = s.session_key) AS messages FROM sessions s ORDER BY updated_at DESC LIMIT ?`,
    deleteMessages: `DELETE FROM messages WHERE session_key = ?`,
    deleteSession: `DELETE FROM sessions WHERE session_key = ?`,
    setSummary: `UPDATE sessions SET summary = ?, summary_through = ?, updated_at = ? WHERE session_key = ?`,
    markThrough: `UPDATE messages SET compacted = 1 WHERE session_key = ? AND id <= ? AND compacted = 0`,
    deleteThrough: `DELETE FROM messages WHERE session_key = ? AND id <= ?`,
    addUsage: `INSERT INTO usage (day, session_key, model, user_id, input_tokens, output_tokens, cost_usd, requests) VALUES (?, ?, ?, ?, ?, ?, ?, 1)
      ON CONFLICT(day, session_key, model, user_id) DO UPDATE SET input_tokens = input_tokens + excluded.input_tokens,
      output_tokens = output_tokens + excluded.output_tokens, cost_usd = cost_usd + excluded.cost_usd, requests = requests + 1`,
    usageSince: `SELECT model, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, sum(cost_usd) AS cost_usd, sum(requests) AS requests FROM usage WHERE day >= ? GROUP BY model ORDER BY cost_usd DESC, model`,
    spentDay: `SELECT sum(cost_usd) AS usd FROM usage WHERE day = ?`,
    spentDayUser: `SELECT sum(cost_usd) AS usd FROM usage WHERE day = ? AND user_id = ?`,
    kvGet: `SELECT value FROM kv WHERE key = ?`,
    kvSet: `INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    prune: `DELETE FROM messages WHERE created_at < ?`,
  };
  return Object.fromEntries(Object.entries(sql).map(([k, q]) => [k, db.prepare(q)]));
}

function toMessage(r: MessageRow): StoredMessage {
  const m: StoredMessage = { id: r.id, session_key: r.session_key, role: r.role, content: r.content, created_at: r.created_at, tokens: r.tokens, compacted: r.compacted === 1 };
  if (r.tool_data) {
    const d = JSON.parse(r.tool_data);
    if (r.role === 'assistant') m.tool_calls = d;
    else {
      m.tool_call_id = d.tool_call_id;
      m.name = d.name;
      m.is_error = d.is_error;
    }
  }
  if (r.meta) m.meta = JSON.parse(r.meta);
  return m;
}
