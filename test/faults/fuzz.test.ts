// Bad input corpus: seeded random and mutated inputs for every parser that
// takes input from outside. Each case is bounded in time; a failure prints
// the seed and case number (AEON_FAULT_SEED=<seed> replays the run).
//  - LLM streams: both wire protocols over real HTTP (recorded fixtures
//    damaged byte by byte, well-formed chunks with mutated fields, random JSON,
//    garbage, odd statuses), random chunk splits. The provider contract must
//    hold: events of the right types with the right field types, exactly one
//    final done/error, an error message that is one line and bounded.
//  - MQTT: prompt and request payloads through the parsers, and a share of
//    them through a real dialog on Mosquitto (one reply each, no handler failure).
//  - Telegram: updates through readUpdate and the addressing/command/file
//    helpers, and a share through the real dialog behind the emulator (every
//    update settled, none failing its handler, the bot still answering).
//  - Config: mutated aeon.json objects, damaged JSONC text, random env.
//    Only ConfigError may come out, each issue with a path and a message.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseConfig, ConfigError } from '../../src/config/load.ts';
import { mentioned, quoteOf, repliedToMe, stripMention } from '../../src/dialogs/telegram/addressing.ts';
import { parseCommand } from '../../src/dialogs/telegram/commands.ts';
import { pickFile } from '../../src/dialogs/telegram/files.ts';
import { readUpdate, senderName, unsupportedKind, updateId } from '../../src/dialogs/telegram/update.ts';
import { parsePrompt, parseRequest } from '../../src/dialogs/mqtt/prompt.ts';
import { createProvider } from '../../src/llm/index.ts';
import type { LlmErrorKind, ModelConfig, ProviderKind, StreamEvent } from '../../src/llm/types.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { Fuzz, forCases } from '../helpers/fault-fuzz.ts';
import { startDialog as startMqttDialog, until } from '../helpers/mqtt-harness.ts';
import { readFixture, startReplayServer, type ReplayServer, type Reply } from '../helpers/sse-replay.ts';
import { TelegramBench, waitFor } from '../helpers/telegram-emulator.ts';
import { startDialog as startTelegramDialog } from '../helpers/telegram-setup.ts';

const SEED = Number(process.env.AEON_FAULT_SEED ?? 4242);
const N = Number(process.env.AEON_FAULT_FUZZ_CASES ?? 2000);
const KEY = 'sk-fuzz-5f1e2d3c4b5a69788796a5b4';

