// What the device layer's mechanisms cost, against the alternative a user would
// otherwise pick:
//   guard    — RSS of the device payload with and without the loop watcher
//              (a bash child; its memory is counted in) and, for comparison,
//              the worker thread it replaced (Anonymous = private memory; the
//              rest is shared pages of the node and bash binaries)
//   re-exec  — RSS of the whole process tree after applying the budget's
//              flags by execve (same process) versus spawn (parent waits)
//   notify   — wall time of one sd_notify message sent through systemd-notify
//              (fork + exec + barrier) against a real datagram socket
// Prints figures; docs/device.md quotes them.   node scripts/bench/device-costs.ts
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { silentLogger } from '../../src/log.ts';
import { SdNotify } from '../../src/device/sd-notify.ts';

const repo = path.resolve(import.meta.dirname, '..', '..');
const dir = path.join(repo, 'node_modules', '.cache', 'aeon-bench-costs');
fs.mkdirSync(dir, { recursive: true });

// A process's memory plus that of its children (the guard's loop watcher is one).
const smaps = `
import fs from 'node:fs';
function own(pid) {
  const s = fs.readFileSync('/proc/' + pid + '/smaps_rollup', 'utf8');
  const kb = (k) => Number(new RegExp('^' + k + ':\\\\s+(\\\\d+)', 'm').exec(s)[1]);
  return { rss: kb('Rss') / 1024, anon: kb('Anonymous') / 1024 };
}
function mem(pid = String(process.pid)) {
  const m = own(pid);
  for (const t of fs.readdirSync('/proc/' + pid + '/task')) {
    for (const c of fs.readFileSync('/proc/' + pid + '/task/' + t + '/children', 'utf8').split(' ').filter(Boolean)) {
      const k = own(c);
      m.rss += k.rss;
      m.anon += k.anon;
    }
  }
  return m;
}
`;

async function bundle(name: string, contents: string): Promise<string> {
  const outfile = path.join(dir, `${name}.mjs`);
  await esbuild.build({ stdin: { contents, resolveDir: repo, loader: 'ts' }, outfile, bundle: true, platform: 'node', format: 'esm', target: 'node24', minify: true, external: ['pino-pretty'], logLevel: 'error',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } });
  return outfile;
}

async function run(file: string, args: string[] = []): Promise<Record<string, number>> {
  const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, AEON_REEXECED: '' } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await new Promise((r) => child.on('exit', r));
  return JSON.parse(out.trim().split('\n').pop()!);
}

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function medianOf(n: number, f: () => Promise<Record<string, number>>): Promise<Record<string, number>> {
  const all: Array<Record<string, number>> = [];
  for (let i = 0; i < n; i++) all.push(await f());
  return Object.fromEntries(Object.keys(all[0]!).map((k) => [k, Math.round(median(all.map((a) => a[k]!)) * 10) / 10]));
}

