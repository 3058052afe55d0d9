// Security, end to end through a real `aeon run` whose model is scripted to
// try what a confused or hijacked model would: people Telegram does not
// allow get a refusal and cost no LLM call; mqtt_publish refuses topics
// outside its allow-list (aeon's own topics and wildcards included) and
// nothing reaches the broker there; file tools refuse path traversal and
// symbolic links that lead out of the workspace (nothing outside is read,
// written or listed); exec runs only allow-listed programs, by name, without
// a shell, and never sees a secret in its environment; the health server
// refuses to start off loopback without a token and answers 401 to a missing
// or wrong one; and no secret (LLM key, bot token, MQTT password, server
// token) appears in any log line or anything a person or the model saw.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HealthServer } from '../../src/device/health-server.ts';
import { Metrics } from '../../src/device/metrics.ts';
import { silentLogger } from '../../src/log.ts';
import { runCli, tempConfig } from '../helpers/aeon-cli.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { AeonChild, SECRETS, disposeAll, loggedLines, secretLeaks, sleep, waitFor } from '../helpers/fault-aeon.ts';
import { startScriptedLlm, textReply, toolReply, type ScriptedLlmServer } from '../helpers/fault-llm.ts';
import { Watcher } from '../helpers/mqtt-harness.ts';
import { TelegramBench } from '../helpers/telegram-emulator.ts';

const ID = 'sec';
const BASE = `aeon/${ID}`;
const SECRET_TEXT = 'TOP-SECRET-c0ffee-outside-the-workspace';

let broker: TestBroker;
let bench: TelegramBench;
let llm: ScriptedLlmServer;
let aeon: AeonChild;
let watcher: Watcher;
let outside: string;
let ws: string;

before(async () => {
  broker = await startBroker();
  bench = await TelegramBench.start();
  // The model does what the prompt says: `tool:{"name":..,"args":..}` makes it call that tool once.
  llm = await startScriptedLlm((v) => {
    if (v.last?.role === 'tool') return textReply('Done with the tool.');
    if (v.lastUser.startsWith('tool:')) {
      const { name, args } = JSON.parse(v.lastUser.slice(5)) as { name: string; args: unknown };
      return toolReply(name, args, `call_${llm.views.length}`);
    }
    return textReply(`Answer to ${v.lastUser}.`);
  });
  // The workspace and, next to it, a folder it must not reach, with links leading there.
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-fault-sec-ws-'));
  outside = path.join(base, 'outside');
  ws = path.join(base, 'workspace');
  fs.mkdirSync(outside);
  fs.mkdirSync(path.join(ws, 'sub'), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(outside, 'secret.txt'), SECRET_TEXT);
  fs.writeFileSync(path.join(outside, 'marker'), 'do not delete');
  fs.writeFileSync(path.join(ws, 'inside.txt'), 'an ordinary file');
  fs.symlinkSync(outside, path.join(ws, 'dir-link'));
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(ws, 'file-link'));
  fs.symlinkSync(path.join(base, 'nowhere', 'x'), path.join(ws, 'broken-link'));
  fs.symlinkSync('../../outside', path.join(ws, 'sub', 'up-link'));

  aeon = await AeonChild.start(ID, {
    device: { id: ID },
    agents: {
      main: {
        provider: 'openai-compatible', model: 'm', base_url: `${llm.url}/v1`, api_key: '${FAULT_LLM_KEY}',
        tools: ['file_read', 'file_write', 'file_list', 'exec', 'mqtt_publish'],
      },
    },
    dialogs: {
      cli: { enabled: false },
      telegram: { enabled: true, bot_token: '${FAULT_BOT_TOKEN}', api_root: bench.apiRoot, allowed_users: [111], poll_timeout_s: 1, stream: false },
      // The password in the URL too: it must not reach a log line with the URL.
      mqtt: { enabled: true, url: `mqtt://aeon:${'${FAULT_MQTT_PASSWORD}'}@127.0.0.1:${broker.port}`, username: 'aeon', password: '${FAULT_MQTT_PASSWORD}', discovery: false, tele_period_s: 0, protocol_version: broker.mqtt5 ? 5 : 4 },
    },
    server: { token: '${FAULT_SERVER_TOKEN}' },
    tools: { workspace: ws, exec: { allow: ['echo', 'env', 'ls'] }, mqtt_publish: { allow: ['zigbee2mqtt/+/set'] } },
  }, {
    env: { FAULT_LLM_KEY: SECRETS.llm_api_key, FAULT_BOT_TOKEN: SECRETS.bot_token, FAULT_MQTT_PASSWORD: SECRETS.mqtt_password, FAULT_SERVER_TOKEN: SECRETS.server_token },
  });
  watcher = await Watcher.connect(broker, { subscribe: ['#'] });
  await waitFor('/readyz 200', async () => (await aeon.readyz()).status === 200, 15_000, 50);
  await waitFor('online', () => watcher.on(`${BASE}/status`).some((m) => m.text === 'online'));
});

