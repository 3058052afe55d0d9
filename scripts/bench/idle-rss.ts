// Idle memory of `aeon run` (health server up, no turns yet) next to a bare
// `node` process of the same binary, measured in the same run. aeon runs from
// source here (TypeScript stripped at load); the single binary's figure is in
// scripts/bench/binary.ts. Prints figures only.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const MAIN = path.resolve(import.meta.dirname, '../../src/main.ts');
const RUNS = 3;
const SETTLE_MS = 2000;

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

async function waitFor(child: ChildProcess, pattern: RegExp): Promise<void> {
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no match for ${pattern}: ${out}`)), 20_000);
    child.stdout!.on('data', (d) => {
      out += d;
      if (pattern.test(out)) {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

async function measure(args: string[], ready: RegExp | undefined, env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
  if (ready) await waitFor(child, ready);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const mb = rssMb(child.pid!);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return mb;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-bench-rss-'));
const config = path.join(dir, 'aeon.json');
fs.writeFileSync(config, JSON.stringify({ device: { data_dir: dir, board: 'pi-zero-2w' }, server: { port: 0 }, log: { level: 'info' }, agents: { main: { provider: 'ollama', model: 'x' } } }));
const env = { PATH: process.env.PATH, HOME: dir };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const bare: number[] = [];
const aeon: number[] = [];
for (let i = 0; i < RUNS; i++) {
  bare.push(await measure(['-e', 'console.log("up"); setInterval(() => {}, 1e9)'], /up/, env));
  aeon.push(await measure([MAIN, 'run', '--config', config], /aeon is up/, env));
}
fs.rmSync(dir, { recursive: true, force: true });
const b = median(bare);
const a = median(aeon);
console.log(`Idle RSS after ${SETTLE_MS / 1000} s, median of ${RUNS} (Node ${process.version}, ${process.arch}):`);
console.log('| process | RSS MB | vs bare node |');
console.log('|---|---:|---:|');
console.log(`| bare node (same binary) | ${b.toFixed(1)} | 1.00× |`);
console.log(`| aeon run from source, pi-zero-2w budget, health + store + guard, no dialogs | ${a.toFixed(1)} | ${(a / b).toFixed(2)}× |`);
