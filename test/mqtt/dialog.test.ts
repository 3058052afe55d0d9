// The MQTT dialog against a real broker: prompts in (plain text and JSON),
// deltas and finals out, state, MQTT 5 correlation, 3.1.1 echoes, and every
// kind of bad payload answered with an error instead of a crash.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { gate, MqttTestAgent } from '../helpers/mqtt-agent.ts';
import { startDialog, until, Watcher, type DialogHarness } from '../helpers/mqtt-harness.ts';

let broker: TestBroker;
before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker?.close();
});

/** MQTT 5 features need Mosquitto; aedes (the fallback) speaks 3.1.1 only. */
function requireMqtt5(): void {
  assert.ok(broker.mqtt5, `this test needs an MQTT 5 broker, and ${broker.kind} is not one: install mosquitto (apt-get install mosquitto)`);
}

async function setup(mqtt: Record<string, unknown> = {}, agent?: MqttTestAgent, protocol?: 4 | 5): Promise<{ h: DialogHarness; w: Watcher; close: () => Promise<void> }> {
  const h = await startDialog(broker, { mqtt: { ...(protocol ? { protocol_version: protocol } : {}), ...mqtt }, ...(agent ? { agent } : {}) });
  let w: Watcher;
  try {
    w = await Watcher.connect(broker, { protocolVersion: broker.mqtt5 ? 5 : 4, subscribe: [`${h.base}/#`] });
    await w.wait((m) => m.topic === `${h.base}/status` && m.text === 'online', 'status online');
  } catch (err) {
    await h.stop();
    throw err;
  }
  return {
    h,
    w,
    close: async () => {
      await w.close();
      await h.stop();
    },
  };
}

function replies(w: Watcher, base: string) {
  return w.on(`${base}/reply`).map((m) => m.json);
}

for (const protocol of [4, 5] as const) {
  describe(`MQTT ${protocol === 5 ? '5' : '3.1.1'} dialog`, () => {
    test('a plain-text prompt streams deltas, then one final reply with session, usage and id', async () => {
      if (protocol === 5) requireMqtt5();
      const agent = new MqttTestAgent({ script: () => ({ chunks: ['The hall ', 'light ', 'is on.'], gapMs: 80 }) });
      const { h, w, close } = await setup({ stream: true }, agent, protocol);
      try {
        await w.publish(`${h.base}/prompt`, 'is the hall light on?');
        const final = await w.wait((m) => m.topic === `${h.base}/reply`, 'final reply');
        assert.equal(final.json.text, 'The hall light is on.');
        assert.equal(final.json.done, true);
        assert.equal(final.json.session, 'default');
        assert.deepEqual(final.json.usage, { input: 10 + 'is the hall light on?'.length, output: 21 });
        assert.equal(typeof final.json.id, 'string');
        assert.equal(final.packet.retain, false);
        const deltas = w.on(`${h.base}/reply/delta`).map((m) => m.json);
        assert.ok(deltas.length >= 2, `expected several deltas, got ${deltas.length}`);
        assert.deepEqual(deltas.map((d) => d.seq), deltas.map((_, i) => i));
        assert.ok(deltas.every((d) => d.id === final.json.id));
        assert.equal(deltas.map((d) => d.delta).join(''), final.json.text);
        // The agent saw the prompt as it was sent, in the default session.
        assert.equal(agent.submitted[0]!.text, 'is the hall light on?');
        assert.equal(agent.submitted[0]!.chat, 'default');
        assert.equal(agent.submitted[0]!.dialog, 'mqtt');
        // State followed the turn and ends idle (published just after the reply).
        await until(() => w.on(`${h.base}/state`).length >= 4, 'state after the reply');
        const states = w.on(`${h.base}/state`).map((m) => m.json.state);
        assert.deepEqual(states.filter((s, i) => s !== states[i - 1]), ['idle', 'thinking', 'streaming', 'idle']);
        const last = w.on(`${h.base}/state`).at(-1)!.json;
        assert.deepEqual(last, { state: 'idle', session: 'default', last_id: final.json.id });
      } finally {
        await close();
      }
    });

    test('a JSON prompt names its session and id, asks for deltas; without stream there are none', async () => {
      if (protocol === 5) requireMqtt5();
      const { h, w, close } = await setup({}, undefined, protocol);
      try {
        await w.publish(`${h.base}/prompt`, JSON.stringify({ text: 'hello', id: 'p42', session: 'kitchen', stream: true }));
        const final = await w.wait((m) => m.topic === `${h.base}/reply` && m.json?.id === 'p42', 'reply p42');
        assert.equal(final.json.session, 'kitchen');
        assert.equal(final.json.text, 'you said: hello.');
        assert.ok(w.on(`${h.base}/reply/delta`).some((m) => m.json.id === 'p42'));
        await w.publish(`${h.base}/prompt`, JSON.stringify({ text: 'again', id: 7 }));
        const second = await w.wait((m) => m.topic === `${h.base}/reply` && m.json?.id === 7, 'reply 7');
        assert.equal(second.json.session, 'default');
        assert.ok(!w.on(`${h.base}/reply/delta`).some((m) => m.json.id === 7), 'no deltas without stream');
        assert.equal(h.agent.submitted[0]!.chat, 'kitchen');
        assert.equal(h.agent.submitted[0]!.id, 'p42');
      } finally {
        await close();
      }
    });
  });
}

