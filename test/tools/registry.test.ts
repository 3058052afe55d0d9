import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validate_tool_file_write } from '../../src/gen/validators.js';
import { silentLogger } from '../../src/log.ts';
import { ToolRegistry } from '../../src/tools/registry.ts';
import { fileWriteArgs } from '../../src/tools/schemas.ts';
import type { Tool } from '../../src/tools/types.ts';
import { Secrets } from '../../src/util/secrets.ts';
import { ctx } from './util.ts';

const echo: Tool<{ text: string; times: number }> = {
  name: 'echo',
  description: 'Repeats text.',
  parameters: {
    type: 'object',
    additionalProperties: false,
    required: ['text'],
    properties: {
      text: { type: 'string', description: 'What to say.' },
      times: { type: 'integer', minimum: 1, maximum: 3, default: 1 },
      opts: { type: 'object', properties: { loud: { type: 'boolean' } } },
    },
  },
  async execute({ text, times }) {
    return text.repeat(times);
  },
};

function registry(tools: Tool[], extra: Partial<ConstructorParameters<typeof ToolRegistry>[1]> = {}) {
  return new ToolRegistry(tools, { default_timeout_ms: 5000, max_output_bytes: 1000, log: silentLogger(), ...extra });
}

const call = (name: string, args: unknown) => ({ id: 'c1', name, arguments: typeof args === 'string' ? args : JSON.stringify(args) });

test('runs a tool with validated arguments and schema defaults filled in', async () => {
  const r = await registry([echo]).run(call('echo', { text: 'hi' }), ctx());
  assert.deepEqual(r, { content: 'hi', is_error: false });
});

test('an unknown tool is an error result naming the available tools', async () => {
  const r = await registry([echo]).run(call('ecko', {}), ctx());
  assert.equal(r.is_error, true);
  assert.match(r.content, /no tool "ecko"/);
  assert.match(r.content, /Available tools: echo/);
});

test('arguments that are not JSON are an error result saying so', async () => {
  const r = await registry([echo]).run(call('echo', '{"text": "hi"'), ctx());
  assert.equal(r.is_error, true);
  assert.match(r.content, /not valid JSON/);
});

test('empty arguments count as an empty object', async () => {
  const r = await registry([echo]).run(call('echo', ''), ctx());
  assert.equal(r.is_error, true);
  assert.match(r.content, /text: is required but missing — What to say\./);
});

test('schema errors list every problem with its path', async () => {
  const r = await registry([echo]).run(call('echo', { text: 5, times: 9, opts: { loud: 'yes' }, colour: 'red' }), ctx());
  assert.equal(r.is_error, true);
  assert.match(r.content, /^Invalid arguments for echo:/);
  assert.match(r.content, /^text: must be a string \(got 5\)/m);
  assert.match(r.content, /^times: must be <= 3 \(got 9\)/m);
  assert.match(r.content, /^opts\.loud: must be a boolean/m);
  assert.match(r.content, /^colour: is not a known key/m);
});

test('built-in schemas are checked too (precompiled validators)', async () => {
  assert.equal(typeof validate_tool_file_write, 'function', 'npm run gen compiles the tool schemas');
  const write: Tool = { name: 'file_write', description: 'w', parameters: fileWriteArgs, execute: async () => 'ok' };
  const r = await registry([write]).run(call('file_write', { path: 'a.txt' }), ctx());
  assert.equal(r.is_error, true);
  assert.match(r.content, /content: is required but missing/);
});

test('a tool that ignores its signal still times out on time', async () => {
  let sawAbort = false;
  const stuck: Tool = {
    name: 'stuck',
    description: 'Never finishes.',
    parameters: { type: 'object' },
    timeout_ms: 100,
    execute: (_args, { signal }) => {
      signal.addEventListener('abort', () => (sawAbort = true));
      return new Promise(() => {});
    },
  };
  const t0 = Date.now();
  const r = await registry([stuck]).run(call('stuck', {}), ctx());
  assert.ok(Date.now() - t0 < 2000);
  assert.deepEqual(r, { content: 'stuck timed out after 100 ms and was stopped.', is_error: true });
  assert.equal(sawAbort, true, 'the tool is told through its signal');
});

