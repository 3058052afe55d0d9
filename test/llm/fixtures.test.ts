// Every recorded stream in test/fixtures/llm, replayed over real HTTP in many
// random chunk splits (seeded, so a failure names a reproducible seed), with LF
// and with CRLF line ends, must give exactly the text, tool calls, usage and
// stop (or error) in its .expect.json sidecar.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProvider } from '../../src/llm/index.ts';
import { closeSharedAgents } from '../../src/llm/http-agent.ts';
import { readFixture, startReplayServer, type ReplayServer } from '../helpers/sse-replay.ts';
import { collect, signal, testModel } from './support.ts';
import type { ProviderKind } from '../../src/llm/types.ts';

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/llm');
const FIXTURES = fs.readdirSync(DIR).filter((f) => f.endsWith('.sse')).map((f) => f.slice(0, -4)).sort();
const SEEDS = 50;

interface Expect {
  provider: ProviderKind;
  text: string;
  tool_calls: Array<{ id: string; name: string; arguments: string }>;
  usage: { input: number; output: number } | null;
  stop?: string;
  error?: { kind: string; retryable: boolean };
}

let srv: ReplayServer;

before(async () => {
  // The request path carries fixture, seed and line-end style, so one server serves every case.
  srv = await startReplayServer({
    script: (req) => {
      const [, name, seed, eol] = req.path.split('/');
      return { body: readFixture(`${name}.sse`), split: { seed: Number(seed), max: 48 }, crlf: eol === 'crlf' };
    },
  });
});
after(async () => {
  await srv.close();
  await closeSharedAgents();
});

it('has fixtures for every wire style', () => {
  for (const name of ['openai-text', 'openai-parallel-tools', 'anthropic-tool-use', 'openrouter-text', 'ollama-text', 'openai-malformed']) {
    assert.ok(FIXTURES.includes(name), `missing fixture ${name}`);
  }
});

for (const name of FIXTURES) {
  const expected = JSON.parse(fs.readFileSync(path.join(DIR, `${name}.expect.json`), 'utf8')) as Expect;
  describe(name, () => {
    for (const eol of ['lf', 'crlf']) {
      it(`gives the expected result in ${SEEDS} random chunk splits (${eol})`, async () => {
        for (let seed = 1; seed <= SEEDS; seed++) {
          const model = testModel(expected.provider, `${srv.url}/${name}/${seed}/${eol}/v1`);
          const got = await collect(createProvider(model).stream({ model: model.model, system: 's', messages: [{ role: 'user', content: 'hi' }] }, signal()));
          const where = `seed ${seed} ${eol}`;
          assert.equal(got.text, expected.text, where);
          assert.deepEqual(got.tool_calls, expected.tool_calls, where);
          assert.deepEqual(got.usage, expected.usage, where);
          if (expected.error) {
            assert.equal(got.error?.kind, expected.error.kind, `${where}: ${JSON.stringify(got.error)}`);
            assert.equal(got.error?.retryable, expected.error.retryable, where);
            assert.equal(got.stop, null, where);
          } else {
            assert.equal(got.error, null, `${where}: ${JSON.stringify(got.error)}`);
            assert.equal(got.stop, expected.stop, where);
            // Tool calls come whole after the text, and usage just before done.
            const tail = got.shape.filter((t) => t !== 'text' && t !== 'tool_call');
            assert.deepEqual(tail, expected.usage ? ['usage', 'done'] : ['done'], where);
          }
        }
      });
    }
  });
}
