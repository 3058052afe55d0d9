import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeadTailBuffer, capOutput } from '../../src/tools/cap-output.ts';

const bytes = (s: string) => Buffer.byteLength(s);
const elided = (s: string) => Number(/\[\.\.\. ([\d,]+) bytes elided \.\.\.\]/.exec(s)?.[1]?.replaceAll(',', '') ?? NaN);

test('text within the cap is returned unchanged', () => {
  assert.equal(capOutput('hello', 5), 'hello');
  assert.equal(capOutput('€€', 6), '€€');
});

test('long text keeps head and tail, says how much was elided, and fits the cap', () => {
  const text = 'A'.repeat(5000) + 'M'.repeat(5000) + 'Z'.repeat(5000);
  const out = capOutput(text, 1000);
  assert.ok(bytes(out) <= 1000, `${bytes(out)} bytes`);
  assert.match(out, /^A+\n\[\.\.\. 14,\d{3} bytes elided \.\.\.\]\nZ+$/);
  assert.equal(bytes(out.replace(/\n\[.*\]\n/, '')) + elided(out), 15000);
});

test('multi-byte characters are never cut in two', () => {
  for (const ch of ['é', '€', '😀']) {
    const text = `x${ch.repeat(2000)}y`;
    for (const max of [101, 102, 103, 257, 600]) {
      const out = capOutput(text, max);
      assert.ok(bytes(out) <= max);
      assert.ok(!out.includes('\uFFFD'), `replacement char for ${ch} at ${max}`);
      assert.equal(bytes(out.replace(/\n\[.*\]\n/, '')) + elided(out), bytes(text));
    }
  }
});

test('a cap smaller than the note keeps only the head', () => {
  const out = capOutput('abcdefghij'.repeat(10), 8);
  assert.equal(out, 'abcdefgh');
});

test('HeadTailBuffer keeps head and tail of streamed chunks in bounded memory', () => {
  const text = Array.from({ length: 3000 }, (_, i) => `line ${i} ✓\n`).join('');
  const buf = Buffer.from(text);
  const sink = new HeadTailBuffer(800);
  // Odd chunk sizes split multi-byte characters between writes.
  for (let i = 0; i < buf.length; i += 7) sink.write(buf.subarray(i, i + 7));
  const out = sink.toString();
  assert.equal(sink.total, buf.length);
  assert.ok(bytes(out) <= 800, `${bytes(out)} bytes`);
  assert.ok(!out.includes('\uFFFD'));
  assert.ok(out.startsWith('line 0 ✓\nline 1 ✓\n'));
  assert.ok(out.endsWith('line 2999 ✓\n'));
  assert.equal(bytes(out.replace(/\n\[.*\]\n/, '')) + elided(out), buf.length);
});

test('HeadTailBuffer returns short output whole', () => {
  const sink = new HeadTailBuffer(800);
  sink.write(Buffer.from('hello '));
  sink.write(Buffer.from('world'));
  assert.equal(sink.toString(), 'hello world');
});
