// aeon's MQTT dialog under load: prompts per second and prompt→final-reply
// latency (p50/p99) over a real broker on loopback, with `--concurrency`
// prompts in flight on as many sessions; RSS of the dialog's process before
// and after `--prompts` prompts. The baseline is what the broker and two
// mqtt.js clients cost anyway: an echo client that answers each request
// straight back (the floor for any MQTT request/response). The dialog runs in
// a child process with the scripted agent (instant three-piece answer, no
// LLM, no history kept), so the figures are the dialog's own overhead.
//
// Mosquitto runs with set_tcp_nodelay true (its default, false, adds a ~40 ms
// delayed-ACK wait to most messages and hides everything else; --nagle keeps it).
//
//   node scripts/bench/mqtt.ts [--prompts 10000] [--concurrency 16] [--stream-prompts 2000] [--nagle] [--board pi-zero-2w|x64|none]
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { startBroker, type TestBroker } from '../../test/helpers/broker.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : dflt);
const PROMPTS = opt('prompts', 10_000);
const CONCURRENCY = opt('concurrency', 16);
const STREAM_PROMPTS = opt('stream-prompts', 2000);
const boardArg = args.includes('--board') ? args[args.indexOf('--board') + 1]! : 'pi-zero-2w';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// The dialog's process runs under the board's V8 flags, as aeon does on the
// device: with Node's defaults a busy process lets V8 grow the young
// generation to 128 MB (measured here: RSS +80 MB over 40,000 prompts with a
// flat used heap), which a 1 MB semi-space forbids.
const budget = boardArg === 'none' ? { heap_mb: 0, semi_space_mb: 0, v8_flags: [] } : (JSON.parse(fs.readFileSync(path.join(root, 'boards', `${boardArg}.json`), 'utf8')) as { budget: { heap_mb: number; semi_space_mb: number; v8_flags: string[] } }).budget;
const v8Flags = boardArg === 'none' ? [] : [`--max-old-space-size=${budget.heap_mb}`, `--max-semi-space-size=${budget.semi_space_mb}`, ...budget.v8_flags];

interface Run {
  n: number;
  seconds: number;
  p50: number;
  p99: number;
}

