// A real HTTP server on 127.0.0.1 that answers each request with a scripted
// reply: a recorded SSE fixture (or any body) cut into random chunks from a
// seeded PRNG, optionally with CRLF line ends, and with faults on demand
// (status + Retry-After, socket reset mid-stream, silence, a slow drip, an
// endless stream, a delay before the headers). It records every request so a
// test can assert what was sent, or that nothing was.
//
//   const srv = await startReplayServer({ script: (req, n) => ({ body: openaiTextStream('hi') }) });
//   ... point a provider at `${srv.url}/v1` ...
//   assert.equal(srv.requests[0].headers.authorization, undefined);
//   await srv.close();
//
// Used by the LLM tests and reusable by anything that talks SSE or JSON over HTTP.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo, Socket } from 'node:net';

/** What the server does with one request. Every field is optional: `{}` is an empty 200 SSE reply. */
export interface Reply {
  /** HTTP status; default 200. */
  status?: number;
  /** Extra response headers (e.g. `{'retry-after': '2'}`); content-type defaults to text/event-stream. */
  headers?: Record<string, string>;
  /** The body to send; written in chunks per `split`. */
  body?: string | Buffer;
  /** How to cut the body: `{seed, max}` random chunk sizes 1..max bytes (default max 64); 'none' sends it whole. Default `{seed: 1}`. */
  split?: { seed: number; max?: number } | 'none';
  /** Convert LF line ends to CRLF before sending. */
  crlf?: boolean;
  /** Wait this long before sending the status line and headers. */
  headersDelayMs?: number;
  /** Wait this long between chunks (0 still yields to the event loop between writes). */
  chunkDelayMs?: number;
  /** After this many body bytes, destroy the socket (a connection reset mid-stream). */
  resetAfterBytes?: number;
  /** After this many body bytes, go silent and keep the connection open until the client leaves. */
  stallAfterBytes?: number;
  /** After the body, send `text` every `everyMs` forever (a stream that never ends). */
  drip?: { text: string; everyMs: number };
  /** After the body, send `text` again and again as fast as the client reads, until it leaves. */
  endless?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Lower-case header names, as node parses them. */
  headers: http.IncomingHttpHeaders;
  /** The body parsed as JSON when it is JSON, else the raw text. */
  body: unknown;
  raw: string;
}

/** A fixed reply for every request, a list (request n gets item n; the last repeats), or a function of the request and its 0-based number. */
export type Script = Reply | Reply[] | ((req: RecordedRequest, n: number) => Reply | Promise<Reply>);

export interface ReplayServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Bytes written to response bodies so far (to check that a client stopped reading). */
  bytesSent: () => number;
  /** TCP connections accepted so far (keep-alive reuse shows as fewer connections than requests). */
  connections: () => number;
  /** Stops listening and destroys open connections (stalled replies included). */
  close: () => Promise<void>;
}

export async function startReplayServer(opts: { script: Script }): Promise<ReplayServer> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let sent = 0;
  let accepted = 0;

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // not JSON: keep the text
    }
    const rec: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, raw };
    const n = requests.push(rec) - 1;
    const s = opts.script;
    const reply = typeof s === 'function' ? await s(rec, n) : Array.isArray(s) ? (s[Math.min(n, s.length - 1)] ?? {}) : s;
    await play(reply, req.socket, res, timers, (b) => (sent += b));
  };
  const server = http.createServer((req, res) => {
    // A client that went away mid-reply is what the faults are for: nothing to report.
    handle(req, res).catch(() => res.destroy());
  });
  server.on('connection', (sock) => {
    accepted++;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    bytesSent: () => sent,
    connections: () => accepted,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function play(r: Reply, socket: Socket, res: http.ServerResponse, timers: Set<NodeJS.Timeout>, count: (bytes: number) => void): Promise<void> {
  const gone = () => socket.destroyed || res.destroyed;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });
  const write = (buf: Buffer): Promise<void> => {
    count(buf.length);
    // Respect backpressure, so an endless stream cannot fill this process's memory either.
    return res.write(buf) ? Promise.resolve() : new Promise((resolve) => {
      const done = () => { res.off('drain', done); socket.off('close', done); resolve(); };
      res.once('drain', done);
      socket.once('close', done);
    });
  };

  if (r.headersDelayMs) await sleep(r.headersDelayMs);
  if (gone()) return;
  res.writeHead(r.status ?? 200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...r.headers });
  res.flushHeaders();

  const src = r.body ?? '';
  const text = Buffer.isBuffer(src) ? (r.crlf ? Buffer.from(toCrlf(src.toString('utf8'))) : src) : Buffer.from(r.crlf ? toCrlf(src) : src);
  const cut = r.resetAfterBytes ?? r.stallAfterBytes;
  const payload = cut !== undefined ? text.subarray(0, cut) : text;

  for (const piece of splitBuffer(payload, r.split ?? { seed: 1 })) {
    if (gone()) return;
    await write(piece);
    // A pause between writes makes them separate TCP segments, so the client really sees the split.
    if (r.chunkDelayMs) await sleep(r.chunkDelayMs);
    else await new Promise((resolve) => setImmediate(resolve));
  }
  if (r.resetAfterBytes !== undefined) {
    socket.destroy();
    return;
  }
  if (r.stallAfterBytes !== undefined) return; // silence; close() or the client ends it
  if (r.drip) {
    const unit = Buffer.from(r.drip.text);
    while (!gone()) {
      await sleep(r.drip.everyMs);
      if (gone()) return;
      await write(unit);
    }
    return;
  }
  if (r.endless !== undefined) {
    const unit = Buffer.from(r.endless);
    while (!gone()) await write(unit);
    return;
  }
  res.end();
}

