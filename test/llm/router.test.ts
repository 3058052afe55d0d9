// The fallback/retry router. Scripted providers test the decisions; a real
// server tests the whole path. Sleeps are injected and recorded, so the tests
// are fast and can check every wait.
import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createProvider, createRouter } from '../../src/llm/index.ts';
import { closeSharedAgents } from '../../src/llm/http-agent.ts';
import type { LlmError, LlmProvider, LlmRequest, StreamEvent } from '../../src/llm/types.ts';
import { openaiTextStream, startReplayServer, type ReplayServer } from '../helpers/sse-replay.ts';
import { collect, signal, testModel } from './support.ts';

const REQ: LlmRequest = { model: 'm', system: '', messages: [{ role: 'user', content: 'hi' }] };

/** A provider that plays one scripted stream per call and counts the calls. */
function scripted(id: string, runs: StreamEvent[][]): LlmProvider & { calls: number } {
  const p = {
    id,
    model: testModel('openai', 'http://unused'),
    calls: 0,
    async *stream(): AsyncGenerator<StreamEvent> {
      const run = runs[Math.min(p.calls, runs.length - 1)] ?? [];
      p.calls++;
      for (const ev of run) yield ev;
    },
  };
  return p;
}

const fail = (e: Partial<LlmError> & Pick<LlmError, 'kind'>): StreamEvent => ({ type: 'error', error: { retryable: true, message: e.kind, ...e } });
const ok = (text: string): StreamEvent[] => [{ type: 'text', delta: text }, { type: 'done', stop: 'end' }];

function recorder(): { waits: number[]; sleep: (ms: number) => Promise<void> } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}

describe('decisions', () => {
  it('honours Retry-After on 429 and then succeeds', async () => {
    const p = scripted('a', [[fail({ kind: 'rate_limit', retry_after_ms: 2000 })], [fail({ kind: 'rate_limit', retry_after_ms: 3500 })], ok('finally')]);
    const r = recorder();
    const got = await collect(createRouter([p], { retries: 2, sleep: r.sleep }).stream(REQ, signal()));
    assert.equal(got.text, 'finally');
    assert.deepEqual(r.waits, [2000, 3500]);
    assert.equal(p.calls, 3);
  });

  it('backs off exponentially with full jitter when the server names no wait', async () => {
    const p = scripted('a', [[fail({ kind: 'server', status: 503 })]]);
    const r = recorder();
    const got = await collect(createRouter([p], { retries: 4, sleep: r.sleep, random: () => 0.5, base_delay_ms: 100, max_delay_ms: 500 }).stream(REQ, signal()));
    assert.deepEqual(r.waits, [50, 100, 200, 250]);
    assert.equal(p.calls, 5);
    assert.equal(got.error?.kind, 'server');
  });

  it('moves to the fallback at once when Retry-After is beyond the cap', async () => {
    const a = scripted('a', [[fail({ kind: 'rate_limit', retry_after_ms: 3_600_000 })]]);
    const b = scripted('b', [ok('from b')]);
    const r = recorder();
    const got = await collect(createRouter([a, b], { retries: 3, sleep: r.sleep, max_retry_after_ms: 60_000 }).stream(REQ, signal()));
    assert.equal(got.text, 'from b');
    assert.deepEqual(r.waits, []);
    assert.equal(a.calls, 1);
  });

  it('passes a long Retry-After through when there is no fallback', async () => {
    const a = scripted('a', [[fail({ kind: 'rate_limit', retry_after_ms: 3_600_000 })]]);
    const got = await collect(createRouter([a], { retries: 3, sleep: recorder().sleep }).stream(REQ, signal()));
    assert.equal(got.error?.kind, 'rate_limit');
    assert.equal(got.error?.retry_after_ms, 3_600_000);
  });

  it('does not retry once text reached the consumer', async () => {
    const a = scripted('a', [[{ type: 'text', delta: 'Hel' }, fail({ kind: 'network' })], ok('Hello')]);
    const b = scripted('b', [ok('other')]);
    const r = recorder();
    const got = await collect(createRouter([a, b], { retries: 3, sleep: r.sleep }).stream(REQ, signal()));
    assert.equal(got.text, 'Hel');
    assert.equal(got.error?.kind, 'network');
    assert.equal(a.calls, 1);
    assert.equal(b.calls, 0);
    assert.deepEqual(r.waits, []);
  });

  it('does not retry once a tool call reached the consumer', async () => {
    const a = scripted('a', [[{ type: 'tool_call', call: { id: '1', name: 'exec', arguments: '{}' } }, fail({ kind: 'timeout' })]]);
    const got = await collect(createRouter([a], { retries: 3, sleep: recorder().sleep }).stream(REQ, signal()));
    assert.equal(got.tool_calls.length, 1);
    assert.equal(got.error?.kind, 'timeout');
    assert.equal(a.calls, 1);
  });

  it('does not retry a non-retryable error on the same model, but tries the fallback', async () => {
    const a = scripted('a', [[fail({ kind: 'auth', retryable: false, status: 401 })]]);
    const b = scripted('b', [ok('fallback answer')]);
    const got = await collect(createRouter([a, b], { retries: 3, sleep: recorder().sleep }).stream(REQ, signal()));
    assert.equal(got.text, 'fallback answer');
    assert.equal(a.calls, 1);
  });

  it('never retries or falls back after an abort', async () => {
    const a = scripted('a', [[fail({ kind: 'aborted', retryable: false })]]);
    const b = scripted('b', [ok('no')]);
    const got = await collect(createRouter([a, b], { retries: 3, sleep: recorder().sleep }).stream(REQ, signal()));
    assert.equal(got.error?.kind, 'aborted');
    assert.equal(a.calls + b.calls, 1);
  });

  it('reports the last failure and says the whole chain failed', async () => {
    const a = scripted('a', [[fail({ kind: 'server', message: 'a broke' })]]);
    const b = scripted('b', [[fail({ kind: 'network', message: 'b unreachable.' })]]);
    const got = await collect(createRouter([a, b], { retries: 1, sleep: recorder().sleep, random: () => 0 }).stream(REQ, signal()));
    assert.equal(got.error?.kind, 'network');
    assert.equal(got.error?.message, 'b unreachable. (every model in the fallback chain failed)');
    assert.equal(a.calls, 2);
    assert.equal(b.calls, 2);
  });

  it('stops a backoff sleep when the signal aborts, with the real clock', async () => {
    const a = scripted('a', [[fail({ kind: 'server' })], ok('too late')]);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const t0 = performance.now();
    const got = await collect(createRouter([a], { retries: 3, base_delay_ms: 60_000, max_delay_ms: 60_000, random: () => 0.99 }).stream(REQ, ac.signal));
    assert.equal(got.error?.kind, 'aborted');
    assert.ok(performance.now() - t0 < 1000);
    assert.equal(a.calls, 1);
  });
});

