// The agent loop against an OpenAI-compatible mock server someone else wrote
// (@dwmkerr/mock-llm), through the real provider, router, store and CLI dialog
// contract: our reading of the protocol is not the only one tested.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.ts';
import type { TurnResult } from '../../src/dialogs/types.ts';
import { closeSharedAgents } from '../../src/llm/http-agent.ts';
import { silentLogger } from '../../src/log.ts';
import { Runtime } from '../../src/runtime.ts';
import { chatRule, errorRule, startMockLlm, type MockLlm } from '../helpers/mock-llm.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('agent loop against @dwmkerr/mock-llm', () => {
  let mock: MockLlm;
  let rt: Runtime;
  before(async () => {
    mock = await startMockLlm({
      rules: [chatRule('The greenhouse is at 23.4 degrees and the window is closed.'), errorRule(429, 'Rate limit reached for requests', 'rate_limit_exceeded', { match: "contains(body.messages[-1].content, 'flood')" })],
      chunkSize: 7,
    });
    const dir = tempDir('aeon-mockllm-');
    const { config, secrets } = parseConfig(
      JSON.stringify({ device: { data_dir: dir }, agents: { main: { provider: 'openai-compatible', model: 'mock', base_url: mock.url, retries: 0, tools: ['current_time'] } } }),
      path.join(dir, 'aeon.json'),
      { env: {} },
    );
    rt = new Runtime({ config, secrets, log: silentLogger(), dialogs: [] });
    await rt.start();
  });
  after(async () => {
    await rt.stop();
    await closeSharedAgents();
    await mock.stop();
  });

  const ask = (text: string, chat = 'mock') => {
    const deltas: string[] = [];
    const done = new Promise<TurnResult>((resolve) => rt.agent.submit({ dialog: 'cli', chat, text }, { delta: (d) => deltas.push(d), final: resolve }));
    return { deltas, done };
  };

  it('streams the answer in pieces and stores the turn', async () => {
    const r = ask('How warm is the greenhouse?');
    const res = await r.done;
    assert.equal(res.error, undefined, `${JSON.stringify(res.error)}\n${mock.output()}`);
    assert.equal(res.text, 'The greenhouse is at 23.4 degrees and the window is closed.');
    assert.ok(r.deltas.length >= 5, `streamed in ${r.deltas.length} pieces`);
    const msgs = [...rt.store.messages('agent:main:cli:mock')];
    assert.deepEqual(msgs.map((m) => m.role), ['user', 'assistant']);
  });

  it("carries the conversation: the second request holds the first turn", async () => {
    const res = await ask('And the window?').done;
    assert.equal(res.error, undefined);
    assert.equal([...rt.store.messages('agent:main:cli:mock')].length, 4);
  });

  it("turns the mock's streamed rate-limit error into one plain sentence", async () => {
    const res = await ask('flood me', 'other').done;
    assert.equal(res.error?.code, 'llm_rate_limit', JSON.stringify(res));
    assert.equal(res.error?.message, 'The language model is rate-limiting requests; try again in a minute.');
  });
});
