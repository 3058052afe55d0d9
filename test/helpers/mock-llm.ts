// Runs @dwmkerr/mock-llm, a third-party OpenAI-compatible mock server, as a
// child process on a free loopback port: a peer we did not write, so our
// client is tested against someone else's reading of the protocol.
//
//   const mock = await startMockLlm({ rules: [chatRule('Hi there!')], chunkSize: 5 });
//   ... provider with base_url = mock.url (already ends in /v1) ...
//   await mock.stop();
//
// Its streaming (client sends `stream: true`) cuts the rule's message content
// into `chunkSize`-character deltas, `chunkIntervalMs` apart, then [DONE]. It
// streams text only (no tool calls, no usage chunk); a rule with status >= 400
// is streamed as a 200 with one `data: {"error": ...}` event, as OpenAI does
// mid-stream. Rules are matched in order, last match wins; `match` is a
// JMESPath expression over {body, headers, method, path, query}.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

export interface MockRule {
  path: string;
  method?: string;
  match?: string;
  sequence?: number;
  response: { status: number; content: string };
}

export interface MockLlmOptions {
  /** Default: mock-llm's own echo rule (answers with the last user message). */
  rules?: MockRule[];
  /** Characters per streamed delta; default 50 (mock-llm's default). */
  chunkSize?: number;
  /** Milliseconds between streamed deltas; default 5 (mock-llm's is 50). */
  chunkIntervalMs?: number;
}

export interface MockLlm {
  /** Base URL for an OpenAI-compatible provider, e.g. http://127.0.0.1:41234/v1 */
  url: string;
  /** Everything mock-llm printed, for a failing test's message. */
  output: () => string;
  stop: () => Promise<void>;
}

/** A rule that answers chat completions with `content` (streamed when the request says stream). */
export function chatRule(content: string, opts: { match?: string; model?: string } = {}): MockRule {
  const answer = { id: 'chatcmpl-mock', object: 'chat.completion', created: 1732000000, model: opts.model ?? 'mock', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] };
  return { path: '/v1/chat/completions', method: 'POST', ...(opts.match && { match: opts.match }), response: { status: 200, content: JSON.stringify(answer) } };
}

/** A rule that fails chat completions with an OpenAI-shaped error. */
export function errorRule(status: number, message: string, code: string, opts: { match?: string } = {}): MockRule {
  return { path: '/v1/chat/completions', method: 'POST', ...(opts.match && { match: opts.match }), response: { status, content: JSON.stringify({ error: { message, type: code, param: null, code } }) } };
}

const require = createRequire(import.meta.url);

export async function startMockLlm(opts: MockLlmOptions = {}): Promise<MockLlm> {
  const main = require.resolve('@dwmkerr/mock-llm/dist/main.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-mock-llm-'));
  const configFile = path.join(dir, 'mock-llm.yaml');
  const config: Record<string, unknown> = { streaming: { chunkSize: opts.chunkSize ?? 50, chunkIntervalMs: opts.chunkIntervalMs ?? 5 } };
  if (opts.rules) config.rules = opts.rules;
  fs.writeFileSync(configFile, JSON.stringify(config)); // JSON is YAML

  // The port is picked here and handed over; another process could take it in
  // between, so try a few times.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      const { child, output } = await spawnReady(main, configFile, port, dir);
      return {
        url: `http://127.0.0.1:${port}/v1`,
        output,
        stop: async () => {
          await stopChild(child);
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (e) {
      lastError = e;
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

function spawnReady(main: string, configFile: string, port: number, cwd: string): Promise<{ child: ChildProcess; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, '--config', configFile], {
      cwd,
      env: { ...process.env, HOST: '127.0.0.1', PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const output = () => out;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mock-llm did not start within 15 s:\n${out}`));
    }, 15_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.length > 64 * 1024) out = out.slice(-32 * 1024); // it logs every request
      if (/server running on/.test(out)) {
        clearTimeout(timer);
        resolve({ child, output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mock-llm exited with ${code} before it was ready:\n${out}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
