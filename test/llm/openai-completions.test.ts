// The OpenAI chat-completions provider: what it sends (a server that receives a
// wrong body answers wrongly or not at all) and how it reads the quirks of the
// servers that speak this protocol.
import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createProvider } from '../../src/llm/index.ts';
import { closeSharedAgents } from '../../src/llm/http-agent.ts';
import type { LlmRequest } from '../../src/llm/types.ts';
import { openaiTextStream, openaiToolCallStream, startReplayServer, type ReplayServer, type Script } from '../helpers/sse-replay.ts';
import { collect, signal, testModel } from './support.ts';

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

const CONVERSATION: LlmRequest = {
  model: 'ignored-by-providers',
  system: 'You are aeon.',
  messages: [
    { role: 'user', content: 'Lamp on, and what time is it?' },
    {
      role: 'assistant',
      content: '',
      tool_calls: [
        { id: 'call_a', name: 'mqtt_publish', arguments: '{"topic":"lamp/set","payload":"ON"}' },
        { id: 'call_b', name: 'current_time', arguments: '{}' },
      ],
    },
    { role: 'tool', tool_call_id: 'call_a', name: 'mqtt_publish', content: 'broker offline', is_error: true },
    { role: 'tool', tool_call_id: 'call_b', name: 'current_time', content: '19:04' },
  ],
  tools: [{ name: 'current_time', description: 'The local time.', parameters: { type: 'object', properties: {} } }],
  max_tokens: 300,
  temperature: 0.2,
};

