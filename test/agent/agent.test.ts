import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import v8 from 'node:v8';
import { Agent } from '../../src/agent/agent.ts';
import type { ToolRunner } from '../../src/agent/turn.ts';
import { parseConfig } from '../../src/config/index.ts';
import type { Inbound, TurnResult } from '../../src/dialogs/types.ts';
import type { LlmRequest, ToolCall } from '../../src/llm/types.ts';
import { silentLogger } from '../../src/log.ts';
import { Store } from '../../src/store/index.ts';
import { hang, isSummaryRequest, ScriptedLlm, text, toolCall, type Script } from '../helpers/scripted-llm.ts';

function setup(scripts: Script[], over: { agent?: object; budget?: object; storage?: object } = {}, tools?: ToolRunner) {
  const { config } = parseConfig(
    JSON.stringify({
      device: { board: 'pi-zero-2w' },
      agents: { main: { provider: 'ollama', model: 'm', tools: ['file_read', 'current_time'], ...over.agent } },
      storage: { sessions_db: ':memory:', ...over.storage },
      budget: over.budget ?? {},
    }),
    '/tmp/aeon.json',
    { env: {} },
  );
  const store = Store.open({ path: ':memory:' });
  const llm = new ScriptedLlm(scripts);
  const ran: ToolCall[] = [];
  const runner: ToolRunner = tools ?? {
    specs: (names) => names.map((name) => ({ name, description: name, parameters: { type: 'object' } })),
    run: async (call) => {
      ran.push(call);
      return { content: `result of ${call.name} ${call.arguments}`, is_error: false };
    },
  };
  const agent = new Agent({ config, store, tools: runner, llm: () => llm, log: silentLogger() });
  return { agent, store, llm, ran, config };
}

function ask(agent: Agent, text: string, extra: Partial<Inbound> = {}) {
  const deltas: string[] = [];
  const phases: string[] = [];
  const result = new Promise<TurnResult>((resolve) =>
    agent.submit({ dialog: 'cli', chat: 'c', text, ...extra }, { delta: (d) => deltas.push(d), phase: (p) => phases.push(p), final: resolve }),
  );
  return { deltas, phases, result };
}

const KEY = 'agent:main:cli:c';

