// `aeon doctor`: compares the board budget with the real machine (RAM, heap,
// free disk, CPU temperature, clock sync) and checks every configured endpoint
// (LLM, MQTT broker, Telegram), one line each: `ok|warn|fail  what  detail`.
// Exit code 0 when nothing failed, 1 otherwise. Probes are injectable and all
// have short timeouts; a secret never appears in a detail.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { http, https } from '../util/node-http.ts';
import { DEFAULT_BASE_URL } from '../llm/defaults.ts';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import type { Config } from '../config/types.ts';

export type Verdict = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  verdict: Verdict;
  what: string;
  detail: string;
}

export interface DoctorResult {
  checks: DoctorCheck[];
  exitCode: 0 | 1;
}

export interface ProbeResult {
  /** True when the peer answered (any HTTP status counts as an answer). */
  ok: boolean;
  ms: number;
  status?: number;
  /** Start of the response body (at most 64 KiB). */
  body?: string;
  /** Why there was no answer, in plain words. */
  error?: string;
}

export interface Probes {
  tcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult>;
  http(url: string, headers: Record<string, string>, timeoutMs: number): Promise<ProbeResult>;
}

export interface DoctorOptions {
  config: Config;
  probes?: Partial<Probes>;
  /** Per endpoint, in ms (default 3000). */
  timeoutMs?: number;
  totalMemBytes?: number;
  heapLimitBytes?: number;
  arch?: string;
  statfs?: (p: string) => Promise<{ bavail: number; bsize: number }>;
  /** Default /sys/class/thermal/thermal_zone0/temp. */
  thermalPath?: string;
  /** true/false, or undefined when it cannot be told; default asks timedatectl. */
  clockSynced?: () => Promise<boolean | undefined>;
  /** Where each provider listens when the config names no base_url. */
  defaultBaseUrl?: Record<string, string>;
}


const MB = 1024 * 1024;

