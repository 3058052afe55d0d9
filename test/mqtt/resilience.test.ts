// When things go wrong: aeon killed (the broker publishes the last will), the
// broker restarted under a running turn (reconnect, `online` again, the reply
// finished during the outage delivered), the offline queue full, a reply whose
// MQTT 5 request expired during the outage.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { gate } from '../helpers/mqtt-agent.ts';
import { startDialog, until, Watcher } from '../helpers/mqtt-harness.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
let broker: TestBroker;
before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker?.close();
});

// The dialog waits this long before every reconnect attempt in these tests, so
// the test's own client is back and subscribed before the dialog reconnects.
const RECONNECT_MS = 1500;
const fixedBackoff = { reconnect_min_ms: RECONNECT_MS, reconnect_max_ms: RECONNECT_MS, random: () => 1 };

test('kill -9 of the process running aeon: the broker publishes the retained last will `offline`', async () => {
  const id = `kill${process.pid}`;
  const child = spawn(process.execPath, [path.join(here, '..', 'helpers', 'mqtt-child.ts'), broker.url, broker.mqtt5 ? '1' : '0', id], { stdio: ['ignore', 'pipe', 'inherit'] });
  const w = await Watcher.connect(broker, { subscribe: [`aeon/${id}/status`] });
  try {
    const ready = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out);
      });
      child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
      setTimeout(() => reject(new Error('child not ready in 10 s')), 10_000);
    });
    assert.match(ready, new RegExp(`^ready aeon/${id}`));
    await w.wait((m) => m.text === 'online', 'online from the child');
    const killedAt = Date.now();
    child.kill('SIGKILL');
    const offline = await w.wait((m) => m.text === 'offline', 'last will offline');
    assert.ok(offline.at - killedAt < 3000, 'the will comes when the socket drops, not after a keepalive timeout');
    // And it is retained: Home Assistant starting later sees the device unavailable.
    const late = await Watcher.connect(broker, { subscribe: [`aeon/${id}/status`] });
    const m = await late.wait(() => true, 'retained status');
    await late.close();
    assert.equal(m.text, 'offline');
    assert.equal(m.packet.retain, true);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await w.close();
  }
});

test('a clean stop publishes `offline` itself (a clean disconnect sends no will)', async () => {
  const h = await startDialog(broker);
  const w = await Watcher.connect(broker, { subscribe: [`${h.base}/status`] });
  try {
    await w.wait((m) => m.text === 'online', 'online');
    await h.stop();
    await w.wait((m) => m.text === 'offline', 'offline after stop');
  } finally {
    await w.close();
  }
});

test('broker restart mid-turn: aeon reconnects, republishes online and state, delivers the reply finished during the outage, and answers again', async () => {
  const hold = gate();
  const h = await startDialog(broker, { script: (i) => (i.text === 'slow question' ? { hold: hold.promise } : {}), dialog: fixedBackoff });
  let w = await Watcher.connect(broker, { subscribe: [`${h.base}/#`] });
  try {
    await w.wait((m) => m.topic === `${h.base}/status` && m.text === 'online', 'online');
    await w.publish(`${h.base}/prompt`, JSON.stringify({ text: 'slow question', id: 'during-outage' }));
    await until(() => h.agent.submitted.length === 1, 'turn started');
    await w.close();

    await broker.stop();
    await until(() => !h.dialog.health().ready, 'dialog noticed the outage');
    hold.open();
    await h.agent.waitFinal((f) => f.inbound.id === 'during-outage');
    assert.match(h.dialog.health().detail ?? '', /1 reply waiting/);

    await broker.start();
    w = await Watcher.connect(broker, { subscribe: [`${h.base}/#`] });
    const online = await w.wait((m) => m.topic === `${h.base}/status` && m.text === 'online', 'online republished', 8000);
    const reply = await w.wait((m) => m.topic === `${h.base}/reply` && m.json.id === 'during-outage', 'the reply finished during the outage', 8000);
    assert.equal(reply.json.text, 'you said: slow question.');
    assert.ok(reply.at >= online.at, 'online first, then the queued reply');
    const state = await w.wait((m) => m.topic === `${h.base}/state`, 'state republished');
    assert.equal(state.json.state, 'idle');
    assert.equal(state.json.last_id, 'during-outage');
    assert.ok(h.dialog.health().ready);

    // Resubscribed: a new prompt is answered.
    await w.publish(`${h.base}/prompt`, JSON.stringify({ text: 'after', id: 'after' }));
    await w.wait((m) => m.topic === `${h.base}/reply` && m.json.id === 'after', 'answer after the restart');
    assert.ok(h.logs.some((l) => /lost the MQTT broker/.test(l.msg)));
    assert.ok(h.logs.some((l) => /delivered replies queued/.test(l.msg)));
    // The retained status and state were rebuilt on the fresh broker.
    const late = await Watcher.connect(broker, { subscribe: [`${h.base}/status`, `${h.base}/state`] });
    await until(() => late.seen.length === 2, 'retained status and state');
    await late.close();
    assert.ok(late.seen.every((m) => m.packet.retain));
  } finally {
    hold.open();
    await w.close();
    await h.stop();
  }
});

