import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SCHEMA_VERSION, Store, StoreError } from '../../src/store/index.ts';
import { tempDir } from '../helpers/tmp.ts';

function tmpDb(): string {
  return path.join(tempDir('aeon-store-'), 'sub', 'aeon.db');
}

const PARTS = { agent_id: 'main', dialog: 'cli', chat: 'default' };

describe('store', () => {
  it('round-trips messages with tool calls and results', () => {
    const store = Store.open({ path: tmpDb() });
    store.ensureSession('k', PARTS);
    store.append('k', { role: 'user', content: 'turn on the lamp', meta: { update_id: 7 } });
    store.append('k', { role: 'assistant', content: '', tool_calls: [{ id: 'c1', name: 'mqtt_publish', arguments: '{"topic":"a"}' }] });
    store.append('k', { role: 'tool', content: 'ok', tool_call_id: 'c1', name: 'mqtt_publish', is_error: false });
    store.append('k', { role: 'assistant', content: 'Done.' });
    const w = store.history('k', 10);
    assert.deepEqual(w.messages.map((m) => m.role), ['user', 'assistant', 'tool', 'assistant']);
    assert.deepEqual(w.messages[0]!.meta, { update_id: 7 });
    assert.deepEqual(w.messages[1]!.tool_calls, [{ id: 'c1', name: 'mqtt_publish', arguments: '{"topic":"a"}' }]);
    assert.equal(w.messages[2]!.tool_call_id, 'c1');
    assert.equal(w.messages[2]!.is_error, false);
    assert.equal(store.getSession('k')!.messages, 4);
    store.close();
  });

  it('keeps data across reopen and applies WAL', () => {
    const file = tmpDb();
    const a = Store.open({ path: file });
    a.ensureSession('k', PARTS);
    a.append('k', { role: 'user', content: 'hello' });
    assert.equal(a.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(a.db.pragma('synchronous', { simple: true }), 1); // NORMAL
    assert.equal(a.db.pragma('auto_vacuum', { simple: true }), 2); // INCREMENTAL
    assert.equal(a.db.pragma('page_size', { simple: true }), 1024, 'small pages: fewer bytes written per commit');
    a.close();
    const b = Store.open({ path: file });
    assert.equal(b.history('k', 5).messages[0]!.content, 'hello');
    assert.equal(b.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    b.close();
  });

  it('returns the newest N messages oldest first, and the summary', () => {
    const store = Store.open({ path: ':memory:' });
    store.ensureSession('k', PARTS);
    const ids = Array.from({ length: 10 }, (_, i) => store.append('k', { role: i % 2 ? 'assistant' : 'user', content: `m${i}` }));
    assert.deepEqual(store.history('k', 3).messages.map((m) => m.content), ['m7', 'm8', 'm9']);
    store.setSummary('k', 'earlier: m0..m5', ids[5]!, 'mark');
    const w = store.history('k', 100);
    assert.equal(w.summary, 'earlier: m0..m5');
    assert.deepEqual(w.messages.map((m) => m.content), ['m6', 'm7', 'm8', 'm9']);
    assert.equal([...store.messages('k')].length, 10, 'marked rows are kept for export');
    store.setSummary('k', 'earlier: m0..m7', ids[7]!, 'delete');
    assert.equal([...store.messages('k')].length, 2, 'delete mode removes folded rows');
  });

  it('keeps sessions apart and clears one', () => {
    const store = Store.open({ path: ':memory:' });
    store.ensureSession('a', PARTS);
    store.ensureSession('b', { ...PARTS, chat: 'other' });
    store.append('a', { role: 'user', content: 'A' });
    store.append('b', { role: 'user', content: 'B' });
    assert.equal(store.clearSession('a'), 1);
    assert.equal(store.getSession('a'), undefined);
    assert.equal(store.history('b', 5).messages[0]!.content, 'B');
  });

  it('keeps the page size of a database made by an earlier aeon', () => {
    const file = tmpDb();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const old = new Database(file);
    old.pragma('page_size = 4096');
    old.exec('CREATE TABLE t (x)');
    old.close();
    const s = Store.open({ path: file });
    assert.equal(s.db.pragma('page_size', { simple: true }), 4096);
    s.close();
  });

  it('sums usage per day, model and user', () => {
    let now = Date.parse('2026-11-21T10:00:00Z');
    const store = Store.open({ path: ':memory:', now: () => now });
    store.addUsage({ session_key: 'k', model: 'openai/gpt-4o-mini', user_id: '42', input: 100, output: 10, cost_usd: 0.01 });
    store.addUsage({ session_key: 'k', model: 'openai/gpt-4o-mini', user_id: '42', input: 50, output: 5, cost_usd: 0.005 });
    store.addUsage({ session_key: 'k', model: 'ollama/llama3.2', input: 1, output: 1, cost_usd: 0 });
    assert.ok(Math.abs(store.spentToday() - 0.015) < 1e-9);
    assert.ok(Math.abs(store.spentToday('42') - 0.015) < 1e-9);
    assert.equal(store.spentToday('7'), 0);
    const rows = store.usageSince('2026-11-01');
    assert.deepEqual(rows.map((r) => [r.model, r.input_tokens, r.output_tokens, r.requests]), [
      ['openai/gpt-4o-mini', 150, 15, 2],
      ['ollama/llama3.2', 1, 1, 1],
    ]);
    now += 86_400_000;
    assert.equal(store.spentToday(), 0, 'a new UTC day starts at zero');
  });

  it('stores key-value state', () => {
    const store = Store.open({ path: ':memory:' });
    assert.equal(store.kvGet('telegram.offset'), undefined);
    store.kvSet('telegram.offset', '41');
    store.kvSet('telegram.offset', '42');
    assert.equal(store.kvGet('telegram.offset'), '42');
  });

  it('prunes messages past retention', () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const store = Store.open({ path: tmpDb(), now: () => now });
    store.ensureSession('k', PARTS);
    store.append('k', { role: 'user', content: 'old' });
    now += 100 * 86_400_000;
    store.append('k', { role: 'user', content: 'new' });
    assert.equal(store.prune(90), 1);
    assert.deepEqual(store.history('k', 10).messages.map((m) => m.content), ['new']);
    assert.equal(store.prune(0), 0, '0 keeps everything');
  });

  it('refuses a database from a newer aeon without touching it', () => {
    const file = tmpDb();
    Store.open({ path: file }).close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    const before = fs.readFileSync(file);
    assert.throws(() => Store.open({ path: file }), (err: unknown) => err instanceof StoreError && /written by a newer aeon/.test(err.message) && err.message.includes(`version ${SCHEMA_VERSION + 1}`));
    assert.deepEqual(fs.readFileSync(file), before);
  });

  it('refuses a file that is not a database with a plain reason', () => {
    const file = tmpDb();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'this is not sqlite'.repeat(100));
    assert.throws(() => Store.open({ path: file }), (err: unknown) => err instanceof StoreError && /not a readable SQLite database|file is not a database/.test(err.message));
  });

  it('migrates an empty database created by hand', () => {
    const file = tmpDb();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    new Database(file).close();
    const store = Store.open({ path: file });
    assert.equal(store.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(store.integrityCheck(), 'ok');
  });
});