export async function runDoctor(o: DoctorOptions): Promise<DoctorResult> {
  const c = o.config;
  const timeout = o.timeoutMs ?? 3000;
  const probes: Probes = { tcp: o.probes?.tcp ?? probeTcp, http: o.probes?.http ?? probeHttp };
  const checks: DoctorCheck[] = [];
  const add = (verdict: Verdict, what: string, detail: string) => checks.push({ verdict, what, detail });

  // The machine against the board profile.
  const board = c.board;
  const b = c.budget;
  const arch = o.arch ?? process.arch;
  add(board.arch === arch ? 'ok' : 'warn', 'board', `${board.name}: ${board.ram_mb} MB, ${board.arch}${board.arch === arch ? '' : ` — but this machine is ${arch}: pick a board profile for it`}`);
  const totalMb = Math.round((o.totalMemBytes ?? os.totalmem()) / MB);
  // A Pi reports less than its nominal RAM (GPU split, kernel): 512 MB shows as ~420.
  if (totalMb < board.ram_mb * 0.7) add('warn', 'memory', `${totalMb} MB total, the ${board.name} profile expects ${board.ram_mb} MB: choose a smaller board profile`);
  else add('ok', 'memory', `${totalMb} MB total (${board.name} profile: ${board.ram_mb} MB)`);
  if (b.memory_max_mb > totalMb * 0.8) add('fail', 'memory budget', `MemoryMax ${b.memory_max_mb} MB leaves too little of ${totalMb} MB for the system: lower budget.memory_max_mb`);
  else if (b.heap_mb + 48 > b.memory_max_mb) add('warn', 'memory budget', `heap ${b.heap_mb} MB + ~48 MB for Node itself exceeds MemoryMax ${b.memory_max_mb} MB`);
  else add('ok', 'memory budget', `heap ${b.heap_mb} MB within MemoryMax ${b.memory_max_mb} MB`);
  const limitMb = Math.round((o.heapLimitBytes ?? v8.getHeapStatistics().heap_size_limit) / MB);
  // V8 adds its young generation to --max-old-space-size, so allow some slack.
  const applied = limitMb >= b.heap_mb && limitMb <= b.heap_mb + 3 * b.semi_space_mb + 16;
  add('ok', 'heap limit', applied ? `${limitMb} MB, as budgeted` : `${limitMb} MB in this process; \`aeon run\` applies the budget of ${b.heap_mb} MB`);

  // The data directory: free space and whether it is writable.
  const dataDir = c.device.data_dir;
  const existing = nearestExisting(dataDir);
  try {
    const st = await (o.statfs ?? ((p: string) => fs.promises.statfs(p)))(existing);
    const freeMb = Math.round((st.bavail * st.bsize) / MB);
    const v: Verdict = freeMb < 100 ? 'fail' : freeMb < 512 ? 'warn' : 'ok';
    add(v, 'disk', `${freeMb} MB free under ${existing}${v === 'ok' ? '' : ': the database and logs need room'}`);
  } catch (err) {
    add('warn', 'disk', `cannot tell free space under ${existing}: ${(err as Error).message}`);
  }
  try {
    fs.accessSync(existing, fs.constants.W_OK);
    add('ok', 'data dir', existing === dataDir ? `${dataDir} is writable` : `${dataDir} will be created (parent ${existing} is writable)`);
  } catch {
    add('fail', 'data dir', `${existing} is not writable by this user${existing === dataDir ? '' : ` (needed to create ${dataDir})`}`);
  }

  // CPU temperature (a Pi throttles at 80 °C).
  const thermal = o.thermalPath ?? '/sys/class/thermal/thermal_zone0/temp';
  let milli: number | undefined;
  try {
    milli = Number(fs.readFileSync(thermal, 'utf8').trim());
  } catch {
    milli = undefined;
  }
  if (milli === undefined || !Number.isFinite(milli)) add('ok', 'temperature', 'no thermal sensor here');
  else {
    const t = Math.round(milli / 100) / 10;
    add(t >= 80 ? 'fail' : t >= 70 ? 'warn' : 'ok', 'temperature', `${t} °C${t >= 80 ? ': the CPU throttles; add cooling' : t >= 70 ? ': close to throttling (80 °C)' : ''}`);
  }

  // Clock: TLS certificates and Telegram need the right time; a Pi has no RTC.
  const synced = await (o.clockSynced ?? timedatectlSynced)();
  if (synced === true) add('ok', 'clock', 'synchronised (NTP)');
  else if (synced === false) add('warn', 'clock', 'not synchronised: TLS and Telegram fail with a wrong clock; check systemd-timesyncd');
  else add('warn', 'clock', 'cannot tell whether the clock is synchronised (timedatectl not available)');

  // Endpoints, concurrently.
  const jobs: Array<Promise<DoctorCheck>> = [];
  const seen = new Set<string>();
  for (const [id, agent] of Object.entries(c.agents)) {
    for (const [i, ref] of [agent, ...agent.fallbacks].entries()) {
      const provider = ref.provider ?? agent.provider;
      const sameProvider = provider === agent.provider;
      const base = ref.base_url ?? (i > 0 && sameProvider ? agent.base_url : undefined) ?? (o.defaultBaseUrl ?? DEFAULT_BASE_URL)[provider];
      if (!base) continue;
      const key = ref.api_key ?? (i > 0 && sameProvider ? agent.api_key : undefined);
      const dedupe = `${provider} ${base} ${key ?? ''}`;
      if (seen.has(dedupe)) continue;
      seen.add(dedupe);
      const what = i === 0 ? `llm ${id}` : `llm ${id} fallback ${i}`;
      jobs.push(checkLlm(probes, what, provider, base, key, ref.headers ?? {}, timeout));
    }
  }
  const mq = c.dialogs.mqtt;
  if (mq.enabled) jobs.push(checkMqtt(probes, mq.url, timeout));
  const tg = c.dialogs.telegram;
  if (tg.enabled) jobs.push(checkTelegram(probes, tg.api_root, tg.bot_token, timeout));
  checks.push(...(await Promise.all(jobs)));

  return { checks, exitCode: checks.some((x) => x.verdict === 'fail') ? 1 : 0 };
}

/** One line per check, columns aligned. */
export function formatDoctor(r: DoctorResult): string {
  const w = Math.max(...r.checks.map((x) => x.what.length), 4);
  return r.checks.map((x) => `${x.verdict.padEnd(4)}  ${x.what.padEnd(w)}  ${x.detail}`).join('\n') + '\n';
}

async function checkLlm(p: Probes, what: string, provider: string, base: string, key: string | undefined, extra: Record<string, string>, timeout: number): Promise<DoctorCheck> {
  const anthropic = provider === 'anthropic';
  const url = `${base.replace(/\/+$/, '')}${anthropic ? '/v1/models' : '/models'}`;
  const headers: Record<string, string> = { ...extra };
  if (key && anthropic) Object.assign(headers, { 'x-api-key': key, 'anthropic-version': '2023-06-01' });
  else if (key) headers.authorization = `Bearer ${key}`;
  const r = await p.http(url, headers, timeout);
  const where = origin(base);
  if (!r.ok) return { verdict: 'fail', what, detail: `${where} unreachable: ${r.error ?? 'no answer'}` };
  const s = r.status ?? 0;
  if (s >= 200 && s < 300) return { verdict: 'ok', what, detail: `${where} answered in ${r.ms} ms` };
  if (s === 401 || s === 403) return { verdict: 'fail', what, detail: `${where} rejected the API key (HTTP ${s})` };
  return { verdict: 'warn', what, detail: `${where} is reachable but GET ${new URL(url).pathname} answered HTTP ${s}` };
}