function connect(url: string, protocolVersion: 4 | 5): Promise<MqttClient> {
  const c = mqtt.connect(url, { protocolVersion, clientId: `bench-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, reconnectPeriod: 0 });
  return new Promise((resolve, reject) => {
    c.once('connect', () => {
      (c.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      resolve(c);
    });
    c.once('error', reject);
  });
}

/**
 * Closed loop: `concurrency` workers, each sends one request and waits for its
 * answer (matched by id) before the next. Latency per request in ms.
 */
async function load(client: MqttClient, n: number, concurrency: number, send: (id: string, slot: number) => void, answerId: (topic: string, payload: Buffer) => string | undefined): Promise<Run> {
  const waiting = new Map<string, () => void>();
  const onMessage = (topic: string, payload: Buffer) => {
    const id = answerId(topic, payload);
    const done = id === undefined ? undefined : waiting.get(id);
    if (done) {
      waiting.delete(id!);
      done();
    }
  };
  client.on('message', onMessage);
  const lat = new Float64Array(n);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, slot) => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        const id = `b${i}`;
        const start = performance.now();
        await new Promise<void>((resolve) => {
          waiting.set(id, resolve);
          send(id, slot);
        });
        lat[i] = performance.now() - start;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  client.off('message', onMessage);
  lat.sort();
  return { n, seconds, p50: lat[Math.floor(n * 0.5)]!, p99: lat[Math.min(n - 1, Math.floor(n * 0.99))]! };
}

async function startChild(broker: TestBroker, id: string, stream: boolean): Promise<{ child: ChildProcess; base: string; rss: () => Promise<{ rss: number; heap: number }> }> {
  const child = spawn(process.execPath, ['--expose-gc', ...v8Flags, path.join(root, 'test', 'helpers', 'mqtt-child.ts'), broker.url, broker.mqtt5 ? '1' : '0', id], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, AEON_MQTT_CHILD_BENCH: '1', AEON_MQTT_STREAM: stream ? '1' : '0' },
  });
  let buf = '';
  const lines: string[] = [];
  const waiters: Array<(l: string) => void> = [];
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  const nextLine = () => new Promise<string>((resolve) => (lines.length ? resolve(lines.shift()!) : waiters.push(resolve)));
  const ready = await nextLine();
  const base = ready.split(' ')[1]!;
  return {
    child,
    base,
    rss: async () => {
      child.kill('SIGUSR2');
      const [, rss, , heap] = (await nextLine()).split(' ');
      return { rss: Number(rss), heap: Number(heap) };
    },
  };
}

const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
const row = (name: string, r: Run) =>
  `| ${name} | ${r.n} | ${(r.n / r.seconds).toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`;

const broker = await startBroker({ tcpNoDelay: !args.includes('--nagle') });
const v: 4 | 5 = broker.mqtt5 ? 5 : 4;
const client = await connect(broker.url, v);
const children: ChildProcess[] = [];
try {
  // Baseline: the echo floor.
  const echo = await connect(broker.url, v);
  await echo.subscribeAsync('bench/echo/req', { qos: 1 });
  echo.on('message', (_t, payload) => echo.publish('bench/echo/res', payload, { qos: 1 }));
  await client.subscribeAsync('bench/echo/res', { qos: 1 });
  const echoSend = (id: string) => client.publish('bench/echo/req', JSON.stringify({ id, text: 'turn on the hall light' }), { qos: 1 });
  const byJsonId = (_t: string, p: Buffer) => (JSON.parse(p.toString()) as { id: string }).id;
  await load(client, 1000, CONCURRENCY, echoSend, byJsonId); // warm-up
  const baseline = await load(client, PROMPTS, CONCURRENCY, echoSend, byJsonId);
  await echo.endAsync();

  // aeon, finals only.
  const a = await startChild(broker, `bench${process.pid}`, false);
  children.push(a.child);
  await client.subscribeAsync(`${a.base}/reply`, { qos: 1 });
  const prompt = (base: string) => (id: string, slot: number) => client.publish(`${base}/prompt`, JSON.stringify({ text: 'turn on the hall light', id, session: `s${slot}` }), { qos: 1 });
  await load(client, 1000, CONCURRENCY, prompt(a.base), byJsonId); // warm-up: JIT, SQLite-free agent, sockets
  const before = await a.rss();
  const aeon = await load(client, PROMPTS, CONCURRENCY, prompt(a.base), byJsonId);
  const afterRss = await a.rss();
  // A second round shows whether memory keeps growing or has settled.
  await load(client, PROMPTS, CONCURRENCY, prompt(a.base), byJsonId);
  const after2 = await a.rss();
  a.child.kill('SIGKILL');

  // aeon with deltas streamed for every prompt.
  const s = await startChild(broker, `benchs${process.pid}`, true);
  children.push(s.child);
  await client.subscribeAsync(`${s.base}/reply`, { qos: 1 });
  await load(client, 200, CONCURRENCY, prompt(s.base), byJsonId);
  const streamed = await load(client, STREAM_PROMPTS, CONCURRENCY, prompt(s.base), byJsonId);
  s.child.kill('SIGKILL');

  console.log(`broker: ${broker.kind} on loopback${broker.kind === 'mosquitto' ? (args.includes('--nagle') ? ' (default set_tcp_nodelay false)' : ' (set_tcp_nodelay true)') : ''}, MQTT ${v === 5 ? '5' : '3.1.1'}, QoS 1, ${CONCURRENCY} in flight, Node ${process.version}`);
  console.log(`dialog process V8 flags (board ${boardArg}): ${v8Flags.join(' ') || 'Node defaults'}`);
  console.log('');
  console.log('| path | prompts | per second | p50 ms | p99 ms |');
  console.log('|---|---|---|---|---|');
  console.log(row('baseline: mqtt.js echo client (broker + 2 hops)', baseline));
  console.log(row('aeon MQTT dialog, final reply only', aeon));
  console.log(row('aeon MQTT dialog, deltas streamed too', streamed));
  console.log('');
  const delta = (x: number) => `${x >= 0 ? '+' : ''}${mb(x)}`;
  console.log(`dialog process (after GC): RSS ${mb(before.rss)}, heap ${mb(before.heap)} after warm-up`);
  console.log(`  after ${PROMPTS} prompts: RSS ${mb(afterRss.rss)} (${delta(afterRss.rss - before.rss)}), heap ${mb(afterRss.heap)} (${delta(afterRss.heap - before.heap)})`);
  console.log(`  after ${2 * PROMPTS} prompts: RSS ${mb(after2.rss)} (${delta(after2.rss - before.rss)}), heap ${mb(after2.heap)} (${delta(after2.heap - before.heap)})`);
  console.log('  (the child runs the TypeScript sources under Node\'s type stripping, which adds to the absolute RSS; the change is the dialog\'s)');
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await client.endAsync(true);
  await broker.close();
}
