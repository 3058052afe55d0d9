// `npm run bench`: aeon's figures, each next to a baseline measured in the same
// run, and at the end one table of them all with its target. Prints; never
// passes or fails on a figure (exit 1 only when a benchmark itself broke).
//
//   npm run bench                     the suite (~6 min on 2 cores), then the table
//   npm run bench -- idle cpu         the benchmarks whose names contain these words
//   npm run bench -- --list           what there is
//   npm run bench -- --dist DIR       measure an existing build (build.mjs --board x64 --with-bundle, and --board pi-zero-2w --arch x64)
//
// The suite builds the x64 binary, its bundle, and the pi-zero-2w binary for x64
// (the Pi's budget and V8 flags on this machine) from the current sources once
// (~8 s, into a temp directory: dist/ may hold an older build) and hands them to
// every benchmark. The benchmarks run one after another so they do not disturb
// each other; figures are medians of several runs, and the machine should be
// otherwise idle (2 cores are easily disturbed).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bench');
// The figures of the README table, in order.
const SUITE = ['idle', 'load', 'cpu', 'latency', 'disk', 'store-history'];
// Deeper looks at one part, run by name: build sizes, the device layer's
// mechanisms, V8 flags, the MQTT dialog alone, the LLM client alone, the agent
// pipeline in-process.
const all = fs.readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.startsWith('_')).map((f) => f.slice(0, -3)).sort();
const EXTRAS = all.filter((n) => !SUITE.includes(n));

const argv = process.argv.slice(2);
if (argv.includes('--list')) {
  console.log(`suite (npm run bench): ${SUITE.join(', ')}\nby name: ${EXTRAS.join(', ')}`);
  process.exit(0);
}
let dist;
const words = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--dist') dist = path.resolve(argv[++i]);
  else words.push(argv[i]);
}
const names = words.length ? all.filter((n) => words.some((w) => n.includes(w))) : SUITE;
if (!names.length) {
  console.error(`no benchmark matches ${words.join(' ')}; there are: ${all.join(', ')}`);
  process.exit(64);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-bench-'));
const rowsFile = path.join(work, 'rows.jsonl');
fs.writeFileSync(rowsFile, '');
let failed = 0;
try {
  // One build for every benchmark that runs aeon as a child.
  if (!dist && names.some((n) => ['idle', 'load', 'cpu', 'latency', 'disk'].includes(n))) {
    dist = path.join(work, 'dist');
    const { buildInto } = await import('./bench/_lib.ts');
    try {
      buildInto(dist);
    } catch (err) {
      console.error(err.message);
      process.exit(1);
    }
  }
  const started = Date.now();
  for (const n of names) {
    process.stdout.write(`\n## ${n}\n`);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--expose-gc', path.join(dir, `${n}.ts`)], {
      stdio: 'inherit',
      env: { ...process.env, AEON_LOG_LEVEL: 'silent', AEON_BENCH_ROWS: rowsFile, ...(dist ? { AEON_BENCH_DIST: dist } : {}) },
    });
    if (r.status !== 0) {
      failed++;
      process.stdout.write(`(${n} exited ${r.status ?? r.signal})\n`);
    }
    process.stderr.write(`(${n}: ${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
  const rows = fs.readFileSync(rowsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  if (rows.length) {
    const cpu = os.cpus();
    console.log(`\n## summary\n\nMachine: ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Node ${process.version}; ${((Date.now() - started) / 60000).toFixed(1)} min\n`);
    const head = ['figure', 'aeon', 'baseline (same run)', 'ratio', 'target', ''];
    const cells = rows.map((r) => [r.figure, r.value, r.baseline, r.ratio, r.target, r.verdict]);
    const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => String(c[i]).length)));
    const line = (c) => `| ${c.map((x, i) => String(x).padEnd(w[i])).join(' | ')} |`;
    console.log(line(head));
    console.log(`|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`);
    for (const c of cells) console.log(line(c));
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