test('offline queue is bounded: the oldest reply is dropped with a log line', async () => {
  const hold = gate();
  const h = await startDialog(broker, { script: () => ({ hold: hold.promise }), mqtt: { offline_queue: 2 }, dialog: fixedBackoff });
  let w = await Watcher.connect(broker, { subscribe: [`${h.base}/#`] });
  try {
    await w.wait((m) => m.topic === `${h.base}/status` && m.text === 'online', 'online');
    for (const id of ['q1', 'q2', 'q3']) await w.publish(`${h.base}/prompt`, JSON.stringify({ text: id, id, session: id }));
    await until(() => h.agent.submitted.length === 3, 'three turns');
    await w.close();
    await broker.stop();
    await until(() => !h.dialog.health().ready, 'outage noticed');
    hold.open();
    await h.agent.waitFinal((f) => f.inbound.id === 'q3');
    await h.agent.idle();
    assert.ok(h.logs.some((l) => /offline queue full/.test(l.msg) && l.reply === 'q1'), 'the drop is logged, naming the reply');
    await broker.start();
    w = await Watcher.connect(broker, { subscribe: [`${h.base}/reply`] });
    await until(() => w.seen.length === 2, 'two queued replies', 8000);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(w.seen.map((m) => m.json.id).sort(), ['q2', 'q3']);
  } finally {
    hold.open();
    await w.close();
    await h.stop();
  }
});

test('MQTT 5: a reply whose request expired during the outage is not sent to the response topic; a live one is', async () => {
  assert.ok(broker.mqtt5, `needs an MQTT 5 broker, and ${broker.kind} is not one: install mosquitto`);
  const hold = gate();
  const h = await startDialog(broker, { script: () => ({ hold: hold.promise }), dialog: fixedBackoff });
  let asker = await Watcher.connect(broker, { protocolVersion: 5 });
  try {
    await until(() => h.dialog.health().ready, 'connected');
    await asker.publish(`${h.base}/prompt`, JSON.stringify({ text: 'short-lived', id: 'x1', session: 'a' }), { qos: 1, properties: { responseTopic: 'ask/short', messageExpiryInterval: 1 } });
    await asker.publish(`${h.base}/prompt`, JSON.stringify({ text: 'long-lived', id: 'x2', session: 'b' }), { qos: 1, properties: { responseTopic: 'ask/long', messageExpiryInterval: 120 } });
    await until(() => h.agent.submitted.length === 2, 'both taken');
    await asker.close();
    await broker.stop();
    // The outage as the dialog sees it: on a loaded machine its socket may not
    // have noticed yet, and a reply published then is mqtt.js's to resend.
    await until(() => !h.dialog.health().ready, 'the dialog sees the broker gone');
    hold.open();
    await h.agent.idle();
    await new Promise((r) => setTimeout(r, 1100)); // the 1 s window passes while the broker is away
    await broker.start();
    asker = await Watcher.connect(broker, { protocolVersion: 5, subscribe: ['ask/#', `${h.base}/reply`] });
    const long = await asker.wait((m) => m.topic === 'ask/long', 'the live response', 8000);
    assert.equal(long.json.id, 'x2');
    const left = long.packet.properties?.messageExpiryInterval ?? 0;
    assert.ok(left > 100 && left <= 120, `the rest of the request's window travels with it (${left} s)`);
    await until(() => asker.on(`${h.base}/reply`).length === 2, 'both on <base>/reply');
    assert.equal(asker.on('ask/short').length, 0, 'the expired one was dropped');
  } finally {
    hold.open();
    await asker.close();
    await h.stop();
  }
});
