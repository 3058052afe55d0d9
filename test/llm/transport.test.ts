// The transport's bounds and failure mapping, seen through the OpenAI provider
// against a real loopback server: what a user notices is one clear final error,
// quickly, with the text that already arrived, and never a secret.
import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createProvider } from '../../src/llm/index.ts';
import { closeSharedAgents } from '../../src/llm/http-agent.ts';
import { postSse } from '../../src/llm/sse.ts';
import { contextFor } from '../../src/llm/http-errors.ts';
import type { LlmRequest, ModelConfig, TransportLimits } from '../../src/llm/types.ts';
import { openaiTextStream, startReplayServer, type ReplayServer, type Script } from '../helpers/sse-replay.ts';
import { TEST_LIMITS, collect, signal, testModel } from './support.ts';

const REQ: LlmRequest = { model: 'gpt-4o-mini', system: 'be brief', messages: [{ role: 'user', content: 'hi' }] };
const KEY = 'sk-test-4f9a8b7c6d5e4f3a2b1c';

let srv: ReplayServer | undefined;
async function serve(script: Script): Promise<ReplayServer> {
  srv = await startReplayServer({ script });
  return srv;
}
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});
after(() => closeSharedAgents());

function model(s: ReplayServer, limits: Partial<TransportLimits> = {}, over: Partial<ModelConfig> = {}): ModelConfig {
  return testModel('openai', `${s.url}/v1`, { api_key: KEY, ...over, limits: { ...TEST_LIMITS, ...limits } });
}

describe('time bounds', () => {
  it('ends a stream that goes silent mid-answer with an idle timeout, keeping the text so far', async () => {
    const body = openaiTextStream('Hello world, this is a long answer', { chunkChars: 5 });
    const s = await serve({ body, split: 'none', stallAfterBytes: afterEvents(body, 3) });
    const t0 = performance.now();
    const got = await collect(createProvider(model(s, { idle_timeout_ms: 300 })).stream(REQ, signal()));
    const ms = performance.now() - t0;
    assert.equal(got.error?.kind, 'timeout');
    assert.equal(got.error?.retryable, true);
    assert.match(got.error!.message, /idle timeout/);
    assert.ok(got.text.startsWith('Hello'), got.text);
    assert.ok(ms >= 250 && ms < 3000, `took ${ms} ms`);
  });

  it('gives up when the headers come later than the first-byte bound', async () => {
    const s = await serve({ body: openaiTextStream('late'), headersDelayMs: 3000 });
    const t0 = performance.now();
    const got = await collect(createProvider(model(s, { first_byte_timeout_ms: 250 })).stream(REQ, signal()));
    assert.equal(got.error?.kind, 'timeout');
    assert.match(got.error!.message, /first-byte timeout/);
    assert.ok(performance.now() - t0 < 2000);
  });

  it('counts the first-byte bound until the first body byte, not just the headers', async () => {
    const s = await serve({ body: openaiTextStream('x'), stallAfterBytes: 0 });
    const got = await collect(createProvider(model(s, { first_byte_timeout_ms: 250, idle_timeout_ms: 60_000 })).stream(REQ, signal()));
    assert.equal(got.error?.kind, 'timeout');
    assert.match(got.error!.message, /first-byte/);
  });

  it('times out a slow drip of events spaced wider than the idle bound', async () => {
    const s = await serve({ body: '', drip: { text: 'data: {"choices":[{"index":0,"delta":{"content":"."}}]}\n\n', everyMs: 400 } });
    const got = await collect(createProvider(model(s, { first_byte_timeout_ms: 2000, idle_timeout_ms: 250 })).stream(REQ, signal()));
    assert.equal(got.error?.kind, 'timeout');
  });

  it('treats keep-alive comments as signs of life: no idle timeout while they flow', async () => {
    const s = await serve({ body: '', drip: { text: ': OPENROUTER PROCESSING\n\n', everyMs: 50 } });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 700);
    const got = await collect(createProvider(model(s, { idle_timeout_ms: 300 })).stream(REQ, ac.signal));
    assert.equal(got.error?.kind, 'aborted', JSON.stringify(got.error));
  });
});

