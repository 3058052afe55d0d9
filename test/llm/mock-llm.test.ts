// Our OpenAI-compatible provider against @dwmkerr/mock-llm, a server we did not
// write, running in its own process.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { createProvider } from '../../src/llm/index.ts';
import { closeSharedAgents } from '../../src/llm/http-agent.ts';
import { chatRule, errorRule, startMockLlm, type MockLlm } from '../helpers/mock-llm.ts';
import { collect, signal, testModel } from './support.ts';

const ANSWER = 'The greenhouse is at 23.4 °C — vents open. "Quotes", \\backslashes\\ and 🌱 survive.';

let mock: MockLlm;
before(async () => {
  mock = await startMockLlm({
    chunkSize: 7,
    chunkIntervalMs: 2,
    rules: [
      // Catch-all first: mock-llm lets the last matching rule win.
      chatRule(ANSWER),
      errorRule(429, 'Rate limit reached for requests', 'rate_limit_exceeded', { match: "contains(body.messages[-1].content, 'limit me')" }),
    ],
  });
});
after(async () => {
  await mock?.stop();
  await closeSharedAgents();
});

const ask = (content: string) => ({ model: 'mock', system: 'sys', messages: [{ role: 'user' as const, content }] });

it('streams text from mock-llm, reassembled exactly from its chunks', async () => {
  const got = await collect(createProvider(testModel('openai-compatible', mock.url, { model: 'mock-model' })).stream(ask('greenhouse?'), signal()));
  assert.equal(got.error, null, `${JSON.stringify(got.error)}\n${mock.output()}`);
  assert.equal(got.text, ANSWER);
  assert.equal(got.stop, 'end');
  assert.ok(got.events.filter((e) => e.type === 'text').length >= Math.ceil(ANSWER.length / 7), 'expected one text event per chunk');
});

it('turns mock-llm\'s streamed error object into a rate_limit error', async () => {
  const got = await collect(createProvider(testModel('openai-compatible', mock.url)).stream(ask('please limit me'), signal()));
  assert.equal(got.text, '');
  assert.equal(got.error?.kind, 'rate_limit');
  assert.equal(got.error?.retryable, true);
  assert.match(got.error!.message, /Rate limit reached/);
});
