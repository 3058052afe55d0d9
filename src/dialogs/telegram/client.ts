// The Bot API client: node-telegram-bot-api's typed `Api` (one method per Bot
// API method) with its requests sent by undici's Agent and `request`, the HTTP
// stack the LLM layer already loads (src/util/undici.ts). We override
// `Api.request` instead of only injecting `fetch`: the library's transport
// probes `new Request(...)` on every call to decide how to encode uploads, and
// touching that global loads Node's bundled undici, a second HTTP stack of
// several megabytes; npm undici's own fetch would load its WHATWG streams and
// the rest of the package (docs/benchmarks.md). aeon never uploads, so a JSON
// body is all it needs. Our retry policy lives in `call`, so every method
// honours 429 `retry_after` the same way and a stop aborts every wait. Errors
// leave this file as `TelegramError` with the bot token scrubbed: the token is
// part of every API URL and must never reach a log or a person.
import { Api, TelegramApiError } from 'node-telegram-bot-api';
import type { Dispatcher } from 'undici';
import { discard } from '../../util/http-body.ts';
import { Agent, request } from '../../util/undici.ts';
import type { Secrets } from '../../util/secrets.ts';

export class TelegramError extends Error {
  override name = 'TelegramError';
  /** Bot API error_code (400, 403, 409, 429...), or 0 for a network failure or timeout. */
  readonly code: number;
  readonly description: string;
  /** Seconds Telegram asked us to wait (429). */
  readonly retryAfter?: number;
  constructor(method: string, code: number, description: string, retryAfter?: number) {
    super(`${method}: ${code ? `${code} ` : ''}${description}`);
    this.code = code;
    this.description = description;
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
  }
}

export interface ClientOptions {
  token: string;
  apiRoot: string;
  secrets: Secrets;
  /** Timeout of ordinary calls. */
  timeoutMs?: number;
  /** Longest 429 wait honoured before giving up on a call (the caller decides what then). */
  maxRetryAfterMs?: number;
  /** Retries of 429 / 5xx / network failures per call. */
  retries?: number;
  onRateLimited?: (method: string, seconds: number) => void;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** The chat the call writes to: a 429 pauses that chat only. */
  chat?: string;
  /** Override of `maxRetryAfterMs` for this call (0: do not wait on 429 at all). */
  maxRetryAfterMs?: number;
}

const DEFAULT_RETRIES = 3;

export class TelegramClient {
  readonly api: Api;
  readonly apiRoot: string;
  readonly #token: string;
  readonly #secrets: Secrets;
  readonly #dispatcher: Agent;
  readonly #retries: number;
  readonly #maxRetryAfterMs: number;
  readonly #onRateLimited?: (method: string, seconds: number) => void;
  /** Chat (or '*' for all) → time until which Telegram asked us to wait. */
  readonly #pausedUntil = new Map<string, number>();

