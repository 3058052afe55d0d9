// One stream over a chain of providers (the agent's model, then its
// fallbacks). A retryable failure (429, 5xx, network, timeout) is retried on the
// same provider with exponential backoff and full jitter, honouring the server's
// Retry-After; any other failure, or retries used up, moves on to the next
// provider. All of that only while nothing has reached the consumer: once a
// `text` or `tool_call` event was yielded, a failure is passed through as is,
// because retrying would repeat words the user already saw.
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import type { LlmError, LlmProvider, LlmRequest, StreamEvent } from './types.ts';

export interface RouterOptions {
  /** Retries per provider after the first attempt (config `retries`). */
  retries: number;
  /** First backoff ceiling; doubles per retry. Default 500 ms. */
  base_delay_ms?: number;
  /** Largest backoff ceiling. Default 8 s. */
  max_delay_ms?: number;
  /** Longest Retry-After honoured; a longer one moves on to the next provider. Default 60 s. */
  max_retry_after_ms?: number;
  /** Waits `ms` or until `signal` aborts (resolving or rejecting: both are fine). Injectable for tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<unknown>;
  /** Uniform in [0, 1). Injectable for tests. */
  random?: () => number;
  log?: Logger;
}

const ABORTED: LlmError = Object.freeze({ kind: 'aborted', retryable: false, message: 'The request was cancelled.' });

/**
 * An LlmProvider whose stream tries `providers` in order. Its `id` and `model`
 * are the first provider's; the usage event names the one that answered.
 * Aborting the signal stops everything, including a backoff sleep, with one
 * `aborted` error.
 */
export function createRouter(providers: readonly LlmProvider[], opts: RouterOptions): LlmProvider {
  const first = providers[0];
  if (!first) throw new Error('createRouter needs at least one provider');
  return {
    id: first.id,
    model: first.model,
    stream: (request, signal) => route(providers, opts, request, signal),
  };
}

async function* route(providers: readonly LlmProvider[], opts: RouterOptions, request: LlmRequest, signal: AbortSignal): AsyncGenerator<StreamEvent, void, undefined> {
  const sleep = opts.sleep ?? defaultSleep;
  const random = opts.random ?? Math.random;
  const base = opts.base_delay_ms ?? 500;
  const ceiling = opts.max_delay_ms ?? 8_000;
  const maxRetryAfter = opts.max_retry_after_ms ?? 60_000;
  let last: LlmError | undefined;

  for (const provider of providers) {
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) {
        yield { type: 'error', error: { ...ABORTED } };
        return;
      }
      let started = false;
      let failure: LlmError | undefined;
      for await (const ev of provider.stream(request, signal)) {
        if (ev.type === 'error') {
          failure = ev.error;
          break;
        }
        if (ev.type === 'text' || ev.type === 'tool_call') started = true;
        yield ev;
      }
      if (!failure) return;
      if (started || failure.kind === 'aborted' || signal.aborted) {
        yield { type: 'error', error: failure.kind === 'aborted' || !signal.aborted ? failure : { ...ABORTED } };
        return;
      }
      last = failure;

      let wait: number | undefined;
      if (failure.retryable && attempt < opts.retries) {
        if (failure.retry_after_ms !== undefined) {
          // Waiting longer than the cap keeps the user staring at nothing; a fallback answers sooner.
          wait = failure.retry_after_ms <= maxRetryAfter ? failure.retry_after_ms : undefined;
        } else {
          wait = Math.floor(random() * Math.min(ceiling, base * 2 ** attempt));
        }
      }
      opts.log?.warn(
        { provider: provider.id, kind: failure.kind, status: failure.status, attempt, retry_in_ms: wait },
        wait === undefined ? `LLM request failed, giving up on this model: ${failure.message}` : `LLM request failed, retrying: ${failure.message}`,
      );
      if (wait === undefined) break;
      try {
        await sleep(wait, signal);
      } catch {
        // An aborted sleep rejects; the check at the top of the loop reports it.
      }
    }
  }
  const error: LlmError = last ?? { kind: 'server', retryable: false, message: 'No LLM provider is configured.' };
  if (providers.length > 1) {
    yield { type: 'error', error: { ...error, message: `${error.message} (every model in the fallback chain failed)` } };
  } else {
    yield { type: 'error', error };
  }
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<unknown> {
  return delay(ms, undefined, { signal });
}