describe('over HTTP', () => {
  let primary: ReplayServer | undefined;
  let fallback: ReplayServer | undefined;
  afterEach(async () => {
    await primary?.close();
    await fallback?.close();
  });
  after(() => closeSharedAgents());

  it('rides out a 500 storm with retries, then answers from the fallback model', async () => {
    primary = await startReplayServer({ script: { status: 500, body: '{"error":{"message":"The server had an error while processing your request."}}' } });
    fallback = await startReplayServer({ script: { body: openaiTextStream('Local llama here.') } });
    const r = recorder();
    const router = createRouter(
      [
        createProvider(testModel('openai', `${primary.url}/v1`, { api_key: 'sk-primary-key-123' })),
        createProvider(testModel('ollama', `${fallback.url}/v1`, { model: 'llama3.2' })),
      ],
      { retries: 2, sleep: r.sleep, random: () => 0.5, base_delay_ms: 1000 },
    );
    const got = await collect(router.stream(REQ, signal()));
    assert.equal(got.text, 'Local llama here.');
    assert.equal(got.stop, 'end');
    assert.equal(primary.requests.length, 3);
    assert.equal(fallback.requests.length, 1);
    assert.deepEqual(r.waits, [500, 1000]);
    assert.equal(fallback.requests[0]!.headers.authorization, undefined, 'the primary key must not reach the fallback');
    const usage = got.events.find((e) => e.type === 'usage');
    assert.equal(usage?.type === 'usage' && usage.model, 'ollama/llama3.2');
  });

  it('does not retry a stream that was reset after text was shown', async () => {
    const body = openaiTextStream('A sentence that will be cut in half by a reset.', { chunkChars: 4 });
    primary = await startReplayServer({ script: { body, resetAfterBytes: Math.floor(body.length / 2) } });
    const r = recorder();
    const router = createRouter([createProvider(testModel('openai', `${primary.url}/v1`))], { retries: 3, sleep: r.sleep });
    const got = await collect(router.stream(REQ, signal()));
    assert.equal(got.error?.kind, 'network');
    assert.ok(got.text.length > 0);
    assert.equal(primary.requests.length, 1);
  });

  it('retries a connection reset that happened before any text', async () => {
    const body = openaiTextStream('second time lucky');
    primary = await startReplayServer({ script: [{ body, resetAfterBytes: 40 }, { body }] });
    const r = recorder();
    const got = await collect(createRouter([createProvider(testModel('openai', `${primary.url}/v1`))], { retries: 1, sleep: r.sleep }).stream(REQ, signal()));
    assert.equal(got.text, 'second time lucky');
    assert.equal(primary.requests.length, 2);
  });
});
