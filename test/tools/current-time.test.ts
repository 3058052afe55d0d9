import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { currentTimeTool } from '../../src/tools/current-time.ts';
import { ToolRegistry } from '../../src/tools/registry.ts';
import { ctx } from './util.ts';

const fixed = () => new Date('2025-01-01T12:00:00Z');

test('the time in a named zone, with its offset, and unix seconds', async () => {
  const out = await currentTimeTool({ now: fixed }).execute({ timezone: 'Asia/Tokyo' }, ctx());
  const [utc, local, unix] = out.split('\n');
  assert.equal(utc, 'utc: 2025-01-01T12:00:00.000Z');
  // The words come from ICU, whose punctuation varies between versions.
  assert.match(local!, /^local: 2025-01-01T21:00:00\+09:00 \(Wednesday,? 1 January 2025 at 21:00:00 GMT\+9, Asia\/Tokyo\)$/);
  assert.equal(unix, 'unix: 1735732800');
});

test('half-hour offsets and daylight saving time come out right', async () => {
  const t = currentTimeTool({ now: () => new Date('2025-07-01T12:00:00Z') });
  assert.match(await t.execute({ timezone: 'America/St_Johns' }, ctx()), /^local: 2025-07-01T09:30:00-02:30 /m);
  assert.match(await t.execute({ timezone: 'Europe/Berlin' }, ctx()), /^local: 2025-07-01T14:00:00\+02:00 /m);
  assert.match(await t.execute({ timezone: 'UTC' }, ctx()), /^local: 2025-07-01T12:00:00\+00:00 /m);
});

test("without a zone it uses the device's zone", async () => {
  const out = await currentTimeTool({ now: fixed, timezone: 'America/New_York' }).execute({}, ctx());
  assert.match(out, /^local: 2025-01-01T07:00:00-05:00 \(.*, America\/New_York\)$/m);
});

test('a bad zone is an error result that suggests the right name', async () => {
  const reg = new ToolRegistry([currentTimeTool({ now: fixed })], { default_timeout_ms: 1000, max_output_bytes: 4096, log: silentLogger() });
  const r = await reg.run({ id: '1', name: 'current_time', arguments: '{"timezone":"Europe/Berln"}' }, ctx());
  assert.equal(r.is_error, true);
  assert.equal(r.content, 'Unknown time zone "Europe/Berln" (did you mean "Europe/Berlin"?). Use an IANA name such as "Europe/Berlin", "America/New_York" or "UTC".');
  const bad = await reg.run({ id: '2', name: 'current_time', arguments: '{"timezone":"Mars/Olympus_Mons"}' }, ctx());
  assert.match(bad.content, /^Unknown time zone "Mars\/Olympus_Mons"\. Use an IANA name/);
});