async function checkMqtt(p: Probes, url: string, timeout: number): Promise<DoctorCheck> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { verdict: 'fail', what: 'mqtt broker', detail: 'dialogs.mqtt.url is not a URL' };
  }
  const ports: Record<string, number> = { 'mqtt:': 1883, 'mqtts:': 8883, 'ws:': 80, 'wss:': 443 };
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port) || ports[u.protocol] || 1883;
  const r = await p.tcp(host, port, timeout);
  return r.ok
    ? { verdict: 'ok', what: 'mqtt broker', detail: `${host}:${port} accepts connections (${r.ms} ms)` }
    : { verdict: 'fail', what: 'mqtt broker', detail: `${host}:${port} unreachable: ${r.error ?? 'no answer'}` };
}

async function checkTelegram(p: Probes, apiRoot: string, token: string | undefined, timeout: number): Promise<DoctorCheck> {
  const what = 'telegram';
  const where = origin(apiRoot);
  if (!token) return { verdict: 'fail', what, detail: 'dialogs.telegram.bot_token is not set' };
  const r = await p.http(`${apiRoot.replace(/\/+$/, '')}/bot${token}/getMe`, {}, timeout);
  if (!r.ok) return { verdict: 'fail', what, detail: `${where} unreachable: ${r.error ?? 'no answer'}` };
  if (r.status === 200) {
    let name = '';
    try {
      const u = (JSON.parse(r.body ?? '') as { result?: { username?: string } }).result?.username;
      if (u) name = ` as @${u}`;
    } catch {
      // the answer is reachable enough
    }
    return { verdict: 'ok', what, detail: `${where} answered${name} in ${r.ms} ms` };
  }
  if (r.status === 401 || r.status === 404) return { verdict: 'fail', what, detail: `${where} rejected the bot token (HTTP ${r.status}): check it with @BotFather` };
  return { verdict: 'warn', what, detail: `${where} answered getMe with HTTP ${r.status}` };
}

/** TCP connect within the timeout. */
export function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (r: Omit<ProbeResult, 'ms'>) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...r, ms: Math.round(performance.now() - t0) });
    };
    const timer = setTimeout(() => done({ ok: false, error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    sock.once('connect', () => done({ ok: true }));
    sock.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, error: describe(err) }));
  });
}

/** GET within the timeout; any HTTP answer counts as reachable. */
export function probeHttp(url: string, headers: Record<string, string>, timeoutMs: number): Promise<ProbeResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Omit<ProbeResult, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ ...r, ms: Math.round(performance.now() - t0) });
    };
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      resolve({ ok: false, ms: 0, error: 'not a valid URL' });
      return;
    }
    const mod = u.protocol === 'https:' ? https() : http;
    const req = mod.request(u, { method: 'GET', headers: { 'user-agent': 'aeon-doctor', ...headers }, agent: false });
    const timer = setTimeout(() => done({ ok: false, error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    req.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, error: describe(err) }));
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 65536) body += d;
      });
      res.once('end', () => done({ ok: true, status: res.statusCode ?? 0, body }));
      res.once('error', () => done({ ok: true, status: res.statusCode ?? 0, body }));
    });
    req.end();
  });
}

function describe(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused (nothing listens there)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found (DNS)';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to the host (network down?)';
    case 'ECONNRESET':
      return 'connection reset';
    default:
      return err.code ? `${err.code}: ${err.message}` : err.message;
  }
}

/** scheme://host:port only: never a path (a Telegram path holds the token) nor credentials. */
function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

function nearestExisting(p: string): string {
  let cur = path.resolve(p);
  while (!fs.existsSync(cur)) {
    const up = path.dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  return cur;
}

function timedatectlSynced(): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    execFile('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { timeout: 2000 }, (err, stdout) => {
      if (err) return resolve(undefined);
      const v = stdout.trim();
      resolve(v === 'yes' ? true : v === 'no' ? false : undefined);
    });
  });
}