describe('agent turn', () => {
  it('streams deltas, finishes with the full text, stores both sides and usage', async () => {
    const { agent, store } = setup([text('Hello there, human.')]);
    const r = ask(agent, 'hi');
    const res = await r.result;
    assert.equal(res.error, undefined);
    assert.equal(res.text, 'Hello there, human.');
    assert.ok(r.deltas.length > 1, 'answer arrives in pieces');
    assert.equal(r.deltas.join(''), 'Hello there, human.');
    assert.deepEqual(r.phases.slice(0, 2), ['thinking', 'streaming']);
    assert.deepEqual([...store.messages(KEY)].map((m) => [m.role, m.content]), [['user', 'hi'], ['assistant', 'Hello there, human.']]);
    assert.equal(store.usageSince('2000-01-01')[0]!.requests, 1);
    assert.deepEqual(res.usage, { input: 10, output: 5, cost_usd: 0.001 });
  });

  it('runs tool calls in order and feeds results back to the model', async () => {
    const calls = [
      { type: 'tool_call', call: { id: 'a', name: 'file_read', arguments: '{"x":1}' } },
      { type: 'tool_call', call: { id: 'b', name: 'current_time', arguments: '{}' } },
      { type: 'done', stop: 'tool_use' },
    ] as const;
    const { agent, store, llm, ran } = setup([[...calls], text('It is noon.')]);
    const res = await ask(agent, 'what time?').result;
    assert.equal(res.text, 'It is noon.');
    assert.deepEqual(ran.map((c) => c.id), ['a', 'b']);
    const second = llm.requests[1]!;
    assert.deepEqual(second.messages.map((m) => m.role), ['user', 'assistant', 'tool', 'tool']);
    assert.equal((second.messages[2] as { content: string }).content, 'result of file_read {"x":1}');
    assert.deepEqual([...store.messages(KEY)].map((m) => m.role), ['user', 'assistant', 'tool', 'tool', 'assistant']);
  });

  it('stops after max_tool_iterations rounds', async () => {
    const loop = Array.from({ length: 5 }, (_, i) => toolCall(`c${i}`, 'file_read', { i }));
    const { agent, llm } = setup(loop, { agent: { max_tool_iterations: 2 } });
    const res = await ask(agent, 'loop').result;
    assert.equal(llm.requests.length, 3);
    assert.equal(llm.requests[2]!.tools, undefined, 'the last round offers no tools');
    assert.match(res.text, /stopped after 2 rounds of tool use/);
  });

  it('cancel aborts the stream, keeps what was said, and the session goes on', async () => {
    const { agent, store } = setup([hang('Partial answ'), text('Fresh answer.')]);
    const r = ask(agent, 'long one');
    while (r.deltas.length === 0) await new Promise((res) => setTimeout(res, 5));
    assert.equal(agent.cancel(KEY), true);
    const res = await r.result;
    assert.equal(res.error?.code, 'cancelled');
    assert.equal(res.text, 'Partial answ');
    const stored = [...store.messages(KEY)];
    assert.equal(stored[1]!.content, 'Partial answ');
    assert.deepEqual(stored[1]!.meta, { partial: true, error: 'aborted' });
    const next = await ask(agent, 'again').result;
    assert.equal(next.text, 'Fresh answer.');
  });

  it('refuses over budget before sending any request', async () => {
    const { agent, store, llm } = setup([text('never')], { budget: { daily_usd: 0.5 } });
    store.addUsage({ session_key: KEY, model: 'x', input: 1, output: 1, cost_usd: 0.6 });
    const res = await ask(agent, 'hi').result;
    assert.equal(res.error?.code, 'budget');
    assert.match(res.error!.message, /budget of \$0\.50 is used up/);
    assert.equal(llm.requests.length, 0);
  });

  it('applies the per-user budget only to that user', async () => {
    const { agent, store, llm } = setup([text('for bob')], { budget: { per_user_daily_usd: 0.1 } });
    store.addUsage({ session_key: KEY, model: 'x', user_id: 'alice', input: 1, output: 1, cost_usd: 0.2 });
    assert.equal((await ask(agent, 'hi', { user: 'alice' }).result).error?.code, 'budget');
    assert.equal((await ask(agent, 'hi', { user: 'bob', chat: 'bob' }).result).text, 'for bob');
    assert.equal(llm.requests.length, 1);
  });

  it('turns an LLM failure into one plain sentence and keeps the session usable', async () => {
    const { agent } = setup([[{ type: 'error', error: { kind: 'auth', retryable: false, message: 'HTTP 401', status: 401 } }], text('ok now')]);
    const res = await ask(agent, 'hi').result;
    assert.equal(res.error?.code, 'llm_auth');
    assert.equal(res.error?.message, "The language model refused aeon's credentials; check agents.main.api_key.");
    assert.equal((await ask(agent, 'again').result).text, 'ok now');
    assert.equal(agent.stats().errors, 1);
  });

  it('runs one turn at a time per session, in order', async () => {
    const order: string[] = [];
    const slow = (label: string): Script => async function* () {
      order.push(`start ${label}`);
      await new Promise((r) => setTimeout(r, 20));
      order.push(`end ${label}`);
      yield* text(label);
    };
    const { agent } = setup([slow('one'), slow('two'), slow('three')]);
    const results = await Promise.all([ask(agent, '1').result, ask(agent, '2').result, ask(agent, '3').result]);
    assert.deepEqual(results.map((r) => r.text), ['one', 'two', 'three']);
    assert.deepEqual(order, ['start one', 'end one', 'start two', 'end two', 'start three', 'end three']);
  });

  it('answers "busy" past the queue bounds and stores nothing for refused messages', async () => {
    const { agent, store } = setup([hang('a'), text('b')], { budget: { max_concurrent_turns: 1, queue_per_session: 1, queue_total: 1 } });
    const first = ask(agent, 'first');
    const second = ask(agent, 'second');
    const third = await ask(agent, 'third').result;
    assert.equal(third.error?.code, 'busy');
    const other = await ask(agent, 'elsewhere', { chat: 'other' }).result;
    assert.equal(other.error?.code, 'busy', 'the total bound holds across sessions');
    agent.cancel(KEY);
    assert.equal((await first.result).error?.code, 'cancelled');
    assert.equal((await second.result).error?.code, 'cancelled');
    const stored = [...store.messages(KEY)].map((m) => m.content);
    assert.ok(!stored.includes('third'));
    assert.equal(store.getSession('agent:main:cli:other'), undefined);
  });

  it('calls onPersisted once the user message is on disk', async () => {
    const { agent, store } = setup([text('ok')]);
    let seen: string[] = [];
    await ask(agent, 'persist me', { onPersisted: () => (seen = [...store.messages(KEY)].map((m) => m.content)) }).result;
    assert.deepEqual(seen, ['persist me']);
  });

  it('rejects empty and oversized messages', async () => {
    const { agent, llm } = setup([]);
    assert.equal((await ask(agent, '   ').result).error?.code, 'empty');
    assert.equal((await ask(agent, 'x'.repeat(20_000)).result).error?.code, 'too_large');
    assert.equal(llm.requests.length, 0);
  });

  it('reset waits for the running turn, then forgets the session', async () => {
    const { agent, store } = setup([hang('par')]);
    const r = ask(agent, 'x');
    while (r.deltas.length === 0) await new Promise((res) => setTimeout(res, 5));
    await agent.reset(KEY);
    await r.result;
    assert.equal(store.getSession(KEY), undefined);
    assert.equal([...store.messages(KEY)].length, 0);
  });

  it('stop() aborts running turns, which persist the partial reply', async () => {
    const { agent, store } = setup([hang('half a thou')]);
    const r = ask(agent, 'x');
    while (r.deltas.length === 0) await new Promise((res) => setTimeout(res, 5));
    await agent.stop();
    const res = await r.result;
    assert.equal(res.error?.code, 'shutdown');
    assert.equal([...store.messages(KEY)][1]!.content, 'half a thou');
    assert.equal((await ask(agent, 'late').result).error?.code, 'shutdown');
  });

  it('repairs a history whose tool call was interrupted by a crash', async () => {
    const { agent, store, llm } = setup([text('recovered')]);
    store.ensureSession(KEY, { agent_id: 'main', dialog: 'cli', chat: 'c' });
    store.append(KEY, { role: 'user', content: 'do it' });
    store.append(KEY, { role: 'assistant', content: '', tool_calls: [{ id: 'z', name: 'file_read', arguments: '{}' }] });
    await ask(agent, 'hello again').result;
    const msgs = llm.requests[0]!.messages;
    assert.deepEqual(msgs.map((m) => m.role), ['user', 'assistant', 'tool', 'user']);
    assert.match((msgs[2] as { content: string }).content, /interrupted/);
  });
});