describe('request', () => {
  it('sends the conversation in chat-completions form to {base_url}/chat/completions', async () => {
    const s = await serve({ body: openaiTextStream('ok') });
    const m = testModel('openai', `${s.url}/v1/`, { model: 'gpt-4.1-mini', api_key: 'sk-live-abcdef123456', headers: { 'X-Title': 'aeon' } });
    await collect(createProvider(m).stream(CONVERSATION, signal()));
    const req = s.requests[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/v1/chat/completions');
    assert.equal(req.headers.authorization, 'Bearer sk-live-abcdef123456');
    assert.equal(req.headers['x-title'], 'aeon');
    assert.deepEqual(req.body, {
      model: 'gpt-4.1-mini',
      messages: [
        { role: 'system', content: 'You are aeon.' },
        { role: 'user', content: 'Lamp on, and what time is it?' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'mqtt_publish', arguments: '{"topic":"lamp/set","payload":"ON"}' } },
            { id: 'call_b', type: 'function', function: { name: 'current_time', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_a', content: 'Error: broker offline' },
        { role: 'tool', tool_call_id: 'call_b', content: '19:04' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      tools: [{ type: 'function', function: { name: 'current_time', description: 'The local time.', parameters: { type: 'object', properties: {} } } }],
      max_completion_tokens: 300,
      temperature: 0.2,
    });
  });

  it('sends no Authorization header to a server without a key (Ollama) and uses max_tokens there', async () => {
    const s = await serve({ body: openaiTextStream('ok') });
    await collect(createProvider(testModel('ollama', `${s.url}/v1`, { model: 'llama3.2', api_key: '' })).stream(CONVERSATION, signal()));
    const req = s.requests[0]!;
    assert.equal(req.headers.authorization, undefined);
    const body = req.body as Record<string, unknown>;
    assert.equal(body.max_tokens, 300);
    assert.equal(body.max_completion_tokens, undefined);
    assert.equal(body.model, 'llama3.2');
  });

  it('leaves out the system message and tools when there are none', async () => {
    const s = await serve({ body: openaiTextStream('ok') });
    await collect(createProvider(testModel('lmstudio', `${s.url}/v1`)).stream({ model: 'm', system: '', messages: [{ role: 'user', content: 'hi' }] }, signal()));
    const body = s.requests[0]!.body as Record<string, unknown>;
    assert.deepEqual(body.messages, [{ role: 'user', content: 'hi' }]);
    assert.equal('tools' in body, false);
    assert.equal('max_tokens' in body, false);
  });
});

describe('stream', () => {
  it('reassembles interleaved parallel tool calls by index, in any chunk split', async () => {
    const calls = [
      { id: 'call_1', name: 'file_write', arguments: '{"path":"a.txt","content":"line 1\\nline 2 – ünïcödé"}' },
      { id: 'call_2', name: 'exec', arguments: '{"cmd":"uptime"}' },
      { id: 'call_3', name: 'system_info', arguments: '' },
    ];
    const body = openaiToolCallStream(calls, { chunkChars: 3, text: 'Doing three things.' });
    const s = await serve((req) => ({ body, split: { seed: Number(req.path.split('/')[1]), max: 20 }, crlf: true }));
    for (let seed = 1; seed <= 20; seed++) {
      const got = await collect(createProvider(testModel('openai', `${s.url}/${seed}/v1`)).stream(CONVERSATION, signal()));
      assert.equal(got.text, 'Doing three things.');
      assert.deepEqual(got.tool_calls, [calls[0], calls[1], { ...calls[2], arguments: '{}' }], `seed ${seed}`);
      assert.equal(got.stop, 'tool_use');
    }
  });

  it('emits tool calls in index order even when the server sends higher indexes first', async () => {
    const ev = (o: object) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: o, finish_reason: null }] })}\n\n`;
    const body =
      ev({ tool_calls: [{ index: 1, id: 'b', function: { name: 'second', arguments: '{"n":' } }] }) +
      ev({ tool_calls: [{ index: 0, id: 'a', function: { name: 'first', arguments: '{}' } }] }) +
      ev({ tool_calls: [{ index: 1, function: { arguments: '2}' } }] }) +
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] })}\n\ndata: [DONE]\n\n`;
    const s = await serve({ body });
    const got = await collect(createProvider(testModel('openai-compatible', `${s.url}/v1`)).stream(CONVERSATION, signal()));
    assert.deepEqual(got.tool_calls, [
      { id: 'a', name: 'first', arguments: '{}' },
      { id: 'b', name: 'second', arguments: '{"n":2}' },
    ]);
  });

  it('maps finish_reason length to max_tokens and keeps the partial text', async () => {
    const s = await serve({ body: openaiTextStream('truncated answ', { finish: 'length' }) });
    const got = await collect(createProvider(testModel('openai', `${s.url}/v1`)).stream(CONVERSATION, signal()));
    assert.equal(got.text, 'truncated answ');
    assert.equal(got.stop, 'max_tokens');
  });

  it('finishes on [DONE] from a server that never sends a finish_reason', async () => {
    const body = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'llama.cpp says hi' } }] })}\n\ndata: [DONE]\n\n`;
    const s = await serve({ body });
    const got = await collect(createProvider(testModel('openai-compatible', `${s.url}/v1`)).stream(CONVERSATION, signal()));
    assert.equal(got.text, 'llama.cpp says hi');
    assert.equal(got.stop, 'end');
    assert.equal(got.usage, null);
  });

  it('finishes at the end of the body after a finish_reason without [DONE]', async () => {
    const s = await serve({ body: openaiTextStream('no done marker', { done: false }) });
    const got = await collect(createProvider(testModel('openai', `${s.url}/v1`)).stream(CONVERSATION, signal()));
    assert.equal(got.stop, 'end');
    assert.deepEqual(got.usage, { input: 10, output: 4 });
  });

  it('reports vLLM-style error objects as errors', async () => {
    const s = await serve({ body: 'data: {"object":"error","message":"This model\'s maximum context length is 4096 tokens.","type":"BadRequestError","code":400}\n\n' });
    const got = await collect(createProvider(testModel('openai-compatible', `${s.url}/v1`)).stream(CONVERSATION, signal()));
    assert.equal(got.error?.kind, 'bad_request');
    assert.match(got.error!.message, /maximum context length/);
  });

  it('does not swallow an event whose data is JSON but not an object', async () => {
    const s = await serve({ body: 'data: 42\n\n' });
    const got = await collect(createProvider(testModel('openai', `${s.url}/v1`)).stream(CONVERSATION, signal()));
    assert.equal(got.error?.kind, 'bad_response');
  });

  it('names the malformed event in the error without a key in it', async () => {
    const key = 'sk-or-v1-0123456789abcdef';
    const s = await serve({ body: `data: {"choices": [{"delta": {"content": "${key}` + '\n\n' });
    const got = await collect(createProvider(testModel('openrouter', `${s.url}/api/v1`, { api_key: key })).stream(CONVERSATION, signal()));
    assert.equal(got.error?.kind, 'bad_response');
    assert.match(got.error!.message, /not valid JSON: "\{\\"choices\\"/);
    assert.ok(!got.error!.message.includes(key));
  });

  it('prices usage from the built-in table and names the model', async () => {
    const s = await serve({ body: openaiTextStream('hi', { usage: { input: 1_000_000, output: 1_000_000 } }) });
    const got = await collect(createProvider(testModel('openai', `${s.url}/v1`, { model: 'gpt-4o-mini' })).stream(CONVERSATION, signal()));
    const usage = got.events.find((e) => e.type === 'usage');
    assert.deepEqual(usage, { type: 'usage', input: 1_000_000, output: 1_000_000, model: 'openai/gpt-4o-mini', cost_usd: 0.75 });
  });
});