/** LF → CRLF, leaving existing CRLF alone. */
export function toCrlf(s: string): string {
  return s.replace(/\r?\n/g, '\r\n');
}

/** A small fast seeded PRNG (mulberry32): the same seed gives the same splits on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cuts `buf` into chunks of 1..max bytes chosen by the seeded PRNG (multi-byte UTF-8 characters get split too). */
export function splitBuffer(buf: Buffer, split: { seed: number; max?: number } | 'none'): Buffer[] {
  if (split === 'none' || buf.length === 0) return buf.length ? [buf] : [];
  const rand = prng(split.seed);
  const max = split.max ?? 64;
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; ) {
    const n = 1 + Math.floor(rand() * max);
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/llm');

/** The text of `test/fixtures/llm/<name>` (e.g. "openai-text.sse"). */
export function readFixture(name: string): string {
  return fs.readFileSync(path.join(FIXTURES, name), 'utf8');
}

// ---- Building streams programmatically ------------------------------------

export interface OpenAiStreamOptions {
  model?: string;
  /** Characters of text (or of tool arguments) per chunk; default 4. */
  chunkChars?: number;
  /** Token counts for the final usage chunk; `false` sends none. Default {input: 10, output: tokens sent}. */
  usage?: { input: number; output: number } | false;
  /** finish_reason of the last choice chunk; default "stop" for text, "tool_calls" for tool calls. */
  finish?: string;
  /** End with `data: [DONE]`; default true. */
  done?: boolean;
}

function chunkLine(model: string, choice: object | null, usage?: object): string {
  const obj: Record<string, unknown> = { id: 'chatcmpl-replay', object: 'chat.completion.chunk', created: 1732000000, model, choices: choice ? [choice] : [] };
  if (usage) obj.usage = usage;
  return `data: ${JSON.stringify(obj)}\n\n`;
}

function slices(s: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += n) out.push(s.slice(i, i + n));
  return out;
}

function tail(model: string, count: number, o: OpenAiStreamOptions, finish: string): string {
  let s = chunkLine(model, { index: 0, delta: {}, finish_reason: o.finish ?? finish });
  if (o.usage !== false) {
    const u = o.usage ?? { input: 10, output: count };
    s += chunkLine(model, null, { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output });
  }
  if (o.done !== false) s += 'data: [DONE]\n\n';
  return s;
}

/** An OpenAI chat-completions stream that says `text`, `chunkChars` characters per event. */
export function openaiTextStream(text: string, o: OpenAiStreamOptions = {}): string {
  const model = o.model ?? 'gpt-4o-mini';
  let s = chunkLine(model, { index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null });
  const parts = slices(text, o.chunkChars ?? 4);
  for (const p of parts) s += chunkLine(model, { index: 0, delta: { content: p }, finish_reason: null });
  return s + tail(model, parts.length, o, 'stop');
}

/** An OpenAI stream with tool calls, arguments cut into `chunkChars` slices, calls interleaved like parallel calls are. */
export function openaiToolCallStream(calls: Array<{ id?: string; name: string; arguments: string }>, o: OpenAiStreamOptions & { text?: string } = {}): string {
  const model = o.model ?? 'gpt-4o-mini';
  let s = chunkLine(model, { index: 0, delta: { role: 'assistant', content: o.text ?? null }, finish_reason: null });
  calls.forEach((c, i) => {
    s += chunkLine(model, { index: 0, delta: { tool_calls: [{ index: i, id: c.id ?? `call_${i}`, type: 'function', function: { name: c.name, arguments: '' } }] }, finish_reason: null });
  });
  const pieces = calls.map((c) => slices(c.arguments, o.chunkChars ?? 4));
  let count = 0;
  for (let k = 0; pieces.some((p) => k < p.length); k++) {
    pieces.forEach((p, i) => {
      if (k < p.length) {
        count++;
        s += chunkLine(model, { index: 0, delta: { tool_calls: [{ index: i, function: { arguments: p[k] } }] }, finish_reason: null });
      }
    });
  }
  return s + tail(model, count, o, 'tool_calls');
}

/** An Anthropic Messages stream: optional text, then tool_use blocks with input_json_delta slices. */
export function anthropicStream(opts: { text?: string; tools?: Array<{ id: string; name: string; input: string }>; chunkChars?: number; usage?: { input: number; output: number }; stop?: string }): string {
  const n = opts.chunkChars ?? 4;
  const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const u = opts.usage ?? { input: 12, output: 34 };
  let s = ev('message_start', { message: { id: 'msg_replay', type: 'message', role: 'assistant', content: [], model: 'claude-replay', stop_reason: null, usage: { input_tokens: u.input, output_tokens: 1 } } });
  let index = 0;
  if (opts.text !== undefined) {
    s += ev('content_block_start', { index, content_block: { type: 'text', text: '' } });
    for (const p of slices(opts.text, n)) s += ev('content_block_delta', { index, delta: { type: 'text_delta', text: p } });
    s += ev('content_block_stop', { index });
    index++;
  }
  for (const t of opts.tools ?? []) {
    s += ev('content_block_start', { index, content_block: { type: 'tool_use', id: t.id, name: t.name, input: {} } });
    for (const p of slices(t.input, n)) s += ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: p } });
    s += ev('content_block_stop', { index });
    index++;
  }
  s += ev('message_delta', { delta: { stop_reason: opts.stop ?? (opts.tools?.length ? 'tool_use' : 'end_turn'), stop_sequence: null }, usage: { output_tokens: u.output } });
  return s + ev('message_stop', {});
}