describe('compaction', () => {
  const filler = (n: number) => `fact ${n}: ` + 'lorem ipsum dolor sit amet '.repeat(20);
  const settings = { agent: { context_tokens: 1024, max_tokens: 128 }, storage: { compaction: { keep_recent: 2, threshold: 0.5 } } };
  // A summariser that keeps every sentence mentioning a name, like a model would.
  const keepFacts = (req: LlmRequest) => {
    const facts = (req.messages[0]!.content as string).match(/[^.\n]*Miso[^.\n]*/g) ?? [];
    return text(`Summary: ${[...new Set(facts.map((f) => f.replace(/^.*?:\s*/, '').trim()))].join('. ')}.`);
  };

  it('summarises old turns into the session summary and keeps the prompt under the window', async () => {
    const { agent, store, llm } = setup(Array.from({ length: 6 }, (_, i) => text(`noted ${i}`)), settings);
    llm.summariser = keepFacts;
    await ask(agent, 'My cat is called Miso. ' + filler(0)).result;
    for (let i = 1; i < 6; i++) await ask(agent, filler(i)).result;
    llm.push(text('Your cat is Miso.'));
    const res = await ask(agent, 'What is my cat called?').result;
    assert.equal(res.text, 'Your cat is Miso.');
    const summaries = llm.requests.filter(isSummaryRequest);
    const answers = llm.requests.filter((r) => !isSummaryRequest(r));
    assert.ok(summaries.length >= 1, 'old turns were summarised');
    assert.equal(answers.length, 7, 'every turn was answered');
    const last = answers.at(-1)!;
    assert.match(last.system, /My cat is called Miso/, 'facts from the summarised part stay available');
    assert.ok(!JSON.stringify(last.messages).includes('fact 0'), 'the summarised turns left the prompt');
    for (const r of answers) {
      const tokens = Math.ceil((r.system.length + JSON.stringify(r.messages).length) / 4);
      assert.ok(tokens < 1024 - 128, `prompt ~${tokens} tokens must fit the 1024 window minus the answer`);
    }
    assert.match(store.getSession(KEY)!.summary ?? '', /Miso/);
    assert.ok([...store.messages(KEY)].some((m) => m.compacted), 'mode "mark" keeps folded rows for export');
  });

  it('trims instead when summarising fails, and every turn still succeeds', async () => {
    const { agent, store, llm } = setup(Array.from({ length: 8 }, (_, i) => text(`ok ${i}`)), settings);
    llm.summariser = () => [{ type: 'error', error: { kind: 'server', retryable: true, message: 'HTTP 500' } }];
    for (let i = 0; i < 6; i++) assert.equal((await ask(agent, filler(i)).result).text, `ok ${i}`);
    assert.ok(llm.requests.some(isSummaryRequest), 'summarising was tried');
    assert.equal(store.getSession(KEY)!.summary, null);
    assert.ok(store.history(KEY, 100).messages.length < 12, 'old rows were trimmed from the window');
  });

  it('a finished turn leaves no abort signal behind (nothing grows with the number of turns)', async () => {
    const { agent, llm } = setup([]);
    for (let i = 0; i < 200; i++) {
      llm.push(text(`answer ${i}`));
      const res = await ask(agent, `question ${i}`, { chat: `c${i}` }).result;
      assert.equal(res.error, undefined, `turn ${i}`);
    }
    // Each turn once kept an AbortSignal.timeout (and what hung on it) alive for turn_timeout_s (5 min).
    const live = v8.queryObjects(AbortSignal, { format: 'count' });
    assert.ok(live < 50, `${live} AbortSignals alive after 200 turns`);
  });
});
