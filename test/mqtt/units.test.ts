// The small pure parts of the MQTT dialog, and how it behaves with no broker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay } from '../../src/dialogs/mqtt/connection.ts';
import { parsePrompt, parseRequest } from '../../src/dialogs/mqtt/prompt.ts';
import { ReadCache } from '../../src/dialogs/mqtt/read-cache.ts';
import { publishRefusal } from '../../src/dialogs/mqtt/tools.ts';
import { filterProblem, topicMatches } from '../../src/dialogs/mqtt/topics.ts';
import { freePort } from '../helpers/broker.ts';
import { startDialog, until } from '../helpers/mqtt-harness.ts';

test('MQTT wildcard matching follows the spec', () => {
  const yes: Array<[string, string]> = [
    ['zigbee2mqtt/+/set', 'zigbee2mqtt/hall/set'],
    ['cmnd/+/POWER', 'cmnd/hall/POWER'],
    ['a/#', 'a'],
    ['a/#', 'a/b/c'],
    ['#', 'anything/at/all'],
    ['+/+', '/x'],
    ['a/+/c', 'a//c'],
    ['$SYS/#', '$SYS/broker/load'],
  ];
  const no: Array<[string, string]> = [
    ['zigbee2mqtt/+/set', 'zigbee2mqtt/hall/set/x'],
    ['zigbee2mqtt/+/set', 'zigbee2mqtt/set'],
    ['cmnd/+/POWER', 'cmnd/hall/power'],
    ['a/+', 'a/b/c'],
    ['#', '$SYS/broker/load'],
    ['+/broker/load', '$SYS/broker/load'],
    ['a/b', 'a/b/'],
  ];
  for (const [f, t] of yes) assert.ok(topicMatches(f, t), `${f} should match ${t}`);
  for (const [f, t] of no) assert.ok(!topicMatches(f, t), `${f} should not match ${t}`);
  assert.equal(filterProblem('a/#/b'), '"a/#/b": # must be the whole last level');
  assert.equal(filterProblem('a/b+'), '"a/b+": + must be a whole level');
  assert.equal(filterProblem('a/+/#'), undefined);
});

