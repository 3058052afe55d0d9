// A loopback server for the streaming benchmarks, run as a child process so its
// CPU is not counted by the process being measured. It serves one OpenAI-style
// stream of N tokens per request, in two arrival shapes: `/burst/...` (64 KiB
// writes) and anything else (one write per event, as a model generating live).
// For each request it prints `first-content <epoch ms>` when it writes the
// first event that carries text, so the parent can measure added latency.
//
//   const srv = await startStreamServer(2000);  ...  srv.stop();
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export function streamEvents(tokens: number): string[] {
  const words = ['The', ' sensor', ' in', ' the', ' greenhouse', ' reads', ' 23', '.', '4', ' °C', ',', ' humidity', ' 61', ' %', '.', '\n'];
  const base = { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1732000000, model: 'gpt-4o-mini-2024-07-18', system_fingerprint: 'fp_bench' };
  const ev = (o: object) => `data: ${JSON.stringify({ ...base, ...o })}\n\n`;
  const out = [ev({ choices: [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }], usage: null })];
  for (let i = 0; i < tokens; i++) out.push(ev({ choices: [{ index: 0, delta: { content: words[i % words.length] }, logprobs: null, finish_reason: null }], usage: null }));
  out.push(ev({ choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], usage: null }));
  out.push(ev({ choices: [], usage: { prompt_tokens: 50, completion_tokens: tokens, total_tokens: tokens + 50 } }));
  out.push('data: [DONE]\n\n');
  return out;
}

/** Wall-clock time with sub-millisecond precision, comparable across processes. */
export const epochMs = () => performance.timeOrigin + performance.now();

export interface StreamServer {
  origin: string;
  /** Resolves with the server's epoch time of the next request's first content write. */
  nextFirstContent(): Promise<number>;
  stop(): void;
}

export async function startStreamServer(tokens: number): Promise<StreamServer> {
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(import.meta.url), String(tokens)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const waiting: Array<(n: number) => void> = [];
  const early: number[] = [];
  let resolvePort!: (p: number) => void;
  const port = new Promise<number>((r) => (resolvePort = r));
  lines.on('line', (l) => {
    const [k, v] = l.split(' ');
    if (k === 'port') resolvePort(Number(v));
    if (k === 'first-content') {
      const w = waiting.shift();
      if (w) w(Number(v));
      else early.push(Number(v));
    }
  });
  return {
    origin: `http://127.0.0.1:${await port}`,
    nextFirstContent: () => (early.length ? Promise.resolve(early.shift()!) : new Promise((r) => waiting.push(r))),
    stop: () => void child.kill('SIGTERM'),
  };
}

function serve(tokens: number): void {
  const events = streamEvents(tokens).map((e) => Buffer.from(e));
  const whole = Buffer.concat(events);
  const server = http.createServer(async (req, res) => {
    for await (const _ of req) {
      // drain the request body
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    if (req.url?.startsWith('/burst')) {
      process.stdout.write(`first-content ${epochMs()}\n`);
      for (let i = 0; i < whole.length; i += 65536) res.write(whole.subarray(i, i + 65536));
    } else {
      for (let i = 0; i < events.length; i++) {
        if (i === 1) process.stdout.write(`first-content ${epochMs()}\n`);
        if (!res.write(events[i])) await new Promise((r) => res.once('drain', r));
        await new Promise((r) => setImmediate(r));
      }
    }
    res.end();
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`port ${(server.address() as AddressInfo).port}\n`));
  process.on('SIGTERM', () => process.exit(0));
}

if (import.meta.main) serve(Number(process.argv[2] ?? 2000));
