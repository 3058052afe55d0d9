// Small pure parts of the LLM layer: tool-call reassembly, Retry-After, prices,
// error-body parsing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ToolCallAssembler } from '../../src/llm/tool-calls.ts';
import { retryAfterMs } from '../../src/llm/retry-after.ts';
import { costOf, priceOf } from '../../src/llm/prices.ts';
import { parseErrorBody } from '../../src/llm/http-errors.ts';

describe('ToolCallAssembler', () => {
  it('keeps calls without an index apart by id (older Ollama) and appends to the current one otherwise', () => {
    const a = new ToolCallAssembler();
    a.add([{ id: 'x', function: { name: 'one', arguments: '{"a":' } }]);
    a.add([{ function: { arguments: '1}' } }]);
    a.add([{ id: 'y', function: { name: 'two', arguments: { b: 2 } } }]);
    assert.deepEqual(a.drain(), [
      { id: 'x', name: 'one', arguments: '{"a":1}' },
      { id: 'y', name: 'two', arguments: '{"b":2}' },
    ]);
    assert.equal(a.size, 0);
  });

  it('keeps the first name when a server repeats it, and invents ids only when none came', () => {
    const a = new ToolCallAssembler();
    a.add([{ index: 0, function: { name: 'get', arguments: '' } }]);
    a.add([{ index: 0, function: { name: 'get', arguments: '{}' } }]);
    assert.deepEqual(a.drain(), [{ id: 'call_0', name: 'get', arguments: '{}' }]);
  });

  it('ignores junk fragments instead of throwing', () => {
    const a = new ToolCallAssembler();
    a.add('nope');
    a.add([null, 3, { index: -1 }]);
    assert.deepEqual(a.drain(), [{ id: 'call_0', name: '', arguments: '{}' }]);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-11-21T12:00:00Z');
  it('reads seconds, fractions, HTTP dates and retry-after-ms', () => {
    assert.equal(retryAfterMs({ 'retry-after': '12' }, now), 12_000);
    assert.equal(retryAfterMs({ 'retry-after': '0.5' }, now), 500);
    assert.equal(retryAfterMs({ 'retry-after': 'Sat, 21 Nov 2026 12:01:30 GMT' }, now), 90_000);
    assert.equal(retryAfterMs({ 'retry-after': 'Sat, 21 Nov 2026 11:00:00 GMT' }, now), 0);
    assert.equal(retryAfterMs({ 'retry-after-ms': '250', 'retry-after': '1' }, now), 250);
  });
  it('ignores what it cannot read', () => {
    assert.equal(retryAfterMs({}, now), undefined);
    assert.equal(retryAfterMs({ 'retry-after': 'soon' }, now), undefined);
    assert.equal(retryAfterMs({ 'retry-after': '-3' }, now), undefined);
  });
});

describe('prices', () => {
  it('finds the longest matching model prefix, with vendor prefixes and date suffixes', () => {
    assert.deepEqual(priceOf({ provider: 'openai', model: 'gpt-4o-mini-2024-07-18' }), { input: 0.15, output: 0.6 });
    assert.deepEqual(priceOf({ provider: 'openai', model: 'gpt-4o' }), { input: 2.5, output: 10 });
    assert.deepEqual(priceOf({ provider: 'openrouter', model: 'openai/gpt-4.1-mini' }), { input: 0.4, output: 1.6 });
    assert.deepEqual(priceOf({ provider: 'anthropic', model: 'claude-sonnet-4-5-20250929' }), { input: 3, output: 15 });
    assert.deepEqual(priceOf({ provider: 'anthropic', model: 'claude-haiku-4-5' }), { input: 1, output: 5 });
    assert.equal(priceOf({ provider: 'openai', model: 'gpt-50' }), undefined);
    assert.equal(priceOf({ provider: 'openai-compatible', model: 'qwen2.5-7b' }), undefined);
  });
  it('charges nothing for local servers and lets the config override', () => {
    assert.equal(costOf({ provider: 'ollama', model: 'gpt-4o' }, { input: 5e6, output: 5e6 }), 0);
    assert.equal(costOf({ provider: 'lmstudio', model: 'x' }, { input: 1, output: 1 }), 0);
    assert.equal(costOf({ provider: 'openai', model: 'gpt-4o', price: { input: 1, output: 2 } }, { input: 1e6, output: 1e6 }), 3);
    assert.equal(costOf({ provider: 'openai', model: 'gpt-4o-mini' }, { input: 2000, output: 1000 }), (2000 * 0.15 + 1000 * 0.6) / 1e6);
    assert.equal(costOf({ provider: 'openai-compatible', model: 'unknown' }, { input: 1e6, output: 1e6 }), 0);
  });
});

describe('parseErrorBody', () => {
  it('reads the shapes providers use', () => {
    assert.deepEqual(parseErrorBody('{"error":{"message":"m","type":"t","code":"c"}}'), { message: 'm', code: 'c' });
    assert.deepEqual(parseErrorBody('{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}'), { message: 'slow', code: 'rate_limit_error' });
    assert.deepEqual(parseErrorBody('{"error":"model not found"}'), { message: 'model not found' });
    assert.deepEqual(parseErrorBody('{"error":{"code":502,"message":"Provider returned error","metadata":{"raw":"boom"}}}'), { message: 'Provider returned error (boom)', code: '502' });
    assert.deepEqual(parseErrorBody('  plain\n text  '), { message: 'plain text' });
    assert.deepEqual(parseErrorBody(''), {});
  });
});
