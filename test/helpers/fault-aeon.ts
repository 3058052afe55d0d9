// A real `aeon run` child for the fault suite: written config, health server
// on a known loopback port (with a bearer token), stdout and stderr appended to
// a log file that outlives restarts and kill -9, and the probes the fault tests
// need (health, readiness, status, RSS from /proc). Every log file any child
// wrote is remembered, so a test file can grep all of them for secrets.
//
//   const aeon = await AeonChild.start('kill9', { agents: ..., dialogs: ... });
//   await aeon.kill9(); await aeon.restart();
//   assert.deepEqual(secretLeaks(), []);
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Store } from '../../src/store/store.ts';
import { MAIN } from './aeon-cli.ts';
import { freePort } from './fault-tcp.ts';
import { TOKEN as BOT_TOKEN } from './telegram-emulator.ts';

/** The secret values every fault child is configured with; none may reach a log line or a reply. */
export const SECRETS = {
  llm_api_key: 'sk-fault-3c9a1e7b5d2f4086a1b2c3d4e5f60718',
  bot_token: BOT_TOKEN,
  mqtt_password: 'mqtt-fault-pw-5e8d2a7c9b1f',
  server_token: 'srv-fault-token-0a9b8c7d6e5f4a3b',
} as const;

const LOG_FILES = new Set<string>();
const LIVE = new Set<ChildProcess>();
const ALL = new Set<AeonChild>();
process.once('exit', () => {
  for (const c of LIVE) c.kill('SIGKILL');
});

export interface StartOptions {
  /** AEON_LOG_LEVEL for the child (default debug: the most lines to search for secrets). */
  logLevel?: string;
  env?: Record<string, string>;
  /** How long to wait for /healthz (default 20 s). */
  readyMs?: number;
}

export class AeonChild {
  readonly name: string;
  readonly dir: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly port: number;
  readonly config: Record<string, any>;
  readonly #opts: StartOptions;
  #child: ChildProcess | undefined;
  #exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  starts = 0;

  private constructor(name: string, dir: string, port: number, config: Record<string, any>, opts: StartOptions) {
    this.name = name;
    this.dir = dir;
    this.port = port;
    this.config = config;
    this.#opts = opts;
    this.configFile = path.join(dir, 'aeon.json');
    this.logFile = path.join(dir, 'aeon.log');
    fs.writeFileSync(this.configFile, JSON.stringify(config, null, 2), { mode: 0o600 });
    LOG_FILES.add(this.logFile);
    ALL.add(this);
  }

