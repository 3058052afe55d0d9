// The Anthropic Messages provider: request shape (system on top, tool_use and
// tool_result blocks, roles that alternate) and stream reading.
import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createProvider } from '../../src/llm/index.ts';
import { closeSharedAgents } from '../../src/llm/http-agent.ts';
import type { LlmRequest } from '../../src/llm/types.ts';
import { anthropicStream, startReplayServer, type ReplayServer, type Script } from '../helpers/sse-replay.ts';
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

const KEY = 'sk-ant-api03-abcdefghijklmnop';

const CONVERSATION: LlmRequest = {
  model: 'x',
  system: 'You are aeon.',
  messages: [
    { role: 'user', content: 'Lamp on, and what time is it?' },
    {
      role: 'assistant',
      content: 'On it.',
      tool_calls: [
        { id: 'toolu_a', name: 'mqtt_publish', arguments: '{"topic":"lamp/set","payload":"ON"}' },
        { id: 'toolu_b', name: 'current_time', arguments: '{}' },
      ],
    },
    { role: 'tool', tool_call_id: 'toolu_a', name: 'mqtt_publish', content: 'broker offline', is_error: true },
    { role: 'tool', tool_call_id: 'toolu_b', name: 'current_time', content: '19:04' },
    { role: 'user', content: 'And the weather?' },
  ],
  tools: [{ name: 'current_time', description: 'The local time.', parameters: { type: 'object', properties: {} } }],
  temperature: 0.5,
};

describe('request', () => {
  it('sends system on top, tool calls as tool_use and results as one user message of tool_result blocks', async () => {
    const s = await serve({ body: anthropicStream({ text: 'ok' }) });
    await collect(createProvider(testModel('anthropic', s.url, { api_key: KEY, model: 'claude-haiku-4-5' })).stream(CONVERSATION, signal()));
    const req = s.requests[0]!;
    assert.equal(req.path, '/v1/messages');
    assert.equal(req.headers['x-api-key'], KEY);
    assert.equal(req.headers['anthropic-version'], '2023-06-01');
    assert.equal(req.headers.authorization, undefined);
    assert.deepEqual(req.body, {
      model: 'claude-haiku-4-5',
      max_tokens: 1024,
      stream: true,
      system: 'You are aeon.',
      tools: [{ name: 'current_time', description: 'The local time.', input_schema: { type: 'object', properties: {} } }],
      temperature: 0.5,
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Lamp on, and what time is it?' }] },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'On it.' },
            { type: 'tool_use', id: 'toolu_a', name: 'mqtt_publish', input: { topic: 'lamp/set', payload: 'ON' } },
            { type: 'tool_use', id: 'toolu_b', name: 'current_time', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_a', content: 'broker offline', is_error: true },
            { type: 'tool_result', tool_use_id: 'toolu_b', content: '19:04' },
            { type: 'text', text: 'And the weather?' },
          ],
        },
      ],
    });
  });

  it('accepts a base_url that already ends in /v1', async () => {
    const s = await serve({ body: anthropicStream({ text: 'ok' }) });
    const got = await collect(createProvider(testModel('anthropic', `${s.url}/v1/`, { api_key: KEY })).stream(CONVERSATION, signal()));
    assert.equal(got.text, 'ok');
    assert.equal(s.requests[0]!.path, '/v1/messages');
  });
});

describe('stream', () => {
  it('reads text and tool_use blocks in any chunk split, with CRLF', async () => {
    const tools = [
      { id: 'toolu_1', name: 'file_write', input: '{"path": "x.md", "content": "# Title\\n\\nGrüße 👋"}' },
      { id: 'toolu_2', name: 'exec', input: '{"cmd": "df -h"}' },
    ];
    const body = anthropicStream({ text: 'Writing the file and checking the disk.', tools, chunkChars: 3, usage: { input: 900, output: 77 } });
    const s = await serve((req) => ({ body, split: { seed: Number(req.path.split('/')[1]), max: 25 }, crlf: true }));
    for (let seed = 1; seed <= 20; seed++) {
      const got = await collect(createProvider(testModel('anthropic', `${s.url}/${seed}`, { api_key: KEY })).stream(CONVERSATION, signal()));
      assert.equal(got.text, 'Writing the file and checking the disk.');
      assert.deepEqual(got.tool_calls, tools.map((t) => ({ id: t.id, name: t.name, arguments: t.input })), `seed ${seed}`);
      assert.deepEqual(got.usage, { input: 900, output: 77 });
      assert.equal(got.stop, 'tool_use');
    }
  });

  it('maps max_tokens and counts cached prompt tokens as input', async () => {
    const body = anthropicStream({ text: 'partial', stop: 'max_tokens' }).replace('"input_tokens":12', '"input_tokens":12,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000');
    const s = await serve({ body });
    const got = await collect(createProvider(testModel('anthropic', s.url, { api_key: KEY, model: 'claude-sonnet-4-5-20250929' })).stream(CONVERSATION, signal()));
    assert.equal(got.stop, 'max_tokens');
    assert.deepEqual(got.usage, { input: 1112, output: 34 });
    const usage = got.events.find((e) => e.type === 'usage');
    assert.equal(usage?.type === 'usage' && usage.cost_usd, (1112 * 3 + 34 * 15) / 1e6);
  });

  it('maps HTTP 529 overloaded to a retryable server error', async () => {
    const s = await serve({ status: 529, body: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}' });
    const got = await collect(createProvider(testModel('anthropic', s.url, { api_key: KEY })).stream(CONVERSATION, signal()));
    assert.equal(got.error?.kind, 'server');
    assert.equal(got.error?.retryable, true);
    assert.match(got.error!.message, /Overloaded/);
  });

  it('maps an invalid x-api-key to auth without the key', async () => {
    const s = await serve({ status: 401, body: '{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}' });
    const got = await collect(createProvider(testModel('anthropic', s.url, { api_key: KEY })).stream(CONVERSATION, signal()));
    assert.equal(got.error?.kind, 'auth');
    assert.ok(!JSON.stringify(got).includes(KEY));
  });

  it('reports a stream cut before message_delta as a network error', async () => {
    const full = anthropicStream({ text: 'cut' });
    const s = await serve({ body: full.slice(0, full.indexOf('event: message_delta')) });
    const got = await collect(createProvider(testModel('anthropic', s.url, { api_key: KEY })).stream(CONVERSATION, signal()));
    assert.equal(got.text, 'cut');
    assert.equal(got.error?.kind, 'network');
  });
});
