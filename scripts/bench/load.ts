// Memory under load, on the pi-zero-2w budget: --sessions sessions each send
// --turns prompts over MQTT (one at a time per session, all sessions at once,
// deltas streamed), answered by a replaying LLM on loopback in its own process
// (1 KB answers in 4-character events; every fourth prompt makes the model call
// current_time first, so tool calls and their second LLM round are in the mix;
// long sessions get compacted as configured). Telegram (emulator) and health
// stay enabled, as on a device.
//
// Why MQTT and a separate process: it is the real path (broker, dialog, agent,
// SQLite, device layer) and the driver's own memory never mixes into aeon's;
// the Telegram emulator is too slow to push 10,000 turns through in minutes.
// aeon is `node <pi-zero-2w V8 flags> aeon-x64.js` (the binary bakes in the
// x64 flags), with the board's budget except max_concurrent_turns raised to
// --sessions so they really stream at the same time (the board runs 8 at once
// and queues the rest, which needs less memory).
//
// Figures: RSS and heap after a full GC before the load (idle), the peaks
// while it runs (VmHWM; heap sampled from /status every 250 ms), and after a
// full GC after each half of the turns (the second half adding nothing means
// no leak), with where the RSS lives (/proc/<pid>/smaps). Bounded by --max-s.
//
//   node scripts/bench/load.ts [--sessions 50] [--turns 200] [--max-s 300] [--dist DIR]
import os from 'node:os';
import { Aeon, board, build, launch, mb, opt, sleep, smapsBreakdown, summary, table, verdict, type AeonStatus, type ProcMem } from './_lib.ts';
import { startLlmServer } from './_llm-server.ts';
import { connectClient, startPeers } from './_peers.ts';

const SESSIONS = opt('sessions', 50);
const TURNS = opt('turns', 200);
const MAX_S = opt('max-s', 300);
const BOARD = 'pi-zero-2w';
const budget = board(BOARD);

const b = build();
const peers = await startPeers({ telegram: true });
const llm = await startLlmServer({ chars: 1024, chunk: 4 });
const l = launch('binary', b, BOARD);
const aeon = await Aeon.start(l, {
  config: {
    agents: { main: { provider: 'openai', model: 'gpt-4o-mini', api_key: 'sk-bench-0000', base_url: `${llm.url}/v1`, tools: ['current_time'] } },
    dialogs: peers.dialogs(),
    budget: { max_concurrent_turns: SESSIONS },
  },
  env: { AEON_LOG_LEVEL: 'warn' },
});

const client = await connectClient(peers.broker.url, peers.broker.mqtt5 ? 5 : 4);
const base = 'aeon/bench';
await client.subscribeAsync([`${base}/reply`, `${base}/reply/delta`], { qos: 1 });

interface Reply {
  id: string;
  error?: { code: string; message: string };
  text?: string;
}
const waiting = new Map<string, (r: Reply) => void>();
let deltas = 0;
client.on('message', (topic, payload) => {
  if (topic.endsWith('/delta')) {
    deltas++;
    return;
  }
  const r = JSON.parse(payload.toString()) as Reply;
  const w = waiting.get(String(r.id));
  if (w) {
    waiting.delete(String(r.id));
    w(r);
  }
});

const ask = (id: string, session: string, text: string) =>
  new Promise<Reply>((resolve) => {
    waiting.set(id, resolve);
    client.publish(`${base}/prompt`, JSON.stringify({ id, session, text, stream: true }), { qos: 1 });
  });

// Warm: one turn per session shape, then idle after a full GC.
await ask('warm-1', 'warm', 'hello');
await ask('warm-2', 'warm', 'what time is it [time]');
await sleep(1000);
const idle = await aeon.afterGc();
const idleWhere = smapsBreakdown(aeon.pid);

let peakHeap = idle.status.heap_used_bytes;
let peakTotal = idle.status.heap_total_bytes;
let peakRss = 0;
let peakWhere: Record<string, number> = {};
const sampler = setInterval(() => {
  aeon.status().then(
    (s) => {
      peakHeap = Math.max(peakHeap, s.heap_used_bytes);
      peakTotal = Math.max(peakTotal, s.heap_total_bytes);
    },
    () => {},
  );
  const rss = aeon.mem().rss;
  if (rss > peakRss) {
    peakRss = rss;
    peakWhere = smapsBreakdown(aeon.pid);
  }
}, 250);

