// The guard in child processes that really misbehave: the process must end by
// itself, with the documented code (or SIGKILL) and one fatal line saying why.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EXIT_HEAP_OVER_BUDGET, guardDefaults } from '../../src/device/guard.ts';

interface Run {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  fatal: Array<Record<string, unknown>>;
  stderr: string;
}

function run(mode: string, during?: (pid: number) => void): Promise<Run> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'helpers', 'guard-child.ts'), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  during?.(child.pid!);
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
      resolve({ pid: child.pid!, code, signal, ms: Date.now() - t0, fatal, stderr });
    });
  });
}

describe('Guard', () => {
  it('kills the process (SIGKILL) after one fatal line when the event loop is blocked by JS', async () => {
    const r = await run('busy');
    assert.equal(r.signal, 'SIGKILL', `code ${r.code} signal ${r.signal} stderr ${r.stderr}`);
    assert.equal(r.fatal.length, 1);
    assert.equal(r.fatal[0]!.reason, 'event_loop_blocked');
    assert.equal(r.fatal[0]!.signal, 'SIGKILL');
    assert.match(String(r.fatal[0]!.msg), /event loop blocked for \d+ ms \(limit 400 ms\)/);
    assert.ok((r.fatal[0]!.blocked_ms as number) >= 400);
    assert.ok(r.ms < 8000, `took ${r.ms} ms`);
    assert.doesNotMatch(r.stderr, /exit handler ran/, 'no exit handlers run on the sick loop');
  });

  it('kills the process (after the fatal line) when the loop is stuck in native code', async () => {
    const r = await run('native');
    assert.equal(r.signal, 'SIGKILL', `code ${r.code} signal ${r.signal}`);
    assert.equal(r.fatal.length, 1);
    assert.equal(r.fatal[0]!.reason, 'event_loop_blocked');
    assert.ok(r.ms < 8000, `took ${r.ms} ms, never hangs`);
  });

  it('leaves a stopped process alone (SIGSTOP, a debugger) and watches it again once it runs', async () => {
    const r = await run('healthy', (pid) => {
      setTimeout(() => process.kill(pid, 'SIGSTOP'), 400);
      setTimeout(() => process.kill(pid, 'SIGCONT'), 2000);
    });
    assert.equal(r.code, 0, `code ${r.code} signal ${r.signal} ${r.stderr}`);
    assert.equal(r.fatal.length, 0);
  });

  it('the watcher does not outlive the process it watches', async () => {
    const r = await run('watcher-pid', (pid) => setTimeout(() => process.kill(pid, 'SIGKILL'), 1000));
    assert.equal(r.signal, 'SIGKILL');
    const watcher = Number(/watcher (\d+)/.exec(r.stderr)?.[1]);
    assert.ok(watcher > 0, r.stderr);
    for (let i = 0; i < 50 && alive(watcher); i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(alive(watcher), false, 'the bash watcher exits when its stdin closes');
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

/** Running or sleeping; a zombie waiting for init to reap it counts as gone. */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\S+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}