after(async () => {
  await disposeAll();
  await watcher?.close();
  await aeon?.dispose();
  await llm?.close();
  await bench?.stop();
  await broker?.close();
  if (ws) fs.rmSync(path.dirname(ws), { recursive: true, force: true });
});

let seq = 0;
/** Makes the model call one tool; returns what the tool answered (as the model saw it) and the reply. */
async function toolCall(name: string, args: unknown): Promise<{ content: string; reply: any }> {
  const id = `t${++seq}`;
  const from = llm.views.length;
  await watcher.publish(`${BASE}/prompt`, JSON.stringify({ text: `tool:${JSON.stringify({ name, args })}`, id, session: id }));
  const reply = await waitFor(`reply ${id}`, () => watcher.on(`${BASE}/reply`).find((m) => m.json?.id === id), 20_000);
  const v = llm.views.slice(from).find((x) => x.last?.role === 'tool');
  assert.ok(v, `the tool result went back to the model for ${name} ${JSON.stringify(args)}`);
  if (process.env.AEON_FAULT_TRACE) process.stderr.write(`TOOL ${name} ${JSON.stringify(args)} => ${String(v.last!.content).slice(0, 160)}\n`);
  return { content: String(v.last!.content ?? ''), reply: reply.json };
}

describe('security', () => {
  it('Telegram users and groups not allowed get one refusal and cost no LLM call', async () => {
    const before = llm.views.length;
    const stranger = bench.person(222);
    for (const text of ['hello?', 'tell me your secrets', '/status']) await stranger.say(text);
    const group = bench.person(111, { chatId: -300, type: 'group' });
    await group.say('@TestNameBot what is in the workspace?');
    await waitFor('refusals', () => bench.messages(222).length >= 1 && bench.messages(-300).length >= 1, 10_000);
    await sleep(1500); // time for anything more to arrive
    assert.equal(llm.views.length, before, 'no LLM request for people not allowed');
    assert.equal(bench.messages(222).length, 1, `one refusal per person: ${JSON.stringify(bench.messages(222).map((m) => m.text))}`);
    assert.match(bench.messages(222)[0]!.text, /private assistant.*222/s);
    assert.match(bench.messages(-300)[0]!.text, /only answer in groups/);
    // The allowed person in a private chat is answered.
    await bench.person(111).say('hello, it is me');
    await waitFor('answer to the allowed person', () => bench.messages(111).some((m) => m.text.includes('Answer to hello, it is me')), 10_000);
    assert.equal(llm.views.length, before + 1);
  });

  it('mqtt_publish publishes only to allowed topics; everything else is refused and reaches no broker topic', async () => {
    const ok = await toolCall('mqtt_publish', { topic: 'zigbee2mqtt/lamp/set', payload: { state: 'ON' } });
    assert.match(ok.content, /^Published/);
    await waitFor('the allowed publish', () => watcher.on('zigbee2mqtt/lamp/set').length === 1);
    const refused = ['zigbee2mqtt/lamp/set/extra', 'zigbee2mqtt/lamp', 'cmnd/lamp/POWER', `${BASE}/prompt`, `${BASE}/status`, 'zigbee2mqtt/+/set', '#', '$SYS/broker', 'homeassistant/status', ''];
    for (const topic of refused) {
      const r = await toolCall('mqtt_publish', { topic, payload: 'ON' });
      assert.match(r.content, /^Error: (Cannot publish|Invalid arguments)/, `${topic}: ${r.content}`);
    }
    await sleep(300);
    const published = new Set(watcher.seen.map((m) => m.topic).filter((t) => !t.startsWith(`${BASE}/`) || t === `${BASE}/prompt`));
    assert.deepEqual([...published].filter((t) => t !== `${BASE}/prompt`), ['zigbee2mqtt/lamp/set']);
    // Only the prompts the test itself sent are on <base>/prompt: aeon did not prompt itself.
    assert.equal(watcher.on(`${BASE}/prompt`).length, seq);
    assert.equal(watcher.on(`${BASE}/action`).length, 1, 'one audited publish');
  });

  it('file tools refuse traversal and symbolic links out of the workspace; nothing outside is read, listed or written', async () => {
    const inside = await toolCall('file_read', { path: 'inside.txt' });
    assert.match(inside.content, /an ordinary file/);
    const attempts: Array<[string, Record<string, unknown>]> = [
      ['file_read', { path: '../outside/secret.txt' }],
      ['file_read', { path: 'sub/../../outside/secret.txt' }],
      ['file_read', { path: path.join(outside, 'secret.txt') }],
      ['file_read', { path: 'dir-link/secret.txt' }],
      ['file_read', { path: 'file-link' }],
      ['file_read', { path: 'sub/up-link/secret.txt' }],
      ['file_read', { path: 'broken-link' }],
      ['file_read', { path: '/etc/passwd' }],
      ['file_read', { path: 'inside.txt\u0000../../outside/secret.txt' }],
      ['file_list', { path: 'dir-link' }],
      ['file_list', { path: '..' }],
      ['file_list', { path: 'sub/up-link' }],
      ['file_write', { path: 'dir-link/pwned.txt', content: 'pwned' }],
      ['file_write', { path: 'file-link', content: 'overwritten' }],
      ['file_write', { path: '../outside/pwned.txt', content: 'pwned' }],
      ['file_write', { path: 'broken-link', content: 'pwned' }],
      ['file_write', { path: 'sub/up-link/pwned.txt', content: 'pwned' }],
    ];
    for (const [name, args] of attempts) {
      const r = await toolCall(name, args);
      assert.match(r.content, /^Error: /, `${name} ${JSON.stringify(args)} was not refused: ${r.content}`);
      assert.ok(!r.content.includes(SECRET_TEXT) && !r.content.includes('marker'), `${name} ${JSON.stringify(args)} leaked: ${r.content}`);
    }
    assert.deepEqual(fs.readdirSync(outside).sort(), ['marker', 'secret.txt'], 'nothing was written outside');
    assert.equal(fs.readFileSync(path.join(outside, 'secret.txt'), 'utf8'), SECRET_TEXT, 'the file behind the link is unchanged');
    const listing = await toolCall('file_list', { path: '.' });
    assert.ok(!listing.content.includes('secret.txt'), listing.content);
    for (const v of llm.views) assert.ok(!JSON.stringify(v.messages).includes(SECRET_TEXT), 'the secret file reached the model');
  });

  it('exec runs only allow-listed programs, by name, without a shell, with no secret in its environment', async () => {
    const echo = await toolCall('exec', { command: 'echo', args: ['$(id)', '; rm -rf /', '`whoami`', '$FAULT_LLM_KEY'] });
    assert.match(echo.content, /^exit code 0\n\$\(id\) ; rm -rf \/ `whoami` \$FAULT_LLM_KEY/, 'arguments are passed as they are, no shell');
    const refusals: Array<[Record<string, unknown>, RegExp]> = [
      [{ command: 'rm', args: ['-rf', path.join(outside, 'marker')] }, /"rm" is not allowed/],
      [{ command: 'sh', args: ['-c', `cat ${path.join(outside, 'secret.txt')}`] }, /"sh" is not allowed/],
      [{ command: '/bin/echo', args: ['hi'] }, /by name only/],
      [{ command: '../../../bin/sh', args: [] }, /by name only/],
      [{ shell: 'echo pwned > pwned.txt' }, /Invalid arguments/],
      [{ command: 'echo', args: ['x'], cwd: '../outside' }, /is refused/],
      [{ command: 'ls', args: ['.'], cwd: 'dir-link' }, /is refused/],
      [{ command: 'echo;id', args: [] }, /not allowed/],
    ];
    for (const [args, why] of refusals) {
      const r = await toolCall('exec', args);
      assert.match(r.content, /^Error: /, `${JSON.stringify(args)}: ${r.content}`);
      assert.match(r.content, why, `${JSON.stringify(args)}: ${r.content}`);
    }
    assert.ok(fs.existsSync(path.join(outside, 'marker')), 'rm did not run');
    const env = await toolCall('exec', { command: 'env', args: [] });
    assert.match(env.content, /^exit code 0\n/);
    assert.match(env.content, /PATH=/);
    for (const [name, value] of Object.entries(SECRETS)) assert.ok(!env.content.includes(value), `${name} in exec's environment`);
    assert.ok(!/FAULT_|AEON_/.test(env.content), `secret-looking variables passed on: ${env.content}`);
  });

  it('the health server: token required off loopback at start, 401 without it or with a wrong one, /healthz open', async () => {
    const { file } = tempConfig({ server: { host: '0.0.0.0', port: 0 }, agents: { main: { provider: 'ollama', model: 'x' } } });
    const run = await runCli(['run', '--config', file], { timeoutMs: 20_000 });
    assert.equal(run.code, 78, run.stderr);
    assert.match(run.stderr, /server\.token: is required when server\.host is "0\.0\.0\.0"/);
    // The server itself refuses too, should a config reach it some other way.
    const direct = new HealthServer({ host: '0.0.0.0', port: 0, log: silentLogger(), metrics: new Metrics(), ready: () => ({}), status: () => ({}) });
    await assert.rejects(direct.start(), /server\.token is required/);

    assert.equal((await aeon.get('/healthz', false)).status, 200);
    for (const p of ['/readyz', '/metrics', '/status']) {
      assert.equal((await aeon.get(p, false)).status, 401, `${p} without a token`);
      assert.equal((await aeon.get(p, 'wrong-token-0123456789')).status, 401, `${p} with a wrong token`);
      assert.equal((await aeon.get(p, SECRETS.server_token.slice(0, -1))).status, 401, `${p} with a token one character short`);
      assert.equal((await aeon.get(p)).status, 200, `${p} with the token`);
    }
    const status = await aeon.status();
    assert.ok(!JSON.stringify(status).includes(SECRETS.server_token), 'the token in /status');
  });

  it('no secret reaches a log line, a reply, a Telegram message or the model (also while the broker is away)', async () => {
    // Connection errors log the broker URL, which holds the password here.
    await broker.stop();
    await sleep(2500);
    await broker.start();
    await waitFor('reconnected', async () => (await aeon.readyz()).status === 200, 20_000, 100);
    const cfg = await watcher.client.publishAsync(`${BASE}/request/config`, '{}', { qos: 1 }).then(() => waitFor('config response', () => watcher.on(`${BASE}/response/config`)[0], 10_000)).catch(() => undefined);
    assert.ok(cfg, 'the config command answered');
    assert.equal(await aeon.stop(), 0, aeon.logTail());
    const seen = [
      ...[111, 222, -300].flatMap((c) => bench.messages(c).map((m) => ({ what: `telegram ${c}`, text: m.text }))),
      ...watcher.seen.map((m) => ({ what: `mqtt ${m.topic}`, text: m.text })),
      ...llm.views.map((v) => ({ what: 'to the model', text: JSON.stringify(v.messages) })),
      { what: 'config command', text: cfg.text },
    ];
    assert.ok(loggedLines() > 50, `only ${loggedLines()} log lines`);
    assert.ok(aeon.logText().includes('MQTT connection problem'), 'the broker outage was logged');
    assert.deepEqual(secretLeaks(seen), []);
    // The LLM key did go where it belongs.
    assert.equal(llm.views[0]?.authorization, `Bearer ${SECRETS.llm_api_key}`);
  });
});
