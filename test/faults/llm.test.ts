// LLM faults against a running aeon. A real `aeon run` child on the pi-zero-2w
// budget (64 MB heap) answers over MQTT and Telegram from a scripted LLM
// behind a TCP forwarder; each case makes the LLM fail one way: connection
// refused, reset before and in the middle of a stream, 429 with Retry-After
// (once, then always), a 500 storm, headers then silence, a never-ending slow
// drip, malformed events, a 401 that echoes the API key, a single oversized
// event, and a huge endless stream. Each prompt, on each dialog, gets exactly
// one final answer whose error (if any) is one plain sentence with the
// expected code; RSS and heap are sampled all along and stay inside the
// board's budget; /healthz answers 200 throughout; the process never dies and
// stops cleanly at the end; no secret reaches a log line or an answer.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { AeonChild, SECRETS, disposeAll, plainSentenceProblem, secretLeaks, sleep, waitFor } from '../helpers/fault-aeon.ts';
import { startScriptedLlm, textReply, type ScriptedLlmServer } from '../helpers/fault-llm.ts';
import { FaultTcp } from '../helpers/fault-tcp.ts';
import { Watcher } from '../helpers/mqtt-harness.ts';
import { openaiTextStream, type Reply } from '../helpers/sse-replay.ts';
import { TelegramBench, TOKEN } from '../helpers/telegram-emulator.ts';
import pizero from '../../boards/pi-zero-2w.json' with { type: 'json' };

const ID = 'llmfaults';
const BASE = `aeon/${ID}`;
const MB = 1024 * 1024;

interface Case {
  name: string;
  /** The reply for the n-th request (0-based) of this case on one dialog. */
  reply: (n: number) => Reply;
  /** Expected final: an error code, or undefined for a full answer. */
  code?: string;
  /** Text the answer must start with (partial answers), or contain. */
  text?: string;
  /** Take the LLM's port away for this case (connection refused). */
  refuse?: boolean;
  /** Least time the answer takes (Retry-After honoured). */
  minMs?: number;
}

