// Bytes written to storage per turn, since SD cards wear out: --turns turns of a
// ~1 KB answer (a short prompt, the answer streamed from a replaying LLM,
// stored with its usage row), one at a time over MQTT, spread over --sessions
// sessions. Counted by the kernel: /proc/<pid>/io write_bytes of the aeon
// process (pages it dirtied in the page cache: SQLite's WAL appends and
// checkpoints, anything else it writes). aeon's log lines are not in it (they
// go to a pipe here, to journald on a device), so their bytes are shown apart.
// Where the kernel does not account task I/O (some containers read 0), the
// growth of the database and its WAL is shown instead, and the table says so.
//
// Baseline: the text itself (prompt + answer bytes), so the ratio is the write
// amplification of storing a turn.
//
//   node scripts/bench/disk.ts [--turns 300] [--sessions 10] [--dist DIR]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Aeon, build, launch, opt, summary, table, verdict, writeBytes } from './_lib.ts';
import { answerText, startLlmServer } from './_llm-server.ts';
import { connectClient, startPeers } from './_peers.ts';

const TURNS = opt('turns', 300);
const SESSIONS = opt('sessions', 10);
const CHARS = 1024;

const b = build();
const peers = await startPeers({ telegram: false });
const llm = await startLlmServer({ chars: CHARS, chunk: 4 });
const l = launch('binary', b, 'pi-zero-2w');
const a = await Aeon.start(l, {
  config: { agents: { main: { provider: 'openai', model: 'gpt-4o-mini', api_key: 'sk-bench-0000', base_url: `${llm.url}/v1` } }, dialogs: peers.dialogs() },
  env: { AEON_LOG_LEVEL: 'info' },
  logTo: 'count',
});
const client = await connectClient(peers.broker.url, peers.broker.mqtt5 ? 5 : 4);
await client.subscribeAsync('aeon/bench/reply', { qos: 1 });
const waiting = new Map<string, () => void>();
client.on('message', (_t, payload) => {
  const id = String((JSON.parse(payload.toString()) as { id: string }).id);
  waiting.get(id)?.();
  waiting.delete(id);
});
const promptText = (i: number) => `How warm is the greenhouse now, and is the hall light on? (${i})`;
const ask = (i: number) =>
  new Promise<void>((resolve) => {
    const id = `d${i}`;
    waiting.set(id, resolve);
    client.publish('aeon/bench/prompt', JSON.stringify({ id, session: `s${i % SESSIONS}`, text: promptText(i) }), { qos: 1 });
  });

const dbFiles = () => ['aeon.db', 'aeon.db-wal'].map((f) => path.join(a.dir, 'data', f));
const dbBytes = () => dbFiles().reduce((n, f) => n + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);

// A few turns first: the schema, the sessions' first rows, the LLM socket.
for (let i = 0; i < SESSIONS; i++) await ask(-1 - i);
const w0 = writeBytes(a.pid);
const db0 = dbBytes();
const log0 = a.logBytes;
for (let i = 0; i < TURNS; i++) await ask(i);
await new Promise((r) => setTimeout(r, 500));
const w1 = writeBytes(a.pid);
const db1 = dbBytes();
const log1 = a.logBytes;
await client.endAsync();
await a.stop();
llm.stop();
await peers.close();

const text = Buffer.byteLength(answerText(CHARS)) + Buffer.byteLength(promptText(100));
const accounted = w0 !== undefined && w1 !== undefined && w1.write_bytes > w0.write_bytes;
const perTurn = accounted ? (w1!.write_bytes - w0!.write_bytes) / TURNS : (db1 - db0) / TURNS;
const source = accounted ? '/proc/<pid>/io write_bytes' : 'database + WAL growth (no task I/O accounting here)';
const kb = (n: number) => (n / 1024).toFixed(1);
console.log(`${TURNS} turns of a ${CHARS}-character answer over MQTT on ${SESSIONS} sessions, ${l.label}; Node ${process.version}, ${os.cpus().length} CPUs`);
table(
  ['per turn', 'KB'],
  [
    [`written to storage (${source})`, kb(perTurn)],
    ...(accounted ? [['  of which cancelled before write-back (cancelled_write_bytes)', kb((w1!.cancelled - w0!.cancelled) / TURNS)]] : []),
    ['database + WAL file growth', kb((db1 - db0) / TURNS)],
    ['log output at level info (journald on a device; not in the figure above)', kb((log1 - log0) / TURNS)],
    ['baseline: the text of the turn (prompt + answer)', kb(text)],
  ],
);
summary([
  { figure: 'bytes written to storage per turn (1 KB answer)', value: `${kb(perTurn)} KB`, baseline: `${kb(text)} KB of text`, ratio: `${(perTurn / text).toFixed(1)}×`, target: '≤ 16 KB', verdict: verdict(perTurn / 1024, 16, ' KB', 1) },
]);
