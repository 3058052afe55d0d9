import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { systemInfoTool, type SiLike } from '../../src/tools/system-info.ts';
import { decodeThrottled, parseThrottled } from '../../src/tools/throttled.ts';
import { ctx, tmpDir } from './util.ts';

test('reports memory, load, disk, uptime and network on this machine', async () => {
  const dir = tmpDir();
  const out = await systemInfoTool({ data_dir: dir, throttled_path: path.join(dir, 'none'), vcgencmd: false }).execute({}, ctx());
  const lines = out.split('\n');
  assert.deepEqual(lines.map((l) => l.split(':')[0]), ['cpu', 'memory', 'disk', 'uptime', 'network', 'throttling']);
  assert.match(out, /^cpu: \d+ cores, load \d+\.\d\d \d+\.\d\d \d+\.\d\d \(1\/5\/15 min\), (temperature \d+\.\d °C|temperature not available)$/m);
  assert.match(out, /^memory: \d+ MB available of \d+ MB \(\d+% used\); (no swap|swap \d+ MB used of \d+ MB); aeon uses \d+ MB$/m);
  assert.match(out, new RegExp(`^disk: ${dir}: [\\d.]+ [GM]B free of [\\d.]+ [GM]B \\(\\d+% used\\)$`, 'm'));
  assert.match(out, /^uptime: system .*, aeon .*$/m);
  assert.match(out, /^throttling: not available \(not a Raspberry Pi/m);
});

test('a missing temperature sensor or a failing probe does not take the others down', async () => {
  const si: SiLike = {
    cpuTemperature: async () => ({ main: null }),
    mem: async () => {
      throw new Error('meminfo unreadable');
    },
  };
  const tool = systemInfoTool({ data_dir: '/no/such/dir', vcgencmd: false, throttled_path: '/no/such/file', loadSi: async () => si });
  const out = await tool.execute({ sections: ['cpu', 'memory', 'disk', 'uptime'] }, ctx());
  assert.match(out, /^cpu: .*temperature not available$/m);
  assert.match(out, /^memory: not available \(meminfo unreadable\)$/m);
  assert.match(out, /^disk: not available \(ENOENT/m);
  assert.match(out, /^uptime: system /m);
});

test('sections limits the answer', async () => {
  const out = await systemInfoTool({ data_dir: '/' }).execute({ sections: ['uptime'] }, ctx());
  assert.match(out, /^uptime: system [^\n]+$/);
});

test('Raspberry Pi throttling flags are read and decoded to words', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'get_throttled');
  fs.writeFileSync(file, '50005\n');
  const out = await systemInfoTool({ data_dir: dir, throttled_path: file }).execute({ sections: ['throttling'] }, ctx());
  assert.equal(out, 'throttling: under-voltage, throttled now; has occurred since boot: under-voltage, throttled (0x50005)');
});

test('throttling flags: every bit has its word', () => {
  assert.equal(decodeThrottled(0), 'none (power and temperature fine since boot)');
  assert.equal(decodeThrottled(0xf000f), 'under-voltage, frequency capped, throttled, soft temperature limit now; has occurred since boot: under-voltage, frequency capped, throttled, soft temperature limit (0xf000f)');
  assert.equal(decodeThrottled(0x80000), 'has occurred since boot: soft temperature limit (0x80000)');
  assert.equal(parseThrottled('throttled=0x50000\n'), 0x50000);
  assert.equal(parseThrottled('0'), 0);
});
