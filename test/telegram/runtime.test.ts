// aeon end to end through Telegram: the real Runtime (store, agent, tools, the
// Telegram dialog loaded on demand) with the agent's model behind a replaying
// OpenAI-compatible SSE server, and the person behind the Bot API emulator.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { htmlToText } from '../../src/dialogs/telegram/markdown.ts';
import { Runtime } from '../../src/runtime.ts';
import { openaiTextStream, startReplayServer, type ReplayServer, type Reply } from '../helpers/sse-replay.ts';
import { TelegramBench, delay, waitFor } from '../helpers/telegram-emulator.ts';

let bench: TelegramBench;
let llm: ReplayServer;
let answer: (last: string) => Reply;
const runtimes: Runtime[] = [];

beforeEach(async () => {
  bench = await TelegramBench.start();
  answer = (last) => ({ body: openaiTextStream(`You said: **${last}**`, { usage: { input: 1000, output: 50 } }) });
  llm = await startReplayServer({
    script: (req) => {
      const body = req.body as { messages: Array<{ role: string; content: unknown }> };
      const last = body.messages.filter((m) => m.role === 'user').at(-1)!.content;
      return answer(typeof last === 'string' ? last : JSON.stringify(last));
    },
  });
});
afterEach(async () => {
  for (const r of runtimes.splice(0)) await r.stop();
  await llm.close();
  await bench.stop();
});

async function boot(telegram: Record<string, unknown> = {}): Promise<Runtime> {
  const config = bench.config(
    { poll_timeout_s: 1, ...telegram },
    { agents: { main: { provider: 'openai-compatible', model: 'test-model', base_url: `${llm.url}/v1`, price: { input: 1, output: 2 }, tools: ['message_send'] } } },
  );
  const rt = new Runtime({ config, secrets: bench.secrets, log: bench.logger('info'), server: false });
  runtimes.push(rt);
  await rt.start();
  await waitFor('telegram connected', () => rt.readiness().telegram?.ready);
  return rt;
}

const texts = (chat: number) => bench.messages(chat).map((m) => htmlToText(m.text));

describe('aeon over Telegram, through the real runtime', () => {
  it('answers with a streamed then final reply; strangers are refused without an LLM request; /status and /reset work', async () => {
    answer = (last) => ({ body: openaiTextStream(`You said: **${last}**. That is all I have to say about it today.`, { chunkChars: 6, usage: { input: 1000, output: 50 } }), chunkDelayMs: 200, split: { seed: 3, max: 400 } });
    const rt = await boot();
    assert.ok(rt.tools.has('message_send'), 'the dialog registered its tool');
    const ann = bench.person(111);
    await ann.say('hello there');
    const final = await waitFor('final answer', () => bench.messages(111).find((m) => m.text.startsWith('You said: <b>hello there</b>.') && m.text.endsWith('today.')), 15_000);
    assert.equal(final.parse_mode, 'HTML');
    assert.ok(bench.proxy.count('editMessageText') >= 1, 'the answer was edited while it streamed');
    assert.equal(llm.requests.length, 1);
    const session = rt.agent.sessionKey({ dialog: 'telegram', chat: '111' });
    await waitFor('answer stored', () => [...rt.store.messages(session)].map((m) => m.role).join() === 'user,assistant');

    const eve = bench.person(222);
    await eve.say('let me in');
    await waitFor('refusal', () => texts(222)[0]?.includes('222'));
    await delay(300);
    assert.equal(llm.requests.length, 1, 'no LLM request for a stranger');

    await ann.say('/status');
    const status = await waitFor('status', () => texts(111).find((t) => t.startsWith('testbox')));
    assert.match(status, /Model: openai-compatible\/test-model/);
    assert.match(status, /Today: 1,050 tokens \(1,000 in, 50 out\)/);
    assert.match(status, /memory [\d.]+ MB RSS/);
    assert.match(status, /Telegram: connected/);

    await ann.say('/reset');
    await waitFor('reset', () => texts(111).some((t) => /forgot our conversation/.test(t)));
    assert.equal([...rt.store.messages(session)].length, 0);
    assert.equal(llm.requests.length, 1, 'commands never reach the model');
  });

  it('/cancel stops a streaming answer; a long answer arrives in order in several messages', async () => {
    const rt = await boot();
    const ann = bench.person(111);
    answer = () => ({ body: openaiTextStream('This will take forever. '.repeat(200), { chunkChars: 24 }), chunkDelayMs: 150, split: { seed: 1, max: 300 } });
    await ann.say('go slowly');
    await waitFor('streaming', () => texts(111)[0]?.startsWith('This will take forever.'), 10_000);
    await ann.say('/cancel');
    await waitFor('stopped', () => texts(111).includes('Stopped.'), 10_000);
    await waitFor('partial answer marked', () => texts(111).some((t) => t.endsWith('(stopped)')), 10_000);

    const paras = Array.from({ length: 40 }, (_, i) => `Section ${i}: ${'the quick brown fox jumps over the lazy dog '.repeat(5).trim()}.`);
    answer = () => ({ body: openaiTextStream(paras.join('\n\n'), { chunkChars: 400 }) });
    const before = bench.messages(111).length;
    await ann.say('now write a lot');
    await waitFor('whole long answer', () => texts(111).some((t) => t.includes('Section 39:')), 15_000);
    await delay(500);
    const long = texts(111).slice(before).filter((t) => t.includes('Section'));
    assert.ok(long.length >= 2, `several messages (${long.length})`);
    const order = [...long.join('\n').matchAll(/Section (\d+):/g)].map((m) => Number(m[1]));
    assert.deepEqual(order, Array.from({ length: 40 }, (_, i) => i));
    assert.ok(rt.readiness().telegram!.ready);
  });

  it('a restart of the whole runtime between messages neither loses nor repeats one', async () => {
    const first = await boot({ stream: false });
    const ann = bench.person(111);
    await ann.say('one');
    await waitFor('first answer', () => texts(111).includes('You said: one'));
    const firstId = bench.proxy.lastId;
    await first.stop();
    await ann.say('two');
    bench.proxy.rewind(firstId); // confirmations lost: Telegram hands out both again
    await boot({ stream: false });
    await waitFor('second answer', () => texts(111).includes('You said: two'), 10_000);
    await delay(800);
    assert.deepEqual(texts(111), ['You said: one', 'You said: two']);
    assert.equal(llm.requests.length, 2, 'one LLM request per message');
  });
});
