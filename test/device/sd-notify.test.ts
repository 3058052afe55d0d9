// The notify protocol against a real listening AF_UNIX datagram socket, with the
// real systemd-notify sending: what systemd would receive, in what order, at
// what cadence, and nothing while the event loop is blocked.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { SdNotify } from '../../src/device/sd-notify.ts';
import { Watchdog } from '../../src/device/watchdog.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import { Secrets } from '../../src/util/secrets.ts';
import { NotifySocket, requireBinary } from './helpers/notify-socket.ts';

const fields = (s: NotifySocket) => s.messages.map((m) => m.fields).filter((f) => !f.includes('BARRIER=1'));

describe('SdNotify', () => {
  const sock = new NotifySocket();
  before(async () => {
    requireBinary('systemd-notify', ['--version'], 'systemd');
    await sock.start();
  });
  after(() => sock.stop());

  it('does nothing at all without NOTIFY_SOCKET', async () => {
    const n = new SdNotify({ log: silentLogger(), env: {}, bin: '/nonexistent/systemd-notify' });
    n.start();
    assert.equal(n.enabled, false);
    assert.equal(n.watchdogUsec, undefined);
    assert.equal(await n.ready(), false);
    assert.equal(await n.watchdog(), false);
    assert.equal(n.sent, 0);
  });

  it('sends READY=1, STATUS, WATCHDOG=1 and STOPPING=1 in order, and takes the socket out of the environment', async () => {
    const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: '20000000', PATH: process.env.PATH };
    const n = new SdNotify({ log: silentLogger(), env });
    n.start();
    assert.equal(n.enabled, true);
    assert.equal(n.watchdogUsec, 20_000_000);
    assert.equal(env.NOTIFY_SOCKET, undefined, 'children spawned later must not inherit the socket');
    assert.equal(env.WATCHDOG_USEC, undefined);
    // Queued without awaiting: they must still arrive in order.
    const sent = [n.ready('serving'), n.status('2 dialogs connected'), n.watchdog(), n.stopping('shutting down')];
    assert.deepEqual(await Promise.all(sent), [true, true, true, true]);
    await sock.waitFor(() => fields(sock).length >= 4);
    assert.deepEqual(fields(sock).slice(-4), [['READY=1', 'STATUS=serving'], ['STATUS=2 dialogs connected'], ['WATCHDOG=1'], ['STOPPING=1', 'STATUS=shutting down']]);
    // systemd-notify waits for the manager (BARRIER=1 with a file descriptor) before it exits.
    assert.ok(sock.messages.some((m) => m.fields.includes('BARRIER=1') && m.fds === 1));
    assert.equal(n.sent, 4);
  });

  it('cannot be made to send a second field through a newline', async () => {
    const n = new SdNotify({ log: silentLogger(), env: { NOTIFY_SOCKET: sock.path, PATH: process.env.PATH } });
    n.start();
    await n.status('model said:\nREADY=1\nMAINPID=1');
    await sock.waitFor(() => fields(sock).some((f) => f[0]?.startsWith('STATUS=model said')));
    const last = fields(sock).find((f) => f[0]?.startsWith('STATUS=model said'))!;
    assert.deepEqual(last, ['STATUS=model said: READY=1 MAINPID=1']);
  });

  it('ignores a watchdog meant for another process (WATCHDOG_PID)', () => {
    const n = new SdNotify({ log: silentLogger(), env: { NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: '1000000', WATCHDOG_PID: String(process.pid + 1) } });
    n.start();
    assert.equal(n.watchdogUsec, undefined);
  });

  it('says once, clearly, when systemd-notify is missing, and stops trying', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', secrets: new Secrets(), destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
    const n = new SdNotify({ log, env: { NOTIFY_SOCKET: sock.path }, bin: '/nonexistent/systemd-notify' });
    n.start();
    assert.equal(await n.ready(), false);
    assert.equal(await n.watchdog(), false);
    assert.equal(n.enabled, false);
    assert.equal(lines.filter((l) => l.includes('systemd-notify not found')).length, 1);
  });

  it('withholds pings while the liveness check fails and resumes after', async () => {
    const n = new SdNotify({ log: silentLogger(), env: { NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: '200000', PATH: process.env.PATH } });
    n.start();
    let healthy = true;
    const wd = new Watchdog({ notify: n, log: silentLogger(), lagBudgetMs: 1000, liveness: () => (healthy ? { ok: true } : { ok: false, reason: 'heap 70MB > 57MB' }) });
    assert.equal(wd.intervalMs, 100);
    const count = () => sock.with('WATCHDOG=1').length;
    const before = count();
    wd.start();
    await new Promise((r) => setTimeout(r, 450));
    const healthyPings = count() - before;
    healthy = false;
    await new Promise((r) => setTimeout(r, 120)); // let a ping already on its way land
    const atFailure = count();
    await new Promise((r) => setTimeout(r, 500));
    const duringFailure = count() - atFailure;
    healthy = true;
    await new Promise((r) => setTimeout(r, 350));
    wd.stop();
    await n.flush();
    assert.ok(healthyPings >= 3 && healthyPings <= 7, `healthy: ${healthyPings} pings in 450 ms at 100 ms`);
    assert.equal(duringFailure, 0, 'no ping while the heap is over budget');
    assert.ok(count() - atFailure >= 2, 'pings resume');
    assert.ok(wd.skipped >= 4);
  });
});

