// Idle RSS under each V8 flag the board budgets use, for three payloads, each
// bundled with esbuild first as the shipped binary is (running .ts directly
// adds ~20 MB for Node's WebAssembly type stripper, and --lite-mode, which
// turns WebAssembly off, cannot run .ts at all):
//   bare   — node waiting on a timer
//   device — the device layer running: pino logger, metrics, loop monitor,
//            health server on a free port, one /metrics and /status scrape
//   deps   — device + the heavier runtime dependencies loaded (better-sqlite3
//            open on :memory:, mqtt, undici) to show the flags on a bigger heap
// Prints a table of medians over RUNS runs; figures go to docs/device.md.
//   node scripts/bench/device-flags.ts [runs]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';

const repo = path.resolve(import.meta.dirname, '..', '..');
const report = `setTimeout(() => { process.stdout.write(process.memoryUsage.rss() + '\\n'); process.exit(0); }, 1500);`;
const device = `
const http = process.getBuiltinModule('node:http');
import { createLogger } from './src/log.ts';
import { Secrets } from './src/util/secrets.ts';
import { Metrics } from './src/device/metrics.ts';
import { LoopMonitor } from './src/device/loop-monitor.ts';
import { registerProcessMetrics } from './src/device/process-metrics.ts';
import { HealthServer } from './src/device/health-server.ts';
const log = createLogger({ level: 'silent', secrets: new Secrets() });
const metrics = new Metrics();
const loop = new LoopMonitor();
loop.start();
registerProcessMetrics(metrics, loop);
const server = new HealthServer({ host: '127.0.0.1', port: 0, log, metrics, loop, ready: () => ({}), status: () => ({}) });
const { port } = await server.start();
for (const p of ['/metrics', '/status']) await new Promise((r) => http.get('http://127.0.0.1:' + port + p, (res) => { res.resume(); res.on('end', r); }));
`;
const deps = `
import Database from 'better-sqlite3';
import * as mqtt from 'mqtt';
import * as undici from 'undici';
new Database(':memory:').prepare('select 1').get();
globalThis.keep = [mqtt, undici];
`;
const PAYLOADS: Record<string, string> = { bare: report, device: device + report, deps: device + deps + report };

async function bundle(dir: string, kind: string): Promise<string> {
  const outfile = path.join(dir, `${kind}.mjs`);
  await esbuild.build({
    stdin: { contents: PAYLOADS[kind]!, resolveDir: repo, loader: 'ts', sourcefile: `${kind}.ts` },
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    external: ['better-sqlite3', 'pino-pretty'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'error',
  });
  return outfile;
}

async function rss(flags: string[], file: string): Promise<number> {
  const child = spawn(process.execPath, [...flags, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await new Promise((r) => child.on('exit', r));
  return Number(out.trim()) / 1048576;
}

const runs = Number(process.argv[2] ?? 3);
// Inside node_modules so the bundles resolve better-sqlite3 from the repository.
const dir = path.join(repo, 'node_modules', '.cache', 'aeon-bench');
fs.mkdirSync(dir, { recursive: true });
const files: Record<string, string> = {};
for (const kind of Object.keys(PAYLOADS)) files[kind] = await bundle(dir, kind);

const sets: Array<[string, string[]]> = [
  ['(none)', []],
  ['--max-old-space-size=64', ['--max-old-space-size=64']],
  ['--max-semi-space-size=1', ['--max-semi-space-size=1']],
  ['--optimize-for-size', ['--optimize-for-size']],
  ['pi-zero-2w: all three', ['--max-old-space-size=64', '--max-semi-space-size=1', '--optimize-for-size']],
  ['x64: old 512, semi 16', ['--max-old-space-size=512', '--max-semi-space-size=16']],
  ['--lite-mode', ['--lite-mode']],
];
console.log(`idle RSS in MB, median of ${runs} (node ${process.version}, ${process.arch})`);
console.log(`| flags | ${Object.keys(files).join(' | ')} |`);
console.log(`|---|${Object.keys(files).map(() => '---:').join('|')}|`);
for (const [name, flags] of sets) {
  const cells: string[] = [];
  for (const file of Object.values(files)) {
    const xs: number[] = [];
    for (let i = 0; i < runs; i++) xs.push(await rss(flags, file));
    xs.sort((a, b) => a - b);
    cells.push(xs[Math.floor(xs.length / 2)]!.toFixed(1));
  }
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}
fs.rmSync(dir, { recursive: true, force: true });
