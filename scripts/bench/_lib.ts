// Shared parts of the benchmark suite: the build under test, `aeon run` child
// processes (single binary, node + bundle, node + sources) with probes that
// read them from outside (/proc, /status, /readyz), bare-node baselines, and
// the summary rows scripts/bench.mjs turns into one table.
//
// Every probe reads the child from outside its process, so the benchmark's own
// memory and CPU never mix into a figure. CPU is the sum of every thread's
// /proc/<pid>/task/*/schedstat run time (nanoseconds; /proc/<pid>/stat counts
// 10 ms ticks, too coarse for a few hundred milliseconds of work).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MALLOC_ENV } from '../../src/device/budget.ts';

export const REPO = path.resolve(import.meta.dirname, '..', '..');
const MAIN = path.join(REPO, 'src', 'main.ts');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Nearest-rank percentile, p in 0..1. */
export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(s.length * p) - 1))]!;
}

export const MB = 1048576;
export const mb = (bytes: number, digits = 1) => (bytes / MB).toFixed(digits);

export function opt(name: string, dflt: number): number {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

export function flag(name: string): boolean {
  return process.argv.slice(2).includes(`--${name}`);
}

/** Prints a markdown table, numbers right-aligned. */
export function table(head: string[], rows: Array<Array<string | number>>): void {
  const cells = rows.map((r) => r.map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const right = head.map((_, i) => cells.every((r) => /^[-+]?[\d.,]+( ?[a-zµ×%]+)?$|^$/i.test(r[i] ?? '')));
  const line = (r: string[]) => `| ${r.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w, i) => (right[i] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
  for (const r of cells) console.log(line(r));
}

// ---- summary rows ------------------------------------------------------------

export interface SummaryRow {
  /** What is measured, e.g. "idle RSS, binary". */
  figure: string;
  /** aeon's figure with its unit. */
  value: string;
  /** The baseline measured in the same run, with its unit. */
  baseline: string;
  /** aeon / baseline, or another comparison ("+0.4 MB"). */
  ratio: string;
  target: string;
  /** "met", "missed by …", or "" when there is no target. */
  verdict: string;
}

/** Hands rows to scripts/bench.mjs (AEON_BENCH_ROWS) and prints them when run alone. */
export function summary(rows: SummaryRow[]): void {
  const file = process.env.AEON_BENCH_ROWS;
  if (file) fs.appendFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  else {
    console.log('');
    table(['figure', 'aeon', 'baseline', 'ratio', 'target', ''], rows.map((r) => [r.figure, r.value, r.baseline, r.ratio, r.target, r.verdict]));
  }
}

/** "met" or "missed by …" for a figure that should stay at or under `limit`. */
export function verdict(value: number, limit: number, unit: string, digits = 2): string {
  return value <= limit ? 'met' : `missed by ${(value - limit).toFixed(digits)}${unit}`;
}

// ---- the build under test ----------------------------------------------------

export interface Build {
  dir: string;
  /** The x64 board's binary. */
  binary: string;
  /** The pi-zero-2w board's binary built for x64 (build.mjs --arch x64): the Pi's flags and budget baked in. */
  piBinary: string;
  /** The same bundle, to run with a plain node (outside the repository, whose package.json says "module"). */
  bundle: string;
}

/**
 * The x64 single binary and its bundle. AEON_BENCH_DIST (set by bench.mjs, or
 * `--dist DIR`) names a build to reuse; otherwise the current sources are
 * built into a temp directory (~4 s): dist/ may hold a binary of older sources.
 */
export function build(): Build {
  const args = process.argv.slice(2);
  const given = args.includes('--dist') ? args[args.indexOf('--dist') + 1] : process.env.AEON_BENCH_DIST;
  let dir: string;
  if (given) dir = path.resolve(given);
  else {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-bench-dist-'));
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    buildInto(dir);
  }
  const b = { dir, binary: path.join(dir, 'aeon-x64'), piBinary: path.join(dir, 'aeon-pi-zero-2w-x64'), bundle: path.join(dir, 'aeon-x64.js') };
  for (const f of [b.binary, b.piBinary, b.bundle]) if (!fs.existsSync(f)) throw new Error(`${f} is missing (build with build.mjs --board x64 --with-bundle, and --board pi-zero-2w --arch x64)`);
  return b;
}

export function buildInto(dir: string): void {
  if (process.arch !== 'x64') throw new Error(`the benchmarks run the x64 binary; this machine is ${process.arch}`);
  process.stderr.write(`building aeon-x64 and aeon-pi-zero-2w-x64 into ${dir} (build.mjs --no-xz --with-bundle)...\n`);
  for (const args of [['--board', 'x64', '--with-bundle'], ['--board', 'pi-zero-2w', '--arch', 'x64']]) {
    const r = spawnSync(process.execPath, [path.join(REPO, 'build.mjs'), ...args, '--no-xz', '--out', dir], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`build.mjs ${args.join(' ')} failed:\n${r.stderr}`);
  }
}

// ---- boards and process kinds --------------------------------------------------

export interface Budget {
  heap_mb: number;
  semi_space_mb: number;
  v8_flags: string[];
  memory_max_mb: number;
  max_concurrent_turns: number;
}

export function board(name: string): Budget {
  return (JSON.parse(fs.readFileSync(path.join(REPO, 'boards', `${name}.json`), 'utf8')) as { budget: Budget }).budget;
}

export function v8Flags(b: Budget): string[] {
  return [`--max-old-space-size=${b.heap_mb}`, `--max-semi-space-size=${b.semi_space_mb}`, ...b.v8_flags];
}

/** How aeon is started: the single binary, node + the same bundle, or node + the TypeScript sources. */
export type Kind = 'binary' | 'bundle' | 'source';

export interface Launch {
  kind: Kind;
  /** Board in the config; the binary's V8 flags are baked in (x64), the bundle gets this board's on the command line, the sources re-execute with them. */
  board: string;
  label: string;
  cmd: string;
  args: string[];
  /** AEON_GC_ON_SIGUSR2, and the malloc settings of the unit. */
  env: Record<string, string>;
}

/**
 * How to start each kind. Every kind gets AEON_GC_ON_SIGUSR2=1 (the
 * benchmark's SIGUSR2 then runs a full GC, to read what is live; not
 * --expose-gc, which would make the binary reject its code cache), and the
 * malloc settings aeon's systemd unit gives it (MALLOC_ENV; from sources the
 * re-exec adds them).
 */
export function launch(kind: Kind, b: Build, boardName: string): Launch {
  const gc = { AEON_GC_ON_SIGUSR2: '1' };
  switch (kind) {
    case 'binary':
      if (boardName === 'x64') return { kind, board: boardName, label: 'aeon-x64 binary (x64 budget baked in)', cmd: b.binary, args: [], env: { ...MALLOC_ENV, ...gc } };
      if (boardName === 'pi-zero-2w') return { kind, board: boardName, label: 'aeon-pi-zero-2w-x64 binary (pi-zero-2w budget and V8 flags baked in)', cmd: b.piBinary, args: [], env: { ...MALLOC_ENV, ...gc } };
      throw new Error(`no binary of board ${boardName} in the benchmark build`);
    case 'bundle':
      return { kind, board: boardName, label: `node ${v8Flags(board(boardName)).join(' ')} aeon-x64.js`, cmd: process.execPath, args: [...v8Flags(board(boardName)), b.bundle], env: { ...MALLOC_ENV, ...gc } };
    case 'source':
      return { kind, board: boardName, label: `node src/main.ts (${boardName} flags by re-exec)`, cmd: process.execPath, args: [MAIN], env: gc };
  }
}

/** How a summary row names a launch: "binary, pi-zero-2w", "node + bundle, pi-zero-2w", "node + sources, pi-zero-2w". */
export function kindName(l: Launch): string {
  return `${l.kind === 'binary' ? 'binary' : l.kind === 'bundle' ? 'node + bundle' : 'node + sources'}, ${l.board}`;
}

// ---- aeon run as a child ----------------------------------------------------------

/** Extra environment for every aeon child, as JSON in AEON_BENCH_ENV (experiments: MALLOC_*, NODE_OPTIONS). */
function benchEnv(): Record<string, string> {
  return process.env.AEON_BENCH_ENV ? (JSON.parse(process.env.AEON_BENCH_ENV) as Record<string, string>) : {};
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** One GET on loopback with node:http, no keep-alive; resolves status and body, or status 0 when refused. */
export function get(port: number, p: string): Promise<{ status: number; body: string }> {
  const http = process.getBuiltinModule('node:http') as typeof import('node:http');
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: 0, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.setTimeout(5000, () => req.destroy());
  });
}

export interface ProcMem {
  rss: number;
  /** VmHWM: the peak RSS since the process started. */
  hwm: number;
  anon: number;
  file: number;
  /** RSS of the child processes aeon keeps (a watcher, a running tool), summed. */
  children: number;
}

export function procMem(pid: number): ProcMem {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  let children = 0;
  for (const c of childPids(pid)) {
    try {
      const m = procMem(c);
      children += m.rss + m.children;
    } catch {
      // gone meanwhile
    }
  }
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem'), children };
}

function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      const list = fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      if (list) out.push(...list.split(' ').map(Number));
    }
  } catch {
    // no such process
  }
  return out;
}

/** CPU time of every live thread of `pid`, in microseconds. */
export function cpuUs(pid: number): number {
  let ns = 0;
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns / 1000;
}

/** Bytes this process caused to be written to storage (/proc/<pid>/io write_bytes), or undefined without task I/O accounting. */
export function writeBytes(pid: number): { write_bytes: number; cancelled: number } | undefined {
  try {
    const io = fs.readFileSync(`/proc/${pid}/io`, 'utf8');
    const n = (k: string) => Number(new RegExp(`^${k}: (\\d+)`, 'm').exec(io)?.[1] ?? NaN);
    return { write_bytes: n('write_bytes'), cancelled: n('cancelled_write_bytes') };
  } catch {
    return undefined;
  }
}

export interface AeonStatus {
  rss_bytes: number;
  heap_used_bytes: number;
  heap_total_bytes: number;
  heap_limit_bytes: number;
  external_bytes: number;
}

export interface AeonOptions {
  /** Merged over the base config (device, server, agents, dialogs off). */
  config: Record<string, any>;
  /** Extra environment (AEON_LOG_LEVEL, NODE_OPTIONS...). */
  env?: Record<string, string>;
  /** Where to wait: '/readyz' (default) or '/healthz'. */
  until?: string;
  timeoutMs?: number;
  /** HOME for the child; the binary caches its SQLite addon there. */
  home?: string;
  /**
   * Where aeon's stdout and stderr go: a log file in its directory (default),
   * or a pipe whose bytes are only counted (the disk benchmark: a log file
   * would be aeon's own disk writes; on a device the lines go to journald).
   */
  logTo?: 'file' | 'count';
}

export class Aeon {
  readonly child: ChildProcess;
  readonly port: number;
  readonly dir: string;
  readonly logFile: string;
  /** Spawn to the first 200 on `until`, in ms. */
  startMs = NaN;
  /** Bytes aeon wrote to stdout and stderr (with `logTo: 'count'`). */
  logBytes = 0;
  readonly #exit: Promise<void>;

  private constructor(child: ChildProcess, port: number, dir: string, logFile: string) {
    this.child = child;
    this.port = port;
    this.dir = dir;
    this.logFile = logFile;
    this.#exit = new Promise((r) => child.once('exit', () => r()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Writes a config into a fresh directory, starts `aeon run`, waits for `until`. */
  static async start(l: Launch, o: AeonOptions): Promise<Aeon> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-bench-run-'));
    const port = await freePort();
    const c = o.config;
    const config = {
      ...c,
      device: { id: 'bench', data_dir: path.join(dir, 'data'), board: l.board, ...c.device },
      server: { port, ...c.server },
      log: { level: 'info', ...c.log },
      agents: c.agents ?? { main: { provider: 'openai', model: 'gpt-4o-mini', api_key: 'sk-bench-0000', base_url: 'http://127.0.0.1:9/v1' } },
      dialogs: { cli: { enabled: false }, ...c.dialogs },
    };
    const file = path.join(dir, 'aeon.json');
    fs.writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
    const logFile = path.join(dir, 'aeon.log');
    const fd = o.logTo === 'count' ? 'pipe' : fs.openSync(logFile, 'a');
    const home = o.home ?? path.join(dir, 'home');
    fs.mkdirSync(home, { recursive: true });
    const t0 = performance.now();
    const child = spawn(l.cmd, [...l.args, 'run', '--config', file], {
      cwd: dir,
      stdio: ['ignore', fd, fd],
      env: { PATH: process.env.PATH ?? '', HOME: home, ...l.env, ...o.env, ...benchEnv() },
    });
    if (typeof fd === 'number') fs.closeSync(fd);
    const a = new Aeon(child, port, dir, logFile);
    for (const s of [child.stdout, child.stderr]) s?.on('data', (d: Buffer) => (a.logBytes += d.length));
    const until = o.until ?? '/readyz';
    for (const deadline = t0 + (o.timeoutMs ?? 30_000); ; ) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`aeon (${l.label}) exited during start-up:\n${a.logTail()}`);
      if ((await get(port, until)).status === 200) break;
      if (performance.now() > deadline) {
        const tail = a.logTail();
        await a.stop();
        throw new Error(`aeon (${l.label}) never answered ${until} 200:\n${tail}`);
      }
      await sleep(2);
    }
    a.startMs = performance.now() - t0;
    return a;
  }

  mem(): ProcMem {
    return procMem(this.pid);
  }

  cpuUs(): number {
    return cpuUs(this.pid);
  }

  async status(): Promise<AeonStatus> {
    const r = await get(this.port, '/status');
    if (r.status !== 200) throw new Error(`/status answered ${r.status}`);
    return (JSON.parse(r.body) as { process: AeonStatus }).process;
  }

  /**
   * A full garbage collection inside aeon (SIGUSR2; only when started with
   * AEON_GC_ON_SIGUSR2=1, which the benchmark sets), then its memory.
   */
  async afterGc(): Promise<{ mem: ProcMem; status: AeonStatus }> {
    this.child.kill('SIGUSR2');
    await sleep(300);
    const status = await this.status();
    return { mem: this.mem(), status };
  }

  logTail(lines = 30): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      await this.#exit;
      clearTimeout(t);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---- baselines ------------------------------------------------------------------

/** Idle RSS and heap of a bare `node` of the same binary waiting on a timer, after `settleMs`, after a full GC. */
export async function bareNode(settleMs: number, flags: string[] = []): Promise<{ rss: number; heap: number }> {
  const child = spawn(process.execPath, ['--expose-gc', ...flags, '-e', "process.on('SIGUSR2', () => { gc(); const m = process.memoryUsage(); console.log(m.rss + ' ' + m.heapUsed); }); setInterval(() => {}, 1e9)"], { stdio: ['ignore', 'pipe', 'inherit'] });
  await sleep(settleMs);
  // RSS as it is (as for aeon), heap after a full GC (what is live).
  const rss = procMem(child.pid!).rss;
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.kill('SIGUSR2');
  for (let i = 0; i < 100 && !out.includes('\n'); i++) await sleep(10);
  child.kill('SIGKILL');
  const [, heap] = out.trim().split(' ').map(Number);
  return { rss, heap: heap! };
}

/** Wall time of `node -e 0`, spawn to exit, in ms. */
export function bareStartMs(): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  return new Promise((resolve) => child.once('exit', () => resolve(performance.now() - t0)));
}

/**
 * Where a process's RSS lives, from /proc/<pid>/smaps, in bytes: the node (or
 * aeon) binary's pages, other files (libraries, the SQLite addon), glibc's brk
 * heap (its main malloc arena) and the other anonymous memory (V8's heap,
 * code and zones, thread stacks and arenas, WebAssembly memory).
 */
export function smapsBreakdown(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let kind = '';
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      const name = m[1]!;
      kind = name.startsWith('/') ? (/\/node$|\/aeon-[^/]*$/.test(name) ? 'binary' : 'other files') : name === '[heap]' ? 'brk heap' : 'anonymous';
      continue;
    }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r) out[kind] = (out[kind] ?? 0) + Number(r[1]) * 1024;
  }
  return out;
}
