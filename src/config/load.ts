// Loading aeon.json: find the file, strip comments, substitute ${ENV}, validate
// against the precompiled schema (defaults filled in), apply the board profile,
// resolve paths. Every problem is collected and reported at once, each with its
// JSON path; only start-up throws (ConfigError, exit code 78).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validate_config } from '../gen/validators.js';
import { check, closest, type ValidationIssue } from '../util/validate.ts';
import { Secrets } from '../util/secrets.ts';
import { BOARDS } from './boards.ts';
import { expandEnv } from './env.ts';
import { parseJsonc } from './jsonc.ts';
import type { Config } from './types.ts';
import embeddedDefault from '../../aeon.json' with { type: 'json' };

export const EMBEDDED = '<embedded default>';

export class ConfigError extends Error {
  readonly source: string;
  readonly issues: ValidationIssue[];
  constructor(source: string, issues: ValidationIssue[]) {
    super(`${source}: ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n${issues.map((i) => `  ${i.path}: ${i.message}${i.hint ? ` — ${i.hint}` : ''}`).join('\n')}`);
    this.name = 'ConfigError';
    this.source = source;
    this.issues = issues;
  }
}

export interface LoadOptions {
  /** `--config PATH`; when absent the default lookup applies. */
  path?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Board used when the config names none (the binary bakes in its own). */
  defaultBoard?: string;
}

export interface Loaded {
  config: Config;
  /** Secret values found in the config, for the logger to scrub. */
  secrets: Secrets;
  /** Things worth a log line that do not stop aeon. */
  warnings: string[];
  /** Paths of secrets written into the file itself rather than taken from ${ENV}. */
  literalSecrets: string[];
}

/** `./aeon.json`, then `$XDG_CONFIG_HOME/aeon/aeon.json`, then `/etc/aeon/aeon.json`. */
export function configCandidates(env: NodeJS.ProcessEnv, cwd: string): string[] {
  const xdg = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return [path.join(cwd, 'aeon.json'), path.join(xdg, 'aeon', 'aeon.json'), '/etc/aeon/aeon.json'];
}

export function findConfig(opts: LoadOptions): string | undefined {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  if (opts.path) return path.resolve(cwd, opts.path);
  return configCandidates(env, cwd).find((p) => fs.existsSync(p));
}

export function loadConfig(opts: LoadOptions = {}): Loaded {
  const file = findConfig(opts);
  if (!file) return parseConfig(JSON.stringify(embeddedDefault), EMBEDDED, opts);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new ConfigError(file, [{ path: '(file)', message: `cannot be read: ${why}`, hint: 'run `aeon init` to write a starter config' }]);
  }
  const loaded = parseConfig(text, file, opts);
  warnIfReadableSecrets(file, loaded);
  return loaded;
}

const SECRET_KEYS = new Set(['api_key', 'bot_token', 'password', 'token']);

