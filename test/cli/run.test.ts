// `aeon run` as systemd runs it: no terminal, health server up, budget flags
// applied, clean exit on SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { it } from 'node:test';
import { MAIN, tempConfig } from '../helpers/aeon-cli.ts';

it('runs with the board budget, answers health endpoints, and stops cleanly on SIGTERM', async () => {
  const { file } = tempConfig({ device: { board: 'pi-zero-2w' }, server: { port: 0 }, agents: { main: { provider: 'ollama', model: 'x' } } });
  const child = spawn(process.execPath, [MAIN, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: '/tmp' } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no "aeon is up" line:\n${out}`)), 15_000);
    child.stdout.on('data', () => {
      const m = /"health":"(http:\/\/[^"]+)"/.exec(out);
      if (m && out.includes('aeon is up')) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
  });
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
  const ready = await fetch(`${url}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal(((await ready.json()) as { checks: Record<string, { ready: boolean }> }).checks.store!.ready, true);
  const status = (await (await fetch(`${url}/status`)).json()) as Record<string, any>;
  // pi-zero-2w: --max-old-space-size=64 was applied by re-executing.
  const limitMb = status.process?.heap_limit_bytes / 1048576;
  assert.ok(limitMb > 60 && limitMb < 100, `heap limit ${limitMb} MB should follow the 64 MB budget`);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /^aeon_part_ready\{part="store"\} 1$/m);
  assert.match(metrics, /^process_resident_memory_bytes \d+/m);
  child.kill('SIGTERM');
  const code = await new Promise((r) => child.once('exit', r));
  assert.equal(code, 0, out);
  assert.match(out, /"msg":"stopped"/);
});
