// scripts/install.sh --root: provisioning a mounted SD-card root filesystem,
// checked as a tree of paths, modes and content hashes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import piZero from '../../boards/pi-zero-2w.json' with { type: 'json' };
import pi4 from '../../boards/pi-4.json' with { type: 'json' };

const repo = path.resolve(import.meta.dirname, '..', '..');
const script = path.join(repo, 'scripts', 'install.sh');

function install(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; out: string; err: string } {
  const r = spawnSync('bash', [script, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/** Every path under root with its type, mode and content hash (or link target). */
function listing(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      const rel = path.relative(root, p);
      const st = fs.lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[rel] = `link -> ${fs.readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[rel] = `dir ${mode}`;
        walk(p);
      } else out[rel] = `file ${mode} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex').slice(0, 16)}`;
    }
  };
  walk(root);
  return out;
}

function mode(p: string): number {
  return fs.statSync(p).mode & 0o777;
}

describe('install.sh --root', () => {
  let tmp = '';
  let root = '';
  let bin = '';

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-install-'));
    root = path.join(tmp, 'rootfs');
    // The bits of a Raspberry Pi OS root filesystem the installer touches.
    fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000:,,,:/home/pi:/bin/bash\n', { mode: 0o644 });
    fs.writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\npi:x:1000:\n', { mode: 0o644 });
    fs.writeFileSync(path.join(root, 'etc/shadow'), 'root:*:19000:0:99999:7:::\npi:!:19000:0:99999:7:::\n', { mode: 0o640 });
    fs.writeFileSync(path.join(root, 'etc/gshadow'), 'root:*::\npi:!::\n', { mode: 0o640 });
    bin = path.join(tmp, 'aeon-pi-zero-2w');
    fs.writeFileSync(bin, '#!/bin/sh\necho aeon test binary\n', { mode: 0o755 });
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('produces the expected tree: binary, unit with the board budget, wants symlink, config, env 0600, sysusers, user', () => {
    const r = install(['--root', root, bin]);
    assert.equal(r.status, 0, r.err + r.out);
    const f = (p: string) => path.join(root, p);

    assert.equal(fs.readFileSync(f('usr/local/bin/aeon'), 'utf8'), fs.readFileSync(bin, 'utf8'));
    assert.equal(mode(f('usr/local/bin/aeon')), 0o755);

    const unit = fs.readFileSync(f('etc/systemd/system/aeon.service'), 'utf8');
    assert.equal(mode(f('etc/systemd/system/aeon.service')), 0o644);
    assert.match(unit, new RegExp(`^MemoryMax=${piZero.budget.memory_max_mb}M$`, 'm'));
    assert.match(unit, new RegExp(`^MemoryHigh=${Math.floor((piZero.budget.memory_max_mb * 85) / 100)}M$`, 'm'));
    assert.match(unit, /^Environment=AEON_BOARD=pi-zero-2w$/m);
    assert.match(unit, /^ExecStart=\/usr\/local\/bin\/aeon run --config \/etc\/aeon\/aeon\.json$/m);

    assert.equal(fs.readlinkSync(f('etc/systemd/system/multi-user.target.wants/aeon.service')), '/etc/systemd/system/aeon.service');
    assert.equal(fs.readFileSync(f('etc/aeon/aeon.json'), 'utf8'), fs.readFileSync(path.join(repo, 'aeon.json'), 'utf8'));
    assert.equal(mode(f('etc/aeon/env')), 0o600);
    assert.match(fs.readFileSync(f('etc/aeon/env'), 'utf8'), /^#TELEGRAM_BOT_TOKEN=$/m);
    assert.match(fs.readFileSync(f('usr/lib/sysusers.d/aeon.conf'), 'utf8'), /^u aeon - ".*" \/var\/lib\/aeon \/usr\/sbin\/nologin$/m);
    assert.ok(fs.existsSync(f('usr/local/share/doc/aeon/device.md')));

    const passwd = fs.readFileSync(f('etc/passwd'), 'utf8');
    const line = passwd.split('\n').find((l) => l.startsWith('aeon:'));
    assert.ok(line, 'aeon user in /etc/passwd of the image');
    const [, , uid, gid, , home, shell] = line.split(':');
    assert.ok(Number(uid) >= 100 && Number(uid) < 1000, `system uid, got ${uid}`);
    assert.equal(home, '/var/lib/aeon');
    assert.equal(shell, '/usr/sbin/nologin');
    assert.match(fs.readFileSync(f('etc/group'), 'utf8'), new RegExp(`^aeon:x:${gid}:`, 'm'));
    assert.match(fs.readFileSync(f('etc/shadow'), 'utf8'), /^aeon:!/m);
    assert.match(passwd, /^pi:x:1000:/m, 'existing users untouched');
    assert.equal(mode(f('etc/shadow')), 0o640);
  });

  it('is idempotent: a second run changes nothing', () => {
    assert.equal(install(['--root', root, bin]).status, 0);
    const first = listing(root);
    const again = install(['--root', root, bin]);
    assert.equal(again.status, 0, again.err);
    assert.doesNotMatch(again.out, /wrote|created|enabled/);
    const second = listing(root);
    // sysusers keeps backups (passwd-) of what it edited; those are only written on a change too.
    assert.deepEqual(second, first);
  });

  it('never overwrites config or secrets, but updates the unit for another board', () => {
    assert.equal(install(['--root', root, bin]).status, 0);
    fs.writeFileSync(path.join(root, 'etc/aeon/aeon.json'), '{"agents":{"mine":{}}}');
    fs.writeFileSync(path.join(root, 'etc/aeon/env'), 'OPENAI_API_KEY=sk-mine\n');
    const other = path.join(tmp, 'aeon-pi-4');
    fs.copyFileSync(bin, other);
    const r = install(['--root', root, other]);
    assert.equal(r.status, 0, r.err);
    assert.equal(fs.readFileSync(path.join(root, 'etc/aeon/aeon.json'), 'utf8'), '{"agents":{"mine":{}}}');
    assert.equal(fs.readFileSync(path.join(root, 'etc/aeon/env'), 'utf8'), 'OPENAI_API_KEY=sk-mine\n');
    assert.equal(mode(path.join(root, 'etc/aeon/env')), 0o600);
    const unit = fs.readFileSync(path.join(root, 'etc/systemd/system/aeon.service'), 'utf8');
    assert.match(unit, new RegExp(`^MemoryMax=${pi4.budget.memory_max_mb}M$`, 'm'));
    assert.match(unit, /^Environment=AEON_BOARD=pi-4$/m);
    assert.equal(fs.readFileSync(path.join(root, 'etc/passwd'), 'utf8').match(/^aeon:/gm)!.length, 1, 'user not added twice');
  });

  it('takes MemoryMax/MemoryHigh from flags', () => {
    const r = install(['--root', root, '--memory-max', '256', '--memory-high=200', '--board', 'pi-zero-2w', bin]);
    assert.equal(r.status, 0, r.err);
    const unit = fs.readFileSync(path.join(root, 'etc/systemd/system/aeon.service'), 'utf8');
    assert.match(unit, /^MemoryMax=256M$/m);
    assert.match(unit, /^MemoryHigh=200M$/m);
  });

  it('adds the user by hand, safely, when the host has no systemd-sysusers', () => {
    const r = install(['--root', root, bin], { AEON_INSTALL_NO_SYSUSERS: '1' });
    assert.equal(r.status, 0, r.err);
    const passwd = fs.readFileSync(path.join(root, 'etc/passwd'), 'utf8');
    const [, , uid, gid] = passwd.split('\n').find((l) => l.startsWith('aeon:'))!.split(':');
    assert.equal(uid, '999');
    assert.equal(gid, '999');
    assert.match(fs.readFileSync(path.join(root, 'etc/group'), 'utf8'), /^aeon:x:999:$/m);
    assert.match(fs.readFileSync(path.join(root, 'etc/shadow'), 'utf8'), /^aeon:!\*:\d+::::::$/m);
    assert.match(fs.readFileSync(path.join(root, 'etc/gshadow'), 'utf8'), /^aeon:!::$/m);
    assert.equal(mode(path.join(root, 'etc/shadow')), 0o640, 'mode kept');
    const before = listing(root);
    assert.equal(install(['--root', root, bin], { AEON_INSTALL_NO_SYSUSERS: '1' }).status, 0);
    assert.deepEqual(listing(root), before);
  });

  it('--uninstall --root removes everything but data, config and secrets', () => {
    assert.equal(install(['--root', root, bin]).status, 0);
    fs.mkdirSync(path.join(root, 'var/lib/aeon'), { recursive: true });
    fs.writeFileSync(path.join(root, 'var/lib/aeon/aeon.db'), 'data');
    const r = install(['--uninstall', '--root', root]);
    assert.equal(r.status, 0, r.err);
    for (const gone of ['usr/local/bin/aeon', 'etc/systemd/system/aeon.service', 'etc/systemd/system/multi-user.target.wants/aeon.service', 'usr/lib/sysusers.d/aeon.conf', 'usr/local/share/doc/aeon']) {
      assert.equal(fs.existsSync(path.join(root, gone)), false, `${gone} should be gone`);
    }
    assert.equal(fs.lstatSync(path.join(root, 'etc/systemd/system/multi-user.target.wants/aeon.service'), { throwIfNoEntry: false }), undefined);
    assert.equal(fs.readFileSync(path.join(root, 'var/lib/aeon/aeon.db'), 'utf8'), 'data');
    assert.ok(fs.existsSync(path.join(root, 'etc/aeon/aeon.json')));
    assert.ok(fs.existsSync(path.join(root, 'etc/aeon/env')));
    assert.equal(install(['--uninstall', '--root', root]).status, 0, 'uninstalling twice is fine');
  });

  it('answers bad usage with exit 64 and a usage message', () => {
    for (const args of [['--bogus'], ['--root'], ['--root', root, '--memory-max', '12x', bin], ['--root', root, path.join(tmp, 'aeon'), 'extra']]) {
      const r = install(args);
      assert.equal(r.status, 64, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, /usage: install\.sh/);
    }
    const noBoard = install(['--root', root, path.join(tmp, 'mybinary')]);
    assert.equal(noBoard.status, 64);
    assert.match(noBoard.err, /which board\?/);
    const missing = install(['--root', root, '--board', 'pi-4']);
    assert.equal(missing.status, 66, 'binary ./aeon-pi-4 does not exist here');
    assert.match(missing.err, /binary \.\/aeon-pi-4 not found/);
    const unknown = install(['--root', root, '--board', 'pi-9', bin]);
    assert.equal(unknown.status, 66);
    assert.match(unknown.err, /no board profile 'pi-9'/);
  });
});
