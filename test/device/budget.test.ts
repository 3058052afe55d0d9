import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BOARDS } from '../../src/config/boards.ts';
import { ensureV8Flags, MALLOC_ENV, v8Flags } from '../../src/device/budget.ts';

const zero = BOARDS['pi-zero-2w']!.budget;
const argv = ['/usr/bin/node', '/opt/aeon/src/main.ts', 'run', '--config', '/etc/aeon/aeon.json'];

describe('board budget: V8 flags', () => {
  it('derives the flags from the budget', () => {
    assert.deepEqual(v8Flags(zero), ['--max-old-space-size=64', '--max-semi-space-size=1', '--optimize-for-size', '--liftoff-only']);
    assert.deepEqual(v8Flags(BOARDS.x64!.budget), ['--max-old-space-size=512', '--max-semi-space-size=16']);
  });

  it('asks for a re-exec with the missing flags, keeping the entry, its arguments and existing flags', () => {
    const d = ensureV8Flags(zero, argv, ['--enable-source-maps'], { PATH: '/usr/bin' }, { sea: false, execPath: '/usr/bin/node' });
    assert.equal(d.reexec, true);
    if (!d.reexec) return;
    assert.equal(d.command, '/usr/bin/node');
    assert.deepEqual(d.args, ['--max-old-space-size=64', '--max-semi-space-size=1', '--optimize-for-size', '--liftoff-only', '--enable-source-maps', '/opt/aeon/src/main.ts', 'run', '--config', '/etc/aeon/aeon.json']);
    assert.equal(d.env.AEON_REEXECED, '1');
    assert.equal(d.env.PATH, '/usr/bin');
    assert.equal(d.env.MALLOC_MMAP_THRESHOLD_, MALLOC_ENV.MALLOC_MMAP_THRESHOLD_, 'the second start gets the malloc settings too');
    const own = ensureV8Flags(zero, argv, [], { MALLOC_MMAP_THRESHOLD_: '65536' }, { sea: false });
    assert.equal(own.reexec && own.env.MALLOC_MMAP_THRESHOLD_, '65536', "an operator's own value wins");
  });

  it('adds only what is missing; an operator value (any spelling) wins', () => {
    const d = ensureV8Flags(zero, argv, ['--max_old_space_size=100'], {}, { sea: false });
    assert.ok(d.reexec);
    if (d.reexec) assert.deepEqual(d.missing, ['--max-semi-space-size=1', '--optimize-for-size', '--liftoff-only']);
    const viaEnv = ensureV8Flags(zero, argv, ['--optimize-for-size', '--liftoff-only'], { NODE_OPTIONS: '--max-old-space-size=80 --max-semi-space-size=2' }, { sea: false });
    assert.deepEqual(viaEnv, { reexec: false, reason: 'flags already set' });
  });

  it('does not re-exec when disabled, already done, or inside the single executable', () => {
    assert.equal(ensureV8Flags(zero, argv, [], { AEON_NO_REEXEC: '1' }, { sea: false }).reexec, false);
    assert.equal(ensureV8Flags(zero, argv, [], { AEON_REEXECED: '1' }, { sea: false }).reexec, false);
    assert.equal(ensureV8Flags(zero, argv, [], {}, { sea: true }).reexec, false);
  });

  for (const mode of ['execve', 'spawn'] as const) {
    it(`re-executes for real (${mode}): the new process has the budget's heap limit and the same arguments`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-budget-'));
      const entry = path.join(dir, 'entry.ts');
      const budgetTs = path.resolve(import.meta.dirname, '..', '..', 'src', 'device', 'budget.ts');
      fs.writeFileSync(
        entry,
        `import v8 from 'node:v8';
import { ensureV8Flags, reexec } from ${JSON.stringify(budgetTs)};
const d = ensureV8Flags({ heap_mb: 48, semi_space_mb: 1, v8_flags: [] }, process.argv, process.execArgv, process.env, { sea: false });
if (d.reexec) await reexec(d, { mode: ${JSON.stringify(mode)} });
process.on('SIGTERM', () => { console.log(JSON.stringify({ got: 'SIGTERM' })); process.exit(7); });
console.log(JSON.stringify({ pid: process.pid, execArgv: process.execArgv, args: process.argv.slice(2), limit_mb: Math.round(v8.getHeapStatistics().heap_size_limit / 1048576) }));
setTimeout(() => process.exit(3), 30000);
`,
      );
      const child = spawn(process.execPath, [entry, 'run', '--x'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('limit_mb') && !child.killed) child.kill('SIGTERM');
      });
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      fs.rmSync(dir, { recursive: true, force: true });
      const lines = out.trim().split('\n').map((l) => JSON.parse(l));
      const facts = lines.find((l) => l.limit_mb)!;
      assert.deepEqual(facts.execArgv, ['--max-old-space-size=48', '--max-semi-space-size=1']);
      assert.deepEqual(facts.args, ['run', '--x']);
      assert.ok(facts.limit_mb >= 48 && facts.limit_mb <= 56, `heap limit ${facts.limit_mb} MB`);
      if (mode === 'execve') assert.equal(facts.pid, child.pid, 'same PID: systemd MAINPID stays right');
      else assert.notEqual(facts.pid, child.pid);
      assert.ok(lines.some((l) => l.got === 'SIGTERM'), 'SIGTERM reached the process doing the work');
      assert.equal(code, 7, "the child's exit code comes back");
    });
  }
});