  constructor(opts: ClientOptions) {
    this.#token = opts.token;
    this.#secrets = opts.secrets;
    this.#retries = opts.retries ?? DEFAULT_RETRIES;
    this.#maxRetryAfterMs = opts.maxRetryAfterMs ?? 120_000;
    if (opts.onRateLimited) this.#onRateLimited = opts.onRateLimited;
    this.apiRoot = opts.apiRoot.replace(/\/+$/, '');
    // Long polls hold a request open up to 50 s; keep-alive reuses the one socket.
    this.#dispatcher = new Agent({ keepAliveTimeout: 60_000, connect: { timeout: 15_000 }, headersTimeout: 90_000, bodyTimeout: 90_000 });
    this.api = new UndiciApi(opts.token, this.apiRoot, this.#dispatcher, opts.timeoutMs ?? 30_000, (t) => this.scrub(t));
  }

  /** Runs one API call with the retry policy. Throws `TelegramError` (token-free). */
  async call<T>(method: string, fn: (signal?: AbortSignal) => Promise<T>, opts: CallOptions = {}): Promise<T> {
    const maxWait = opts.maxRetryAfterMs ?? this.#maxRetryAfterMs;
    for (let attempt = 0; ; attempt++) {
      await this.#waitPause(opts.chat, opts.signal, maxWait, method);
      try {
        return await fn(opts.signal);
      } catch (raw) {
        if (opts.signal?.aborted) throw new TelegramError(method, 0, 'aborted');
        const err = this.toError(method, raw);
        if (err.code === 429) {
          const seconds = err.retryAfter ?? 1;
          this.#pausedUntil.set(opts.chat ?? '*', Date.now() + seconds * 1000);
          this.#onRateLimited?.(method, seconds);
          if (attempt < this.#retries && seconds * 1000 <= maxWait) continue;
          throw err;
        }
        if ((err.code === 0 || err.code >= 500) && attempt < this.#retries && !/aborted/.test(err.description)) {
          await sleep(Math.min(8000, 500 * 2 ** attempt), opts.signal);
          continue;
        }
        throw err;
      }
    }
  }

  /** Milliseconds until a write to `chat` is allowed again after a 429 (0: now). */
  pausedFor(chat?: string): number {
    const until = Math.max(this.#pausedUntil.get('*') ?? 0, chat ? (this.#pausedUntil.get(chat) ?? 0) : 0);
    return Math.max(0, until - Date.now());
  }

  async #waitPause(chat: string | undefined, signal: AbortSignal | undefined, maxWait: number, method: string): Promise<void> {
    const ms = this.pausedFor(chat);
    if (ms <= 0) {
      if (chat && this.#pausedUntil.has(chat)) this.#pausedUntil.delete(chat);
      return;
    }
    if (ms > maxWait) throw new TelegramError(method, 429, `rate limited by Telegram for ${Math.ceil(ms / 1000)} s more`, Math.ceil(ms / 1000));
    await sleep(ms, signal);
  }

  /** Downloads a file found by getFile, streaming, refusing more than `maxBytes`. */
  async download(filePath: string, maxBytes: number, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
    const url = `${this.apiRoot}/file/bot${this.#token}/${filePath.split('/').map(encodeURIComponent).join('/')}`;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, { dispatcher: this.#dispatcher, signal: signal ?? AbortSignal.timeout(120_000) });
    } catch (err) {
      throw this.toError('file download', err);
    }
    if (res.statusCode < 200 || res.statusCode > 299) {
      discard(res.body);
      throw new TelegramError('file download', res.statusCode, `HTTP ${res.statusCode}`);
    }
    const length = Number(res.headers['content-length'] ?? 0);
    if (length > maxBytes) {
      discard(res.body);
      throw new TelegramError('file download', 413, `file is ${length} bytes, more than ${maxBytes}`);
    }
    return res.body;
  }

  /** Any failure as a token-free `TelegramError`. */
  toError(method: string, raw: unknown): TelegramError {
    if (raw instanceof TelegramError) return raw;
    if (raw instanceof TelegramApiError) return new TelegramError(method, raw.errorCode, this.scrub(raw.description ?? ''), raw.retryAfter);
    return new TelegramError(method, 0, this.scrub(describeCause(raw)));
  }

  /** Removes the token (and every other known secret) from text. */
  scrub(text: string): string {
    return this.#secrets.scrub(text.split(this.#token).join('[redacted]'));
  }

  async close(): Promise<void> {
    await this.#dispatcher.destroy().catch(() => {});
  }
}

/** `Api` whose every method is one JSON POST through undici's `request`. */
class UndiciApi extends Api {
  readonly #base: string;
  readonly #dispatcher: Agent;
  readonly #timeoutMs: number;
  readonly #scrub: (text: string) => string;

  constructor(token: string, apiRoot: string, dispatcher: Agent, timeoutMs: number, scrub: (text: string) => string) {
    // The base class builds a transport we never call; give it a fetch so it never looks for the global one.
    super(token, { apiRoot, fetch: (() => Promise.reject(new Error('unused'))) as unknown as typeof fetch, maxRetries: 0 });
    this.#base = `${apiRoot}/bot${token}/`;
    this.#dispatcher = dispatcher;
    this.#timeoutMs = timeoutMs;
    this.#scrub = scrub;
  }

  protected override async request<R>(method: string, params?: Record<string, unknown>, signal?: AbortSignal): Promise<R> {
    // A long poll must outlast Telegram's wait; the poller also bounds it.
    const poll = method === 'getUpdates' && typeof params?.timeout === 'number' ? params.timeout * 1000 + 15_000 : 0;
    const limit = AbortSignal.timeout(poll || this.#timeoutMs);
    let status = 0;
    let text: string;
    try {
      const res = await request(this.#base + method, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(params ?? {}),
        signal: signal ? AbortSignal.any([signal, limit]) : limit,
        dispatcher: this.#dispatcher,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      const timedOut = limit.aborted && !signal?.aborted;
      throw new TelegramError(method, 0, timedOut ? 'request timed out' : signal?.aborted ? 'aborted' : this.#scrub(describeCause(err)));
    }
    let body: { ok?: boolean; result?: unknown; error_code?: unknown; description?: unknown; parameters?: { retry_after?: number; migrate_to_chat_id?: number } };
    try {
      body = JSON.parse(text);
    } catch {
      throw new TelegramError(method, status >= 400 ? status : 502, `HTTP ${status} with a body that is not JSON`);
    }
    if (body.ok === true) return body.result as R;
    const code = typeof body.error_code === 'number' ? body.error_code : status || 500;
    throw new TelegramApiError(code, typeof body.description === 'string' ? body.description : `HTTP ${status}`, body.parameters);
  }
}

/** A failure's message plus its innermost cause (undici hides the useful part there). */
function describeCause(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++) {
    if (e instanceof Error) {
      const code = (e as NodeJS.ErrnoException).code;
      parts.push(code && !e.message.includes(code) ? `${e.message} (${code})` : e.message);
      e = e.cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join(': ') || 'unknown error';
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
