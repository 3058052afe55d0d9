// The whole turn pipeline's cost per streamed token: LLM SSE over loopback ->
// provider -> router -> agent turn (SQLite persistence, usage row) -> reply
// sink, against the official `openai` SDK's stream iterator consuming the same
// stream and doing nothing else (target: at most 1.5x its CPU). Also the added
// latency from the server writing the first text event to the first delta
// reaching the sink (target: p99 under 2 ms on loopback). Prints figures only.
//
//   node scripts/bench/turn-pipeline.ts [--runs 15] [--tokens 1000] [--latency 200]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { Agent } from '../../src/agent/agent.ts';
import { createLlmChain } from '../../src/agent/llm-chain.ts';
import { parseConfig } from '../../src/config/index.ts';
import { closeSharedAgents } from '../../src/llm/http-agent.ts';
import { silentLogger } from '../../src/log.ts';
import { Store } from '../../src/store/index.ts';
import { ToolRegistry } from '../../src/tools/registry.ts';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startStreamServer, streamEvents } from './_stream-server.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : dflt);
const TOKENS = opt('tokens', 1000);
const RUNS = opt('runs', 15);
const LATENCY_TURNS = opt('latency', 200);

const srv = await startStreamServer(TOKENS);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-bench-turn-'));
const log = silentLogger();

function makeAgent(shape: string, origin = srv.origin) {
  const { config } = parseConfig(
    JSON.stringify({
      device: { board: 'pi-zero-2w', data_dir: dir },
      agents: { main: { provider: 'openai', model: 'gpt-4o-mini', api_key: 'sk-bench-000000', base_url: `${origin}/${shape}/v1` } },
      storage: { sessions_db: `${shape}.db`, compaction: { enabled: false } },
    }),
    path.join(dir, 'aeon.json'),
    { env: {} },
  );
  const store = Store.open({ path: config.storage.sessions_db, cache_kb: config.budget.sqlite_cache_kb });
  const chain = createLlmChain(config.agents.main!, config.budget, log);
  const tools = new ToolRegistry([], { default_timeout_ms: 1000, max_output_bytes: 1000, log });
  const agent = new Agent({ config, store, tools, llm: () => chain, log });
  let n = 0;
  return {
    store,
    turn: () =>
      new Promise<{ firstDeltaAt: bigint; chars: number }>((resolve, reject) => {
        let firstDeltaAt = 0n;
        let chars = 0;
        // A fresh session per turn keeps the prompt the same size every run.
        agent.submit(
          { dialog: 'bench', chat: String(n++), text: 'go' },
          {
            delta: (d) => {
              if (!firstDeltaAt) firstDeltaAt = process.hrtime.bigint();
              chars += d.length;
            },
            final: (r) => (r.error ? reject(new Error(r.error.message)) : resolve({ firstDeltaAt, chars })),
          },
        );
      }),
  };
}

function sdk(shape: string) {
  const client = new OpenAI({ apiKey: 'sk-bench', baseURL: `${srv.origin}/${shape}/v1`, maxRetries: 0 });
  return async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'go' }], stream: true, stream_options: { include_usage: true } });
    let chars = 0;
    for await (const chunk of stream) chars += chunk.choices[0]?.delta?.content?.length ?? 0;
    return chars;
  };
}

async function cpu(fn: () => Promise<unknown>): Promise<number> {
  const c0 = process.cpuUsage();
  await fn();
  const c = process.cpuUsage(c0);
  return c.user + c.system;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

console.log(`Turn pipeline vs openai SDK iterator — ${TOKENS} tokens per turn, ${RUNS} runs (median), Node ${process.version}, ${process.arch}`);
console.log('| arrival | path | CPU µs/token |');
console.log('|---|---|---:|');
for (const shape of ['burst', 'per-event']) {
  const aeon = makeAgent(shape);
  const base = sdk(shape);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < RUNS + 3; i++) {
    const ca = await cpu(async () => {
      await aeon.turn();
      await srv.nextFirstContent();
    });
    const cb = await cpu(async () => {
      await base();
      await srv.nextFirstContent();
    });
    if (i >= 3) {
      a.push(ca / TOKENS);
      b.push(cb / TOKENS);
    }
  }
  console.log(`| ${shape} | aeon: SSE -> agent -> SQLite -> sink | ${median(a).toFixed(2)} |`);
  console.log(`| ${shape} | baseline: openai SDK stream, no work | ${median(b).toFixed(2)} |`);
  console.log(`| ${shape} | ratio aeon / SDK | ${(median(a) / median(b)).toFixed(2)}× |`);
  aeon.store.close();
}

// Latency is measured against a server in this same process, on the same
// clock (two processes' clocks disagree by about a millisecond): it pauses
// 20 ms before the first text event, as a model does before its first token, so
// the client is idle when it arrives, then notes the time of that write.
let firstWriteAt = 0n;
const events = streamEvents(50).map((e) => Buffer.from(e));
const local = http.createServer(async (req, res) => {
  for await (const _ of req) {
    // drain
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(events[0]);
  await new Promise((r) => setTimeout(r, 20));
  firstWriteAt = process.hrtime.bigint();
  for (const e of events.slice(1)) res.write(e);
  res.end();
});
await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
const localOrigin = `http://127.0.0.1:${(local.address() as AddressInfo).port}`;
const ms = (a: bigint, b: bigint) => Number(a - b) / 1e6;

const lat = makeAgent('latency', localOrigin);
const added: number[] = [];
for (let i = 0; i < LATENCY_TURNS; i++) {
  const r = await lat.turn();
  if (i >= 10) added.push(ms(r.firstDeltaAt, firstWriteAt));
}
lat.store.close();
const client = new OpenAI({ apiKey: 'sk-bench', baseURL: `${localOrigin}/v1`, maxRetries: 0 });
const sdkAdded: number[] = [];
for (let i = 0; i < LATENCY_TURNS; i++) {
  const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'go' }], stream: true });
  let at = 0n;
  for await (const chunk of stream) if (!at && chunk.choices[0]?.delta?.content) at = process.hrtime.bigint();
  if (i >= 10) sdkAdded.push(ms(at, firstWriteAt));
}
local.close();
const line = (xs: number[]) => `p50 ${pct(xs, 0.5).toFixed(3)} ms · p99 ${pct(xs, 0.99).toFixed(3)} ms · max ${Math.max(...xs).toFixed(3)} ms`;
console.log(`\nLatency from the server writing the first text event to it arriving (${added.length} turns, loopback, TCP hop included):`);
console.log(`aeon, first delta at the reply sink:   ${line(added)}   (target p99 < 2 ms)`);
console.log(`baseline, openai SDK's first chunk:    ${line(sdkAdded)}`);

srv.stop();
await closeSharedAgents();
fs.rmSync(dir, { recursive: true, force: true });
