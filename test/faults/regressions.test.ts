// Focused regression tests for the bugs the fault suite found (docs/faults.md
// lists each with its commit). Each one fails on the code before its fix.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Agent } from '../../src/agent/agent.ts';
import type { ToolRunner } from '../../src/agent/turn.ts';
import { ConfigError, parseConfig } from '../../src/config/index.ts';
import type { TurnResult } from '../../src/dialogs/types.ts';
import type { LlmError, ProviderKind, StreamEvent } from '../../src/llm/types.ts';
import { silentLogger } from '../../src/log.ts';
import { Store } from '../../src/store/index.ts';
import { createProvider } from '../../src/llm/index.ts';
import { ScriptedLlm, type Script } from '../helpers/scripted-llm.ts';
import { startReplayServer, type Reply } from '../helpers/sse-replay.ts';
import { startBroker } from '../helpers/broker.ts';
import { startDialog as startMqttDialog, until, Watcher } from '../helpers/mqtt-harness.ts';
import { TelegramBench, waitFor } from '../helpers/telegram-emulator.ts';
import { startDialog as startTelegramDialog } from '../helpers/telegram-setup.ts';

function agentWith(scripts: Script[], agent: object = {}) {
  const { config } = parseConfig(
    JSON.stringify({ device: { board: 'pi-zero-2w' }, agents: { main: { provider: 'ollama', model: 'm', ...agent } }, storage: { sessions_db: ':memory:' } }),
    '/tmp/aeon.json',
    { env: {} },
  );
  const store = Store.open({ path: ':memory:' });
  const tools: ToolRunner = { specs: () => [], run: async () => ({ content: '', is_error: false }) };
  const llm = new ScriptedLlm(scripts);
  return { agent: new Agent({ config, store, tools, llm: () => llm, log: silentLogger() }), store, llm };
}

/** Every event of one request to a provider that gets `reply`. */
async function providerEvents(provider: ProviderKind, reply: Reply): Promise<StreamEvent[]> {
  const srv = await startReplayServer({ script: reply });
  try {
    const p = createProvider({
      provider, model: 'm', base_url: provider === 'anthropic' ? srv.url : `${srv.url}/v1`,
      limits: { connect_timeout_ms: 2000, first_byte_timeout_ms: 2000, idle_timeout_ms: 2000, max_response_bytes: 1 << 20, max_event_bytes: 1 << 16 },
    });
    const out: StreamEvent[] = [];
    for await (const e of p.stream({ model: 'm', system: '', messages: [{ role: 'user', content: 'hi' }] }, AbortSignal.timeout(5000))) out.push(e);
    return out;
  } finally {
    await srv.close();
  }
}

/** The final error of one request to a provider that gets `reply`. */
async function providerError(provider: ProviderKind, reply: Reply, apiKey = 'sk-regression-0123456789abcdef'): Promise<LlmError | undefined> {
  const srv = await startReplayServer({ script: reply });
  try {
    const p = createProvider({
      provider, model: 'm', base_url: provider === 'anthropic' ? srv.url : `${srv.url}/v1`, api_key: apiKey,
      limits: { connect_timeout_ms: 2000, first_byte_timeout_ms: 2000, idle_timeout_ms: 2000, max_response_bytes: 1 << 20, max_event_bytes: 1 << 16 },
    });
    let error: LlmError | undefined;
    for await (const e of p.stream({ model: 'm', system: '', messages: [{ role: 'user', content: 'hi' }] }, AbortSignal.timeout(5000))) if (e.type === 'error') error = e.error;
    return error;
  } finally {
    await srv.close();
  }
}