describe('network failures', () => {
  it('reports a connection reset mid-stream as a retryable network error after the text so far', async () => {
    const body = openaiTextStream('The quick brown fox jumps over the lazy dog', { chunkChars: 3 });
    const s = await serve({ body, resetAfterBytes: Math.floor(body.length / 2) });
    const got = await collect(createProvider(model(s)).stream(REQ, signal()));
    assert.equal(got.error?.kind, 'network');
    assert.equal(got.error?.retryable, true);
    assert.match(got.error!.message, /mid-stream/);
    assert.ok(got.text.length > 0 && 'The quick brown fox jumps over the lazy dog'.startsWith(got.text));
  });

  it('reports a refused connection, naming the host but not the key', async () => {
    const port = await freePort();
    const m = testModel('openai', `http://127.0.0.1:${port}/v1`, { api_key: KEY });
    const got = await collect(createProvider(m).stream(REQ, signal()));
    assert.equal(got.error?.kind, 'network');
    assert.equal(got.error?.retryable, true);
    assert.match(got.error!.message, /refused/);
    assert.ok(!got.error!.message.includes(KEY));
  });

  it('calls a stream that ends before the model finished a network error', async () => {
    const full = openaiTextStream('cut short');
    const s = await serve({ body: full.slice(0, full.indexOf('"finish_reason":"stop"') - 200) });
    const got = await collect(createProvider(model(s)).stream(REQ, signal()));
    assert.equal(got.error?.kind, 'network');
    assert.match(got.error!.message, /ended before the model finished/);
  });

  it('keeps an answer whose connection drops after the finish but before [DONE]', async () => {
    const full = openaiTextStream('complete', { usage: false });
    const s = await serve({ body: full, resetAfterBytes: full.indexOf('data: [DONE]') });
    const got = await collect(createProvider(model(s)).stream(REQ, signal()));
    assert.equal(got.error, null);
    assert.equal(got.text, 'complete');
    assert.equal(got.stop, 'end');
  });
});

describe('size bounds', () => {
  it('stops an endless stream at max_response_bytes without reading on', async () => {
    const event = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'spam ' } }] })}\n\n`;
    const s = await serve({ body: '', endless: event.repeat(100) });
    const got = await collect(createProvider(model(s, { max_response_bytes: 256 * 1024 })).stream(REQ, signal()));
    assert.equal(got.error?.kind, 'bad_response');
    assert.match(got.error!.message, /exceeded 262144 bytes/);
    await new Promise((r) => setTimeout(r, 100));
    const sent = s.bytesSent();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(s.bytesSent(), sent, 'the server kept sending: the client did not hang up');
  });

  it('refuses a single event larger than max_event_bytes, with bounded memory', async () => {
    // One `data:` line that never ends: without a bound the parser would buffer it all.
    const s = await serve({ body: 'data: {"choices":[{"index":0,"delta":{"content":"', endless: 'x'.repeat(16 * 1024) });
    const heap0 = process.memoryUsage().heapUsed;
    const got = await collect(createProvider(model(s, { max_event_bytes: 64 * 1024, max_response_bytes: 1 << 30 })).stream(REQ, signal()));
    const grew = process.memoryUsage().heapUsed - heap0;
    assert.equal(got.error?.kind, 'bad_response');
    assert.match(got.error!.message, /larger than 65536 bytes/);
    assert.ok(s.bytesSent() < 32 << 20, `server sent ${s.bytesSent()} bytes before the client stopped`);
    assert.ok(grew < 24 << 20, `heap grew ${grew} bytes`);
  });

  it('refuses an oversized event that arrives whole in one chunk', async () => {
    const big = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'y'.repeat(100_000) } }] })}\n\n`;
    const s = await serve({ body: big, split: 'none' });
    const got = await collect(createProvider(model(s, { max_event_bytes: 10_000 })).stream(REQ, signal()));
    assert.equal(got.error?.kind, 'bad_response');
    assert.equal(got.text, '');
  });
});

