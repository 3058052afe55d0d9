// A thin proxy in front of the telegram-test-api emulator that adds what the
// emulator lacks and injects faults, so tests drive the real dialog and the
// real library over real HTTP:
//  - getUpdates with Bot API semantics: `offset` confirms updates (unconfirmed
//    ones are delivered again), `timeout` long-polls, a second concurrent poll
//    ends the first with 409 Conflict; `rewind` re-delivers already confirmed
//    updates (a confirmation lost in a crash);
//  - sendMessage / editMessageText checked like Telegram does (HTML parse mode,
//    4096 characters of text), then forwarded to the emulator;
//  - setMyCommands, sendChatAction, deleteWebhook, getFile and file downloads;
//  - faults: any status and description (409, 429 with retry_after, 400...) for
//    the next N calls of a method, or a call that never answers;
//  - a log of every bot request with its time, to count calls in a window.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { checkTelegramHtml } from './telegram-html.ts';

export interface Fault {
  method: string;
  /** HTTP status and error_code. */
  status?: number;
  description?: string;
  retryAfter?: number;
  /** How many calls get it (default 1; Infinity for all until cleared). */
  times?: number;
  /** Only calls whose params match. */
  when?: (params: Record<string, string>) => boolean;
  /** Never answer (until the client gives up). */
  hang?: boolean;
}

export interface LoggedRequest {
  method: string;
  at: number;
  params: Record<string, string>;
  /** Status the proxy answered with. */
  status?: number;
}

interface Update {
  update_id: number;
  [k: string]: unknown;
}

export class TelegramProxy {
  readonly requests: LoggedRequest[] = [];
  readonly commands: unknown[] = [];
  url = '';
  readonly #upstream: string;
  readonly #token: string;
  readonly #faults: (Fault & { left: number })[] = [];
  readonly #files = new Map<string, { path: string; bytes: Buffer }>();
  readonly #buffer: Update[] = [];
  readonly #history: Update[] = [];
  readonly #sockets = new Set<Socket>();
  #server: http.Server | undefined;
  #poll: { res: http.ServerResponse; done: () => void } | undefined;
  #confirmed = 0;
  #fileSeq = 0;
  /** Update ids are the proxy's own (the emulator shares one counter with bot messages). */
  #lastId = 1000;
  #closed = false;

  constructor(upstream: string, token: string) {
    this.#upstream = upstream.replace(/\/$/, '');
    this.#token = token;
  }

