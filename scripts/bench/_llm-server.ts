// A replaying OpenAI-compatible LLM for the load and disk benchmarks, run as
// its own process so its CPU and memory are never aeon's. Every request gets a
// streamed answer decided from the conversation, like a model would:
//   - a compaction request (aeon's summary prompt) → a short summary;
//   - the last message is a tool result → the text answer;
//   - the newest user message contains "[time]" → a current_time tool call;
//   - otherwise → the text answer.
// The answer is `chars` characters, `chunk` characters per SSE event, one write
// per event (as a model generating), `gapMs` between events (0: the next turn
// of the event loop). Request bodies are read and dropped: nothing accumulates.
//
//   const llm = await startLlmServer({ chars: 1024 });  ...  llm.stats()  ...  llm.stop();
import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openaiTextStream, openaiToolCallStream } from '../../test/helpers/sse-replay.ts';

export interface LlmServerOptions {
  chars?: number;
  chunk?: number;
  gapMs?: number;
}

export interface LlmServer {
  url: string;
  /** Requests served so far, by kind. */
  stats(): Promise<Record<string, number>>;
  stop(): void;
}

export async function startLlmServer(o: LlmServerOptions = {}): Promise<LlmServer> {
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(o)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const waiting: Array<(l: string) => void> = [];
  lines.on('line', (l) => waiting.shift()?.(l));
  const next = () => new Promise<string>((r) => waiting.push(r));
  const port = Number((await next()).split(' ')[1]);
  return {
    url: `http://127.0.0.1:${port}`,
    stats: async () => {
      const line = next();
      child.stdin!.write('stats\n');
      return JSON.parse(await line) as Record<string, number>;
    },
    stop: () => void child.kill('SIGTERM'),
  };
}

/** A fixed answer text of about `chars` characters (words, punctuation, a few digits). */
export function answerText(chars: number): string {
  const words = ['The', ' greenhouse', ' sensor', ' reads', ' 23.4', ' °C', ' and', ' 61', ' %', ' humidity;', ' the', ' hall', ' light', ' is', ' on.', '\n'];
  let s = '';
  for (let i = 0; s.length < chars; i++) s += words[i % words.length];
  return s.slice(0, chars);
}

function serve(o: LlmServerOptions): void {
  const chars = o.chars ?? 1024;
  const chunk = o.chunk ?? 4;
  const gapMs = o.gapMs ?? 0;
  const events = (body: string) => body.split(/(?<=\n\n)/).map((e) => Buffer.from(e));
  const tokens = Math.ceil(chars / 4);
  const answer = events(openaiTextStream(answerText(chars), { chunkChars: chunk, usage: { input: 400, output: tokens } }));
  const summary = events(openaiTextStream('The user asked about the greenhouse and the hall light; the answers gave readings and states.', { chunkChars: 16, usage: { input: 2000, output: 30 } }));
  const toolCall = events(openaiToolCallStream([{ id: 'call_time', name: 'current_time', arguments: '{"timezone":"UTC"}' }], { usage: { input: 400, output: 12 } }));
  const counts: Record<string, number> = { answer: 0, tool_call: 0, summary: 0 };
  const http = process.getBuiltinModule('node:http') as typeof import('node:http');

  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      let kind = 'answer';
      try {
        const b = JSON.parse(Buffer.concat(parts).toString('utf8')) as { messages?: Array<{ role: string; content?: unknown }> };
        const msgs = b.messages ?? [];
        const system = msgs[0]?.role === 'system' ? String(msgs[0].content ?? '') : '';
        const last = msgs[msgs.length - 1];
        const lastUser = [...msgs].reverse().find((m) => m.role === 'user');
        if (system.startsWith('You maintain the memory')) kind = 'summary';
        else if (last?.role !== 'tool' && String(lastUser?.content ?? '').includes('[time]')) kind = 'tool_call';
      } catch {
        // not JSON: answer anyway
      }
      counts[kind] = (counts[kind] ?? 0) + 1;
      void play(res, kind === 'summary' ? summary : kind === 'tool_call' ? toolCall : answer);
    });
  });

  async function play(res: import('node:http').ServerResponse, evs: Buffer[]): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const e of evs) {
      if (res.destroyed) return;
      if (!res.write(e)) await new Promise((r) => res.once('drain', r));
      await new Promise((r) => (gapMs ? setTimeout(r, gapMs) : setImmediate(r)));
    }
    res.end();
  }

  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(`port ${(server.address() as AddressInfo).port}\n`));
  createInterface({ input: process.stdin }).on('line', (l) => {
    if (l === 'stats') process.stdout.write(`${JSON.stringify(counts)}\n`);
  });
  process.stdin.on('end', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

if (import.meta.main) serve(JSON.parse(process.argv[2] ?? '{}') as LlmServerOptions);