describe('abort', () => {
  it('stops mid-stream with one aborted error when the signal fires', async () => {
    const s = await serve({ body: openaiTextStream('a'.repeat(400), { chunkChars: 2 }), chunkDelayMs: 5, split: { seed: 3, max: 40 } });
    const ac = new AbortController();
    let n = 0;
    const events = [];
    for await (const ev of createProvider(model(s)).stream(REQ, ac.signal)) {
      events.push(ev);
      if (ev.type === 'text' && ++n === 3) ac.abort();
    }
    const last = events[events.length - 1];
    assert.equal(last?.type, 'error');
    assert.equal(last.type === 'error' && last.error.kind, 'aborted');
    assert.ok(events.filter((e) => e.type === 'text').length < 50);
  });

  it('sends no request at all when the signal is already aborted', async () => {
    const s = await serve({ body: openaiTextStream('never') });
    const ac = new AbortController();
    ac.abort();
    const got = await collect(createProvider(model(s)).stream(REQ, ac.signal));
    assert.equal(got.error?.kind, 'aborted');
    assert.equal(s.requests.length, 0);
  });

  it('aborts while waiting for the headers', async () => {
    const s = await serve({ body: openaiTextStream('late'), headersDelayMs: 5000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = performance.now();
    const got = await collect(createProvider(model(s)).stream(REQ, ac.signal));
    assert.equal(got.error?.kind, 'aborted');
    assert.ok(performance.now() - t0 < 1500);
  });
});

describe('HTTP statuses', () => {
  it('maps 401 to auth without echoing the key the server quoted back', async () => {
    const s = await serve({ status: 401, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { message: `Incorrect API key provided: ${KEY}. You can find your API key at https://platform.openai.com/account/api-keys.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }) });
    const got = await collect(createProvider(model(s)).stream(REQ, signal()));
    assert.equal(got.error?.kind, 'auth');
    assert.equal(got.error?.retryable, false);
    assert.equal(got.error?.status, 401);
    assert.match(got.error!.message, /rejected the API key/);
    assert.match(got.error!.message, /Incorrect API key provided: \[redacted\]/);
    assert.ok(!JSON.stringify(got.error).includes(KEY));
  });

  it('says when a 401 is due to no key being configured', async () => {
    const s = await serve({ status: 401, body: '{"error":{"message":"Missing bearer authentication in header"}}' });
    const got = await collect(createProvider(model(s, {}, { api_key: '' })).stream(REQ, signal()));
    assert.equal(got.error?.kind, 'auth');
    assert.match(got.error!.message, /none is configured/);
  });

  it('parses Retry-After seconds on 429', async () => {
    const s = await serve({ status: 429, headers: { 'retry-after': '7' }, body: '{"error":{"message":"Rate limit reached for gpt-4o-mini","type":"requests","code":"rate_limit_exceeded"}}' });
    const got = await collect(createProvider(model(s)).stream(REQ, signal()));
    assert.deepEqual({ kind: got.error?.kind, retryable: got.error?.retryable, wait: got.error?.retry_after_ms, status: got.error?.status }, { kind: 'rate_limit', retryable: true, wait: 7000, status: 429 });
    assert.match(got.error!.message, /Rate limit reached/);
  });

  it('parses Retry-After as an HTTP date', async () => {
    const at = new Date(Date.now() + 30_000).toUTCString();
    const s = await serve({ status: 429, headers: { 'retry-after': at }, body: '' });
    const got = await collect(createProvider(model(s)).stream(REQ, signal()));
    const wait = got.error?.retry_after_ms ?? -1;
    assert.ok(wait > 25_000 && wait <= 30_000, `wait ${wait}`);
  });

  it('treats insufficient_quota 429 as budget, not worth retrying', async () => {
    const s = await serve({ status: 429, body: '{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","code":"insufficient_quota"}}' });
    const got = await collect(createProvider(model(s)).stream(REQ, signal()));
    assert.equal(got.error?.kind, 'budget');
    assert.equal(got.error?.retryable, false);
  });

  it('maps 5xx to a retryable server error, and an HTML body to a short sentence', async () => {
    const s = await serve({ status: 502, headers: { 'content-type': 'text/html' }, body: `<html><head><title>502 Bad Gateway</title></head><body>${'<p>nginx</p>'.repeat(500)}</body></html>` });
    const got = await collect(createProvider(model(s)).stream(REQ, signal()));
    assert.equal(got.error?.kind, 'server');
    assert.equal(got.error?.retryable, true);
    assert.ok(got.error!.message.length < 400, got.error!.message);
  });

  it('explains a 400 from a model that cannot use tools', async () => {
    const s = await serve({ status: 400, headers: { 'content-type': 'application/json' }, body: '{"error":{"message":"registry.ollama.ai/library/gemma2:2b does not support tools","type":"api_error","param":null,"code":null}}' });
    const m = testModel('ollama', `${s.url}/v1`, { model: 'gemma2:2b' });
    const got = await collect(createProvider(m).stream({ ...REQ, tools: [{ name: 'current_time', description: 'now', parameters: { type: 'object', properties: {} } }] }, signal()));
    assert.equal(got.error?.kind, 'bad_request');
    assert.equal(got.error?.retryable, false);
    assert.match(got.error!.message, /^The model "gemma2:2b" does not support tools \(function calling\); choose a model that does or give this agent no tools/);
  });

  it('recognises OpenRouter\'s 404 for models without tool use', async () => {
    const s = await serve({ status: 404, body: '{"error":{"message":"No endpoints found that support tool use. To learn more about provider routing, visit: https://openrouter.ai/docs/provider-routing","code":404}}' });
    const got = await collect(createProvider(testModel('openrouter', `${s.url}/api/v1`, { api_key: KEY })).stream(REQ, signal()));
    assert.match(got.error!.message, /does not support tools/);
  });

  it('rejects a 200 JSON answer to a streaming request', async () => {
    const s = await serve({ headers: { 'content-type': 'application/json' }, body: '{"error":"model \\"llama9\\" not found, try pulling it first"}' });
    const got = await collect(createProvider(testModel('ollama', `${s.url}/v1`)).stream(REQ, signal()));
    assert.equal(got.error?.kind, 'bad_response');
    assert.match(got.error!.message, /instead of an event stream: model "llama9" not found/);
  });
});

describe('connection reuse', () => {
  it('sends consecutive requests over one kept-alive connection', async () => {
    const s = await serve({ body: openaiTextStream('again') });
    for (let i = 0; i < 3; i++) {
      const got = await collect(createProvider(model(s)).stream(REQ, signal()));
      assert.equal(got.text, 'again');
      // The body's end is read in the background after [DONE]; a real next turn
      // comes after tools ran or the user typed, never in the same millisecond.
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(s.requests.length, 3);
    assert.equal(s.connections(), 1);
  });
});

describe('postSse directly', () => {
  it('joins multi-line data fields and passes event names through', async () => {
    const s = await serve({ body: 'event: greet\ndata: {"a":\ndata: 1}\n\n: comment\nid: 7\ndata: two\n\n', split: { seed: 9, max: 3 } });
    const items = [];
    const m = model(s);
    for await (const it of postSse({ url: `${s.url}/x`, headers: {}, body: { q: 1 }, limits: m.limits, errors: contextFor(m) }, signal())) items.push(it);
    assert.deepEqual(items, [
      { type: 'message', event: 'greet', data: '{"a":\n1}' },
      { type: 'message', event: undefined, data: 'two' },
    ]);
    assert.deepEqual(s.requests[0]?.body, { q: 1 });
    assert.equal(s.requests[0]?.headers['content-type'], 'application/json');
  });
});

/** Offset just past the n-th event of an SSE text. */
function afterEvents(sse: string, n: number): number {
  let at = 0;
  for (let i = 0; i < n; i++) at = sse.indexOf('\n\n', at) + 2;
  return at;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}