test('publish allow-list: wildcards allow, aeon\'s own base needs a literal entry, nothing by default', () => {
  const allow = ['zigbee2mqtt/+/set', 'cmnd/+/POWER', '#'];
  assert.equal(publishRefusal('zigbee2mqtt/hall/set', allow, 'aeon/pi'), undefined);
  assert.equal(publishRefusal('anything/else', allow, 'aeon/pi'), undefined);
  assert.match(publishRefusal('aeon/pi/prompt', allow, 'aeon/pi')!, /aeon's own topic/);
  assert.match(publishRefusal('aeon/pi', allow, 'aeon/pi')!, /aeon's own topic/);
  assert.equal(publishRefusal('aeon/pi/prompt', [...allow, 'aeon/pi/prompt'], 'aeon/pi'), undefined);
  assert.equal(publishRefusal('aeon/pix/prompt', allow, 'aeon/pi'), undefined, 'a sibling base is not ours');
  assert.match(publishRefusal('x/y', [], 'aeon/pi')!, /allow is empty/);
  assert.match(publishRefusal('cmnd/hall/Power', ['cmnd/+/POWER'], 'aeon/pi')!, /matches none .*cmnd\/\+\/POWER/);
  assert.match(publishRefusal('', allow, 'aeon/pi')!, /empty/);
});

test('prompt parsing: plain text, JSON, and precise errors', () => {
  const ok = parsePrompt(Buffer.from('\ufeff  {"text": "hi", "id": 3, "transaction": "t"}'), 1000);
  assert.ok(ok.ok);
  assert.deepEqual(ok.value, { text: 'hi', id: 3, transaction: 't' });
  const plain = parsePrompt(Buffer.from('turn on the light'), 1000);
  assert.ok(plain.ok && !plain.json && plain.value.text === 'turn on the light');
  // Broken JSON: the id is still read from the start of the payload.
  const broken = parsePrompt(Buffer.from('{"id": "k9", "text": "unterminated'), 1000);
  assert.ok(!broken.ok);
  assert.equal(broken.error.code, 'bad_json');
  assert.equal(broken.id, 'k9');
  // Too large: never parsed whole, id and transaction from the head.
  const big = parsePrompt(Buffer.from(JSON.stringify({ transaction: 12, id: 'big', text: 'x'.repeat(5000) })), 1000);
  assert.ok(!big.ok);
  assert.deepEqual([big.error.code, big.id, big.transaction], ['too_large', 'big', 12]);
  const noId = parsePrompt(Buffer.from('{"text": 1}'), 1000);
  assert.ok(!noId.ok);
  assert.match(noId.error.message, /text: must be a string \(got 1\)/);
  const longSession = parsePrompt(Buffer.from(JSON.stringify({ text: 'a', session: 's'.repeat(65) })), 1000);
  assert.ok(!longSession.ok);
  assert.match(longSession.error.message, /session: must be at most 64 characters long/);
  const req = parseRequest(Buffer.alloc(0), 100);
  assert.ok(req.ok);
  assert.deepEqual(req.value, {});
});

test('backoff doubles from the minimum, is capped, and jitters within the upper half', () => {
  const top = () => 1;
  const bottom = () => 0;
  assert.deepEqual([0, 1, 2, 3, 4, 10, 60].map((n) => backoffDelay(n, 1000, 60_000, top)), [1000, 2000, 4000, 8000, 16000, 60000, 60000]);
  assert.deepEqual([0, 1, 10].map((n) => backoffDelay(n, 1000, 60_000, bottom)), [500, 1000, 30000]);
});

test('read cache: least recently used goes first, values are capped, an empty payload forgets', () => {
  const c = new ReadCache(['s/+'], 2, 8);
  c.put('s/a', Buffer.from('1'), true, 1);
  c.put('s/b', Buffer.from('2'), false, 2);
  assert.equal(c.get('s/a')!.payload, '1'); // a is now the most recent
  c.put('s/c', Buffer.from('0123456789'), false, 3);
  assert.equal(c.get('s/b'), undefined, 'b was the least recently used');
  assert.deepEqual({ ...c.get('s/c')!, at: 0 }, { payload: '01234567', truncated: true, bytes: 10, retained: false, at: 0 });
  c.put('s/a', Buffer.alloc(0), true, 4);
  assert.equal(c.get('s/a'), undefined);
  assert.ok(c.covers('s/x') && !c.covers('t/x'));
});

test('no broker listening: start resolves, health says why (without the password in the URL), retries are logged once', async () => {
  const port = await freePort();
  const fake = { kind: 'mosquitto' as const, mqtt5: false, port, url: `mqtt://aeon:s3cret-in-url@127.0.0.1:${port}`, stop: async () => {}, start: async () => {}, close: async () => {} };
  const h = await startDialog(fake as never, { dialog: { reconnect_min_ms: 50, reconnect_max_ms: 200 } });
  try {
    await until(() => /ECONNREFUSED/.test(h.dialog.health().detail ?? ''), 'health detail');
    const health = h.dialog.health();
    assert.equal(health.ready, false);
    assert.equal(health.state, 'connecting');
    assert.match(health.detail!, new RegExp(`broker mqtt://127.0.0.1:${port}: connect ECONNREFUSED`));
    // Retries are not logged one by one.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(h.logs.filter((l) => l.msg === 'MQTT connection problem').length, 1);
    assert.ok(!JSON.stringify([health, h.logs]).includes('s3cret'), 'no password in health or logs');
  } finally {
    await h.stop();
  }
});

test('an unreadable TLS file fails start with the config path and reason, and health reports it', async () => {
  const port = await freePort();
  const fake = { kind: 'mosquitto' as const, mqtt5: false, port, url: `mqtts://127.0.0.1:${port}`, stop: async () => {}, start: async () => {}, close: async () => {} };
  const h = await startDialog(fake as never, { mqtt: { ca: '/nonexistent/ca.pem' }, noStart: true });
  try {
    await assert.rejects(h.dialog.start(h.agent.submit), /dialogs\.mqtt\.ca: cannot read \/nonexistent\/ca\.pem: no such file/);
    assert.deepEqual(h.dialog.health(), { ready: false, state: 'error', detail: 'dialogs.mqtt.ca: cannot read /nonexistent/ca.pem: no such file' });
  } finally {
    await h.stop();
  }
});
