// CPU time per streamed token through aeon's whole path, LLM SSE over loopback →
// provider → agent turn (SQLite: prompt, answer, usage) → MQTT dialog (deltas
// published as they stream, the final reply) → broker, against the official
// `openai` SDK's streaming iterator consuming the same streams in its own
// process and doing nothing else (target: at most 1.5× its CPU).
//
// Both are measured from outside: the sum of their threads' run time
// (/proc/<pid>/task/*/schedstat) across --turns streams of --tokens tokens,
// one at a time; each aeon prompt on a fresh session so every request is the
// same size. The stream server is a third process (scripts/bench/_stream-server.ts).
// Two arrival shapes: per-event (one write per SSE event, as a model
// generating) and burst (64 KiB writes, as from a fast API behind a buffer).
// Median of --rounds rounds, aeon and the SDK alternating.
//
//   node scripts/bench/cpu.ts [--tokens 2000] [--turns 20] [--rounds 3] [--dist DIR]
import os from 'node:os';
import { Aeon, build, cpuUs, launch, median, opt, summary, table, verdict, type Launch, kindName } from './_lib.ts';
import { connectClient, startPeers } from './_peers.ts';
import { sdkClient } from './_procs.ts';
import { startStreamServer } from './_stream-server.ts';

const TOKENS = opt('tokens', 2000);
const TURNS = opt('turns', 20);
const ROUNDS = opt('rounds', 3);

const b = build();
const peers = await startPeers({ telegram: false });
const srv = await startStreamServer(TOKENS);
const client = await connectClient(peers.broker.url, peers.broker.mqtt5 ? 5 : 4);
await client.subscribeAsync(['aeon/bench/reply', 'aeon/bench/reply/delta'], { qos: 1 });
const waiting = new Map<string, () => void>();
client.on('message', (topic, payload) => {
  if (topic.endsWith('/delta')) return;
  const id = String((JSON.parse(payload.toString()) as { id: string }).id);
  waiting.get(id)?.();
  waiting.delete(id);
});

let seq = 0;
function prompt(): Promise<void> {
  const id = `c${seq++}`;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    client.publish('aeon/bench/prompt', JSON.stringify({ id, session: id, text: 'go', stream: true }), { qos: 1 });
  });
}

async function aeonRound(a: Aeon): Promise<number> {
  const c0 = a.cpuUs();
  for (let i = 0; i < TURNS; i++) {
    await prompt();
    await srv.nextFirstContent();
  }
  return (a.cpuUs() - c0) / (TURNS * TOKENS);
}

const kinds: Launch[] = [launch('binary', b, 'pi-zero-2w'), launch('binary', b, 'x64')];
const shapes = ['per-event', 'burst'];
const rows: string[][] = [];
const result = new Map<string, { aeon: number; sdk: number }>();
for (const shape of shapes) {
  const sdk = await sdkClient(`${srv.origin}/${shape}/v1`);
  const sdkRound = async () => {
    const c0 = cpuUs(sdk.pid);
    for (let i = 0; i < TURNS; i++) {
      sdk.send(`go ${i}`);
      await sdk.next();
      await srv.nextFirstContent();
    }
    return (cpuUs(sdk.pid) - c0) / (TURNS * TOKENS);
  };
  await sdkRound(); // warm-up (JIT, sockets)
  for (const k of kinds) {
    const a = await Aeon.start(k, {
      config: { agents: { main: { provider: 'openai', model: 'gpt-4o-mini', api_key: 'sk-bench-0000', base_url: `${srv.origin}/${shape}/v1`, max_tokens: 8192 } }, dialogs: peers.dialogs() },
      env: { AEON_LOG_LEVEL: 'warn' },
    });
    try {
      await aeonRound(a); // warm-up
      const av: number[] = [];
      const sv: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        av.push(await aeonRound(a));
        sv.push(await sdkRound());
      }
      const m = { aeon: median(av), sdk: median(sv) };
      result.set(`${shape} ${k.label}`, m);
      rows.push([shape, k.label, m.aeon.toFixed(2), m.sdk.toFixed(2), `${(m.aeon / m.sdk).toFixed(2)}×`]);
    } finally {
      await a.stop();
    }
  }
  sdk.stop();
}
srv.stop();
await client.endAsync();
await peers.close();

console.log(`CPU per streamed token: ${TURNS} streams × ${TOKENS} tokens per round, median of ${ROUNDS} rounds (Node ${process.version}, ${process.arch}, ${os.cpus().length} CPUs)`);
table(['arrival', 'aeon (SSE → agent → SQLite → MQTT deltas + reply)', 'aeon µs/token', 'openai SDK iterator µs/token', 'ratio'], rows);

summary(
  kinds.map((k) => {
    const m = result.get(`per-event ${k.label}`)!;
    const r = m.aeon / m.sdk;
    return { figure: `CPU per streamed token, SSE → MQTT, ${kindName(k)}`, value: `${m.aeon.toFixed(2)} µs`, baseline: `${m.sdk.toFixed(2)} µs (openai SDK iterator)`, ratio: `${r.toFixed(2)}×`, target: '≤ 1.5×', verdict: verdict(r, 1.5, '×') };
  }),
);
