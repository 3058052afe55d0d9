// The single binary against what a user would otherwise run: the same bundle
// under a plain `node` (same V8 flags, so no re-exec), and a bare node process
// (`node -e 'setInterval(()=>{},1e9)'`). Prints binary and .xz size, start-up
// time from spawn to the first 200 from /readyz, and idle RSS 3 s after ready,
// medians of RUNS runs, with ratios. Builds into a temp directory first (xz
// preset as the release build), or measures an existing build:
//   node scripts/bench/binary.ts [--board x64] [--runs 5] [--dist DIR]
// DIR must hold aeon-<board>, .xz, aeon-<board>.js and its addon (build.mjs --with-bundle).
// Timings are for the machine's own architecture only (qemu would measure qemu).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const repo = path.resolve(import.meta.dirname, '..', '..');
const { values } = parseArgs({ options: { board: { type: 'string', default: 'x64' }, runs: { type: 'string', default: '5' }, dist: { type: 'string' } } });
const board = values.board!;
const runs = Number(values.runs);
const boardJson = JSON.parse(fs.readFileSync(path.join(repo, 'boards', `${board}.json`), 'utf8')) as { arch: string; budget: { heap_mb: number; semi_space_mb: number; v8_flags: string[] } };
if (boardJson.arch !== process.arch) {
  console.error(`binary.ts: ${board} is ${boardJson.arch}; this machine is ${process.arch}. Measure a board of this architecture (e.g. --board ${process.arch === 'x64' ? 'x64' : 'pi-4'}).`);
  process.exit(64);
}
const { v8Flags } = await import('../../src/device/budget.ts');
const flags = v8Flags(boardJson.budget);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-bench-binary-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
let dist = values.dist ? path.resolve(values.dist) : path.join(work, 'dist');
if (!values.dist) {
  console.error(`building ${board} (build.mjs --with-bundle, release xz preset; about a minute)...`);
  const r = spawnSync(process.execPath, [path.join(repo, 'build.mjs'), '--board', board, '--with-bundle', '--out', dist], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) process.exit(1);
}
const binary = path.join(dist, `aeon-${board}`);
const bundle = path.join(dist, `aeon-${board}.js`);
const xz = `${binary}.xz`;
for (const f of [binary, bundle]) if (!fs.existsSync(f)) throw new Error(`${f} is missing (build with --with-bundle)`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(t);
}

interface Sample {
  startMs: number;
  rssMb: number;
}

/** Spawns `aeon run` on a fresh data dir and port; time to the first 200 from /readyz, then RSS after 3 s idle. */
async function measureAeon(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Sample> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(work, 'run-'));
  const config = path.join(dir, 'aeon.json');
  fs.writeFileSync(config, JSON.stringify({ device: { data_dir: path.join(dir, 'data') }, server: { port }, agents: { main: { provider: 'ollama', model: 'llama3.2' } } }));
  const t0 = performance.now();
  const child = spawn(cmd, [...args, 'run', '--config', config], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  let startMs = NaN;
  try {
    for (const deadline = t0 + 30_000; performance.now() < deadline; ) {
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) {
        startMs = performance.now() - t0;
        break;
      }
      await sleep(2);
    }
    if (Number.isNaN(startMs)) throw new Error(`${cmd} never answered /readyz`);
    await sleep(3000);
    return { startMs, rssMb: rssMb(child.pid!) };
  } finally {
    await stop(child);
  }
}

async function measureBare(): Promise<Sample> {
  const t0 = performance.now();
  // Start-up of a bare node: until it answers one HTTP request (the least any /readyz needs).
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', `require('node:http').createServer((q, r) => r.end()).listen(${port}, '127.0.0.1'); setInterval(() => {}, 1e9)`], { stdio: 'ignore' });
  let startMs = NaN;
  try {
    for (const deadline = t0 + 10_000; performance.now() < deadline; ) {
      if (await fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false)) {
        startMs = performance.now() - t0;
        break;
      }
      await sleep(2);
    }
  } finally {
    await stop(child);
  }
  // Idle RSS exactly as named: node -e 'setInterval(()=>{},1e9)'.
  const idle = spawn(process.execPath, ['-e', 'setInterval(()=>{},1e9)'], { stdio: 'ignore' });
  await sleep(3000);
  const rss = rssMb(idle.pid!);
  await stop(idle);
  return { startMs, rssMb: rss };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const home = path.join(work, 'home');
fs.mkdirSync(home);
const env = { HOME: home, PATH: process.env.PATH ?? '', AEON_LOG_LEVEL: 'warn' };
// The addon goes to the cache on the first start only; measure the starts after.
await measureAeon(binary, [], env);

const rows: Array<{ name: string; size: string; xz: string; samples: Sample[] }> = [
  { name: `aeon-${board} (binary)`, size: mb(fs.statSync(binary).size), xz: fs.existsSync(xz) ? mb(fs.statSync(xz).size) : 'n/a', samples: [] },
  { name: `node ${flags.join(' ')} aeon-${board}.js`, size: `${mb(fs.statSync(bundle).size)} + node ${mb(fs.statSync(process.execPath).size)}`, xz: '', samples: [] },
  { name: "bare node -e 'setInterval(()=>{},1e9)'", size: `node ${mb(fs.statSync(process.execPath).size)}`, xz: '', samples: [] },
];
for (let i = 0; i < runs; i++) {
  rows[0]!.samples.push(await measureAeon(binary, [], env));
  rows[1]!.samples.push(await measureAeon(process.execPath, [...flags, bundle], env));
  rows[2]!.samples.push(await measureBare());
}

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

const med = rows.map((r) => ({ start: median(r.samples.map((s) => s.startMs)), rss: median(r.samples.map((s) => s.rssMb)) }));
console.log(`aeon ${board} binary vs node + bundle vs bare node; median of ${runs} (node ${process.version}, ${process.arch}, ${os.cpus().length} CPUs)`);
console.log('| process | size | .xz | start → /readyz | idle RSS | RSS vs bundle | RSS vs bare node |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
rows.forEach((r, i) => {
  const m = med[i]!;
  const start = i === 2 ? `${m.start.toFixed(0)} ms (first HTTP answer)` : `${m.start.toFixed(0)} ms`;
  console.log(`| ${r.name} | ${r.size} | ${r.xz} | ${start} | ${m.rss.toFixed(1)} MiB | ${(m.rss / med[1]!.rss).toFixed(2)}× | ${(m.rss / med[2]!.rss).toFixed(2)}× |`);
});
console.log(`start-up: binary ${(med[0]!.start / med[1]!.start).toFixed(2)}× node + bundle, ${(med[0]!.start / med[2]!.start).toFixed(2)}× bare node`);