/** Parses and validates config text. `source` names it in messages and anchors relative paths. */
export function parseConfig(text: string, source: string, opts: LoadOptions = {}): Loaded {
  const env = opts.env ?? process.env;
  const baseDir = source === EMBEDDED ? (opts.cwd ?? process.cwd()) : path.dirname(source);
  const home = env.HOME || os.homedir();

  const parsed = parseJsonc(text);
  if (!parsed.ok) throw new ConfigError(source, [{ path: '(file)', message: `is not valid JSON: ${parsed.error}` }]);
  const raw = parsed.value;

  const issues: ValidationIssue[] = [];
  const literalSecrets: string[] = [];
  const data = expandEnv(raw, env, issues, (p, fromEnv) => {
    if (!fromEnv && SECRET_KEYS.has(p.split('.').pop() ?? '')) literalSecrets.push(p);
  });
  if (issues.length) throw new ConfigError(source, issues);

  issues.push(...check(validate_config, data));
  if (issues.length) throw new ConfigError(source, issues);
  const c = data as any;

  const boardName: string = c.device.board ?? opts.defaultBoard ?? 'x64';
  // Own keys only: "constructor" must not find Object.prototype.constructor.
  const board = Object.hasOwn(BOARDS, boardName) ? BOARDS[boardName] : undefined;
  if (!board) {
    const near = closest(boardName, Object.keys(BOARDS));
    issues.push({ path: 'device.board', message: `names an unknown board "${boardName}"`, hint: `${near ? `did you mean "${near}"? ` : ''}known boards: ${Object.keys(BOARDS).join(', ')}` });
  }
  const agentIds = Object.keys(c.agents);
  for (const d of ['cli', 'telegram', 'mqtt'] as const) {
    const a = c.dialogs[d].agent;
    if (a !== undefined && !Object.hasOwn(c.agents, a)) issues.push({ path: `dialogs.${d}.agent`, message: `names an unknown agent "${a}"`, hint: `agents defined: ${agentIds.join(', ')}` });
  }
  if (c.dialogs.telegram.enabled && !c.dialogs.telegram.bot_token) {
    issues.push({ path: 'dialogs.telegram.bot_token', message: 'is required when dialogs.telegram.enabled is true', hint: 'get one from @BotFather and write "${TELEGRAM_BOT_TOKEN}"' });
  }
  for (const [id, a] of Object.entries<any>(c.agents)) {
    if (a.provider === 'anthropic' && !a.api_key) issues.push({ path: `agents.${id}.api_key`, message: 'is required for provider "anthropic"', hint: 'write "${ANTHROPIC_API_KEY}" and set it in the environment' });
    if (['openai', 'openrouter'].includes(a.provider) && !a.api_key) issues.push({ path: `agents.${id}.api_key`, message: `is required for provider "${a.provider}"`, hint: 'write "${OPENAI_API_KEY}" and set it in the environment' });
  }
  if (c.server.enabled && !isLoopback(c.server.host) && !c.server.token) {
    issues.push({ path: 'server.token', message: `is required when server.host is "${c.server.host}" (not loopback)`, hint: 'set a long random token, or bind to 127.0.0.1' });
  }
  if (issues.length) throw new ConfigError(source, issues);

  const expand = (p: string, base: string) => path.resolve(base, p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p);
  c.device.board = boardName;
  c.device.data_dir = expand(c.device.data_dir, baseDir);
  c.storage.sessions_db = c.storage.sessions_db === ':memory:' ? ':memory:' : expand(c.storage.sessions_db, c.device.data_dir);
  c.tools.workspace = expand(c.tools.workspace, c.device.data_dir);
  for (const a of Object.values<any>(c.agents)) {
    if (a.system_prompt_file) a.system_prompt_file = expand(a.system_prompt_file, baseDir);
  }
  for (const k of ['ca', 'cert', 'key'] as const) {
    if (c.dialogs.mqtt[k]) c.dialogs.mqtt[k] = expand(c.dialogs.mqtt[k], baseDir);
  }
  c.budget = { ...board!.budget, ...c.budget };
  c.storage.max_history_messages ??= c.budget.history_messages;
  c.board = board;
  c.source = source;

  const secrets = new Secrets();
  for (const a of Object.values<any>(c.agents)) {
    secrets.add(a.api_key);
    for (const f of a.fallbacks) secrets.add(f.api_key);
  }
  secrets.add(c.dialogs.telegram.bot_token);
  secrets.add(c.dialogs.mqtt.password);
  secrets.add(c.server.token);

  return { config: c as Config, secrets, warnings: [], literalSecrets };
}

function warnIfReadableSecrets(file: string, loaded: Loaded): void {
  const literal = loaded.literalSecrets;
  if (!literal.length) return;
  let mode = 0;
  try {
    mode = fs.statSync(file).mode;
  } catch {
    return;
  }
  if (mode & 0o044) {
    loaded.warnings.push(
      `${file} holds secrets (${literal.join(', ')}) and is readable by other users (mode ${(mode & 0o777).toString(8)}): run \`chmod 600 ${file}\` or move them to the environment (/etc/aeon/env) and write "\${VAR}"`,
    );
  }
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
