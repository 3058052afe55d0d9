// History-window read latency at 100k stored messages (target: p99 < 1 ms),
// next to the same read without the index as the baseline a naive schema gives.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Store } from '../../src/store/index.ts';
import { summary, verdict } from './_lib.ts';

const SESSIONS = 200;
const PER_SESSION = 500; // 100k messages
const READS = 5000;
const WINDOW = 40; // pi-zero-2w history window

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-bench-'));
const store = Store.open({ path: path.join(dir, 'aeon.db'), cache_kb: 2048 });
const text = 'The hall light is on and the kitchen is 21.5 degrees; tomorrow at 7 the heating starts. '.repeat(3);
const t0 = performance.now();
store.transaction(() => {
  for (let s = 0; s < SESSIONS; s++) store.ensureSession(`agent:main:telegram:${s}`, { agent_id: 'main', dialog: 'telegram', chat: String(s) });
  // Interleave sessions, as real traffic does, so one session's rows are spread over the file.
  for (let i = 0; i < PER_SESSION; i++) {
    for (let s = 0; s < SESSIONS; s++) store.append(`agent:main:telegram:${s}`, { role: i % 2 ? 'assistant' : 'user', content: `${i} ${text}` });
  }
});
const fill = performance.now() - t0;
store.db.pragma('wal_checkpoint(TRUNCATE)');

function measure(read: (key: string) => unknown): { p50: number; p99: number } {
  const times: number[] = [];
  for (let i = 0; i < READS; i++) {
    const key = `agent:main:telegram:${(i * 7919) % SESSIONS}`;
    const t = process.hrtime.bigint();
    read(key);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(READS * 0.5)]!, p99: times[Math.floor(READS * 0.99)]! };
}

const indexed = measure((k) => store.history(k, WINDOW));
const naive = store.db.prepare('SELECT * FROM messages NOT INDEXED WHERE session_key = ? AND compacted = 0 ORDER BY id DESC LIMIT ?');
const scan = measure((k) => naive.all(k, WINDOW));
const size = store.sizeBytes();
store.close();
fs.rmSync(dir, { recursive: true, force: true });

const f = (n: number) => n.toFixed(3).padStart(8);
console.log(`messages: ${SESSIONS * PER_SESSION} in ${SESSIONS} sessions (filled in ${(fill / 1000).toFixed(1)} s, file ${(size / 1e6).toFixed(1)} MB); window ${WINDOW}; ${READS} reads`);
console.log('read                          p50 ms   p99 ms');
console.log(`aeon history() (indexed)    ${f(indexed.p50)} ${f(indexed.p99)}`);
console.log(`baseline: same query, no index ${f(scan.p50)} ${f(scan.p99)}   (${(scan.p50 / indexed.p50).toFixed(0)}x slower at p50)`);
console.log(`target p99 < 1 ms: ${indexed.p99 < 1 ? 'met' : `missed by ${(indexed.p99 - 1).toFixed(3)} ms`}`);
summary([
  {
    figure: `history read at ${(SESSIONS * PER_SESSION) / 1000}k messages (window ${WINDOW})`,
    value: `p50 ${indexed.p50.toFixed(3)} / p99 ${indexed.p99.toFixed(3)} ms`,
    baseline: `p50 ${scan.p50.toFixed(3)} / p99 ${scan.p99.toFixed(3)} ms (no index)`,
    ratio: `${(indexed.p50 / scan.p50).toFixed(3)}× p50`,
    target: 'p99 < 1 ms',
    verdict: verdict(indexed.p99, 1, ' ms', 3),
  },
]);
