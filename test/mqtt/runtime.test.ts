// aeon end to end over MQTT: the real Runtime (store, agent, tool registry, the
// MQTT dialog loaded on demand) with the model behind a replaying
// OpenAI-compatible SSE server and a real broker in between.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { createLogger } from '../../src/log.ts';
import { Runtime } from '../../src/runtime.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { testConfig, until, Watcher } from '../helpers/mqtt-harness.ts';
import { openaiTextStream, openaiToolCallStream, startReplayServer, type ReplayServer, type Reply } from '../helpers/sse-replay.ts';

let broker: TestBroker;
let llm: ReplayServer;
let script: (req: { messages: Array<{ role: string; content: unknown }> }, n: number) => Reply;
const runtimes: Runtime[] = [];

before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker?.close();
});
beforeEach(async () => {
  llm = await startReplayServer({ script: (req, n) => script(req.body as never, n) });
});
afterEach(async () => {
  for (const r of runtimes.splice(0)) await r.stop();
  await llm.close();
});

async function boot(over: { tools?: Record<string, unknown>; agentTools?: string[]; mqtt?: Record<string, unknown> } = {}): Promise<{ rt: Runtime; base: string }> {
  const { config, secrets } = testConfig(broker, {
    agents: { main: { provider: 'openai-compatible', model: 'test-model', base_url: `${llm.url}/v1`, tools: over.agentTools ?? [] } },
    ...(over.tools ? { tools: over.tools } : {}),
    ...(over.mqtt ? { mqtt: over.mqtt } : {}),
  });
  const log = createLogger({ level: 'silent', secrets });
  const rt = new Runtime({ config, secrets, log, server: false });
  runtimes.push(rt);
  await rt.start();
  await until(() => rt.readiness().mqtt?.ready === true, 'mqtt connected', 10_000);
  return { rt, base: `aeon/${config.device.id}` };
}

const lastUser = (body: { messages: Array<{ role: string; content: unknown }> }) => String(body.messages.filter((m) => m.role === 'user').at(-1)?.content);