describe('Watchdog in a child whose event loop blocks', () => {
  const sock = new NotifySocket();
  before(async () => {
    requireBinary('systemd-notify', ['--version'], 'systemd');
    await sock.start();
  });
  after(() => sock.stop());

  it('pings at half of WATCHDOG_USEC, and never while the loop is blocked', async () => {
    const child = spawn(process.execPath, [path.join(import.meta.dirname, 'helpers', 'watchdog-child.ts'), '1500', '1200', '900', '400'], {
      env: { ...process.env, NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: '300000' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const out: Record<string, any> = {};
    createInterface({ input: child.stdout! }).on('line', (l) => Object.assign(out, JSON.parse(l)));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0);
    await sock.waitFor((m) => m.some((x) => x.fields.includes('STOPPING=1')));
    assert.equal(out.interval_ms, 150);
    assert.equal(out.env_cleared, true);

    const ready = sock.with('READY=1');
    assert.equal(ready.length, 1);
    const pings = sock.with('WATCHDOG=1').map((m) => m.t);
    assert.ok(pings.every((t) => t >= ready[0]!.t), 'READY=1 comes first');
    const { block_start: bs, block_end: be } = out as { block_start: number; block_end: number };

    // Before the block: every 150 ms (~10 in 1500 ms; a busy CI machine may delay a few).
    const early = pings.filter((t) => t < bs);
    assert.ok(early.length >= 5 && early.length <= 12, `expected ~10 pings in 1500 ms, got ${early.length}`);
    const gaps = early.slice(1).map((t, i) => t - early[i]!).sort((a, b) => a - b);
    const median = gaps[Math.floor(gaps.length / 2)]!;
    assert.ok(median >= 120 && median <= 240, `median gap ${median} ms, expected ~150`);

    // During the block: nothing (a ping sent just before the block may land a few ms in).
    const during = pings.filter((t) => t > bs + 60 && t < be);
    assert.deepEqual(during, [], 'no WATCHDOG=1 while the event loop is blocked');
    // The first tick after the block sees the lag and withholds its ping.
    assert.ok(out.skipped >= 1, `skipped ${out.skipped}`);
    assert.ok(out.snapshot.aeon_watchdog_skipped_total.length >= 1);
    // Then pings resume.
    assert.ok(pings.filter((t) => t > be).length >= 2, 'pings resume after the block');
    assert.equal(out.snapshot.aeon_watchdog_pings_total, out.pings);
  });
});