  /**
   * Writes `config` (data_dir, server port and token filled in unless given)
   * and starts `aeon run`; resolves once /healthz answers 200.
   */
  static async start(name: string, config: Record<string, any>, opts: StartOptions = {}): Promise<AeonChild> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `aeon-fault-${name}-`));
    const port = config.server?.port ?? (await freePort());
    const full = {
      ...config,
      device: { id: name.replace(/[^a-z0-9_-]/g, ''), data_dir: path.join(dir, 'data'), ...config.device },
      server: { port, token: SECRETS.server_token, ...config.server },
    };
    const a = new AeonChild(name, dir, port, full, opts);
    await a.restart();
    return a;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    const c = this.#child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  get dbPath(): string {
    return path.join(this.config.device.data_dir, 'aeon.db');
  }

  /** Starts the process (again); resolves when /healthz says 200. */
  async restart(): Promise<void> {
    if (this.running) throw new Error(`${this.name} is still running`);
    const fd = fs.openSync(this.logFile, 'a');
    fs.writeSync(fd, `--- start ${++this.starts} at ${new Date().toISOString()}\n`);
    const child = spawn(process.execPath, [MAIN, 'run', '--config', this.configFile], {
      cwd: this.dir,
      stdio: ['ignore', fd, fd],
      env: { PATH: process.env.PATH ?? '', HOME: this.dir, AEON_LOG_LEVEL: this.#opts.logLevel ?? 'debug', ...this.#opts.env },
    });
    fs.closeSync(fd);
    this.#child = child;
    LIVE.add(child);
    this.#exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        LIVE.delete(child);
        resolve({ code, signal });
      });
    });
    const deadline = Date.now() + (this.#opts.readyMs ?? 20_000);
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited during start-up:\n${this.logTail()}`);
      if ((await this.health()).status === 200) return;
      if (Date.now() > deadline) throw new Error(`${this.name}: /healthz did not answer within the start-up bound:\n${this.logTail()}`);
      await sleep(50);
    }
  }

  /** SIGKILL, as a power cut or the OOM killer would. */
  async kill9(): Promise<void> {
    if (!this.running) return;
    this.#child!.kill('SIGKILL');
    await this.#exit;
  }

  /** SIGTERM and wait (SIGKILL after `ms`); the exit code, or the signal name. */
  async stop(ms = 15_000): Promise<number | string | null> {
    if (!this.running) {
      const e = await this.#exit;
      return e?.code ?? e?.signal ?? null;
    }
    this.#child!.kill('SIGTERM');
    const t = setTimeout(() => this.#child?.kill('SIGKILL'), ms);
    const e = await this.#exit!;
    clearTimeout(t);
    return e.code ?? e.signal;
  }

  /** Resolves when the process exits (for "nothing crashed" checks). */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined {
    return this.#exit;
  }

  /** GET with the bearer token (or `token`; false: none). Never throws: status 0 when unreachable. */
  async get(p: string, token: string | false = SECRETS.server_token, timeoutMs = 5000): Promise<{ status: number; body: any; ms: number }> {
    const t0 = performance.now();
    try {
      const res = await fetch(`${this.url}${p}`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(timeoutMs) });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // metrics are text
      }
      return { status: res.status, body, ms: performance.now() - t0 };
    } catch {
      return { status: 0, body: undefined, ms: performance.now() - t0 };
    }
  }

  health() {
    return this.get('/healthz', false, 2000);
  }

  readyz() {
    return this.get('/readyz');
  }

  async status(): Promise<Record<string, any>> {
    const r = await this.get('/status');
    if (r.status !== 200) throw new Error(`/status answered ${r.status}`);
    return r.body;
  }

  /** Resident set size from /proc (the same PID after the budget re-exec: it is an execve). */
  rssBytes(): number {
    const pid = this.pid;
    if (!pid) return 0;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  }

  /** Opens the database (while the child is down, or alongside it: WAL allows a reader). */
  openStore(): Store {
    return Store.open({ path: this.dbPath });
  }

  logText(): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  logTail(lines = 40): string {
    return this.logText().split('\n').slice(-lines).join('\n');
  }

  /** Parsed JSON log lines (non-JSON lines skipped). */
  logLines(): Array<Record<string, any>> {
    const out: Array<Record<string, any>> = [];
    for (const l of this.logText().split('\n')) {
      if (!l.startsWith('{')) continue;
      try {
        out.push(JSON.parse(l));
      } catch {
        // a line cut by kill -9
      }
    }
    return out;
  }

  /** Stops the child if it runs and removes its directory unless `keep` (the logs stay registered only while the file exists). */
  async dispose(keep = false): Promise<void> {
    ALL.delete(this);
    if (this.running) await this.stop(5000);
    if (!keep) {
      // The leak check reads the log first; dispose after it.
      fs.rmSync(this.dir, { recursive: true, force: true });
      LOG_FILES.delete(this.logFile);
    }
  }
}

/** Stops and removes every child still around: for `after`, so a test that timed out leaves no process behind. */
export async function disposeAll(): Promise<void> {
  for (const a of [...ALL]) await a.dispose();
}

/**
 * Every line of every log a fault child wrote in this process that holds one
 * of `secrets` (default: all of SECRETS), as `file:line: secret-name`. Also
 * checks `extra` texts (replies people saw).
 */
export function secretLeaks(extra: Array<{ what: string; text: string }> = [], secrets: Record<string, string> = SECRETS): string[] {
  const found: string[] = [];
  const check = (where: string, text: string) => {
    for (const [name, value] of Object.entries(secrets)) if (text.includes(value)) found.push(`${where}: ${name}`);
  };
  for (const file of LOG_FILES) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    text.split('\n').forEach((line, i) => check(`${file}:${i + 1}`, line));
  }
  for (const e of extra) check(e.what, e.text);
  return found;
}

/** How many log lines were searched (so a leak check that read nothing is noticed). */
export function loggedLines(): number {
  let n = 0;
  for (const file of LOG_FILES) {
    try {
      n += fs.readFileSync(file, 'utf8').split('\n').length;
    } catch {
      // removed
    }
  }
  return n;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until truthy; throws naming `what` after `ms`. */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, ms = 10_000, every = 25): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

/** Why `msg` is not a plain sentence for a person (no stack trace, no line break, short), or undefined. */
export function plainSentenceProblem(msg: unknown): string | undefined {
  if (typeof msg !== 'string' || !msg.trim()) return 'empty';
  if (/\n/.test(msg)) return 'has a line break';
  if (/\bat [\w.<>]+ \(|node:internal|\.ts:\d+:\d+|\.js:\d+:\d+/.test(msg)) return 'looks like a stack trace';
  if (/^(Type|Reference|Syntax|Range)?Error\b/.test(msg)) return 'is a raw exception';
  if (msg.length > 400) return `is ${msg.length} characters long`;
  if (!/[.!?)]$/.test(msg.trim())) return 'does not end like a sentence';
  // "aeon could not reach the language model. Could not connect to …" is two; more is a paragraph.
  if ((msg.match(/[.!?] +[A-Z]/g) ?? []).length > 1) return 'is more than two sentences';
  return undefined;
}