describe(`fuzz: LLM streams (seed ${SEED})`, () => {
  let srv: ReplayServer;
  let next: Reply = {};
  before(async () => {
    srv = await startReplayServer({ script: () => next });
  });
  after(async () => {
    await srv.close();
  });

  const KINDS: LlmErrorKind[] = ['auth', 'rate_limit', 'timeout', 'server', 'bad_request', 'bad_response', 'network', 'aborted', 'budget'];
  const model = (provider: ProviderKind): ModelConfig => ({
    provider,
    model: 'fuzz-model',
    base_url: provider === 'anthropic' ? srv.url : `${srv.url}/v1`,
    api_key: KEY,
    limits: { connect_timeout_ms: 2000, first_byte_timeout_ms: 2000, idle_timeout_ms: 1000, max_response_bytes: 1 << 20, max_event_bytes: 64 * 1024 },
  });

  /** The provider contract, whatever came over the wire. */
  function checkEvents(events: StreamEvent[]): void {
    assert.ok(events.length > 0, 'no events at all');
    const last = events.at(-1)!;
    assert.ok(last.type === 'done' || last.type === 'error', `last event is ${last.type}`);
    let usages = 0;
    for (const [i, e] of events.entries()) {
      if (i < events.length - 1) assert.ok(e.type !== 'done' && e.type !== 'error', `${e.type} before the end`);
      switch (e.type) {
        case 'text':
          assert.ok(typeof e.delta === 'string' && e.delta !== '', `text delta ${JSON.stringify(e.delta)?.slice(0, 80)}`);
          break;
        case 'tool_call':
          for (const k of ['id', 'name', 'arguments'] as const) assert.equal(typeof e.call[k], 'string', `tool_call.${k} is ${typeof e.call[k]}`);
          break;
        case 'usage':
          usages++;
          for (const k of ['input', 'output'] as const) assert.ok(Number.isFinite(e[k]) && e[k] >= 0, `usage.${k} is ${JSON.stringify(e[k])}`);
          assert.ok(e.cost_usd === undefined || (Number.isFinite(e.cost_usd) && e.cost_usd >= 0), `cost ${e.cost_usd}`);
          break;
        case 'error': {
          const m = e.error.message;
          assert.ok(KINDS.includes(e.error.kind), `kind ${e.error.kind}`);
          assert.equal(typeof e.error.retryable, 'boolean');
          assert.ok(typeof m === 'string' && m.trim() !== '', 'an error says what went wrong');
          assert.ok(!/[\r\n]/.test(m), `error message spans lines: ${JSON.stringify(m.slice(0, 200))}`);
          assert.ok(m.length <= 1000, `error message is ${m.length} characters`);
          // Not the key, nor a piece of it (a message cut before its key was scrubbed).
          for (let j = 0; j + 10 <= KEY.length; j++) assert.ok(!m.includes(KEY.slice(j, j + 10)), `a piece of the API key in: ${m.slice(0, 400)}`);
          break;
        }
      }
    }
    assert.ok(usages <= 1, `${usages} usage events`);
  }

  const OPENAI_FIXTURES = ['openai-text.sse', 'openai-parallel-tools.sse', 'openai-malformed.sse', 'ollama-text.sse', 'ollama-tools-legacy.sse', 'openrouter-text.sse', 'openrouter-midstream-error.sse'];
  const ANTHROPIC_FIXTURES = ['anthropic-tool-use.sse', 'anthropic-overloaded.sse'];
  const OPENAI_CHUNKS = [
    { choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello' }, finish_reason: null }] },
    { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'current_time', arguments: '{"a":' } }] }, finish_reason: null }] },
    { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
    { choices: [], usage: { prompt_tokens: 12, completion_tokens: 3 } },
    { error: { message: 'Provider returned error', code: 502, metadata: { raw: 'upstream' } } },
    { object: 'error', message: 'model not found', code: 404 },
  ];
  const ANTHROPIC_EVENTS = [
    { type: 'message_start', message: { usage: { input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 2 } } },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: 'Hi' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' there' } },
    { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'current_time', input: {} } },
    { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"tz":' } },
    { type: 'content_block_stop', index: 1 },
    { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 7 } },
    { type: 'message_stop' },
    { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
  ];

  function body(f: Fuzz, anthropic: boolean): Reply {
    const fixtures = anthropic ? ANTHROPIC_FIXTURES : OPENAI_FIXTURES;
    const templates: object[] = anthropic ? ANTHROPIC_EVENTS : OPENAI_CHUNKS;
    const line = (v: unknown) => {
      const data = `data: ${JSON.stringify(v) ?? 'undefined'}\n\n`;
      return anthropic && v && typeof v === 'object' && typeof (v as { type?: unknown }).type === 'string' ? `event: ${(v as { type: string }).type}\n${data}` : data;
    };
    let text: string;
    const k = f.int(10);
    if (k < 3) text = f.mangle(readFixture(f.pick(fixtures)));
    else if (k < 7) {
      text = Array.from({ length: 1 + f.int(10) }, () => line(f.chance(0.7) ? f.mutate(f.pick(templates)) : f.pick(templates))).join('');
      if (!anthropic && f.chance(0.5)) text += 'data: [DONE]\n\n';
    } else if (k < 9) text = Array.from({ length: 1 + f.int(5) }, () => line(f.value())).join('');
    else text = f.string();
    // Tiny chunks for small bodies only: the server writes one chunk per event-loop turn.
    const reply: Reply = { body: text, split: { seed: f.int(1 << 30), max: Math.max(1 + f.int(200), Math.ceil(text.length / 500)) }, crlf: f.chance(0.2) };
    if (f.chance(0.08)) {
      reply.status = f.pick([400, 401, 404, 408, 413, 429, 500, 502, 503, 529]);
      reply.headers = { 'content-type': f.pick(['application/json', 'text/html', 'text/plain']), ...(f.chance(0.5) ? { 'retry-after': f.pick(['1', '-5', 'soon', '99999999999', 'Wed, 21 Oct 2015 07:28:00 GMT']) } : {}) };
      reply.body = f.chance(0.5) ? JSON.stringify(f.mutate({ error: { message: 'Rate limit reached', type: 'rate_limit_error', code: 'rate_limit_exceeded' } })) : text;
    } else if (f.chance(0.04)) {
      reply.headers = { 'content-type': 'application/json' };
    } else if (f.chance(0.05)) {
      // A provider that echoes the key somewhere in a long message, as an error status or mid-stream.
      const message = `${'Your request was refused. '.repeat(f.int(20))}Incorrect API key provided: ${KEY}. ${'Details follow. '.repeat(f.int(10))}`;
      const errorBody = JSON.stringify(anthropic ? { type: 'error', error: { type: 'authentication_error', message } } : { error: { message, code: f.pick(['invalid_api_key', 401, 'server_error']) } });
      if (f.chance(0.5)) Object.assign(reply, { status: f.pick([400, 401, 403, 500]), headers: { 'content-type': 'application/json' }, body: errorBody });
      else reply.body = `${anthropic ? 'event: error\n' : ''}data: ${errorBody}\n\n`;
    }
    return reply;
  }

  for (const provider of ['openai-compatible', 'anthropic'] as const) {
    it(`${provider}: ${N} damaged, mutated and random streams keep the provider contract`, { timeout: 120_000 }, async () => {
      const p = createProvider(model(provider));
      await forCases(N, SEED, provider, async (_i, f) => {
        next = body(f, provider === 'anthropic');
        const events: StreamEvent[] = [];
        const ctl = new AbortController();
        const timer = setTimeout(() => ctl.abort(), 3000);
        try {
          for await (const e of p.stream({ model: 'fuzz-model', system: 's', messages: [{ role: 'user', content: 'hi' }] }, ctl.signal)) events.push(e);
        } finally {
          clearTimeout(timer);
        }
        assert.ok(!ctl.signal.aborted, `the stream did not end by itself within 3 s (a ${String(next.body).length}-character body): ${String(next.body).slice(0, 300)}`);
        try {
          checkEvents(events);
        } catch (err) {
          throw new Error(`${(err as Error).message}\n  body: ${JSON.stringify(String(next.body).slice(0, 600))}\n  events: ${JSON.stringify(events).slice(0, 600)}`);
        }
      }, 4000);
    });
  }
});

