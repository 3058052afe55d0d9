// The Raspberry Pi Zero 2 W binary (linux-arm64), built on this machine and
// run under qemu-aarch64-static with Debian's arm64 cross runtime, alone in an
// empty directory: version, check, and run until /healthz answers with the
// board's 64 MB heap limit baked in. Without qemu this fails (CI installs it).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exec, isStripped, NODE_VERSION, qemuArm64, runBuild, solo, startService, writeConfig, type Launcher, type Solo } from './harness.ts';

describe('the pi-zero-2w binary under qemu (linux-arm64)', () => {
  let out: string;
  let s: Solo;
  let qemu: Launcher;

  before(
    async () => {
      out = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-dist-'));
      await runBuild(['--board', 'pi-zero-2w', '--no-xz'], out);
      s = solo(path.join(out, 'aeon-pi-zero-2w'));
    },
    { timeout: 240_000 },
  );
  after(() => {
    for (const d of [out, s?.dir]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  it('is a stripped aarch64 executable', () => {
    const h = Buffer.alloc(20);
    const fd = fs.openSync(s.bin, 'r');
    fs.readSync(fd, h, 0, 20, 0);
    fs.closeSync(fd);
    assert.equal(h.readUInt16LE(18), 0xb7, 'ELF machine EM_AARCH64');
    assert.ok(isStripped(s.bin), 'no symbol table');
  });

  it('qemu-aarch64-static and the arm64 runtime are installed (CI: .ci/run)', () => {
    qemu = qemuArm64(s.bin);
  });

  it('version names the board, arm64 and the pinned Node', { timeout: 60_000 }, async () => {
    qemu ??= qemuArm64(s.bin);
    const r = await exec(qemu, ['version'], { env: s.env, cwd: s.dir, timeoutMs: 50_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^board pi-zero-2w$/m);
    assert.match(r.stdout, new RegExp(`^node ${NODE_VERSION.replace(/\./g, '\\.')} \\(linux-arm64\\)$`, 'm'));
    assert.match(r.stdout, /^sqlite 3\.\d+\.\d+$/m);
    // The code cache was made by the arm64 node (under qemu) with the board's flags: V8 takes it, silently.
    assert.doesNotMatch(r.stderr, /Code cache data rejected/);
  });

  it('check accepts a sample config and applies the pi-zero-2w budget by default', { timeout: 60_000 }, async () => {
    qemu ??= qemuArm64(s.bin);
    const file = writeConfig(s.dir, { agents: { main: { provider: 'ollama', model: 'llama3.2' } } });
    const r = await exec(qemu, ['check', '--config', file], { env: s.env, cwd: s.dir, timeoutMs: 50_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /board pi-zero-2w \(heap 64 MB, 8 concurrent turns\)/);
  });

  it('run answers /healthz with the 64 MB heap limit baked in, and stops on SIGTERM', { timeout: 90_000 }, async () => {
    qemu ??= qemuArm64(s.bin);
    const dir = path.join(s.dir, 'svc');
    fs.mkdirSync(dir);
    const file = writeConfig(dir, { server: { port: 0 }, agents: { main: { provider: 'ollama', model: 'llama3.2' } } });
    const svc = await startService(qemu, ['run', '--config', file], { env: s.env, cwd: s.dir, timeoutMs: 60_000 });
    try {
      const res = await fetch(`${svc.url}/healthz`);
      assert.equal(res.status, 200);
      const status = (await (await fetch(`${svc.url}/status`)).json()) as { process: { heap_limit_bytes: number } };
      const limitMb = status.process.heap_limit_bytes / 1048576;
      assert.ok(limitMb >= 64 && limitMb < 80, `heap limit ${limitMb} MB should follow the 64 MB budget`);
      assert.ok(fs.existsSync(path.join(dir, 'data', 'aeon.db')));
    } finally {
      assert.equal(await svc.stop(20_000), 0, svc.output());
    }
  });
});