test('MQTT 5: the final goes to the response topic with the correlation data byte for byte, deltas to <response topic>/delta', async () => {
  requireMqtt5();
  const { h, w, close } = await setup({}, new MqttTestAgent({ script: () => ({ chunks: ['a', 'b', 'c'], gapMs: 70 }) }));
  const asker = await Watcher.connect(broker, { protocolVersion: 5, subscribe: ['answers/me/#'] });
  try {
    const correlation = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7f, 0x22]);
    await asker.publish(`${h.base}/prompt`, JSON.stringify({ text: 'hi', stream: true }), {
      qos: 1,
      properties: { responseTopic: 'answers/me', correlationData: correlation, userProperties: { client_id: 'panel-1' } },
    });
    const final = await asker.wait((m) => m.topic === 'answers/me', 'reply on the response topic');
    assert.equal(final.json.text, 'abc');
    assert.equal(final.json.session, 'panel-1', 'the client_id user property names the default session');
    assert.ok(Buffer.isBuffer(final.packet.properties?.correlationData));
    assert.ok(final.packet.properties!.correlationData!.equals(correlation));
    assert.equal(final.packet.properties?.contentType, 'application/json');
    const deltas = asker.on('answers/me/delta');
    assert.ok(deltas.length >= 1);
    assert.ok(deltas.every((d) => d.packet.properties?.correlationData?.equals(correlation)));
    assert.equal(deltas.map((d) => d.json.delta).join(''), 'abc');
    // Every final reply is also on <base>/reply.
    await w.wait((m) => m.topic === `${h.base}/reply` && m.json.id === final.json.id, 'the same reply on <base>/reply');
    // Without the user property the response topic is the session.
    await asker.publish(`${h.base}/prompt`, 'and you?', { qos: 1, properties: { responseTopic: 'answers/me' } });
    await until(() => asker.on('answers/me').length === 2, 'second reply');
    assert.equal(asker.on('answers/me')[1]!.json.session, 'answers/me');
  } finally {
    await asker.close();
    await close();
  }
});

test('MQTT 3.1.1 client: id and transaction are echoed and reply_to gets the final too', async () => {
  const { h, w, close } = await setup({ protocol_version: 4 });
  const tasmota = await Watcher.connect(broker, { protocolVersion: 4, subscribe: ['tasmota/rules/answer'] });
  try {
    await tasmota.publish(`${h.base}/prompt`, JSON.stringify({ text: 'what time is it', id: 'r1', transaction: 7, reply_to: 'tasmota/rules/answer' }));
    const r = await tasmota.wait((m) => m.topic === 'tasmota/rules/answer', 'reply_to');
    assert.equal(r.json.id, 'r1');
    assert.equal(r.json.transaction, 7);
    assert.equal(r.json.text, 'you said: what time is it.');
    const base = await w.wait((m) => m.topic === `${h.base}/reply`, 'base reply');
    assert.deepEqual(base.json, r.json);
  } finally {
    await tasmota.close();
    await close();
  }
});

