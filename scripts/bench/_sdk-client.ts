// The baseline a user would otherwise pick, as its own process so it is measured
// from outside exactly as aeon is: the official `openai` SDK's streaming
// iterator consuming the same streams and doing nothing else with them, or
// (with `mqtt`) also publishing each chunk's text to `<topic>/<id>`, the few lines
// of glue a user would write instead of aeon.
//   node _sdk-client.ts <base_url> [mqtt <broker url> <topic>]
// stdin: one line per stream to run ("go <id>"); stdout: "ready", then "done <id> <chars>" per stream.
import { createInterface } from 'node:readline';
import OpenAI from 'openai';

const [baseURL, mode, brokerUrl, topic] = process.argv.slice(2);
const client = new OpenAI({ apiKey: 'sk-bench', baseURL, maxRetries: 0 });
let publish: ((id: string, text: string) => void) | undefined;
if (mode === 'mqtt') {
  const { default: mqtt } = await import('mqtt');
  const c = mqtt.connect(brokerUrl!, { reconnectPeriod: 0 });
  await new Promise((r) => c.once('connect', r));
  (c.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  publish = (id, text) => c.publish(`${topic}/${id}`, text, { qos: 0 });
}

async function one(id: string): Promise<number> {
  const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'go' }], stream: true, stream_options: { include_usage: true } });
  let chars = 0;
  for await (const chunk of stream) {
    const text = chunk.choices[0]?.delta?.content;
    if (!text) continue;
    chars += text.length;
    publish?.(id, text);
  }
  return chars;
}

// One at a time, in order: the parent times each from outside.
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, id] = line.split(' ');
  if (cmd !== 'go') return;
  queue = queue.then(async () => {
    const chars = await one(id!).catch(() => -1);
    process.stdout.write(`done ${id} ${chars}\n`);
  });
});
process.stdin.on('end', () => void queue.then(() => process.exit(0)));
process.stdout.write('ready\n');
