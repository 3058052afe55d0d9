// The guard in child processes that really misbehave: the process must end by
// itself, with the documented code and one fatal line saying why.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EXIT_HEAP_OVER_BUDGET, EXIT_LOOP_BLOCKED, guardDefaults } from '../../src/device/guard.ts';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  fatal: Array<Record<string, unknown>>;
  stderr: string;
}

function run(mode: string): Promise<Run> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'helpers', 'guard-child.ts'), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      const fatal = out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.level === 60);
      resolve({ code, signal, ms: Date.now() - t0, fatal, stderr });
    });
  });
}

describe('Guard', () => {
  it('exits with 70 and one fatal line when the event loop is blocked by JS', async () => {
    const r = await run('busy');
    assert.equal(r.code, EXIT_LOOP_BLOCKED, `code ${r.code} signal ${r.signal} stderr ${r.stderr}`);
    assert.equal(r.fatal.length, 1);
    assert.equal(r.fatal[0]!.reason, 'event_loop_blocked');
    assert.equal(r.fatal[0]!.exit_code, 70);
    assert.match(String(r.fatal[0]!.msg), /event loop blocked for \d+ ms \(limit 400 ms\)/);
    assert.ok(r.ms < 8000, `took ${r.ms} ms`);
    assert.doesNotMatch(r.stderr, /exit handler ran/, 'no exit handlers run on the sick loop');
    assert.doesNotMatch(r.stderr, /debugger/i);
  });

  it('kills the process (after the fatal line) when the loop is stuck in native code', async () => {
    const r = await run('native');
    assert.equal(r.signal, 'SIGKILL', `code ${r.code} signal ${r.signal}`);
    assert.equal(r.fatal.length, 1);
    assert.equal(r.fatal[0]!.reason, 'event_loop_blocked');
    assert.ok(r.ms < 8000, `took ${r.ms} ms, never hangs`);
  });

  it('exits with 71 and one fatal line when the heap stays over budget', async () => {
    const r = await run('heap');
    assert.equal(r.code, EXIT_HEAP_OVER_BUDGET, `code ${r.code} signal ${r.signal} stderr ${r.stderr.slice(0, 500)}`);
    assert.equal(r.fatal.length, 1);
    assert.equal(r.fatal[0]!.reason, 'heap_over_budget');
    assert.equal(r.fatal[0]!.heap_budget_mb, 24);
    assert.ok((r.fatal[0]!.heap_used_mb as number) > 24);
    assert.ok((r.fatal[0]!.over_ms as number) >= 300);
  });

  it('leaves a healthy process alone, and stop() lets it exit normally', async () => {
    const r = await run('healthy');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.fatal.length, 0);
  });

  it('derives its limits from the board budget', () => {
    assert.deepEqual(guardDefaults({ heap_mb: 64, event_loop_lag_ms: 5000 }), { blockedMs: 15_000, heapBudgetBytes: Math.floor(64 * 0.9 * 1048576), heapGraceMs: 10_000 });
    assert.equal(guardDefaults({ heap_mb: 512, event_loop_lag_ms: 2000 }).blockedMs, 10_000);
  });
});
