import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openaiTextStream, startReplayServer, type ReplayServer } from '../helpers/sse-replay.ts';
import { runCli, tempConfig } from '../helpers/aeon-cli.ts';

const agent = (url: string, extra: object = {}) => ({ provider: 'openai-compatible', model: 'test-model', base_url: `${url}/v1`, ...extra });

describe('aeon CLI', () => {
  let llm: ReplayServer;
  before(async () => {
    llm = await startReplayServer({
      script: (req) => {
        const body = req.body as { messages: Array<{ role: string; content: string }> };
        const last = body.messages.at(-1)!.content;
        if (last.includes('fail please')) return { status: 401, body: JSON.stringify({ error: { message: 'Incorrect API key provided: sk-secr***' } }), headers: { 'content-type': 'application/json' } };
        return { body: openaiTextStream(`You said: ${last}`) };
      },
    });
  });
  after(() => llm.close());

  it('--help lists every command and exits 0', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    for (const c of ['run', 'check', 'init', 'chat', 'ask', 'sessions', 'usage', 'doctor', 'version']) assert.match(r.stdout, new RegExp(`^  ${c}\\b`, 'm'));
  });

  it('unknown commands and flags exit 64 with usage', async () => {
    const a = await runCli(['frobnicate']);
    assert.equal(a.code, 64);
    assert.match(a.stderr, /unknown command "frobnicate"/);
    const b = await runCli(['check', '--colour']);
    assert.equal(b.code, 64);
    assert.match(b.stderr, /Unknown option '--colour'/);
    const c = await runCli(['check', '--session', 'x']);
    assert.equal(c.code, 64);
  });

  it('check exits 0 for a valid config and 78 with every problem for a bad one', async () => {
    const good = tempConfig({ agents: { main: agent(llm.url) } });
    const ok = await runCli(['check', '--config', good.file]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^config ok: /);
    const bad = tempConfig({ agents: { main: { provider: 'opneai', model: 1 } }, server: { port: 99999 } });
    const r = await runCli(['check', '--config', bad.file]);
    assert.equal(r.code, 78);
    assert.match(r.stderr, /3 problems/);
    assert.match(r.stderr, /agents\.main\.provider: must be one of/);
    assert.match(r.stderr, /agents\.main\.model: must be a string \(got 1\)/);
    assert.match(r.stderr, /server\.port: must be <= 65535 \(got 99999\)/);
  });

  it('init writes a starter config that passes check, and never overwrites', async () => {
    const { dir } = tempConfig({});
    const file = path.join(dir, 'new', 'aeon.json');
    const first = await runCli(['init', '--config', file]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const check = await runCli(['check', '--config', file], { env: { HOME: dir } });
    assert.equal(check.code, 0, check.stderr);
    fs.appendFileSync(file, '\n// mine\n');
    const second = await runCli(['init', '--config', file]);
    assert.equal(second.code, 73);
    assert.match(second.stderr, /already exists/);
    assert.match(fs.readFileSync(file, 'utf8'), /\/\/ mine\n$/);
  });

  it('version prints aeon, node and sqlite versions', async () => {
    const r = await runCli(['version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^aeon \d+\.\d+\.\d+$/m);
    assert.match(r.stdout, /^node 24\.\d+\.\d+/m);
    assert.match(r.stdout, /^sqlite 3\.\d+\.\d+$/m);
  });

  it('ask answers on stdout, keeps the session, and sessions show/export/clear work', async () => {
    const { file } = tempConfig({ agents: { main: agent(llm.url) } });
    const r = await runCli(['ask', '--config', file, 'hello', 'there']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'You said: hello there\n');
    const piped = await runCli(['ask', '--config', file, '--session', 'kitchen'], { input: 'from stdin\n' });
    assert.equal(piped.stdout, 'You said: from stdin\n');

    const list = await runCli(['sessions', 'list', '--config', file]);
    assert.match(list.stdout, /agent:main:cli:default\t2 messages/);
    assert.match(list.stdout, /agent:main:cli:kitchen\t2 messages/);
    const show = await runCli(['sessions', 'show', 'agent:main:cli:default', '--config', file]);
    assert.match(show.stdout, /user: hello there/);
    assert.match(show.stdout, /assistant: You said: hello there/);
    const exp = await runCli(['sessions', 'export', '--config', file]);
    const lines = exp.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.filter((l) => l.type === 'message').length, 4);
    const clear = await runCli(['sessions', 'clear', 'kitchen', '--config', file]);
    assert.equal(clear.code, 0);
    assert.match(clear.stdout, /cleared agent:main:cli:kitchen \(2 messages\)/);
    const missing = await runCli(['sessions', 'show', 'nope', '--config', file]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no session "nope"/);
  });

  it('ask reports an LLM failure on stderr in one sentence, exit 1, no secret', async () => {
    const { file } = tempConfig({ agents: { main: agent(llm.url, { api_key: '${TEST_KEY}' }) } });
    const r = await runCli(['ask', '--config', file, 'fail please'], { env: { TEST_KEY: 'sk-secret-abcdef-123456' } });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^aeon: The language model refused aeon's credentials; check agents\.main\.api_key\.\n$/);
    assert.ok(!r.stderr.includes('sk-secret-abcdef-123456'));
  });

  it('ask says clearly when the LLM cannot be reached', async () => {
    const { file } = tempConfig({ agents: { main: { provider: 'ollama', model: 'x', base_url: 'http://127.0.0.1:9/v1', retries: 0 } } });
    const r = await runCli(['ask', '--config', file, 'hi']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^aeon: aeon could not reach the language model\. Could not connect to 127\.0\.0\.1:9/);
  });

  it('usage prints today and this month by model', async () => {
    const { file } = tempConfig({ agents: { main: agent(llm.url) } });
    await runCli(['ask', '--config', file, 'count me']);
    const r = await runCli(['usage', '--config', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^today \(\d{4}-\d\d-\d\d\): 1 requests/m);
    assert.match(r.stdout, /openai-compatible\/test-model: 1 requests/);
    assert.match(r.stdout, /^this month/m);
  });

  it('chat streams answers in the terminal dialog and takes /usage, /reset and /exit', async () => {
    const { file } = tempConfig({ agents: { main: agent(llm.url) } });
    // Input ends right after the question (a pipe, or Ctrl-D): the answer still comes first.
    const r = await runCli(['chat', '--config', file, '--session', 'tty'], { input: 'hello chat\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /aeon> You said: hello chat\n/);
    const r2 = await runCli(['chat', '--config', file, '--session', 'tty2'], { input: '/help\n/usage\n/reset\n/exit\n' });
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stdout, /Commands: \/reset/);
    assert.match(r2.stdout, /today \(\d{4}-\d\d-\d\d\):/);
    assert.match(r2.stdout, /session forgotten/);
  });

  it('sessions compact folds a session into a summary with the model', async () => {
    const { file } = tempConfig({ agents: { main: agent(llm.url) } });
    for (const t of ['first note', 'second note', 'third note']) assert.equal((await runCli(['ask', '--config', file, t])).code, 0);
    const r = await runCli(['sessions', 'compact', 'default', '--config', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /agent:main:cli:default: \d+ messages summarised/);
    const show = await runCli(['sessions', 'show', 'default', '--config', file]);
    assert.match(show.stdout, /^summary: You said: /m);
    assert.match(show.stdout, /\(summarised\)/);
  });

  it('doctor prints one verdict line per check and exits 1 when an endpoint is down', async () => {
    const { file } = tempConfig({ agents: { main: { provider: 'ollama', model: 'x', base_url: 'http://127.0.0.1:9/v1' } } });
    const r = await runCli(['doctor', '--config', file]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^fail\s+.*127\.0\.0\.1:9/m);
    assert.match(r.stdout, /^(ok|warn)\s+.*(RAM|memory)/im);
  });
});