describe('aeon over MQTT, through the real runtime', () => {
  it('a prompt streams deltas and one final reply from the model, and the turn is stored', async () => {
    script = (body) => ({ body: openaiTextStream(`You asked: ${lastUser(body)}. Here is a longer answer, sent in pieces.`, { chunkChars: 8, usage: { input: 321, output: 17 } }), chunkDelayMs: 30 });
    const { rt, base } = await boot({ mqtt: { stream: true } });
    const w = await Watcher.connect(broker, { subscribe: [`${base}/#`] });
    try {
      await w.publish(`${base}/prompt`, JSON.stringify({ text: 'what is MQTT?', id: 'e2e-1', session: 'lab' }));
      const final = await w.wait((m) => m.topic === `${base}/reply` && m.json.id === 'e2e-1', 'final', 15_000);
      assert.equal(final.json.text, 'You asked: what is MQTT?. Here is a longer answer, sent in pieces.');
      assert.equal(final.json.session, 'lab');
      assert.deepEqual(final.json.usage, { input: 321, output: 17 });
      const deltas = w.on(`${base}/reply/delta`).filter((m) => m.json.id === 'e2e-1');
      assert.ok(deltas.length >= 2, `streamed in several deltas (${deltas.length})`);
      assert.equal(deltas.map((d) => d.json.delta).join(''), final.json.text);
      const key = rt.agent.sessionKey({ dialog: 'mqtt', chat: 'lab' });
      await until(() => [...rt.store.messages(key)].map((m) => m.role).join() === 'user,assistant', 'turn stored');
      const list = await request(w, base, 'session/list', { transaction: 1 });
      assert.deepEqual(list.data.sessions.map((s: any) => s.session), ['lab']);
      await until(() => w.on(`${base}/state`).at(-1)?.json.state === 'idle', 'idle');
    } finally {
      await w.close();
    }
  });

  it('"turn on the hall light": the model calls mqtt_publish, Zigbee2MQTT gets the command, the action is mirrored, the reply says so', async () => {
    script = (body, n) =>
      n === 0
        ? { body: openaiToolCallStream([{ name: 'mqtt_publish', arguments: JSON.stringify({ topic: 'zigbee2mqtt/hall/set', payload: { state: 'ON' } }) }]) }
        : { body: openaiTextStream(`Done: ${String(body.messages.at(-1)?.content)}`) };
    const { rt, base } = await boot({ agentTools: ['mqtt_publish', 'mqtt_read'], tools: { mqtt_publish: { allow: ['zigbee2mqtt/+/set'] }, mqtt_read: { topics: ['zigbee2mqtt/+'] } } });
    assert.ok(rt.tools.has('mqtt_publish') && rt.tools.has('mqtt_read'), 'the dialog registered its tools');
    const w = await Watcher.connect(broker, { subscribe: [`${base}/#`, 'zigbee2mqtt/#'] });
    try {
      await w.publish(`${base}/prompt`, JSON.stringify({ text: 'turn on the hall light', id: 'light-1' }));
      const cmd = await w.wait((m) => m.topic === 'zigbee2mqtt/hall/set', 'zigbee2mqtt command', 15_000);
      assert.deepEqual(cmd.json, { state: 'ON' });
      const action = await w.wait((m) => m.topic === `${base}/action`, 'action mirror');
      assert.equal(action.json.id, 'light-1');
      assert.equal(action.json.topic, 'zigbee2mqtt/hall/set');
      assert.deepEqual(action.json.payload, { state: 'ON' });
      const final = await w.wait((m) => m.topic === `${base}/reply` && m.json.id === 'light-1', 'final', 15_000);
      assert.match(final.json.text, /^Done: Published 14 bytes to zigbee2mqtt\/hall\/set/);
      assert.equal(llm.requests.length, 2);
      // The model was offered both tools, with the allow-list in the description.
      const offered = (llm.requests[0]!.body as { tools: Array<{ function: { name: string; description: string } }> }).tools;
      const pub = offered.find((t) => t.function.name === 'mqtt_publish');
      assert.match(pub!.function.description, /zigbee2mqtt\/\+\/set/);
    } finally {
      await w.close();
    }
  });

  it('a refused publish goes back to the model as an error and nothing reaches the device', async () => {
    script = (body, n) =>
      n === 0
        ? { body: openaiToolCallStream([{ name: 'mqtt_publish', arguments: JSON.stringify({ topic: 'zigbee2mqtt/front_door/lock', payload: 'UNLOCK' }) }]) }
        : { body: openaiTextStream(`Could not: ${String(body.messages.at(-1)?.content)}`) };
    const { base } = await boot({ agentTools: ['mqtt_publish'], tools: { mqtt_publish: { allow: ['zigbee2mqtt/+/set'] } } });
    const w = await Watcher.connect(broker, { subscribe: [`${base}/#`, 'zigbee2mqtt/#'] });
    try {
      await w.publish(`${base}/prompt`, JSON.stringify({ text: 'unlock the front door', id: 'door' }));
      const final = await w.wait((m) => m.topic === `${base}/reply` && m.json.id === 'door', 'final', 15_000);
      assert.match(final.json.text, /matches none of the allowed topic patterns \(tools\.mqtt_publish\.allow: zigbee2mqtt\/\+\/set\)/);
      assert.equal(w.on('zigbee2mqtt/front_door/lock').length, 0);
      assert.equal(w.on(`${base}/action`).length, 0);
    } finally {
      await w.close();
    }
  });
});

async function request(w: Watcher, base: string, cmd: string, payload: unknown): Promise<any> {
  const n = w.on(`${base}/response/${cmd}`).length;
  await w.publish(`${base}/request/${cmd}`, JSON.stringify(payload));
  await until(() => w.on(`${base}/response/${cmd}`).length > n, `response to ${cmd}`);
  return w.on(`${base}/response/${cmd}`)[n]!.json;
}
