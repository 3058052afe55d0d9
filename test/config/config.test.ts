import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, EMBEDDED, loadConfig, parseConfig } from '../../src/config/index.ts';
import { tempDir } from '../helpers/tmp.ts';

const MIN = { agents: { main: { provider: 'ollama', model: 'llama3.2' } } };

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
    return err.issues.map((i) => `${i.path}: ${i.message}${i.hint ? ` — ${i.hint}` : ''}`);
  }
  assert.fail('expected the config to be rejected');
}

function parse(obj: unknown, env: NodeJS.ProcessEnv = {}) {
  return parseConfig(JSON.stringify(obj), '/etc/aeon/aeon.json', { env: { HOME: '/home/pi', ...env } });
}

describe('config', () => {
  it('fills defaults and applies the board budget', () => {
    const { config } = parse({ ...MIN, device: { board: 'pi-zero-2w' } });
    assert.equal(config.device.id, 'aeon');
    assert.equal(config.server.host, '127.0.0.1');
    assert.equal(config.server.port, 7777);
    assert.equal(config.budget.heap_mb, 64);
    assert.equal(config.storage.max_history_messages, 40);
    assert.equal(config.agents.main!.max_tool_iterations, 8);
    assert.equal(config.dialogs.mqtt.protocol_version, 5);
  });

  it('lets the config override the board budget', () => {
    const { config } = parse({ ...MIN, device: { board: 'pi-zero-2w' }, budget: { heap_mb: 48, daily_usd: 2 } });
    assert.equal(config.budget.heap_mb, 48);
    assert.equal(config.budget.daily_usd, 2);
    assert.equal(config.budget.max_concurrent_turns, 8);
  });

  it('reports a missing key with its path and a hint', () => {
    const issues = issuesOf(() => parse({ agents: { main: { provider: 'ollama' } } }));
    assert.equal(issues.length, 1);
    assert.match(issues[0]!, /^agents\.main\.model: is required but missing — Model name/);
  });

  it('reports a wrong type with what it got', () => {
    const issues = issuesOf(() => parse({ ...MIN, server: { port: 'http' } }));
    assert.deepEqual(issues, ['server.port: must be an integer (got "http") — TCP port (0 picks a free one).']);
  });

  it('reports an unknown key and suggests the near one', () => {
    const issues = issuesOf(() => parse({ ...MIN, dialogs: { telegram: { bot_tokn: 'x' } } }));
    assert.deepEqual(issues, ['dialogs.telegram.bot_tokn: is not a known key — did you mean "bot_token"?']);
  });

  it('reports every problem at once, not just the first', () => {
    const issues = issuesOf(() => parse({ agents: { main: { provider: 'opneai', model: 'x' } }, log: { level: 'loud' }, devise: {} }));
    assert.equal(issues.length, 3, issues.join('\n'));
    assert.ok(issues.some((i) => i.startsWith('agents.main.provider: must be one of') && i.includes('did you mean "openai"?')));
    assert.ok(issues.some((i) => i.startsWith('log.level: must be one of')));
    assert.ok(issues.some((i) => i.startsWith('devise: is not a known key — did you mean "device"?')));
  });

  it('rejects an unknown board and names the known ones', () => {
    const issues = issuesOf(() => parse({ ...MIN, device: { board: 'pi-zero' } }));
    assert.equal(issues.length, 1);
    assert.match(issues[0]!, /^device\.board: names an unknown board "pi-zero" — did you mean "pi-zero-2w"\? known boards: .*x64/);
  });

  it('substitutes ${VAR} and ${VAR:-default}', () => {
    const { config } = parse(
      { ...MIN, agents: { main: { provider: 'openai', model: '${MODEL:-gpt-4o-mini}', api_key: '${KEY}' } }, server: { port: '${PORT:-7001}' } },
      { KEY: 'sk-test-123456' },
    );
    assert.equal(config.agents.main!.model, 'gpt-4o-mini');
    assert.equal(config.agents.main!.api_key, 'sk-test-123456');
    assert.equal(config.server.port, 7001);
  });

  it('names the key and the variable when a variable is unset', () => {
    const issues = issuesOf(() => parse({ agents: { main: { provider: 'openai', model: 'gpt-4o', api_key: '${OPENAI_API_KEY}' } } }));
    assert.deepEqual(issues, ['agents.main.api_key: uses environment variable OPENAI_API_KEY, which is not set — set OPENAI_API_KEY (in /etc/aeon/env under systemd) or write ${OPENAI_API_KEY:-default}']);
  });

  it('rejects a malformed reference', () => {
    const issues = issuesOf(() => parse({ ...MIN, device: { name: 'a ${not valid}' } }));
    assert.match(issues[0]!, /^device\.name: has a malformed reference/);
  });

  it('keeps $${ as a literal ${', () => {
    const { config } = parse({ ...MIN, device: { name: 'cost $${x}' } });
    assert.equal(config.device.name, 'cost ${x}');
  });

  it('expands ~ and resolves paths against data_dir', () => {
    const { config } = parse({ ...MIN, device: { data_dir: '~/aeon' }, storage: { sessions_db: 'x.db' }, tools: { workspace: '/srv/ws' } });
    assert.equal(config.device.data_dir, '/home/pi/aeon');
    assert.equal(config.storage.sessions_db, '/home/pi/aeon/x.db');
    assert.equal(config.tools.workspace, '/srv/ws');
  });

  it('accepts comments (the starter config has them)', () => {
    const { config } = parseConfig('// hi\n{ /* a */ "agents": {"main": {"provider": "ollama", "model": "m // not a comment"}} }', '/x/aeon.json', { env: {} });
    assert.equal(config.agents.main!.model, 'm // not a comment');
  });

  it('reports invalid JSON with line and column', () => {
    const issues = issuesOf(() => parseConfig('{\n  "agents": {,\n}', '/x/aeon.json', { env: {} }));
    assert.match(issues[0]!, /^\(file\): is not valid JSON: .*line 2/);
  });

  it('requires a token off loopback and an api key for openai', () => {
    const issues = issuesOf(() => parse({ agents: { main: { provider: 'openai', model: 'gpt-4o' } }, server: { host: '0.0.0.0' } }));
    assert.ok(issues.some((i) => i.startsWith('server.token: is required when server.host is "0.0.0.0"')));
    assert.ok(issues.some((i) => i.startsWith('agents.main.api_key: is required for provider "openai"')));
  });

  it('checks that dialogs name existing agents and Telegram has a token', () => {
    const issues = issuesOf(() => parse({ ...MIN, dialogs: { telegram: { enabled: true, agent: 'kitchen' } } }));
    assert.ok(issues.some((i) => i.startsWith('dialogs.telegram.agent: names an unknown agent "kitchen"')));
    assert.ok(issues.some((i) => i.startsWith('dialogs.telegram.bot_token: is required')));
  });

  it('collects secrets so logs can scrub them', () => {
    const { secrets } = parse({ agents: { main: { provider: 'anthropic', model: 'claude', api_key: 'sk-ant-secret-value' } } });
    assert.equal(secrets.scrub('key=sk-ant-secret-value!'), 'key=[redacted]!');
  });

  it('warns when a file holding secrets is readable by others', () => {
    const dir = tempDir('aeon-cfg-');
    const file = path.join(dir, 'aeon.json');
    fs.writeFileSync(file, JSON.stringify({ agents: { main: { provider: 'openai', model: 'gpt-4o', api_key: 'sk-literal-123456' } } }), { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const loose = loadConfig({ path: file, env: { HOME: dir } });
    assert.equal(loose.warnings.length, 1);
    assert.match(loose.warnings[0]!, /holds secrets \(agents\.main\.api_key\) and is readable by other users/);
    fs.chmodSync(file, 0o600);
    assert.equal(loadConfig({ path: file, env: { HOME: dir } }).warnings.length, 0);
  });

  it('does not warn when secrets come from the environment', () => {
    const dir = tempDir('aeon-cfg-');
    const file = path.join(dir, 'aeon.json');
    fs.writeFileSync(file, JSON.stringify({ agents: { main: { provider: 'openai', model: 'gpt-4o', api_key: '${K}' } } }), { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    assert.equal(loadConfig({ path: file, env: { HOME: dir, K: 'sk-from-env-123' } }).warnings.length, 0);
  });

  it('finds ./aeon.json, then XDG, then /etc, else uses the embedded default', () => {
    const dir = tempDir('aeon-cfg-');
    const env = { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'xdg') };
    const embedded = loadConfig({ cwd: dir, env });
    assert.equal(embedded.config.source, fs.existsSync('/etc/aeon/aeon.json') ? '/etc/aeon/aeon.json' : EMBEDDED);
    fs.mkdirSync(path.join(dir, 'xdg', 'aeon'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'xdg', 'aeon', 'aeon.json'), JSON.stringify(MIN));
    assert.equal(loadConfig({ cwd: dir, env }).config.source, path.join(dir, 'xdg', 'aeon', 'aeon.json'));
    fs.writeFileSync(path.join(dir, 'aeon.json'), JSON.stringify(MIN));
    assert.equal(loadConfig({ cwd: dir, env }).config.source, path.join(dir, 'aeon.json'));
  });

  it('reports a missing --config file plainly', () => {
    const issues = issuesOf(() => loadConfig({ path: '/nonexistent/aeon.json' }));
    assert.match(issues[0]!, /^\(file\): cannot be read: no such file — run `aeon init`/);
  });

  it("the repo's aeon.json runs on a fresh machine with no accounts", () => {
    const { config } = loadConfig({ path: path.join(import.meta.dirname, '..', '..', 'aeon.json'), env: { HOME: '/home/x' } });
    assert.equal(config.agents.main!.base_url, 'http://127.0.0.1:11434/v1');
    assert.equal(config.dialogs.cli.enabled, true);
    assert.equal(config.dialogs.telegram.enabled, false);
    assert.equal(config.server.host, '127.0.0.1');
    assert.equal(config.storage.sessions_db, '/home/x/.local/share/aeon/aeon.db');
  });
});