// Two rounds of half the turns each: memory after the second round, next to
// after the first, shows whether it keeps growing (a leak) or has settled.
const errors = new Map<string, number>();
let done = 0;
const cpu0 = aeon.cpuUs();
const t0 = performance.now();
const deadline = t0 + MAX_S * 1000;
async function round(from: number, to: number): Promise<void> {
  await Promise.all(
    Array.from({ length: SESSIONS }, async (_, s) => {
      for (let t = from; t < to && performance.now() < deadline; t++) {
        const id = `s${s}-t${t}`;
        let timer: NodeJS.Timeout | undefined;
        const r = await Promise.race([
          ask(id, `s${s}`, t % 4 === 1 ? `what time is it? [time] (turn ${t})` : `how is the greenhouse? (turn ${t})`),
          new Promise<Reply>((resolve) => (timer = setTimeout(() => resolve({ id, error: { code: 'bench_timeout', message: 'no reply in 60 s' } }), 60_000))),
        ]);
        clearTimeout(timer);
        if (r.error) errors.set(r.error.code, (errors.get(r.error.code) ?? 0) + 1);
        done++;
      }
    }),
  );
}
await round(0, TURNS >> 1);
const seconds1 = (performance.now() - t0) / 1000;
await sleep(2000);
const mid = await aeon.afterGc();
const t1 = performance.now();
await round(TURNS >> 1, TURNS);
const seconds = seconds1 + (performance.now() - t1) / 1000;
const cpuS = (aeon.cpuUs() - cpu0) / 1e6;
clearInterval(sampler);
const peak = aeon.mem();
await sleep(2000);
const after = await aeon.afterGc();
const afterWhere = smapsBreakdown(aeon.pid);
const served = await llm.stats();
const heapLimit = after.status.heap_limit_bytes;

await client.endAsync();
await aeon.stop();
llm.stop();
await peers.close();

const sign = (n: number) => `${n >= 0 ? '+' : ''}${mb(n)}`;
const row = (name: string, m: ProcMem, s: Pick<AeonStatus, 'heap_used_bytes' | 'heap_total_bytes'>) => [name, mb(m.rss), mb(s.heap_used_bytes), mb(s.heap_total_bytes)];
console.log(`${SESSIONS} sessions × ${TURNS} turns over MQTT (deltas streamed), ${l.label}, board ${BOARD} with max_concurrent_turns ${SESSIONS}; Node ${process.version}, ${os.cpus().length} CPUs`);
console.log(`${done} turns in ${seconds.toFixed(1)} s (${(done / seconds).toFixed(0)} turns/s, aeon CPU ${cpuS.toFixed(1)} s); LLM requests ${JSON.stringify(served)}; ${deltas} delta messages; errors ${JSON.stringify(Object.fromEntries(errors))}`);
table(
  ['moment', 'RSS MB', 'heap used MB', 'heap total MB'],
  [
    row('idle, after a full GC (warmed: 2 turns)', idle.mem, idle.status),
    [`peak while ${SESSIONS} sessions stream (VmHWM; heap sampled)`, mb(peak.hwm), mb(peakHeap), mb(peakTotal)],
    row(`after ${done >> 1} turns, after a full GC`, mid.mem, mid.status),
    row(`after ${done} turns, after a full GC`, after.mem, after.status),
    [`second half − first half (growth per ${done >> 1} turns)`, sign(after.mem.rss - mid.mem.rss), sign(after.status.heap_used_bytes - mid.status.heap_used_bytes), ''],
    ['pi-zero-2w budget (MemoryMax; heap_mb → V8 limit)', String(budget.memory_max_mb), `${budget.heap_mb} (limit ${mb(heapLimit, 0)})`, ''],
  ],
);
console.log('');
const kinds = [...new Set([...Object.keys(idleWhere), ...Object.keys(peakWhere), ...Object.keys(afterWhere)])].sort();
table(['RSS by mapping (/proc/<pid>/smaps), MB', ...kinds], [
  ['idle', ...kinds.map((k) => mb(idleWhere[k] ?? 0))],
  ['at the highest RSS sampled', ...kinds.map((k) => mb(peakWhere[k] ?? 0))],
  ['after, after a full GC', ...kinds.map((k) => mb(afterWhere[k] ?? 0))],
]);

const growth = (after.mem.rss - mid.mem.rss) / 1048576;
summary([
  { figure: `peak RSS, ${SESSIONS} sessions streaming (pi-zero-2w)`, value: `${mb(peak.hwm)} MB (heap ${mb(peakHeap)})`, baseline: `${mb(idle.mem.rss)} MB idle`, ratio: `${(peak.hwm / idle.mem.rss).toFixed(2)}×`, target: '< 96 MB', verdict: verdict(peak.hwm / 1048576, 96, ' MB', 1) },
  { figure: `RSS after ${done} turns and a GC`, value: `${mb(after.mem.rss)} MB (heap ${mb(after.status.heap_used_bytes)})`, baseline: `${mb(idle.mem.rss)} MB (heap ${mb(idle.status.heap_used_bytes)}) idle`, ratio: `${sign(after.mem.rss - idle.mem.rss)} MB`, target: 'within a few MB of idle', verdict: '' },
  { figure: 'RSS growth over the second half of the turns', value: `${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB`, baseline: `${mb(mid.mem.rss)} MB after the first half`, ratio: '', target: '≈ 0 (no leak)', verdict: verdict(Math.abs(growth), 2, ' MB', 1) },
]);