test('bad payloads get an error reply (with the id when readable) and the dialog keeps working', async () => {
  const { h, w, close } = await setup({ max_payload_bytes: 256 });
  const send = (p: string) => w.publish(`${h.base}/prompt`, p);
  const errorReply = async (n: number) => {
    await until(() => replies(w, h.base).length >= n, `reply #${n}`);
    return replies(w, h.base)[n - 1];
  };
  try {
    await send('{"text": "hi", "id": "b1", ');
    let r = await errorReply(1);
    assert.equal(r.error.code, 'bad_json');
    assert.equal(r.id, 'b1');
    assert.equal(r.done, true);
    assert.match(r.error.message, /not valid JSON/);

    await send(JSON.stringify({ text: 'hi', id: 'b2', colour: 'red' }));
    r = await errorReply(2);
    assert.equal(r.error.code, 'invalid');
    assert.equal(r.id, 'b2');
    assert.match(r.error.message, /colour: is not a known key/);

    await send(JSON.stringify({ text: 'hi', id: 'b3', stream: 'yes', session: 5 }));
    r = await errorReply(3);
    assert.equal(r.id, 'b3');
    assert.match(r.error.message, /stream: must be a boolean \(got "yes"\)/);
    assert.match(r.error.message, /session: must be a string/);

    await send(JSON.stringify({ id: 'b4', transaction: 'tx4', text: 'x'.repeat(400) }));
    r = await errorReply(4);
    assert.equal(r.error.code, 'too_large');
    assert.equal(r.id, 'b4');
    assert.equal(r.transaction, 'tx4');
    assert.match(r.error.message, /limit is 256 bytes/);

    await send('x'.repeat(300));
    r = await errorReply(5);
    assert.equal(r.error.code, 'too_large');
    assert.equal(r.id, undefined);

    await send(JSON.stringify({ text: '   ', id: 'b6' }));
    r = await errorReply(6);
    assert.equal(r.error.code, 'empty');
    assert.equal(r.id, 'b6');

    await send('  \n ');
    r = await errorReply(7);
    assert.equal(r.error.code, 'empty');

    await send(JSON.stringify({ id: 'b8' }));
    r = await errorReply(8);
    assert.match(r.error.message, /text: is required/);

    await send(JSON.stringify({ text: 'loop me', id: 'b9', reply_to: `${h.base}/prompt` }));
    r = await errorReply(9);
    assert.equal(r.error.code, 'invalid');
    assert.match(r.error.message, /reply_to: .* aeon's own topics/);

    await send(JSON.stringify({ text: 'wild', id: 'b10', reply_to: 'a/+/b' }));
    r = await errorReply(10);
    assert.match(r.error.message, /reply_to/);

    await send('[1, 2]');
    r = await errorReply(11);
    assert.equal(r.text, 'you said: [1, 2].', 'a payload not starting with { is plain text');

    assert.equal(h.agent.submitted.length, 1, 'only the valid prompt reached the agent');
    await send('still there?');
    await until(() => replies(w, h.base).some((x) => x.text === 'you said: still there?.'), 'answer after the bad ones');
    assert.equal(h.dialog.health().ready, true);
    assert.equal(h.counts.get('mqtt_rejected_total'), 10);
  } finally {
    await close();
  }
});

test('a busy refusal from the agent is published as a final with error, and the state does not turn to error', async () => {
  const hold = gate();
  const agent = new MqttTestAgent({ maxPending: 1, script: () => ({ hold: hold.promise }) });
  const { h, w, close } = await setup({}, agent);
  try {
    await w.publish(`${h.base}/prompt`, JSON.stringify({ text: 'first', id: 'one' }));
    await until(() => agent.submitted.length === 1, 'first prompt');
    await w.publish(`${h.base}/prompt`, JSON.stringify({ text: 'second', id: 'two' }));
    const busy = await w.wait((m) => m.topic === `${h.base}/reply` && m.json.id === 'two', 'busy reply');
    assert.deepEqual(busy.json.error, { code: 'busy', message: 'aeon is busy; try again in a moment.' });
    assert.equal(w.on(`${h.base}/state`).at(-1)!.json.state, 'thinking');
    hold.open();
    await w.wait((m) => m.topic === `${h.base}/reply` && m.json.id === 'one', 'first reply');
    await until(() => w.on(`${h.base}/state`).at(-1)?.json.state === 'idle', 'idle after the held turn');
  } finally {
    hold.open();
    await close();
  }
});

test('a prompt refused at once never shows as thinking and leaves the last state alone', async () => {
  const agent = new MqttTestAgent({ maxPending: 0 });
  const { h, w, close } = await setup({}, agent);
  try {
    await w.publish(`${h.base}/prompt`, JSON.stringify({ text: 'anyone?', id: 'r1' }));
    const r = await w.wait((m) => m.topic === `${h.base}/reply` && m.json.id === 'r1', 'busy reply');
    assert.equal(r.json.error.code, 'busy');
    await new Promise((res) => setTimeout(res, 150));
    assert.deepEqual(w.on(`${h.base}/state`).map((m) => m.json), [{ state: 'idle' }]);
  } finally {
    await close();
  }
});

test('a failed turn sets state error with its session and id; the next good turn clears it', async () => {
  const agent = new MqttTestAgent({ script: (i) => (i.text === 'fail' ? { chunks: ['par'], error: { code: 'llm_unavailable', message: 'The model is unreachable.' } } : {}) });
  const { h, w, close } = await setup({}, agent);
  try {
    await w.publish(`${h.base}/prompt`, JSON.stringify({ text: 'fail', id: 'e1', session: 'den' }));
    const r = await w.wait((m) => m.topic === `${h.base}/reply` && m.json.id === 'e1', 'error reply');
    assert.deepEqual(r.json.error, { code: 'llm_unavailable', message: 'The model is unreachable.' });
    assert.equal(r.json.text, 'par', 'what was said before the failure is kept');
    await until(() => w.on(`${h.base}/state`).at(-1)?.json.state === 'error', 'error state');
    assert.deepEqual(w.on(`${h.base}/state`).at(-1)!.json, { state: 'error', session: 'den', last_id: 'e1', error: { code: 'llm_unavailable', message: 'The model is unreachable.' } });
    await w.publish(`${h.base}/prompt`, JSON.stringify({ text: 'ok', id: 'e2' }));
    await until(() => w.on(`${h.base}/state`).at(-1)?.json.last_id === 'e2' && w.on(`${h.base}/state`).at(-1)?.json.state === 'idle', 'idle again');
  } finally {
    await close();
  }
});

test('a retained prompt is not answered (it would be answered again on every reconnect)', async () => {
  const { h, w, close } = await setup();
  try {
    await w.publish(`${h.base}/prompt`, 'stale', { qos: 1, retain: true });
    // A fresh subscription gets it as retained: the dialog must ignore that copy.
    const h2 = await startDialog(broker, { device_id: h.config.device.id + 'b', mqtt: { base_topic: h.base, client_id: 'second-dialog' } });
    try {
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(h2.agent.submitted.length, 0);
      assert.ok(h2.logs.some((l) => /retained prompt/.test(l.msg)));
    } finally {
      await h2.stop();
    }
    // The live (non-retained) delivery to the first dialog was answered once.
    await until(() => h.agent.submitted.length === 1, 'live delivery answered');
  } finally {
    await w.publish(`${h.base}/prompt`, '', { qos: 1, retain: true });
    await close();
  }
});

test('telemetry carries device status, agent counters and MQTT counters', async () => {
  const { h, w, close } = await setup({ tele_period_s: 1 });
  try {
    await w.publish(`${h.base}/prompt`, 'count me');
    await w.wait((m) => m.topic === `${h.base}/reply`, 'reply');
    const tele = await w.wait((m) => m.topic === `${h.base}/tele` && m.json.mqtt.prompts === 1, 'telemetry after the prompt', 3000);
    assert.equal(tele.json.rss_bytes, 50 << 20);
    assert.equal(tele.json.cpu_temp_c, 48.5);
    assert.equal(tele.json.agent.model, 'test/scripted');
    assert.equal(tele.json.agent.tokens_in, 10 + 'count me'.length);
    assert.equal(tele.json.mqtt.replies, 1);
    assert.equal(tele.packet.qos, 0);
  } finally {
    await close();
  }
});
