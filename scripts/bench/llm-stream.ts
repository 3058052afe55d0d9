// Benchmark: the client-side cost of streaming one long answer. A child process
// serves a 2,000-token OpenAI-style stream on loopback (so its CPU is not
// counted here); this process consumes it with
//   (a) aeon's openai-completions provider (undici + eventsource-parser), and
//   (b) the official `openai` SDK's streaming iterator, doing nothing else,
// and prints SSE events parsed per second and CPU microseconds per token
// (process.cpuUsage, user + system) as medians over several runs. Two shapes of
// arrival: "burst" (the whole stream in 64 KiB writes, as from a fast cloud
// API behind a buffer) and "per-event" (one write per event, as from a model
// generating on a LAN box). Prints figures; never passes or fails.
//
//   node scripts/bench/llm-stream.ts [--runs 15] [--tokens 2000]
import OpenAI from 'openai';
import { createProvider } from '../../src/llm/index.ts';
import { closeSharedAgents } from '../../src/llm/http-agent.ts';
import type { ModelConfig } from '../../src/llm/types.ts';
import { startStreamServer } from './_stream-server.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const TOKENS = opt('tokens', 2000);
const RUNS = opt('runs', 15);
const WARMUP = 3;

await main();

// ---- clients (this process) -------------------------------------------------

interface Sample {
  wallMs: number;
  cpuUs: number;
  events: number;
  text: number;
}

async function measure(run: () => Promise<{ events: number; text: number }>): Promise<Sample> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const { events, text } = await run();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wallMs, cpuUs: c.user + c.system, events, text };
}

async function main(): Promise<void> {
  const srv = await startStreamServer(TOKENS);
  const origin = srv.origin;
  const request = { model: 'gpt-4o-mini', system: 'bench', messages: [{ role: 'user' as const, content: 'go' }] };
  // SSE events on the wire: role chunk, one per token, finish chunk, usage chunk, [DONE].
  const wireEvents = TOKENS + 4;

  const ours = (shape: string) => {
    const model: ModelConfig = {
      provider: 'openai',
      model: 'gpt-4o-mini',
      base_url: `${origin}/${shape}/v1`,
      api_key: 'sk-bench',
      limits: { connect_timeout_ms: 5000, first_byte_timeout_ms: 30000, idle_timeout_ms: 30000, max_response_bytes: 64 << 20, max_event_bytes: 1 << 20 },
    };
    const provider = createProvider(model);
    return async () => {
      let text = 0;
      for await (const ev of provider.stream(request, new AbortController().signal)) {
        if (ev.type === 'text') text += ev.delta.length;
        else if (ev.type === 'error') throw new Error(ev.error.message);
      }
      return { events: wireEvents, text };
    };
  };
  const sdk = (shape: string) => {
    const client = new OpenAI({ apiKey: 'sk-bench', baseURL: `${origin}/${shape}/v1`, maxRetries: 0 });
    return async () => {
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'go' }], stream: true, stream_options: { include_usage: true } });
      let text = 0;
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content?.length ?? 0;
      return { events: wireEvents, text };
    };
  };

  const rows: string[][] = [];
  for (const shape of ['burst', 'per-event']) {
    const clients = { 'aeon openai-completions': ours(shape), 'openai SDK 7 stream': sdk(shape) };
    const samples: Record<string, Sample[]> = {};
    for (let i = 0; i < WARMUP + RUNS; i++) {
      // Alternate, so drift (thermal, GC state) hits both alike.
      for (const [name, run] of Object.entries(clients)) {
        const s = await measure(run);
        if (i >= WARMUP) (samples[name] ??= []).push(s);
      }
    }
    const perToken: Record<string, number> = {};
    for (const [name, list] of Object.entries(samples)) {
      const cpu = median(list.map((s) => s.cpuUs / TOKENS));
      const rate = median(list.map((s) => s.events / (s.wallMs / 1000)));
      const wall = median(list.map((s) => s.wallMs));
      perToken[name] = cpu;
      const chars = list[0]!.text;
      rows.push([shape, name, fmt(rate, 0), fmt(cpu, 2), fmt(wall, 1), String(chars)]);
    }
    const [a, b] = Object.values(perToken);
    rows.push([shape, 'ratio aeon / SDK (CPU per token)', '', `${fmt(a! / b!, 2)}×`, '', '']);
  }
  srv.stop();
  await closeSharedAgents();

  console.log(`\nLLM stream client cost — ${TOKENS} tokens, ${RUNS} runs (median), Node ${process.version}, ${process.arch}\n`);
  table(['arrival', 'client', 'events/s', 'CPU µs/token', 'wall ms', 'chars'], rows);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function fmt(n: number, digits: number): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function table(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w, i) => (i >= 2 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log('');
}