const OK = (n: string) => textReply(`Recovered answer for ${n}.`);
const chunk = (delta: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: delta }, finish_reason: null }] })}\n\n`;
const PARTIAL = openaiTextStream('The first words arrive and then the line goes dead', { chunkChars: 6 });

const CASES: Case[] = [
  { name: 'refused', reply: () => ({}), refuse: true, code: 'llm_network' },
  { name: 'reset-early', reply: (n) => (n === 0 ? { resetAfterBytes: 0 } : OK('reset-early')), text: 'Recovered answer' },
  { name: 'reset-mid', reply: () => ({ body: PARTIAL, split: 'none', resetAfterBytes: Math.floor(PARTIAL.length / 2) }), code: 'llm_network', text: 'The first words' },
  { name: '429-once', reply: (n) => (n === 0 ? { status: 429, headers: { 'retry-after': '1', 'content-type': 'application/json' }, body: '{"error":{"message":"slow down"}}' } : OK('429-once')), text: 'Recovered answer', minMs: 950 },
  { name: '429-always', reply: () => ({ status: 429, headers: { 'retry-after': '1', 'content-type': 'application/json' }, body: '{"error":{"message":"rate limited","type":"rate_limit"}}' }), code: 'llm_rate_limit', minMs: 1900 },
  { name: '500-storm', reply: () => ({ status: 500, headers: { 'content-type': 'text/html' }, body: '<html><body><h1>500 Internal Server Error</h1><pre>Traceback (most recent call last):\n  File "server.py", line 1</pre></body></html>' }), code: 'llm_server' },
  { name: 'stall', reply: () => ({ body: PARTIAL, split: 'none', stallAfterBytes: Math.floor(PARTIAL.length / 2) }), code: 'llm_timeout', text: 'The first words' },
  { name: 'drip', reply: () => ({ body: chunk('Drip '), drip: { text: chunk('drip '), everyMs: 300 } }), code: 'timeout', text: 'Drip drip' },
  { name: 'malformed', reply: () => ({ body: `${chunk('Half ')}data: {"choices": [{"delta": {"content": "broken"\n\n` }), code: 'llm_bad_response', text: 'Half' },
  { name: 'no-data-lines', reply: () => ({ body: 'this is not\nan event stream at all\n\n<html></html>\n\n' }), code: 'llm_network' },
  { name: 'auth-echo', reply: () => ({ status: 401, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { message: `Incorrect API key provided: ${SECRETS.llm_api_key}. You can find your API key at https://platform.example/account/api-keys.`, code: 'invalid_api_key' } }) }), code: 'llm_auth' },
  { name: 'huge-event', reply: () => ({ body: `data: {"choices":[{"delta":{"content":"${'x'.repeat(200_000)}"}}]}\n\n`, split: { seed: 3, max: 16_384 } }), code: 'llm_bad_response' },
  { name: 'huge-stream', reply: () => ({ body: chunk('Endless '), endless: chunk('blah '.repeat(200)) }), code: 'llm_bad_response', text: 'Endless' },
];

let broker: TestBroker;
let bench: TelegramBench;
let llm: ScriptedLlmServer;
let tcp: FaultTcp;
let aeon: AeonChild;
let watcher: Watcher;
const perCase = new Map<string, number>();

before(async () => {
  broker = await startBroker();
  bench = await TelegramBench.start();
  llm = await startScriptedLlm((v) => {
    const m = /^(tg|mq):(\S+)/.exec(v.lastUser);
    const c = CASES.find((x) => x.name === m?.[2]);
    if (!m || !c) return textReply('A plain answer.');
    const key = `${m[1]}:${c.name}`;
    const n = perCase.get(key) ?? 0;
    perCase.set(key, n + 1);
    return c.reply(n);
  });
  tcp = await FaultTcp.start({ port: llm.port });
  aeon = await AeonChild.start(ID, {
    device: { id: ID, board: 'pi-zero-2w' },
    agents: {
      main: {
        provider: 'openai-compatible', model: 'fault-model', base_url: `http://${tcp.url}/v1`, api_key: SECRETS.llm_api_key,
        retries: 2, turn_timeout_s: 6, timeouts: { connect_s: 2, first_byte_s: 2, idle_s: 2 },
      },
    },
    dialogs: {
      cli: { enabled: false },
      telegram: { enabled: true, bot_token: TOKEN, api_root: bench.apiRoot, allowed_users: [111], poll_timeout_s: 1, rate_limit_per_minute: 600 },
      mqtt: { enabled: true, url: broker.url, username: 'aeon', password: SECRETS.mqtt_password, discovery: false, tele_period_s: 0, protocol_version: broker.mqtt5 ? 5 : 4 },
    },
  }, { logLevel: 'debug' });
  watcher = await Watcher.connect(broker, { subscribe: [`${BASE}/#`] });
  await waitFor('/readyz 200', async () => (await aeon.readyz()).status === 200, 20_000, 50);
  await waitFor('online', () => watcher.on(`${BASE}/status`).some((m) => m.text === 'online'));
});

after(async () => {
  await disposeAll();
  await watcher?.close();
  await aeon?.dispose();
  await tcp?.close();
  await llm?.close();
  await bench?.stop();
  await broker?.close();
});

it('every LLM fault ends in exactly one clear final answer per prompt, within the memory budget, with /healthz up throughout', { timeout: 120_000 }, async (t) => {
  // Samplers: RSS from /proc every 100 ms, heap and /healthz from the child every 250 ms.
  const samples = { rss: 0, heap: 0, health: [] as number[], slowHealth: 0 };
  let sampling = true;
  const rssLoop = (async () => {
    while (sampling && aeon.running) {
      samples.rss = Math.max(samples.rss, aeon.rssBytes());
      await sleep(100);
    }
  })();
  const healthLoop = (async () => {
    while (sampling && aeon.running) {
      const h = await aeon.health();
      samples.health.push(h.status);
      samples.slowHealth = Math.max(samples.slowHealth, h.ms);
      const s = await aeon.get('/status');
      if (s.status === 200) samples.heap = Math.max(samples.heap, s.body.process?.heap_used_bytes ?? 0);
      await sleep(250);
    }
  })();
  const person = bench.person(111);
  const report: string[] = [];

  try {
    for (const c of CASES) {
      if (c.refuse) await tcp.down();
      const before = bench.messages(111).length;
      const t0 = Date.now();
      await Promise.all([
        watcher.publish(`${BASE}/prompt`, JSON.stringify({ text: `mq:${c.name} please`, id: c.name })),
        person.say(`tg:${c.name} please`),
      ]);
      const mq = await waitFor(`${c.name}: MQTT final`, () => watcher.on(`${BASE}/reply`).find((m) => m.json?.id === c.name), 20_000);
      const mqMs = Date.now() - t0;
      const tg = await waitFor(`${c.name}: Telegram answer`, () => {
        const fresh = bench.messages(111).slice(before);
        const last = fresh.at(-1);
        return last && (c.code ? last.text.includes('⚠️') : last.text.includes(c.text ?? '')) ? fresh : undefined;
      }, 20_000).catch((e: Error) => assert.fail(`${e.message}; Telegram shows: ${JSON.stringify(bench.messages(111).slice(before).map((m) => m.text.slice(0, 300)))}; MQTT: ${mq.text.slice(0, 300)}`));
      if (c.refuse) await tcp.up();
      await sleep(300); // a second final would show up by now

      const reply = mq.json;
      const label = `${c.name}: ${JSON.stringify(reply).slice(0, 300)}`;
      assert.equal(watcher.on(`${BASE}/reply`).filter((m) => m.json?.id === c.name).length, 1, `${label}: exactly one MQTT final`);
      assert.equal(reply.done, true, label);
      assert.equal(reply.error?.code, c.code, label);
      if (c.code) {
        const problem = plainSentenceProblem(reply.error.message);
        assert.equal(problem, undefined, `${label}: the error message ${problem}`);
      }
      if (c.text) assert.ok(String(reply.text ?? '').startsWith(c.text) || String(reply.text ?? '').includes(c.text), `${label}: text`);
      if (c.minMs) assert.ok(mqMs >= c.minMs, `${label}: answered after ${mqMs} ms, before Retry-After allowed`);
      // Telegram: one message (the answer, or the warning), unless a long partial answer needed more.
      const tgText = tg.map((m) => m.text).join('\n');
      assert.ok(tg.length === 1 || tg.length <= 1 + Math.ceil(tgText.length / 2048), `${c.name}: Telegram got ${tg.length} messages: ${tgText.slice(0, 300)}`);
      // Nothing the model sends makes an answer longer than max_tokens (default 1024) could.
      assert.ok(String(reply.text ?? '').length <= 16 * 1024, `${c.name}: a ${String(reply.text ?? '').length}-character answer`);
      if (c.code) assert.equal((tgText.match(/⚠️/g) ?? []).length, 1, `${c.name}: one warning in Telegram: ${tgText.slice(-300)}`);
      report.push(`${c.name} ${mqMs} ms ${reply.error?.code ?? 'ok'} (${String(reply.text ?? '').length} chars) ${JSON.stringify(reply.error?.message ?? '')}`);
    }
  } finally {
    sampling = false;
    await Promise.all([rssLoop, healthLoop]);
    if (!tcp.isUp) await tcp.up();
  }

  t.diagnostic(report.join('; '));
  t.diagnostic(`peak RSS ${(samples.rss / MB).toFixed(1)} MB, peak heap used ${(samples.heap / MB).toFixed(1)} MB, slowest /healthz ${samples.slowHealth.toFixed(0)} ms over ${samples.health.length} probes`);
  assert.ok(samples.health.length > 20 && samples.health.every((s) => s === 200), `/healthz answered ${[...new Set(samples.health)].join(', ')}`);
  assert.ok(samples.rss > 0 && samples.rss < pizero.budget.memory_max_mb * MB, `peak RSS ${(samples.rss / MB).toFixed(1)} MB over the board's ${pizero.budget.memory_max_mb} MB`);
  assert.ok(samples.heap > 0 && samples.heap < pizero.budget.heap_mb * MB, `peak heap ${(samples.heap / MB).toFixed(1)} MB over the board's ${pizero.budget.heap_mb} MB`);
  assert.ok(aeon.running, 'aeon is still running');
  // The agent is still fine: a plain prompt is answered.
  await watcher.publish(`${BASE}/prompt`, JSON.stringify({ text: 'hello again', id: 'after' }));
  const last = await waitFor('answer after the faults', () => watcher.on(`${BASE}/reply`).find((m) => m.json?.id === 'after'), 10_000);
  assert.equal(last.json.text, 'A plain answer.');
  assert.equal(await aeon.stop(), 0, aeon.logTail());
  const seen = [
    ...bench.messages(111).map((m) => ({ what: 'telegram message', text: m.text })),
    ...watcher.seen.map((m) => ({ what: `mqtt ${m.topic}`, text: m.text })),
  ];
  assert.deepEqual(secretLeaks(seen), []);
});
