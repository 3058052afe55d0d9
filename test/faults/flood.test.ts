// Flood: ~1,000 prompts a second over MQTT for 10 s (5 s when CI is set:
// the CI machine shares two cores with the other test files) at a real
// `aeon run` on the pi-zero-2w budget (64 MB heap, 8 turns at once, 4 waiting
// per session, 64 in all), spread over 50 sessions, against a scripted LLM
// that takes ~150 ms an answer. What must hold: every prompt gets exactly one
// final reply (an answer, or a "busy" sentence the moment the queues are
// full); the agent's queue never exceeds its bound; RSS stays under the
// board's memory_max_mb and the heap under heap_mb; /healthz keeps answering
// 200, quickly, all through; afterwards aeon answers as before.
//
// Then 200 prompts a second of 15 KB each for 3 s: the same bounds with big payloads.
//
// AEON_FAULT_FLOOD_S and AEON_FAULT_FLOOD_RATE change the first load.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import mqtt from 'mqtt';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { AeonChild, SECRETS, disposeAll, plainSentenceProblem, secretLeaks, sleep, waitFor } from '../helpers/fault-aeon.ts';
import { startScriptedLlm, textReply, type ScriptedLlmServer } from '../helpers/fault-llm.ts';
import pizero from '../../boards/pi-zero-2w.json' with { type: 'json' };

const SECONDS = Number(process.env.AEON_FAULT_FLOOD_S ?? (process.env.CI ? 5 : 10));
const RATE = Number(process.env.AEON_FAULT_FLOOD_RATE ?? 1000);
const SESSIONS = 50;
const ID = 'flood';
const BASE = `aeon/${ID}`;
const MB = 1024 * 1024;
const budget = pizero.budget;

let broker: TestBroker;
let llm: ScriptedLlmServer;
let aeon: AeonChild;
let client: mqtt.MqttClient | undefined;

before(async () => {
  broker = await startBroker();
  llm = await startScriptedLlm((v) => textReply(`Answer to ${v.lastUser.slice(0, 40).trim()}.`, { gapMs: 30 }));
  aeon = await AeonChild.start(ID, {
    device: { id: ID, board: 'pi-zero-2w' },
    agents: { main: { provider: 'openai-compatible', model: 'm', base_url: `${llm.url}/v1`, api_key: SECRETS.llm_api_key } },
    dialogs: {
      cli: { enabled: false },
      mqtt: { enabled: true, url: broker.url, username: 'aeon', password: SECRETS.mqtt_password, discovery: false, tele_period_s: 0, protocol_version: broker.mqtt5 ? 5 : 4 },
    },
  }, { logLevel: 'info' });
  await waitFor('/readyz 200', async () => (await aeon.readyz()).status === 200, 15_000, 50);
});

after(async () => {
  await disposeAll();
  await client?.endAsync(true);
  await aeon?.dispose();
  await llm?.close();
  await broker?.close();
});

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

interface FloodResult {
  total: number;
  floodMs: number;
  drainMs: number;
  missing: number[];
  twice: string[];
  answered: number;
  busy: Array<{ code: string | undefined; message?: string }>;
  other: string[];
  m: { rss: number; heap: number; queued: number; running: number; health: number[]; healthFailed: number };
  healthDuring: number[];
  idleRss: number;
}

const replies = new Map<string, { code: string | undefined; message?: string; n: number }>();
let online = false;

async function connect(): Promise<mqtt.MqttClient> {
  if (client) return client;
  const c = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: `flood-${process.pid}` });
  client = c;
  c.on('message', (topic, payload) => {
    if (topic === `${BASE}/status`) {
      online = payload.toString() === 'online';
      return;
    }
    const r = JSON.parse(payload.toString()) as { id: string; error?: { code: string; message: string } };
    const e = replies.get(r.id);
    if (e) e.n++;
    else replies.set(r.id, { code: r.error?.code, ...(r.error ? { message: r.error.message } : {}), n: 1 });
  });
  await c.subscribeAsync({ [`${BASE}/reply`]: { qos: 1 }, [`${BASE}/status`]: { qos: 1 } });
  await waitFor('aeon online', () => online, 10_000);
  return c;
}