  async start(): Promise<string> {
    this.#server = http.createServer((req, res) => {
      this.#handle(req, res).catch((err) => {
        if (!res.headersSent) this.#json(res, 500, { ok: false, error_code: 500, description: `proxy: ${(err as Error).message}` });
      });
    });
    this.#server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.#closed = true;
    this.#poll?.done();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  fault(f: Fault): void {
    this.#faults.push({ ...f, left: f.times ?? 1 });
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  /** Registers a downloadable file; returns its file_id. */
  addFile(bytes: Buffer, name = 'file.bin'): string {
    const id = `file-${++this.#fileSeq}`;
    this.#files.set(id, { path: `documents/${id}-${name}`, bytes });
    return id;
  }

  /** Re-delivers every update from `fromId` on, as if Telegram never saw them confirmed. */
  rewind(fromId: number): void {
    for (const u of this.#history) if (u.update_id >= fromId && !this.#buffer.some((b) => b.update_id === u.update_id)) this.#buffer.push(u);
    this.#buffer.sort((a, b) => a.update_id - b.update_id);
  }

  /** Queues a raw update (for malformed ones the emulator cannot make); returns its update_id. */
  inject(update: Record<string, unknown>): number {
    const u = { ...update, update_id: ++this.#lastId } as Update;
    this.#history.push(u);
    this.#buffer.push(u);
    return u.update_id;
  }

  /** The newest update_id handed out. */
  get lastId(): number {
    return this.#lastId;
  }

  /** The highest offset a poller has confirmed. */
  get confirmed(): number {
    return this.#confirmed;
  }

  count(method: string, since = 0, until = Infinity): number {
    return this.requests.filter((r) => r.method === method && r.at >= since && r.at <= until).length;
  }

  calls(method: string): LoggedRequest[] {
    return this.requests.filter((r) => r.method === method);
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (file) return this.#download(file[1]!, decodeURIComponent(file[2]!), res);
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!m) return this.#json(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    const [, token, method] = m as unknown as [string, string, string];
    const params = await readParams(req);
    const entry: LoggedRequest = { method, at: Date.now(), params };
    this.requests.push(entry);
    const reply = (status: number, body: object) => {
      entry.status = status;
      this.#json(res, status, body);
    };
    if (token !== this.#token) return reply(401, { ok: false, error_code: 401, description: 'Unauthorized' });

    const fault = this.#faults.find((f) => f.left > 0 && f.method === method && (!f.when || f.when(params)));
    if (fault) {
      fault.left--;
      if (fault.hang) return; // the client's timeout ends it
      const status = fault.status ?? 500;
      return reply(status, { ok: false, error_code: status, description: fault.description ?? 'Injected fault', ...(fault.retryAfter !== undefined ? { parameters: { retry_after: fault.retryAfter } } : {}) });
    }

    switch (method) {
      case 'getUpdates':
        return this.#getUpdates(params, res, entry);
      case 'setMyCommands':
        this.commands.push(JSON.parse(params.commands ?? '[]'));
        return reply(200, { ok: true, result: true });
      case 'sendChatAction':
      case 'deleteWebhook':
        return reply(200, { ok: true, result: true });
      case 'getFile': {
        const f = this.#files.get(params.file_id ?? '');
        if (!f) return reply(400, { ok: false, error_code: 400, description: 'Bad Request: invalid file_id' });
        return reply(200, { ok: true, result: { file_id: params.file_id, file_unique_id: params.file_id, file_size: f.bytes.length, file_path: f.path } });
      }
      case 'sendMessage':
      case 'editMessageText': {
        const problem = checkMessage(params);
        if (problem) return reply(400, { ok: false, error_code: 400, description: problem });
        // The emulator merges edits into the stored message: make a plain edit clear parse_mode.
        const body = method === 'editMessageText' ? { parse_mode: '', ...params } : params;
        const up = await this.#forward(token, method, body);
        if (method === 'editMessageText' && up.status === 200) return reply(200, { ok: true, result: true });
        return reply(up.status, up.body);
      }
      default: {
        const up = await this.#forward(token, method, params);
        return reply(up.status, up.body);
      }
    }
  }

  async #getUpdates(params: Record<string, string>, res: http.ServerResponse, entry: LoggedRequest): Promise<void> {
    // Real Telegram ends the older of two concurrent polls with 409.
    if (this.#poll) {
      const old = this.#poll;
      this.#poll = undefined;
      const oldEntry = this.requests.findLast((r) => r.method === 'getUpdates' && r !== entry && r.status === undefined);
      if (oldEntry) oldEntry.status = 409;
      this.#json(old.res, 409, { ok: false, error_code: 409, description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running' });
      old.done();
    }
    const offset = params.offset !== undefined ? Number(params.offset) : undefined;
    if (offset !== undefined && offset > 0) {
      this.#confirmed = Math.max(this.#confirmed, offset);
      while (this.#buffer.length && this.#buffer[0]!.update_id < offset) this.#buffer.shift();
    }
    const limit = Math.min(100, Number(params.limit ?? 100) || 100);
    const deadline = Date.now() + Math.max(0, Number(params.timeout ?? 0)) * 1000;
    let finished = false;
    let wake: () => void = () => {};
    const done = () => {
      finished = true;
      wake();
    };
    this.#poll = { res, done };
    res.on('close', done);
    while (!finished && !this.#closed) {
      await this.#pull();
      if (this.#buffer.length || Date.now() >= deadline) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 30);
      });
    }
    if (this.#poll?.res === res) this.#poll = undefined;
    if (finished || this.#closed || res.writableEnded) return;
    entry.status = 200;
    this.#json(res, 200, { ok: true, result: this.#buffer.slice(0, limit) });
  }

  /** Moves new updates from the emulator into the buffer. */
  async #pull(): Promise<void> {
    const up = await this.#forward(this.#token, 'getUpdates', {});
    const list = (up.body as { result?: Update[] }).result ?? [];
    for (const u of list) {
      const clean = { ...u, update_id: ++this.#lastId } as Update;
      if (clean.message) {
        clean.message = { ...(clean.message as object) };
        delete (clean.message as Record<string, unknown>).botToken;
      }
      this.#history.push(clean);
      this.#buffer.push(clean);
    }
  }

  async #forward(token: string, method: string, body: Record<string, unknown>): Promise<{ status: number; body: object }> {
    const r = await fetch(`${this.#upstream}/bot${token}/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await r.text();
    try {
      const parsed = JSON.parse(text) as { ok?: boolean; message?: string };
      if (r.status >= 500 && parsed.ok === undefined) return { status: 400, body: { ok: false, error_code: 400, description: `Bad Request: ${parsed.message ?? text}` } };
      return { status: r.status, body: parsed };
    } catch {
      return { status: 502, body: { ok: false, error_code: 502, description: 'Bad Gateway' } };
    }
  }

  #download(token: string, filePath: string, res: http.ServerResponse): void {
    this.requests.push({ method: 'file', at: Date.now(), params: { path: filePath } });
    const f = [...this.#files.values()].find((x) => x.path === filePath);
    if (token !== this.#token || !f) {
      res.writeHead(404).end('Not Found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(f.bytes.length) }).end(f.bytes);
  }

  #json(res: http.ServerResponse, status: number, body: object): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}

/** What Telegram would refuse in a sendMessage / editMessageText. */
function checkMessage(p: Record<string, string>): string | undefined {
  const text = p.text ?? '';
  let visible = text;
  if (p.parse_mode === 'HTML') {
    const c = checkTelegramHtml(text);
    if (!c.ok) return `Bad Request: can't parse entities: ${c.error}`;
    visible = c.text;
  } else if (p.parse_mode) return `Bad Request: unsupported parse_mode ${p.parse_mode}`;
  if (!visible.trim()) return 'Bad Request: message text is empty';
  if (visible.length > 4096) return 'Bad Request: message is too long';
  return undefined;
}

async function readParams(req: http.IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/json')) {
    const o = JSON.parse(raw || '{}') as Record<string, unknown>;
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  }
  return Object.fromEntries(new URLSearchParams(raw));
}
