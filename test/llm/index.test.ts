// From aeon.json to a model chain: a real config through the real loader, so
// the test notices when the config shape and the LLM layer drift apart.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.ts';
import { DEFAULT_BASE_URL, createLlm, createProvider, modelsFor, wireProtocol } from '../../src/llm/index.ts';
import { closeSharedAgents } from '../../src/llm/http-agent.ts';
import { openaiTextStream, startReplayServer } from '../helpers/sse-replay.ts';
import { collect, signal } from './support.ts';

after(() => closeSharedAgents());

function agentFrom(agent: object, env: Record<string, string> = {}) {
  const { config } = parseConfig(JSON.stringify({ device: { board: 'pi-zero-2w', data_dir: '/tmp/aeon-llm-test' }, agents: { main: agent } }), '/tmp/aeon-llm-test/aeon.json', { env: { HOME: '/tmp', ...env } });
  return { agent: config.agents.main!, budget: config.budget };
}

describe('modelsFor', () => {
  it('builds the chain with limits from the agent timeouts and the board buffer', () => {
    const { agent, budget } = agentFrom({
      provider: 'openai',
      model: 'gpt-4o-mini',
      api_key: '${OPENAI_API_KEY}',
      headers: { 'X-Title': 'aeon' },
      timeouts: { connect_s: 3, first_byte_s: 40, idle_s: 20, max_response_bytes: 1048576 },
      fallbacks: [{ model: 'gpt-4.1-nano' }, { provider: 'ollama', model: 'llama3.2' }, { provider: 'openrouter', model: 'meta-llama/llama-3.3-70b-instruct', api_key: 'sk-or-other-key', price: { input: 0.1, output: 0.3 } }],
    }, { OPENAI_API_KEY: 'sk-openai-key-123456' });
    const chain = modelsFor(agent, budget);
    const limits = { connect_timeout_ms: 3000, first_byte_timeout_ms: 40000, idle_timeout_ms: 20000, max_response_bytes: 1048576, max_event_bytes: budget.sse_buffer_bytes };
    assert.deepEqual(chain, [
      { provider: 'openai', model: 'gpt-4o-mini', base_url: 'https://api.openai.com/v1', api_key: 'sk-openai-key-123456', headers: { 'X-Title': 'aeon' }, limits },
      // Same provider: inherits key and headers.
      { provider: 'openai', model: 'gpt-4.1-nano', base_url: 'https://api.openai.com/v1', api_key: 'sk-openai-key-123456', headers: { 'X-Title': 'aeon' }, limits },
      // Another provider: nothing secret is inherited.
      { provider: 'ollama', model: 'llama3.2', base_url: 'http://127.0.0.1:11434/v1', limits },
      { provider: 'openrouter', model: 'meta-llama/llama-3.3-70b-instruct', base_url: 'https://openrouter.ai/api/v1', api_key: 'sk-or-other-key', price: { input: 0.1, output: 0.3 }, limits },
    ]);
    assert.ok(budget.sse_buffer_bytes > 0);
  });

  it('knows a default base URL and wire protocol for every provider', () => {
    for (const provider of ['openai', 'openrouter', 'ollama', 'lmstudio', 'openai-compatible', 'anthropic'] as const) {
      assert.match(DEFAULT_BASE_URL[provider], /^https?:\/\//);
      const { agent, budget } = agentFrom({ provider, model: 'm', api_key: 'key-123456' });
      const [m] = modelsFor(agent, budget);
      assert.equal(m!.base_url, DEFAULT_BASE_URL[provider]);
      assert.equal(createProvider(m!).id, `${provider}/m`);
    }
    assert.equal(wireProtocol('anthropic'), 'anthropic-messages');
    assert.equal(wireProtocol('lmstudio'), 'openai-completions');
  });
});

describe('createLlm', () => {
  it('streams through the agent\'s router, retrying per the agent\'s retries setting', async () => {
    const srv = await startReplayServer({ script: [{ status: 503, body: 'busy' }, { body: openaiTextStream('hello from config') }] });
    try {
      const { agent, budget } = agentFrom({ provider: 'ollama', model: 'llama3.2', base_url: `${srv.url}/v1`, retries: 1 });
      const llm = createLlm(agent, budget, { sleep: async () => {} });
      const got = await collect(llm.stream({ model: agent.model, system: '', messages: [{ role: 'user', content: 'hi' }] }, signal()));
      assert.equal(got.text, 'hello from config');
      assert.equal(srv.requests.length, 2);
      assert.equal(llm.id, 'ollama/llama3.2');
    } finally {
      await srv.close();
    }
  });
});