test('the default timeout applies to tools without their own', async () => {
  const slow: Tool = { name: 'slow', description: 's', parameters: { type: 'object' }, execute: () => new Promise(() => {}) };
  const r = await registry([slow], { default_timeout_ms: 50 }).run(call('slow', {}), ctx());
  assert.equal(r.content, 'slow timed out after 50 ms and was stopped.');
});

test("the caller's abort cancels a running tool and settles the call", async () => {
  let toolSignal: AbortSignal | undefined;
  const wait: Tool = {
    name: 'wait',
    description: 'Waits.',
    parameters: { type: 'object' },
    execute: (_a, { signal }) => {
      toolSignal = signal;
      return new Promise(() => {});
    },
  };
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const r = await registry([wait]).run(call('wait', {}), ctx(ac.signal));
  assert.equal(r.is_error, true);
  assert.match(r.content, /cancelled/);
  assert.equal(toolSignal?.aborted, true);
});

test('an already aborted call does not start the tool', async () => {
  let ran = false;
  const t: Tool = { name: 't', description: 't', parameters: { type: 'object' }, execute: async () => ((ran = true), 'x') };
  const r = await registry([t]).run(call('t', {}), ctx(AbortSignal.abort()));
  assert.equal(r.is_error, true);
  assert.equal(ran, false);
});

test('output is capped keeping head and tail', async () => {
  const big: Tool = { name: 'big', description: 'b', parameters: { type: 'object' }, execute: async () => `HEAD${'x'.repeat(20000)}TAIL` };
  const r = await registry([big]).run(call('big', {}), ctx());
  assert.equal(r.is_error, false);
  assert.ok(Buffer.byteLength(r.content) <= 1000);
  assert.ok(r.content.startsWith('HEADxxx'));
  assert.ok(r.content.endsWith('xxxTAIL'));
  assert.match(r.content, /\[\.\.\. 19,\d{3} bytes elided \.\.\.\]/);
});

test('a thrown error becomes an error result with its message', async () => {
  const bad: Tool = {
    name: 'bad',
    description: 'b',
    parameters: { type: 'object' },
    execute: async () => {
      throw new Error('The file is locked; try again later.');
    },
  };
  const syncBad: Tool = {
    name: 'sync_bad',
    description: 'b',
    parameters: { type: 'object' },
    execute: () => {
      throw new Error('thrown before any promise');
    },
  };
  const reg = registry([bad, syncBad]);
  assert.deepEqual(await reg.run(call('bad', {}), ctx()), { content: 'The file is locked; try again later.', is_error: true });
  assert.deepEqual(await reg.run(call('sync_bad', {}), ctx()), { content: 'thrown before any promise', is_error: true });
});

test('known secrets are scrubbed from results', async () => {
  const secrets = new Secrets();
  secrets.add('sk-live-0123456789');
  const leak: Tool = { name: 'leak', description: 'l', parameters: { type: 'object' }, execute: async () => 'key=sk-live-0123456789' };
  const r = await registry([leak], { secrets }).run(call('leak', {}), ctx());
  assert.equal(r.content, 'key=[redacted]');
});

test('specs lists the enabled tools and refuses unknown names at start-up', () => {
  const reg = registry([echo]);
  assert.deepEqual(reg.specs(['echo']), [{ name: 'echo', description: 'Repeats text.', parameters: echo.parameters }]);
  assert.throws(() => reg.specs(['echo', 'ecko']), /Unknown tool "ecko" \(did you mean "echo"\?\); available: echo\./);
});

test('register refuses duplicate and invalid names', () => {
  const reg = registry([echo]);
  assert.throws(() => reg.register(echo), /registered twice/);
  assert.throws(() => reg.register({ ...echo, name: 'has space' }), /invalid/);
  reg.register({ ...echo, name: 'echo2' });
  assert.deepEqual(reg.names(), ['echo', 'echo2']);
  assert.equal(reg.has('echo2'), true);
});