// --- guard worker ---
const guardEntry = await bundle(
  'guard',
  `${smaps}
import { Guard } from './src/device/guard.ts';
import { createLogger } from './src/log.ts';
import { Secrets } from './src/util/secrets.ts';
const log = createLogger({ level: 'silent', secrets: new Secrets() });
if (process.argv[2] === 'on') new Guard({ log, blockedMs: 10000, heapBudgetBytes: 1 << 30, heapGraceMs: 10000 }).start();
if (process.argv[2] === 'heap-only') new Guard({ log, blockedMs: 10000, heapBudgetBytes: 1 << 30, heapGraceMs: 10000, loopWatcher: false }).start();
if (process.argv[2] === 'worker') {
  // The loop watcher aeon had before: a worker thread polling a heartbeat counter.
  new Guard({ log, blockedMs: 10000, heapBudgetBytes: 1 << 30, heapGraceMs: 10000, loopWatcher: false }).start();
  const { Worker } = await import('node:worker_threads');
  const sab = new SharedArrayBuffer(4);
  setInterval(() => Atomics.add(new Int32Array(sab), 0, 1), 1000).unref();
  new Worker("const { workerData } = require('node:worker_threads'); const b = new Int32Array(workerData); let last = 0; setInterval(() => { last = Atomics.load(b, 0); }, 1000);", { eval: true, workerData: sab, resourceLimits: { maxOldGenerationSizeMb: 16, stackSizeMb: 1 } }).unref();
}
setInterval(() => {}, 1000);
setTimeout(() => { console.log(JSON.stringify(mem())); process.exit(0); }, 1500);
`,
);
const off = await medianOf(5, () => run(guardEntry, ['off']));
const heapOnly = await medianOf(5, () => run(guardEntry, ['heap-only']));
const on = await medianOf(5, () => run(guardEntry, ['on']));
const worker = await medianOf(5, () => run(guardEntry, ['worker']));
console.log('guard (MB, median of 5; children included)');
console.log(`  no guard            rss ${off.rss}  anon ${off.anon}`);
console.log(`  heap check only     rss ${heapOnly.rss}  anon ${heapOnly.anon}`);
console.log(`  bash loop watcher   rss ${on.rss}  anon ${on.anon}   (+${(on.rss! - heapOnly.rss!).toFixed(1)} rss, +${(on.anon! - heapOnly.anon!).toFixed(1)} anon over the heap check alone)`);
console.log(`  worker thread       rss ${worker.rss}  anon ${worker.anon}   (+${(worker.rss! - heapOnly.rss!).toFixed(1)} rss, +${(worker.anon! - heapOnly.anon!).toFixed(1)} anon; the watcher before)`);

// --- re-exec ---
const reexecEntry = await bundle(
  'reexec',
  `${smaps}
import { ensureV8Flags, reexec } from './src/device/budget.ts';
const mode = process.argv[2];
const d = ensureV8Flags({ heap_mb: 64, semi_space_mb: 1, v8_flags: ['--optimize-for-size'] }, process.argv, process.execArgv, process.env, { sea: false });
if (d.reexec) await reexec(d, { mode });
setTimeout(() => {
  const me = mem();
  const parent = mode === 'spawn' ? mem(process.ppid) : { rss: 0, anon: 0 };
  console.log(JSON.stringify({ rss: me.rss + parent.rss, anon: me.anon + parent.anon, parent_rss: parent.rss }));
  process.exit(0);
}, 1500);
`,
);
const viaExecve = await medianOf(5, () => run(reexecEntry, ['execve']));
const viaSpawn = await medianOf(5, () => run(reexecEntry, ['spawn']));
console.log('re-exec with the pi-zero-2w flags, whole process tree (MB, median of 5)');
console.log(`  execve  rss ${viaExecve.rss}  anon ${viaExecve.anon}`);
console.log(`  spawn   rss ${viaSpawn.rss}  anon ${viaSpawn.anon}   (waiting parent alone: ${viaSpawn.parent_rss})`);

// --- systemd-notify per message ---
const sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-bench-notify-'));
const sock = path.join(sockDir, 'notify.sock');
const listener = spawn('python3', [path.join(repo, 'test', 'device', 'helpers', 'notify-listener.py'), sock], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((r) => listener.stdout!.once('data', r));
const n = new SdNotify({ log: silentLogger(), env: { NOTIFY_SOCKET: sock, PATH: process.env.PATH } });
n.start();
await n.watchdog();
const times: number[] = [];
const cpu0 = process.cpuUsage();
for (let i = 0; i < 50; i++) {
  const t = performance.now();
  await n.watchdog();
  times.push(performance.now() - t);
}
const cpu = process.cpuUsage(cpu0);
console.log('systemd-notify WATCHDOG=1, 50 sends');
console.log(`  median ${median(times).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms; aeon-side CPU ${((cpu.user + cpu.system) / 1000 / 50).toFixed(2)} ms per send`);
listener.kill();
fs.rmSync(sockDir, { recursive: true, force: true });
fs.rmSync(dir, { recursive: true, force: true });
