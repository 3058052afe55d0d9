// The Bot API client: node-telegram-bot-api's `Api` over npm undici (one HTTP
// stack for the whole process, docs/measurements), with our own retry policy so
// every method honours 429 `retry_after` the same way and a stop aborts every
// wait. Errors leave this file as `TelegramError` with the bot token scrubbed:
// the token is part of every API URL and must never reach a log or a person.
import { Api, TelegramApiError } from 'node-telegram-bot-api';
import { Agent, fetch as undiciFetch } from 'undici';
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
    const dispatcher = this.#dispatcher;
    const fetchImpl = ((url: string, init: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher } as never)) as unknown as typeof fetch;
    // maxRetries 0: the retry policy lives in `call` (one place, abortable, per-chat pauses).
    this.api = new Api(opts.token, { apiRoot: this.apiRoot, fetch: fetchImpl, maxRetries: 0, timeoutMs: opts.timeoutMs ?? 30_000 });
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
    let res: Awaited<ReturnType<typeof undiciFetch>>;
    try {
      res = await undiciFetch(url, { dispatcher: this.#dispatcher, signal: signal ?? AbortSignal.timeout(120_000) });
    } catch (err) {
      throw this.toError('file download', err);
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => {});
      throw new TelegramError('file download', res.status, `HTTP ${res.status}`);
    }
    const length = Number(res.headers.get('content-length') ?? 0);
    if (length > maxBytes) {
      await res.body.cancel().catch(() => {});
      throw new TelegramError('file download', 413, `file is ${length} bytes, more than ${maxBytes}`);
    }
    return res.body as AsyncIterable<Uint8Array>;
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