describe(`fuzz: MQTT payloads (seed ${SEED})`, () => {
  const PROMPT = { text: 'turn on the hall light', id: 'p42', session: 'kitchen', reply_to: 'home/replies', stream: true, transaction: 7 };
  const CODES = new Set(['too_large', 'bad_json', 'invalid', 'empty']);

  function payload(f: Fuzz): Buffer {
    const k = f.int(10);
    if (k < 2) return Buffer.from(f.string());
    if (k < 6) return Buffer.from(JSON.stringify(f.mutate(PROMPT)) ?? '');
    if (k < 8) return Buffer.from(f.mangle(JSON.stringify(PROMPT)));
    if (k < 9) return Buffer.from(JSON.stringify(f.value()) ?? '');
    return Buffer.from(Array.from({ length: f.int(600) }, () => f.int(256)));
  }

  const isEcho = (v: unknown) => v === undefined || (typeof v === 'string' && v.length <= 128) || (typeof v === 'number' && Number.isSafeInteger(v));

  it(`${N * 2} prompt and request payloads: a checked value or an error that says what is wrong`, () => {
    return forCases(N * 2, SEED, 'mqtt payload', (i, f) => {
      const buf = payload(f);
      const max = f.chance(0.1) ? 64 : 16384;
      const r = i % 2 ? parsePrompt(buf, max) : parseRequest(buf, max);
      const label = `payload ${JSON.stringify(buf.toString('utf8').slice(0, 300))}: ${JSON.stringify(r).slice(0, 400)}`;
      if (r.ok) {
        if (i % 2) {
          const v = r.value as { text: unknown };
          assert.ok(typeof v.text === 'string' && v.text.trim() !== '', label);
        }
        assert.ok(buf.length <= max, label);
        return;
      }
      assert.ok(CODES.has(r.error.code), `unknown code: ${label}`);
      const m = r.error.message;
      assert.ok(typeof m === 'string' && m.length > 10, label);
      assert.ok(isEcho(r.id) && isEcho(r.transaction), `echoes: ${label}`);
      switch (r.error.code) {
        case 'too_large':
          assert.match(m, /\d+ bytes.*limit/, label);
          break;
        case 'bad_json':
          assert.match(m, /JSON/, label);
          break;
        case 'empty':
          assert.match(m, /empty/, label);
          break;
        case 'invalid':
          // Names the offending key (or the whole payload) and says what is wrong with it.
          assert.match(m, /(problems: |must be |payload).*\S/, label);
          assert.ok(/[a-z_]+(\.\w+)*: |\(root\)|JSON object/.test(m), `the message names no field: ${label}`);
          break;
      }
    }, 500);
  });

  describe('through a real dialog on the broker', () => {
    let broker: TestBroker;
    before(async () => {
      broker = await startBroker();
    });
    after(async () => {
      await broker.close();
    });

    it('400 fuzzed prompts and 200 fuzzed requests: one reply each, no handler failure, still connected', { timeout: 60_000 }, async () => {
      const h = await startMqttDialog(broker, { maxPending: 10_000, mqtt: { max_payload_bytes: 4096 } });
      const { Watcher } = await import('../helpers/mqtt-harness.ts');
      const w = await Watcher.connect(broker, { subscribe: [`${h.base}/reply`, `${h.base}/response/#`] });
      try {
        await until(() => h.dialog.health().ready, 'connected');
        const f = new Fuzz(SEED);
        let requests = 0;
        for (let i = 0; i < 400; i++) await w.publish(`${h.base}/prompt`, payload(f));
        const cmds = ['ping', 'health', 'session/reset', 'session/list', 'cancel', 'config', 'nope', 'cancel/x', '', 'a'.repeat(300)];
        for (let i = 0; i < 200; i++) {
          // A topic must be valid UTF-8 without wildcards, or the broker drops the watcher itself.
          const cmd = f.chance(0.8) ? f.pick(cmds) : f.string().replace(/[^\x21-\x7e]|[+#]/g, '').slice(0, 100);
          if (!cmd) continue;
          await w.publish(`${h.base}/request/${cmd}`, payload(f));
          requests++;
        }
        const responses = () => w.seen.filter((m) => m.topic.startsWith(`${h.base}/response/`)).length;
        await until(() => w.on(`${h.base}/reply`).length >= 400 && responses() >= requests, 'a reply to each', 20_000).catch((e: Error) => {
          throw new Error(`${e.message}: ${w.on(`${h.base}/reply`).length}/400 replies, ${responses()}/${requests} responses; errors logged: ${JSON.stringify(h.logs.filter((l) => l.level >= 40).slice(0, 5))}`);
        });
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(w.on(`${h.base}/reply`).length, 400, 'exactly one reply per prompt');
        assert.equal(w.seen.filter((m) => m.topic.startsWith(`${h.base}/response/`)).length, requests, 'exactly one response per request');
        for (const m of w.seen) assert.ok(m.json && typeof m.json === 'object', `a JSON reply: ${m.text.slice(0, 200)}`);
        const failed = h.logs.filter((l) => l.level >= 50);
        assert.deepEqual(failed.map((l) => l.msg), [], 'no error was logged');
        assert.equal(h.dialog.health().ready, true);
      } finally {
        await w.close();
        await h.stop();
      }
    });
  });
});

describe(`fuzz: Telegram updates (seed ${SEED})`, () => {
  const me = { id: 666, username: 'TestNameBot' };
  const TEMPLATES: object[] = [
    { update_id: 1, message: { message_id: 5, date: 1, from: { id: 111, is_bot: false, first_name: 'Ann', username: 'ann' }, chat: { id: 111, type: 'private' }, text: 'hello there' } },
    { update_id: 2, message: { message_id: 6, date: 1, from: { id: 111, first_name: 'Ann' }, chat: { id: -100, type: 'supergroup', title: 'Home', is_forum: true }, text: '@TestNameBot what now?', entities: [{ type: 'mention', offset: 0, length: 12 }], is_topic_message: true, message_thread_id: 9, reply_to_message: { message_id: 9, chat: { id: -100, type: 'supergroup' }, from: { id: 666, is_bot: true, username: 'TestNameBot' }, text: 'earlier' } } },
    { update_id: 3, message: { message_id: 7, date: 1, from: { id: 111 }, chat: { id: 111, type: 'private' }, caption: 'see this', document: { file_id: 'f1', file_name: 'a.txt', file_size: 12, mime_type: 'text/plain' } } },
    { update_id: 4, message: { message_id: 8, date: 1, from: { id: 111 }, chat: { id: 111, type: 'private' }, photo: [{ file_id: 'p1', file_size: 10, width: 1, height: 1 }, { file_id: 'p2', file_size: 1e9 }] } },
    { update_id: 5, message: { message_id: 9, date: 1, from: { id: 111 }, chat: { id: 111, type: 'private' }, text: '/status@TestNameBot now', entities: [{ type: 'bot_command', offset: 0, length: 19, user: { id: 666 } }] } },
    { update_id: 6, my_chat_member: { chat: { id: -5, type: 'group', title: 'g' }, from: { id: 111 }, new_chat_member: { status: 'member', user: { id: 666 } } } },
    { update_id: 7, edited_message: { message_id: 5, chat: { id: 111, type: 'private' }, text: 'edited' } },
    { update_id: 8, message: { message_id: 10, date: 1, from: { id: 111 }, chat: { id: 111, type: 'private' }, voice: { file_id: 'v', duration: 3 } } },
  ];

  it(`${N * 2} mutated updates through readUpdate and the message helpers never throw`, () => {
    return forCases(N * 2, SEED, 'telegram update', (_i, f) => {
      const u = f.chance(0.9) ? f.mutate(f.pick(TEMPLATES)) : f.value();
      const id = updateId(u) ?? 0;
      const r = readUpdate(u, id);
      assert.ok(['message', 'member', 'other', 'invalid'].includes(r.kind));
      if (r.kind === 'invalid') assert.ok(r.reason.length > 5);
      if (r.kind !== 'message') return;
      const m = r.message;
      const text = m.text ?? m.caption ?? '';
      assert.equal(typeof text, 'string');
      parseCommand(text, me.username);
      mentioned(m, text, me);
      repliedToMe(m, me);
      stripMention(text, me);
      quoteOf(m, me);
      unsupportedKind(m);
      pickFile(m, 1 << 20);
      if (m.from) senderName(m.from);
    }, 500);
  });

  describe('through the real dialog', () => {
    let bench: TelegramBench;
    before(async () => {
      bench = await TelegramBench.start();
    });
    after(async () => {
      await bench.stop();
    });

    it('300 mutated updates: each settled, none fails its handler, the bot still answers', { timeout: 90_000 }, async () => {
      const r = await startTelegramDialog(bench, { telegram: { rate_limit_per_minute: 600, stream: false, allowed_chats: [-100] }, script: (i) => ({ text: `ok ${i.text.length}` }) });
      try {
        await waitFor('polling', () => r.dialog.health().ready, 10_000);
        const f = new Fuzz(SEED + 1);
        let last = 0;
        for (let i = 0; i < 300; i++) {
          const u = f.mutate(f.pick(TEMPLATES)) as Record<string, unknown>;
          last = bench.proxy.inject(u && typeof u === 'object' && !Array.isArray(u) ? u : { junk: u });
        }
        await waitFor('every fuzzed update settled (offset past the last)', () => bench.proxy.confirmed > last, 60_000);
        await bench.person(111).say('are you still there?');
        await waitFor('an answer after the fuzz', () => bench.messages(111).some((m) => m.text === 'ok 20'), 15_000);
        const failures = bench.logLines.filter((l) => /handling a Telegram (update|batch) failed|poll loop failed/.test(l));
        assert.deepEqual(failures.slice(0, 5), [], 'an update made a handler throw');
        assert.equal(r.dialog.health().ready, true);
      } finally {
        await r.stop();
      }
    });
  });
});

describe(`fuzz: config loader (seed ${SEED})`, () => {
  const BASE = {
    device: { id: 'fuzz', name: 'Fuzz box', board: 'pi-zero-2w', data_dir: '/tmp/aeon-fuzz' },
    log: { level: 'info' },
    server: { host: '127.0.0.1', port: 7777 },
    agents: {
      main: { provider: 'openai', model: 'gpt-4o-mini', api_key: '${OPENAI_API_KEY}', tools: ['exec', 'file_read'], fallbacks: [{ provider: 'ollama', model: 'llama3.2', base_url: 'http://127.0.0.1:11434/v1' }], timeouts: { idle_s: 30 } },
      helper: { provider: 'anthropic', model: 'claude', api_key: 'sk-ant-literal-key' },
    },
    dialogs: {
      telegram: { enabled: true, bot_token: '${TELEGRAM_BOT_TOKEN:-123:abc}', allowed_users: [111], agent: 'helper' },
      mqtt: { enabled: true, url: 'mqtt://user:pw@127.0.0.1:1883', base_topic: 'home/aeon', qos: 1 },
    },
    storage: { sessions_db: 'aeon.db', compaction: { threshold: 0.5 } },
    tools: { exec: { allow: ['ls', 'df'] }, mqtt_publish: { allow: ['zigbee2mqtt/+/set'] } },
    budget: { daily_usd: 1, heap_mb: 64 },
  };
  const ENV = { OPENAI_API_KEY: 'sk-env', TELEGRAM_BOT_TOKEN: '123456:ABCdef' };

  it(`${N * 2} mutated configs: a config, or a ConfigError whose every issue has a path and a message`, () => {
    let valid = 0;
    return forCases(N * 2, SEED, 'config', (_i, f) => {
      let text: string;
      const k = f.int(10);
      if (k < 6) text = JSON.stringify(f.mutate(BASE, 1 + f.int(2))) ?? '';
      else if (k < 8) text = f.mangle(`// aeon.json\n${JSON.stringify(BASE, null, 2)}\n/* end */`);
      else if (k < 9) text = f.chance(0.1) ? `{"agents": {"main": {"provider": "ollama", "model": "m"}}, "device": {"name": ${'['.repeat(1e5)}${']'.repeat(1e5)}}}` : (JSON.stringify(f.value()) ?? '');
      else text = JSON.stringify(BASE).replace(/"(gpt-4o-mini|fuzz|127\.0\.0\.1)"/, `"${f.pick(['${', '${X', '${1A}', '$${x}', '${UNSET}', '${UNSET:-}', '${OPENAI_API_KEY:-x}x', '${A:-${B}}'])}"`);
      const env = f.chance(0.8) ? ENV : { ...ENV, [f.pick(['OPENAI_API_KEY', 'HOME', 'X'])]: f.string() };
      try {
        const loaded = parseConfig(text, '/tmp/aeon-fuzz/aeon.json', { env });
        valid++;
        // What the rest of aeon relies on: every name points at something real.
        const c = loaded.config;
        assert.ok(Object.keys(c.agents).length > 0);
        for (const d of ['cli', 'telegram', 'mqtt'] as const) {
          const a = c.dialogs[d].agent;
          if (a !== undefined) assert.ok(Object.hasOwn(c.agents, a), `dialogs.${d}.agent "${a}" is no agent`);
        }
        assert.ok(Number.isInteger(c.budget.heap_mb) && c.budget.heap_mb > 0, `budget from board "${c.device.board}": ${JSON.stringify(c.budget)}`);
        assert.equal(c.board.name, c.device.board);
      } catch (err) {
        if (!(err instanceof ConfigError)) {
          throw new Error(`not a ConfigError: ${(err as Error)?.stack ?? err}\n  config: ${text.slice(0, 600)}`);
        }
        assert.ok(err.issues.length > 0);
        for (const issue of err.issues) {
          assert.ok(typeof issue.path === 'string' && issue.path.length > 0, `issue without a path: ${JSON.stringify(issue)}`);
          assert.ok(typeof issue.message === 'string' && issue.message.length > 3, `issue without a message: ${JSON.stringify(issue)}`);
          assert.ok(err.message.includes(issue.path), 'the message names the path');
        }
        assert.ok(err.message.startsWith('/tmp/aeon-fuzz/aeon.json: '), 'the message names the file');
      }
    }, 500).then(() => assert.ok(valid > 10, `only ${valid} configs were valid: the mutations miss the deep paths`));
  });

});