describe('regressions found by the fault suite', () => {
  it('a model that never stops talking is cut at what max_tokens allows, not at the 8 MB transport bound', async () => {
    let sent = 0;
    let closed = false;
    const endless: Script = async function* () {
      try {
        for (;;) {
          sent++;
          yield { type: 'text', delta: 'blah '.repeat(40) } as StreamEvent;
        }
      } finally {
        closed = true;
      }
    };
    const { agent, store } = agentWith([endless], { max_tokens: 100 });
    const deltas: string[] = [];
    const res = await new Promise<TurnResult>((resolve) => agent.submit({ dialog: 'cli', chat: 'c', text: 'talk' }, { delta: (d) => deltas.push(d), final: resolve }));
    assert.equal(res.error?.code, 'llm_bad_response');
    assert.match(res.error!.message, /max_tokens \(100\)/);
    assert.equal(res.text.length, 1600, 'cut at 16 characters per token');
    assert.equal(deltas.join(''), res.text, 'the person saw exactly what was kept');
    assert.ok(closed, 'the stream was closed');
    assert.ok(sent < 20, `read ${sent} events`);
    const stored = [...store.messages('agent:main:cli:c')];
    assert.equal(stored[1]!.content, res.text);
    assert.equal(stored[1]!.meta?.partial, true);
  });

  it('an error a provider reports mid-stream reaches people as one bounded line, whatever its size', async () => {
    const message = `upstream failed:\n${'stack frame\n'.repeat(2000)}`;
    for (const provider of ['openai-compatible', 'anthropic'] as const) {
      const data = JSON.stringify(provider === 'anthropic' ? { type: 'error', error: { type: 'api_error', message } } : { error: { message, code: 'server_error' } });
      const e = await providerError(provider, { body: `${provider === 'anthropic' ? 'event: error\n' : ''}data: ${data}\n\n` });
      assert.equal(e?.kind, 'server', provider);
      assert.ok(!/\n/.test(e!.message), `${provider}: ${e!.message.slice(0, 100)}`);
      assert.ok(e!.message.length < 400, `${provider}: ${e!.message.length} characters`);
    }
  });

  it('an API key a provider echoes near the 300-character cut of its error text is scrubbed whole, not left in part', async () => {
    const key = 'sk-regression-0123456789abcdef';
    for (let pad = 240; pad <= 300; pad += 5) {
      const message = `${'r'.repeat(pad)} Incorrect API key provided: ${key}.`;
      for (const reply of [
        { status: 401, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { message } }) },
        { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { message } }) },
      ]) {
        const e = await providerError('openai-compatible', reply, key);
        for (let i = 0; i + 8 <= key.length; i++) assert.ok(!e!.message.includes(key.slice(i, i + 8)), `pad ${pad}, HTTP ${reply.status}: ${e!.message.slice(-80)}`);
      }
    }
  });

  it('Anthropic events with fields of the wrong type yield no non-string text, tool names or token counts', async () => {
    const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    const body = [
      ev('message_start', { message: { usage: { input_tokens: '12', output_tokens: { n: 1 }, cache_read_input_tokens: 3 } } }),
      ev('content_block_start', { index: 0, content_block: { type: 'text', text: ['not', 'text'] } }),
      ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: { html: '<b>' } } }),
      ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'real text' } }),
      ev('content_block_start', { index: 1, content_block: { type: 'tool_use', id: 42, name: { evil: true } } }),
      ev('content_block_stop', { index: 1 }),
      ev('message_delta', { delta: { stop_reason: 7 }, usage: { output_tokens: -5 } }),
      ev('message_stop', {}),
    ].join('');
    const events = await providerEvents('anthropic', { body });
    assert.deepEqual(events.filter((e) => e.type === 'text'), [{ type: 'text', delta: 'real text' }]);
    const call = events.find((e) => e.type === 'tool_call');
    assert.deepEqual(call?.type === 'tool_call' && call.call, { id: 'call_1', name: '', arguments: '{}' });
    const usage = events.find((e) => e.type === 'usage');
    assert.equal(usage?.type === 'usage' && usage.input, 3, 'only the numeric count is kept');
    assert.equal(usage?.type === 'usage' && usage.output, 0);
    assert.equal(events.at(-1)?.type, 'done');
  });

  it('a reply_to or tool topic with a control character is refused, instead of getting aeon disconnected by the broker again and again', async () => {
    const broker = await startBroker();
    const h = await startMqttDialog(broker);
    const w = await Watcher.connect(broker, { subscribe: [`${h.base}/reply`] });
    try {
      await until(() => h.dialog.health().ready, 'connected');
      await w.publish(`${h.base}/prompt`, JSON.stringify({ text: 'hi', id: 'bad', reply_to: 'home/\u0001reply' }));
      const r = await w.wait((m) => m.json?.id === 'bad', 'the refusal');
      assert.equal(r.json.error?.code, 'invalid');
      assert.match(r.json.error.message, /reply_to: .*control character/);
      const publish = h.tools.find((t) => t.name === 'mqtt_publish')!;
      for (const topic of ['lamp/\u0085/set', 'lamp/\ufffe', 'lamp/\ud800']) {
        await assert.rejects(Promise.resolve(publish.execute({ topic, payload: 'ON' }, { signal: new AbortController().signal, session: 's', log: silentLogger() })), /control character|non-character/);
      }
      await w.publish(`${h.base}/prompt`, JSON.stringify({ text: 'still there?', id: 'good' }));
      await w.wait((m) => m.json?.id === 'good', 'an answer afterwards');
      await new Promise((res) => setTimeout(res, 1500));
      assert.deepEqual(h.logs.filter((l) => /lost the MQTT broker/.test(l.msg)).map((l) => l.msg), [], 'aeon kept its connection');
    } finally {
      await w.close();
      await h.stop();
      await broker.close();
    }
  });

  it('a Telegram answer finished while the Bot API fails is sent once it works again, not dropped after the client\'s few retries', { timeout: 30_000 }, async () => {
    const bench = await TelegramBench.start();
    const r = await startTelegramDialog(bench, { telegram: { stream: false }, script: () => ({ text: 'the answer that waited' }) });
    try {
      await waitFor('polling', () => r.dialog.health().ready, 10_000);
      // One more failure than the client retries a call: the first delivery attempt gives up.
      bench.proxy.fault({ method: 'sendMessage', status: 502, description: 'Bad Gateway', times: 5 });
      await bench.person(111).say('hello');
      await waitFor('the answer', () => bench.messages(111).some((m) => m.text === 'the answer that waited'), 20_000);
      assert.equal(bench.messages(111).length, 1);
      assert.ok(!bench.logLines.some((l) => l.includes('could not deliver the answer')));
    } finally {
      await r.stop();
      await bench.stop();
    }
  });

  it('a config nested thousands of levels deep is a ConfigError naming the place, not a stack overflow', () => {
    const text = `{"agents": {"main": {"provider": "ollama", "model": "m"}}, "device": {"name": ${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
    assert.throws(() => parseConfig(text, '/tmp/aeon.json', { env: {} }), (e: unknown) => e instanceof ConfigError && /device\.name\[0\].*nested more than 64 levels/.test(e.message));
  });

  it('a board or agent named like an Object.prototype member ("constructor") is an unknown name, not a silently empty budget or agent', () => {
    const base = { agents: { main: { provider: 'ollama', model: 'm' } } };
    const bad = [
      [{ ...base, device: { board: 'constructor' } }, /device\.board: names an unknown board "constructor"/],
      [{ ...base, device: { board: 'hasownproperty' } }, /device\.board: names an unknown board/],
      [{ ...base, dialogs: { cli: { agent: 'constructor' } } }, /dialogs\.cli\.agent: names an unknown agent "constructor"/],
      [{ ...base, dialogs: { telegram: { agent: 'tostring' } } }, /dialogs\.telegram\.agent: names an unknown agent/],
    ] as const;
    for (const [raw, why] of bad) {
      assert.throws(() => parseConfig(JSON.stringify(raw), '/tmp/aeon.json', { env: {} }), (e: unknown) => e instanceof ConfigError && why.test(e.message), JSON.stringify(raw));
    }
    // An agent may still be called "constructor": then it is its own key.
    const ok = parseConfig(JSON.stringify({ agents: { constructor: { provider: 'ollama', model: 'm' } }, dialogs: { cli: { agent: 'constructor' } } }), '/tmp/aeon.json', { env: {} });
    assert.deepEqual(Object.entries(ok.config.agents).map(([id, a]) => [id, a.model]), [['constructor', 'm']]);
  });
});