/** `rate` prompts a second for `seconds`, each `pad` bytes longer than a short text, ids `<tag><n>`; samples all along. */
async function flood(tag: string, rate: number, seconds: number, pad: string): Promise<FloodResult> {
  const c = await connect();
  const m = { rss: 0, heap: 0, queued: 0, running: 0, health: [] as number[], healthFailed: 0 };
  let sampling = true;
  const samplers = [
    (async () => {
      while (sampling && aeon.running) {
        m.rss = Math.max(m.rss, aeon.rssBytes());
        await sleep(100);
      }
    })(),
    (async () => {
      while (sampling && aeon.running) {
        const h = await aeon.health();
        if (h.status === 200) m.health.push(h.ms);
        else m.healthFailed++;
        await sleep(50);
      }
    })(),
    (async () => {
      while (sampling && aeon.running) {
        const s = await aeon.get('/status');
        if (s.status === 200) {
          m.heap = Math.max(m.heap, s.body.process?.heap_used_bytes ?? 0);
          m.queued = Math.max(m.queued, s.body.agent?.queued ?? 0);
          m.running = Math.max(m.running, s.body.agent?.running ?? 0);
        }
        await sleep(250);
      }
    })(),
  ];
  const idleRss = aeon.rssBytes();

  // Every 10 ms, the prompts due by now (catching up after a late timer).
  const total = rate * seconds;
  const t0 = Date.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - t0) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      c.publish(`${BASE}/prompt`, JSON.stringify({ text: `flood ${sent}${pad}`, id: `${tag}${sent}`, session: `s${sent % SESSIONS}` }), { qos: 1 });
    }
    await sleep(10);
  }
  const floodMs = Date.now() - t0;
  const healthDuring = [...m.health];
  const mine = () => [...replies].filter(([id]) => id.startsWith(tag) && /^\d+$/.test(id.slice(tag.length)));
  await waitFor(`a reply to each of the ${total} prompts`, () => mine().length >= total, 60_000, 100).catch(() => undefined);
  const drainMs = Date.now() - t0 - floodMs;
  await sleep(500);
  sampling = false;
  await Promise.all(samplers);
  const got = mine();
  return {
    total,
    floodMs,
    drainMs,
    idleRss,
    m,
    healthDuring,
    missing: [...Array(total).keys()].filter((i) => !replies.has(`${tag}${i}`)),
    twice: got.filter(([, r]) => r.n > 1).map(([id]) => id),
    answered: got.filter(([, r]) => r.code === undefined).length,
    busy: got.filter(([, r]) => r.code === 'busy').map(([, r]) => r),
    other: got.filter(([, r]) => r.code !== undefined && r.code !== 'busy').map(([id, r]) => `${id}: ${r.code}`),
  };
}

/** What must hold after any flood; prints the figures. */
function check(t: { diagnostic(s: string): void }, r: FloodResult): void {
  const { m, healthDuring } = r;
  t.diagnostic(`${r.total} prompts in ${r.floodMs} ms (${Math.round(r.total / (r.floodMs / 1000))}/s); all replied ${r.drainMs} ms after; ${r.answered} answered, ${r.busy.length} busy, ${r.other.length} other`);
  t.diagnostic(`RSS before ${(r.idleRss / MB).toFixed(1)} MB, peak ${(m.rss / MB).toFixed(1)} MB (budget ${budget.memory_max_mb}); heap peak ${(m.heap / MB).toFixed(1)} MB (budget ${budget.heap_mb}); queue peak ${m.queued} (bound ${budget.queue_total}), running peak ${m.running} (bound ${budget.max_concurrent_turns})`);
  t.diagnostic(`/healthz during the flood: ${healthDuring.length} probes, p50 ${pct(healthDuring, 50).toFixed(1)} ms, p99 ${pct(healthDuring, 99).toFixed(1)} ms, max ${Math.max(...healthDuring).toFixed(1)} ms, failed ${m.healthFailed}`);
  assert.deepEqual(r.missing.slice(0, 10), [], `${r.missing.length} prompts got no reply`);
  assert.deepEqual(r.twice.slice(0, 10), [], `${r.twice.length} prompts got more than one reply`);
  assert.deepEqual(r.other.slice(0, 5), [], 'only answers and busy');
  assert.ok(r.busy.length > 0, 'the excess was refused as busy');
  assert.ok(r.answered >= budget.max_concurrent_turns, `${r.answered} answered`);
  assert.equal(plainSentenceProblem(r.busy[0]!.message), undefined, r.busy[0]!.message);
  assert.match(r.busy[0]!.message!, /busy/);
  assert.ok(m.queued <= budget.queue_total, `queue reached ${m.queued}`);
  assert.ok(m.running <= budget.max_concurrent_turns, `running reached ${m.running}`);
  assert.ok(m.rss > 0 && m.rss < budget.memory_max_mb * MB, `peak RSS ${(m.rss / MB).toFixed(1)} MB`);
  assert.ok(m.heap > 0 && m.heap < budget.heap_mb * MB, `peak heap ${(m.heap / MB).toFixed(1)} MB`);
  assert.equal(m.healthFailed, 0, '/healthz failed during the flood');
  assert.ok(healthDuring.length >= (r.floodMs / 1000) * 5, `only ${healthDuring.length} /healthz answers during the flood`);
  assert.ok(pct(healthDuring, 99) < 1000, `/healthz p99 ${pct(healthDuring, 99).toFixed(0)} ms`);
}

it(`${RATE} prompts/s over MQTT for ${SECONDS} s: bounded queues, "busy" for the excess, RSS in budget, /healthz responsive`, { timeout: 120_000 }, async (t) => {
  check(t, await flood('f', RATE, SECONDS, ''));
  // Afterwards: business as usual, with empty queues.
  assert.equal((await aeon.status()).agent.queued, 0);
  client!.publish(`${BASE}/prompt`, JSON.stringify({ text: 'after the flood', id: 'after' }), { qos: 1 });
  await waitFor('answer after the flood', () => replies.get('after'), 10_000);
  assert.equal(replies.get('after')!.code, undefined);
});

it('large prompts: 200 a second of 15 KB each for 3 s (about 3 MB/s) stay inside the same bounds', { timeout: 90_000 }, async (t) => {
  check(t, await flood('big', 200, 3, ' '.repeat(15_000)));
  await client!.endAsync();
  client = undefined;
  assert.ok(aeon.running);
  assert.equal(await aeon.stop(), 0, aeon.logTail());
  assert.deepEqual(secretLeaks(), []);
});
