// The whole test suite: strict type check, then every test file under test/
// with node's own runner on the TypeScript sources. Run through
// scripts/toolchain.mjs (npm test), which provides the pinned Node.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2);

function step(name, cmd, args) {
  process.stdout.write(`\n# ${name}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, AEON_LOG_LEVEL: process.env.AEON_LOG_LEVEL ?? 'silent' } });
  if (r.status !== 0) {
    process.stdout.write(`\n# ${name} failed (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status || 1);
  }
}

function testFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' || e.name === 'helpers' ? [] : testFiles(p);
    return e.name.endsWith('.test.ts') ? [path.relative(root, p)] : [];
  });
}

if (!only.length) step('type check (tsc --noEmit, strict)', path.join(root, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', '.']);
const files = only.length ? only : testFiles(path.join(root, 'test')).sort();
// A test file that never exits (an open handle) would hold CI until its hard
// limit; this bound ends the run with a clear failure instead.
const LIMIT_MIN = Number(process.env.AEON_TEST_LIMIT_MIN ?? 30);
process.stdout.write(`\n# tests (${files.length} files)\n`);
const child = spawn(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=120000', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
  detached: true,
  env: { ...process.env, AEON_LOG_LEVEL: process.env.AEON_LOG_LEVEL ?? 'silent' },
});
const limit = setTimeout(() => {
  process.stdout.write(`\n# tests did not finish within ${LIMIT_MIN} minutes; stopping them (a test file leaves a handle open?)\n`);
  process.kill(-child.pid, 'SIGKILL');
}, LIMIT_MIN * 60_000);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.kill(-child.pid, 'SIGKILL'));
child.on('exit', (code, signal) => {
  clearTimeout(limit);
  if (code !== 0) process.stdout.write(`\n# tests failed (exit ${code ?? signal})\n`);
  process.exit(code ?? 1);
});
