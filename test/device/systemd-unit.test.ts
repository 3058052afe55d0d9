// systemd/aeon.service: it must pass `systemd-analyze verify` without a single
// warning (ExecStart pointed at a real executable, as verify checks it), keep
// its hardening score, and carry what the watchdog and the budget rely on.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import piZero from '../../boards/pi-zero-2w.json' with { type: 'json' };
import { MALLOC_ENV } from '../../src/device/budget.ts';
import { requireBinary } from './helpers/notify-socket.ts';

const repo = path.resolve(import.meta.dirname, '..', '..');
const unitText = fs.readFileSync(path.join(repo, 'systemd', 'aeon.service'), 'utf8');

/** Active `Key=value` lines (comments dropped), in order. */
function directives(text: string): Array<[string, string]> {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith(';') && !l.startsWith('['))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]);
}

function verify(dir: string, text: string, name = 'aeon.service'): { status: number | null; stderr: string } {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  return { status: r.status, stderr: `${r.stderr}${r.stdout}`.trim() };
}

describe('systemd/aeon.service', () => {
  let dir = '';
  let fakeBin = '';
  before(() => {
    requireBinary('systemd-analyze', ['--version'], 'systemd');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-unit-'));
    fakeBin = path.join(dir, 'aeon');
    fs.writeFileSync(fakeBin, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const withBin = (text: string) => text.replace(/^ExecStart=\/usr\/local\/bin\/aeon /m, `ExecStart=${fakeBin} `);

  it('passes systemd-analyze verify with no warning at all', () => {
    assert.match(unitText, /^ExecStart=\/usr\/local\/bin\/aeon run --config \/etc\/aeon\/aeon\.json$/m);
    const r = verify(dir, withBin(unitText));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'verify printed warnings');
  });

  it('the verify check above can fail: an unknown key or a missing binary is reported', () => {
    const typo = verify(dir, withBin(unitText).replace('Restart=always', 'Restart=always\nWatchdogSecs=30s'), 'typo.service');
    assert.match(typo.stderr, /Unknown key.*WatchdogSecs/);
    const missing = verify(dir, unitText.replace('/usr/local/bin/aeon', '/nonexistent/aeon'), 'missing.service');
    assert.notEqual(missing.status, 0);
  });

  it('keeps its hardening: systemd-analyze security rates exposure 2.5 or lower', () => {
    const file = path.join(dir, 'aeon.service');
    fs.writeFileSync(file, withBin(unitText));
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', file], { encoding: 'utf8' });
    const m = /Overall exposure level for aeon\.service: (\d+(?:\.\d+)?)/.exec(r.stdout);
    assert.ok(m, `no exposure level in: ${r.stdout.slice(-500)} ${r.stderr}`);
    assert.ok(Number(m[1]) <= 2.5, `exposure ${m[1]}`);
  });

  it('has what the watchdog, restarts, budget and hardening rely on', () => {
    const d = directives(unitText);
    const get = (k: string) => d.filter(([key]) => key === k).map(([, v]) => v);
    assert.deepEqual(get('Type'), ['notify']);
    assert.deepEqual(get('NotifyAccess'), ['all'], 'systemd-notify sends from a child process');
    assert.deepEqual(get('WatchdogSec'), ['30s']);
    assert.deepEqual(get('Restart'), ['always']);
    assert.deepEqual(get('RestartPreventExitStatus'), ['78 69'], 'bad config (78) and a system too old for the binary (69) are not restarted');
    assert.deepEqual(get('User'), ['aeon']);
    assert.deepEqual(get('StateDirectory'), ['aeon']);
    assert.deepEqual(get('ConfigurationDirectory'), ['aeon']);
    assert.deepEqual(get('EnvironmentFile'), ['-/etc/aeon/env']);
    for (const [k, v] of Object.entries(MALLOC_ENV)) assert.ok(get('Environment').includes(`${k}=${v}`), `the unit sets ${k}=${v} as src/device/budget.ts does`);
    assert.deepEqual(get('MemoryMax'), [`${piZero.budget.memory_max_mb}M`], 'defaults are the pi-zero-2w budget');
    for (const k of ['NoNewPrivileges', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectControlGroups', 'LockPersonality', 'RestrictRealtime', 'RestrictSUIDSGID']) {
      assert.deepEqual(get(k), ['yes'], k);
    }
    assert.deepEqual(get('ProtectSystem'), ['strict']);
    assert.deepEqual(get('CapabilityBoundingSet'), ['']);
    assert.deepEqual(get('AmbientCapabilities'), ['']);
    assert.deepEqual(get('RestrictAddressFamilies'), ['AF_UNIX AF_INET AF_INET6 AF_NETLINK']);
    assert.ok(get('SystemCallFilter').includes('@system-service'), 'fork/exec stay allowed for the exec tool');
    assert.deepEqual(get('MemoryDenyWriteExecute'), [], 'V8 JIT needs W+X pages');
    const stopS = Number(get('TimeoutStopSec')[0]!.replace(/s$/, ''));
    const restartS = Number(get('RestartSec')[0]!.replace(/s$/, ''));
    const burst = Number(get('StartLimitBurst')[0]);
    const interval = Number(get('StartLimitIntervalSec')[0]);
    assert.ok(stopS >= 10 && stopS <= 60);
    // Automatic restarts alone never reach the start limit, so aeon keeps recovering.
    assert.ok(burst * restartS > interval, `${burst} starts every ${restartS}s fit in ${interval}s`);
  });
});
