// Added latency from the LLM server writing the first text event to the first
// delta leaving aeon over MQTT, as an MQTT subscriber sees it. The server and
// the subscriber live in this process, so both timestamps come from one clock
// (two processes' clocks disagree by about a millisecond). The server sends
// the headers and the role event, pauses 20 ms (a model thinking; aeon is idle
// when the first token comes), notes the time, then writes the text events.
//
// Baseline: the same stream through the few lines a user would otherwise
// write, the openai SDK's iterator publishing each chunk to the same broker
// with mqtt.js (scripts/bench/_sdk-client.ts), timed the same way.
//
//   node scripts/bench/latency.ts [--prompts 200] [--dist DIR]
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { Aeon, build, launch, opt, pct, summary, table, type Launch, kindName } from './_lib.ts';
import { connectClient, startPeers } from './_peers.ts';
import { sdkClient } from './_procs.ts';
import { streamEvents } from './_stream-server.ts';

const PROMPTS = opt('prompts', 200);
const WARM = 10;

const b = build();
const peers = await startPeers({ telegram: false });
const http = process.getBuiltinModule('node:http') as typeof import('node:http');

let firstWriteAt = 0n;
const events = streamEvents(50).map((e) => Buffer.from(e));
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(events[0]);
    setTimeout(() => {
      firstWriteAt = process.hrtime.bigint();
      for (const e of events.slice(1)) res.write(e);
      res.end();
    }, 20);
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const sub = await connectClient(peers.broker.url, peers.broker.mqtt5 ? 5 : 4);
await sub.subscribeAsync(['aeon/bench/reply', 'aeon/bench/reply/delta', 'bench/relay/+'], { qos: 0 });
// The prompt being measured: messages of earlier ones still arriving are not its first.
let current = '';
let onFirst: (() => void) | undefined;
let onFinal: (() => void) | undefined;
let lastFirst = 0n;
sub.on('message', (topic, payload) => {
  const at = process.hrtime.bigint();
  const id = topic.startsWith('bench/relay/') ? topic.slice('bench/relay/'.length) : String((JSON.parse(payload.toString()) as { id: string }).id);
  if (id !== current) return;
  if (topic === 'aeon/bench/reply') return onFinal?.();
  if (onFirst) {
    const f = onFirst;
    onFirst = undefined;
    lastFirst = at;
    f();
  }
});
const ms = (a: bigint, z: bigint) => Number(a - z) / 1e6;

/** Sends one prompt; resolves the added latency once its answer is complete (or NaN after 10 s). */
async function measure(send: () => void, end: Promise<unknown>): Promise<number> {
  const first = new Promise<void>((r) => (onFirst = r));
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 10_000)));
  send();
  const ok = (await Promise.race([Promise.all([first, end]), limit])) !== 'timeout';
  clearTimeout(timer);
  onFirst = undefined;
  return ok ? ms(lastFirst, firstWriteAt) : NaN;
}

const rows: string[][] = [];
const results: Array<{ name: string; xs: number[] }> = [];
const kinds: Launch[] = [launch('binary', b, 'pi-zero-2w'), launch('binary', b, 'x64')];
for (const k of kinds) {
  const a = await Aeon.start(k, { config: { agents: { main: { provider: 'openai', model: 'gpt-4o-mini', api_key: 'sk-bench-0000', base_url: `${origin}/v1` } }, dialogs: peers.dialogs() }, env: { AEON_LOG_LEVEL: 'warn' } });
  const xs: number[] = [];
  try {
    for (let i = 0; i < WARM + PROMPTS; i++) {
      const id = `l${i}`;
      current = id;
      const d = await measure(
        () => sub.publish('aeon/bench/prompt', JSON.stringify({ id, session: id, text: 'go', stream: true }), { qos: 1 }),
        new Promise<void>((r) => (onFinal = r)),
      );
      if (i >= WARM && !Number.isNaN(d)) xs.push(d);
    }
  } finally {
    await a.stop();
  }
  results.push({ name: k.label, xs });
}
const sdk = await sdkClient(`${origin}/v1`, { url: peers.broker.url, topic: 'bench/relay' });
const base: number[] = [];
for (let i = 0; i < WARM + PROMPTS; i++) {
  current = `r${i}`;
  const d = await measure(() => sdk.send(`go r${i}`), sdk.next());
  if (i >= WARM && !Number.isNaN(d)) base.push(d);
}
sdk.stop();
await sub.endAsync();
server.close();
await peers.close();

const line = (name: string, xs: number[]) => [name, pct(xs, 0.5).toFixed(2), pct(xs, 0.99).toFixed(2), Math.max(...xs).toFixed(2)];
for (const r of results) rows.push(line(`aeon: ${r.name}`, r.xs));
rows.push(line('baseline: openai SDK iterator + mqtt.js publish per chunk (own process)', base));
console.log(`First text event written by the LLM server → first delta received by an MQTT subscriber (same process, same clock); ${PROMPTS} prompts each, loopback, Mosquitto, Node ${process.version}, ${os.cpus().length} CPUs`);
table(['path', 'p50 ms', 'p99 ms', 'max ms'], rows);

summary(
  results.map((r, i) => ({
    figure: `first LLM byte → first MQTT delta, ${kindName(kinds[i]!)}`,
    value: `p50 ${pct(r.xs, 0.5).toFixed(2)} / p99 ${pct(r.xs, 0.99).toFixed(2)} ms`,
    baseline: `p50 ${pct(base, 0.5).toFixed(2)} / p99 ${pct(base, 0.99).toFixed(2)} ms (SDK + mqtt.js)`,
    ratio: `${(pct(r.xs, 0.5) / pct(base, 0.5)).toFixed(2)}× p50`,
    target: '',
    verdict: '',
  })),
);
