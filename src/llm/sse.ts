// The transport every wire protocol shares: POST a JSON body over the shared
// keep-alive agent, read the answer as a byte stream, and hand back its
// server-sent events one by one. eventsource-parser does the framing (any chunk
// split, CRLF or CR line ends, comments, multi-line data); this file only adds
// the bounds a small board needs and turns every failure into one final error
// item. It never throws.
import { createParser } from 'eventsource-parser';
import type { Dispatcher } from 'undici';
import type { LlmError, TransportLimits } from './types.ts';
import { err, networkError, parseErrorBody, statusError, type ErrorContext } from './http-errors.ts';
import { discard } from '../util/http-body.ts';
import { loadUndici, sharedAgent } from './http-agent.ts';

export interface SseRequest {
  url: string;
  /** Sent as is, after content-type/accept; secrets in here must also be in `errors.scrub`. */
  headers: Record<string, string>;
  /** Serialised with JSON.stringify. */
  body: unknown;
  limits: TransportLimits;
  errors: ErrorContext;
}

/**
 * One server-sent event, or the final failure. A stream of these ends after an
 * `error` item or when the server ends the body; deciding whether the body ended
 * too early is the wire protocol's job (only it knows what "finished" means).
 */
export type SseItem =
  | { type: 'message'; event: string | undefined; data: string }
  | { type: 'error'; error: LlmError };

// Error bodies are read only this far: enough for any provider's message, and a
// misbehaving server cannot make us buffer megabytes of HTML.
const ERROR_BODY_MAX = 16 * 1024;

const ABORTED: LlmError = Object.freeze({ kind: 'aborted', retryable: false, message: 'The request was cancelled.' });

// When the consumer stops reading after the last event it wanted ([DONE],
// message_stop), the rest of the body (usually just its end) is read in the
// background so the socket goes back to the keep-alive pool; a server that keeps
// talking past these bounds gets its connection closed instead.
const DRAIN_MAX_BYTES = 64 * 1024;
const DRAIN_MAX_MS = 2_000;

/**
 * POSTs `req.body` and yields the response's events. Bounds (from `req.limits`):
 * connect time; time to the first body byte; silence between chunks; total body
 * bytes; and the size of one event, held in the parser's fixed buffer so an
 * oversized event fails instead of growing memory. Aborting `signal` cancels
 * the request and yields an `aborted` error. Breaking out of the loop early
 * ends the response (its tail is drained so the socket can be reused).
 *
 * The idle clock runs while the consumer handles an event, so a consumer must
 * not block between events for anything near `idle_timeout_ms` (dialogs buffer
 * deltas and render on their own schedule).
 */
export async function* postSse(req: SseRequest, signal: AbortSignal): AsyncGenerator<SseItem, void, undefined> {
  const { limits, errors: ctx } = req;
  if (signal.aborted) {
    yield { type: 'error', error: { ...ABORTED } };
    return;
  }
  // One controller for every reason to stop; `why` remembers which one fired,
  // because undici rejects with whatever reason it was given.
  const stop = new AbortController();
  let why: 'aborted' | 'timeout' | undefined;
  let waitingFirstByte = true;
  const onAbort = () => {
    why ??= 'aborted';
    stop.abort();
  };
  const onTimeout = () => {
    why ??= 'timeout';
    stop.abort();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  let timer = setTimeout(onTimeout, limits.first_byte_timeout_ms);
  let body: Dispatcher.ResponseData['body'] | undefined;
  let bytes = 0;
  let failed = false;

  const fail = (error: LlmError): SseItem => {
    failed = true;
    return { type: 'error', error };
  };
  const failure = (e: unknown, phase: 'request' | 'stream'): SseItem => {
    if (why === 'aborted') return fail({ ...ABORTED });
    if (why === 'timeout') {
      return fail(
        waitingFirstByte
          ? err('timeout', true, `${ctx.host} sent nothing within ${seconds(limits.first_byte_timeout_ms)} of the request (first-byte timeout).`)
          : err('timeout', true, `${ctx.host} went silent for ${seconds(limits.idle_timeout_ms)} mid-answer (idle timeout).`),
      );
    }
    return fail(networkError(e, ctx, phase));
  };

  try {
    let res: Dispatcher.ResponseData;
    try {
      const [{ request }, dispatcher] = await Promise.all([loadUndici(), sharedAgent(limits.connect_timeout_ms)]);
      res = await request(req.url, {
        dispatcher,
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...req.headers },
        body: JSON.stringify(req.body),
        signal: stop.signal,
      });
    } catch (e) {
      yield failure(e, 'request');
      return;
    }
    body = res.body;

    if (res.statusCode < 200 || res.statusCode > 299) {
      const text = await readCapped(body, ERROR_BODY_MAX);
      yield why ? failure(undefined, 'request') : fail(statusError(res.statusCode, res.headers, text, ctx));
      return;
    }
    const contentType = String(res.headers['content-type'] ?? '');
    if (contentType.includes('json')) {
      // A server that ignored `stream: true` or reports an error with 200.
      const detail = parseErrorBody(ctx.scrub(await readCapped(body, ERROR_BODY_MAX))).message ?? '';
      yield fail(err('bad_response', false, `${ctx.label} answered with JSON instead of an event stream${detail ? `: ${detail}` : '.'}`));
      return;
    }

    const pending: SseItem[] = [];
    let oversized = false;
    const parser = createParser({
      // Counted in UTF-16 units, which is bytes for the ASCII JSON providers send.
      maxBufferSize: limits.max_event_bytes,
      onEvent: (m) => {
        // A whole event inside one chunk never touches the parser's buffer, so check it here too.
        if (m.data.length > limits.max_event_bytes) oversized = true;
        else pending.push({ type: 'message', event: m.event, data: m.data });
      },
      onError: (e) => {
        if (e.type === 'max-buffer-size-exceeded') oversized = true;
      },
    });
    const decoder = new TextDecoder(); // stream mode: a UTF-8 sequence split across chunks stays whole
    try {
      // destroyOnReturn: false, so that a consumer stopping after the last event
      // leaves the body to the drain below instead of killing the socket.
      for await (const chunk of body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
        if (waitingFirstByte) {
          waitingFirstByte = false;
          clearTimeout(timer);
          timer = setTimeout(onTimeout, limits.idle_timeout_ms);
        } else {
          timer.refresh();
        }
        bytes += chunk.length;
        if (bytes > limits.max_response_bytes) {
          yield fail(err('bad_response', false, `The answer from ${ctx.host} exceeded ${limits.max_response_bytes} bytes; stopped reading.`));
          return;
        }
        parser.feed(decoder.decode(chunk, { stream: true }));
        if (oversized) {
          yield fail(err('bad_response', false, `${ctx.host} sent a single event larger than ${limits.max_event_bytes} bytes; stopped reading.`));
          return;
        }
        for (let i = 0; i < pending.length; i++) yield pending[i]!;
        pending.length = 0;
      }
    } catch (e) {
      yield failure(e, 'stream');
      return;
    }
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    if (body && !body.readableEnded) {
      if (failed || why) discard(body); // a broken or abandoned exchange: free the socket now
      else body.dump({ limit: bytes + DRAIN_MAX_BYTES, signal: AbortSignal.timeout(DRAIN_MAX_MS) }).catch(() => {});
    }
  }
}

async function readCapped(body: Dispatcher.ResponseData['body'], max: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= max) break;
    }
  } catch {
    // A broken error body still leaves the status to report.
  }
  return Buffer.concat(parts).subarray(0, max).toString('utf8');
}

function seconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
